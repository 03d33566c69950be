import torch

from gan.data.prepared import (
    batches,
    denormalize,
    gather,
    load_prepared,
    normalize,
    save_prepared,
    stack_batches,
)


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


def test_one_channel_stack_batches_are_todays_batches():
    a, b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    ours = list(stack_batches(103, 10, 1, a))
    assert all(torch.equal(x, y) for x, y in zip(ours, batches(103, 10, b, drop_last=True),
                                                   strict=True))


def test_stacked_batches_use_every_image_once_per_channel_with_fresh_partners():
    gen = torch.Generator().manual_seed(0)
    epoch1 = torch.cat(list(stack_batches(100, 10, 3, gen)))           # (100, 3)
    epoch2 = torch.cat(list(stack_batches(100, 10, 3, gen)))
    assert epoch1.shape == (100, 3)
    for c in range(3):
        assert sorted(epoch1[:, c].tolist()) == list(range(100))
    assert not torch.equal(epoch1, epoch2)
    x = normalize(torch.arange(100, dtype=torch.uint8)[:, None, None].expand(100, 28, 28))
    labels = torch.arange(100) % 10
    real = gather(x, epoch1[:10])                                      # (10, 3, 28, 28)
    assert real.shape == (10, 3, 28, 28)
    assert torch.equal(denormalize(real)[:, :, 0, 0], epoch1[:10].to(torch.uint8))
    assert torch.equal(gather(labels, epoch1[:10]), epoch1[:10] % 10)


def test_normalize_keeps_stacked_channels():
    images = torch.randint(0, 256, (5, 3, 28, 28), dtype=torch.uint8)
    assert normalize(images).shape == (5, 3, 28, 28)
    assert torch.equal(denormalize(normalize(images)), images)
