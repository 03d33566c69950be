import torch

from gan.data import batches, denormalize, load_prepared, normalize, save_prepared


def test_normalize_range_and_inverse():
    images = torch.arange(256, dtype=torch.uint8).repeat(4).reshape(1, 32, 32)
    x = normalize(images)
    assert x.shape == (1, 1, 32, 32) and x.dtype == torch.float32
    assert x.min() == -1.0 and x.max() == 1.0
    assert torch.equal(denormalize(x), images)


def test_split_sizes_disjoint_and_seeded(small_splits):
    assert [len(small_splits[s].labels) for s in ("train", "val", "test")] == [2000, 500, 1000]
    flat = lambda s: {bytes(img.numpy()) for img in small_splits[s].images}  # noqa: E731
    assert not flat("train") & flat("val")


def test_prepared_roundtrip(tmp_path, small_splits):
    path = tmp_path / "prepared.pt"
    save_prepared(small_splits, path)
    loaded = load_prepared(path)
    assert torch.equal(loaded["val"].images, small_splits["val"].images)
    assert loaded["train"].images.dtype == torch.uint8


def test_batches_cover_every_index_once():
    gen = torch.Generator().manual_seed(0)
    seen = torch.cat(list(batches(103, 10, gen)))
    assert sorted(seen.tolist()) == list(range(103))
    assert len(list(batches(103, 10, gen, drop_last=True))) == 10
    assert torch.equal(torch.cat(list(batches(5, 2))), torch.arange(5))
