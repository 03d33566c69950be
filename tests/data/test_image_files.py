import numpy as np
import pytest
import torch
from PIL import Image

from gan.data.image_files import ImageInputError, load_images

IMAGES = np.random.default_rng(0).integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
LABELS = np.array([0, 1, 2, 3, 4, 9])


@pytest.mark.parametrize("kind", ["npy", "npz", "pt", "png"])
def test_every_format_reads_the_same_images(tmp_path, kind):
    path = tmp_path / f"x.{kind}"
    if kind == "npy":
        np.save(path, IMAGES)
    elif kind == "npz":
        np.savez(path, images=IMAGES, labels=LABELS)
    elif kind == "pt":
        torch.save({"images": torch.from_numpy(IMAGES)}, path)
    else:
        path.mkdir()
        for i, img in enumerate(IMAGES):
            Image.fromarray(img).save(path / f"{i:03d}.png")
    images, labels = load_images(path)
    assert images.dtype == torch.uint8 and torch.equal(images, torch.from_numpy(IMAGES))
    assert (labels is not None) == (kind == "npz")


def test_channel_dim_and_separate_labels(tmp_path):
    np.save(tmp_path / "x.npy", IMAGES[:, None])
    np.save(tmp_path / "y.npy", LABELS)
    images, labels = load_images(tmp_path / "x.npy", tmp_path / "y.npy")
    assert images.shape == (6, 28, 28) and labels.tolist() == LABELS.tolist()


@pytest.mark.parametrize("array, message", [
    (IMAGES.astype(np.float32) / 255, "images are torch.float32, expected uint8"),
    (IMAGES[:, :14], r"shape \(6, 14, 28\), expected uint8"),
])
def test_bad_images_get_a_clear_error(tmp_path, array, message):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(ImageInputError, match=message):
        load_images(tmp_path / "x.npy")


def test_bad_labels_and_paths(tmp_path):
    np.save(tmp_path / "x.npy", IMAGES)
    np.save(tmp_path / "y.npy", np.array([0, 1, 12, 0, 0, 0]))
    with pytest.raises(ImageInputError, match="6 class indices in 0..9"):
        load_images(tmp_path / "x.npy", tmp_path / "y.npy")
    with pytest.raises(ImageInputError, match="not found"):
        load_images(tmp_path / "nope.npy")
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(ImageInputError, match="unsupported file type '.txt'"):
        load_images(tmp_path / "x.txt")


def test_stacked_images_and_their_labels(tmp_path):
    stacked = np.stack([IMAGES, IMAGES[::-1], IMAGES], 1)             # (6, 3, 28, 28)
    np.savez(tmp_path / "s.npz", images=stacked, labels=np.stack([LABELS] * 3, 1))
    images, labels = load_images(tmp_path / "s.npz")
    assert images.shape == (6, 3, 28, 28) and labels.shape == (6, 3)
    np.savez(tmp_path / "short.npz", images=stacked, labels=np.stack([LABELS] * 2, 1))
    with pytest.raises(ImageInputError, match="labels must be 6 x 3 class indices"):
        load_images(tmp_path / "short.npz")
    np.save(tmp_path / "four.npy", np.stack([IMAGES] * 4, 1))
    with pytest.raises(ImageInputError, match=r"shape \(6, 4, 28, 28\), expected .* N x 3 x"):
        load_images(tmp_path / "four.npy")
