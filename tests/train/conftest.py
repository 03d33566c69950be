"""Fixtures of the training tests: a few hundred real images (tests/train_harness.py)."""

import pytest

from tests import train_harness


@pytest.fixture(scope="module")
def tiny_data(small_splits):
    """The first 256 training images, normalised, and their labels."""
    return train_harness.few_images(small_splits)
