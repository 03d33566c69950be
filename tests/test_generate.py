import copy

import torch

from gan.generate import GRID_SIDE, fixed_noise, generate, recalibrate_bn, render
from gan.models.gan_nets import GanArch, build_gan

CPU = torch.device("cpu")


def test_fixed_noise_and_samples_are_uint8_on_the_cpu():
    G, _ = build_gan("dcgan", GanArch(width=8, conditional=True))
    z, labels = fixed_noise(G.arch, seed=0, device=CPU)
    assert z.shape == (GRID_SIDE ** 2, 100) and labels.tolist()[:11] == [0] * 10 + [1]
    assert torch.equal(z, fixed_noise(G.arch, seed=0, device=CPU)[0])  # the same every time
    images = render(G, z, labels)
    assert images.shape == (100, 28, 28) and images.dtype == torch.uint8
    samples, sample_labels = generate(G, 25, CPU, seed=1, batch_size=10)
    assert samples.shape == (25, 28, 28) and sample_labels.bincount().tolist()[:2] == [3, 3]
    assert G.training  # mode restored


def test_ema_batchnorm_statistics_are_recomputed_for_the_ema_weights():
    """An EMA generator whose weights moved away from the live one's: the statistics copied
    from the live generator are wrong for it; recomputed ones match its own activations."""
    G, _ = build_gan("dcgan", GanArch(width=8))
    ema = copy.deepcopy(G)
    with torch.no_grad():
        ema.project[0].weight.mul_(3.0)  # (as if) the EMA weights differ from G's
    z = torch.randn(4096, 100, generator=torch.Generator().manual_seed(5))

    def eval_vs_batch_stats(model):
        model.eval()
        with torch.no_grad():
            ev = model(z)
            model.train()
            tr = model(z)  # batch statistics of this model's own activations
        return (ev - tr).abs().mean().item()

    stale = copy.deepcopy(ema)
    stale.load_state_dict({**ema.state_dict(), **{k: v for k, v in G.state_dict().items()
                                                  if "running" in k}})
    recalibrate_bn(ema, CPU, seed=0, n_batches=16, batch_size=256)
    bn = ema.project[1]
    assert bn.momentum == 0.1 and bn.num_batches_tracked == 16  # momentum restored
    assert eval_vs_batch_stats(ema) < 0.02 < eval_vs_batch_stats(stale)
