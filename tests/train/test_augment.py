"""DiffAugment: each augmentation moves a known image by what it drew, and keeps the gradient
to the generator."""

import pytest
import torch

from gan.train.augment import augment, cut, cutout_corners, translation_shifts


def test_translation_moves_a_known_image_by_the_drawn_offset():
    x = torch.zeros(3, 1, 28, 28)
    x[:, 0, 10, 12] = 1.0
    shifts = translation_shifts(3, 28, torch.Generator().manual_seed(5), torch.device("cpu"))
    assert shifts.abs().max() <= 4
    out = augment(x, ["translation"], torch.Generator().manual_seed(5))
    for b, (dy, dx) in enumerate(shifts.tolist()):
        assert out[b, 0, 10 + dy, 12 + dx] == 1.0 and out[b].sum() == 1.0


def test_cutout_zeroes_a_square_of_half_the_side_at_the_drawn_corner():
    x = torch.ones(64, 2, 28, 28)
    out = augment(x, ["cutout"], torch.Generator().manual_seed(3))
    corners = cutout_corners(64, 28, torch.Generator().manual_seed(3), torch.device("cpu"))
    assert torch.equal(out, cut(x, corners))
    for b, (y0, x0) in enumerate(corners.tolist()):
        rows = range(max(y0, 0), min(y0 + 14, 28))
        cols = range(max(x0, 0), min(x0 + 14, 28))
        assert int((out[b, 0] == 0).sum()) == len(rows) * len(cols)
        if rows and cols:
            assert out[b, :, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].abs().sum() == 0
    inside = [(y0, x0) for y0, x0 in corners.tolist() if 0 <= y0 <= 14 and 0 <= x0 <= 14]
    assert inside  # some squares lie wholly inside: exactly 14 x 14 zeroed
    b = corners.tolist().index(list(inside[0]))
    assert int((out[b, 0] == 0).sum()) == 14 * 14


def test_augmentations_keep_the_gradient_to_the_generator():
    x = torch.randn(4, 1, 28, 28, requires_grad=True)
    out = augment(x, ["brightness", "contrast", "translation", "cutout"],
                  torch.Generator().manual_seed(0))
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_an_unknown_augmentation_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown augmentation 'flip'; valid: \[.*'cutout'"):
        augment(torch.zeros(2, 1, 28, 28), ["translation", "flip"],
                torch.Generator().manual_seed(0))
