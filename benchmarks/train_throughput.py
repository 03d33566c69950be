"""Benchmark: training images per second of the project's `train_epoch` against a naive loop.

The naive loop trains the identical networks with the same updates, written the way
pytorch/examples' dcgan is: a DataLoader over a per-item dataset (PIL image, ToTensor,
Normalize), `.to(device)` per batch, `.item()` per step for logging, default Adam, D's weight
gradients computed in the G step, eager mode. One line per variant, device and mode (eager,
compiled); the ratio project / naive comes last. With --determinism, one more line per variant
and device: the project's eager step with `deterministic` off against on. With --stack K, one
more: the project's eager step on Stacked Fashion-MNIST (K images as channels, data.stack: K)
against the single-channel step, in (stacked) training images per second. With --remedies,
one line per variant of the remedies study (gan.remedies.study()): its eager step against the
plain dcgan step of the same run (penalties, packing and augmentations are not free).

    python benchmarks/train_throughput.py                     # every variant, every device
    python benchmarks/train_throughput.py --variants dcgan --modes eager --determinism
    python benchmarks/train_throughput.py --modes eager --stack 3
    python benchmarks/train_throughput.py --modes eager --variants dcgan --remedies

Needs the prepared data (`dvc repro prepare`), of any size: both loops cycle over it (a
`make quick` run prepares 10,000 images). A benchmark, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torchvision.transforms as T
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from gan.config import DataConfig, GanConfig, Params, VariantConfig
from gan.data.prepared import Split, load_prepared, normalize
from gan.models.gan_nets import build_gan
from gan.remedies import study
from gan.run_config import TrainConfig, train_config
from gan.runtime import set_deterministic
from gan.train.loop import step_nets, train_epoch
from gan.train.state import init_state


class PerItemDataset(Dataset):
    """What torchvision's FashionMNIST does per item: a PIL image through the transforms."""

    def __init__(self, split: Split) -> None:
        self.images, self.labels = split.images, split.labels
        self.transform = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[i].numpy(), mode="L")), int(
            self.labels[i])


def naive_images_per_s(cfg: TrainConfig, split: Split, device: torch.device, steps: int,
                       workers: int) -> float:
    """The pytorch/examples-style loop: same networks and updates, none of the project's care."""
    torch.manual_seed(cfg.seed)
    netG, netD = (m.to(device) for m in build_gan(cfg.arch, cfg.model))
    betas = (cfg.beta1, cfg.beta2)
    optG = torch.optim.Adam(netG.parameters(), lr=cfg.lr_g, betas=betas)
    optD = torch.optim.Adam(netD.parameters(), lr=cfg.lr_d, betas=betas)
    criterion = torch.nn.BCEWithLogitsLoss()
    loader = DataLoader(PerItemDataset(split), batch_size=cfg.batch_size, shuffle=True,
                        num_workers=workers, drop_last=True)
    cond = cfg.model.conditional

    def step(real: torch.Tensor, labels: torch.Tensor) -> None:
        real, labels = real.to(device), labels.to(device)
        b = real.size(0)
        y = labels if cond else None
        fake_y = torch.randint(10, (b,), device=device) if cond else None
        fake = netG(torch.randn(b, cfg.model.z_dim, device=device), fake_y)
        if cfg.d_update == "split":
            netD.zero_grad()
            out_fake = netD(fake.detach(), fake_y)
            errD_fake = criterion(out_fake, torch.zeros(b, device=device))
            errD_fake.backward()
            optD.step()
            netD.zero_grad()
            out_real = netD(real, y)
            errD_real = criterion(out_real, torch.full((b,), 1.0 - cfg.label_smoothing,
                                                       device=device))
            errD_real.backward()
            optD.step()
        else:
            netD.zero_grad()
            both_y = None if not cond else torch.cat([y, fake_y])
            out_real, out_fake = netD(torch.cat([real, fake.detach()]), both_y).chunk(2)
            errD_real = criterion(out_real, torch.full((b,), 1.0 - cfg.label_smoothing,
                                                       device=device))
            errD_fake = criterion(out_fake, torch.zeros(b, device=device))
            (errD_real + errD_fake).backward()
            optD.step()
        netG.zero_grad()
        g_y = torch.randint(10, (b,), device=device) if cond else None
        out = netD(netG(torch.randn(b, cfg.model.z_dim, device=device), g_y), g_y)
        errG = criterion(out, torch.ones(b, device=device))
        errG.backward()
        optG.step()
        # the per-step log line of the examples
        _ = (errD_real.item() + errD_fake.item(), errG.item(),
             torch.sigmoid(out_real).mean().item(), torch.sigmoid(out_fake).mean().item())

    batches = cycle(loader)
    for _ in range(3):  # warm-up: workers started, kernels chosen
        step(*next(batches))
    start = time.perf_counter()
    for _ in range(steps):
        step(*next(batches))
    return steps * cfg.batch_size / (time.perf_counter() - start)


def cycle(loader: DataLoader):
    """Batches without end: a new epoch (reshuffled) whenever the data runs out."""
    while True:
        yield from loader


def project_images_per_s(cfg: TrainConfig, split: Split, device: torch.device,
                         steps: int) -> float:
    """The project's real train_epoch over `steps` batches of the resident training tensor."""
    n = steps * cfg.batch_size
    idx = torch.arange(n) % len(split.labels)  # the data repeated when it holds fewer images
    x = normalize(split.images[idx]).to(device)  # (n, 1, 28, 28)
    y = split.labels[idx].to(device)
    torch._dynamo.reset()  # compiled graphs of earlier variants would count toward its limits
    state = init_state(cfg, device)
    nets = step_nets(state, cfg, device)
    warm = slice(0, 3 * cfg.batch_size)
    train_epoch(state, cfg, x[warm], y[warm], nets)  # warm-up (and compilation)
    start = time.perf_counter()
    train_epoch(state, cfg, x, y, nets)  # returns floats: the device has finished
    return n / (time.perf_counter() - start)


def config(variant: str, batch_size: int, compiled: bool, stack: int = 1) -> TrainConfig:
    """The variant of params.yaml's defaults, or of the remedies study."""
    remedies = {n: VariantConfig(arch="dcgan", **fields) for n, fields in study().items()}
    params = Params(batch_size=batch_size, gan=GanConfig(compile="on" if compiled else "off"),
                    data=DataConfig(stack=stack), variants=Params().variants | remedies)
    return train_config(params, variant, seed=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["gan", "dcgan", "dcgan_bn", "cgan"])
    default_devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    parser.add_argument("--devices", nargs="+", default=default_devices)
    parser.add_argument("--modes", nargs="+", default=["eager", "compiled"],
                        choices=["eager", "compiled"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=120, help="timed steps per figure")
    parser.add_argument("--workers", type=int, default=2,
                        help="DataLoader workers of the naive loop (the examples' default: 2)")
    parser.add_argument("--determinism", action="store_true",
                        help="also time the project's eager step with deterministic off")
    parser.add_argument("--stack", type=int, default=1,
                        help="also time the eager step on Stacked Fashion-MNIST of this many "
                             "channels against the single-channel one (1: not)")
    parser.add_argument("--remedies", action="store_true",
                        help="also time every variant of the remedies study against dcgan")
    parser.add_argument("--data", type=Path, default=Path("data/prepared/fashion_mnist.pt"))
    args = parser.parse_args()
    split = load_prepared(args.data)["train"]
    print(f"batch {args.batch_size}, {args.steps} timed steps per figure, torch "
          f"{torch.__version__}, {torch.get_num_threads()} CPU threads, naive loop with "
          f"{args.workers} DataLoader workers; deterministic on unless said otherwise")
    for device_name in args.devices:
        device = torch.device(device_name)
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        for variant in args.variants:
            set_deterministic(True)
            naive = naive_images_per_s(config(variant, args.batch_size, False), split, device,
                                       args.steps, args.workers)
            eager = None
            for mode in args.modes:
                cfg = config(variant, args.batch_size, mode == "compiled")
                ours = project_images_per_s(cfg, split, device, args.steps)
                eager = ours if mode == "eager" else eager
                print(f"{variant:9s} {name:24s} {mode:9s} project {ours:8.0f} img/s   "
                      f"naive {naive:8.0f} img/s   {ours / naive:.2f}x", flush=True)
            if args.determinism and eager is not None:
                set_deterministic(False)
                fast = project_images_per_s(config(variant, args.batch_size, False), split,
                                            device, args.steps)
                set_deterministic(True)
                print(f"{variant:9s} {name:24s} eager     deterministic off {fast:8.0f} img/s  "
                      f" on {eager:8.0f} img/s   {fast / eager:.2f}x", flush=True)
            if args.stack > 1:
                single = eager or project_images_per_s(config(variant, args.batch_size, False),
                                                       split, device, args.steps)
                stacked = project_images_per_s(config(variant, args.batch_size, False,
                                                      args.stack), split, device, args.steps)
                print(f"{variant:9s} {name:24s} eager     stacked x{args.stack} {stacked:8.0f} "
                      f"img/s   1 channel {single:8.0f} img/s   {stacked / single:.2f}x",
                      flush=True)
        if args.remedies:
            base = project_images_per_s(config("dcgan", args.batch_size, False), split, device,
                                        args.steps)
            for remedy in study():
                ours = project_images_per_s(config(remedy, args.batch_size, False), split,
                                            device, args.steps)
                print(f"{remedy:13s} {name:20s} eager     {ours:8.0f} img/s   dcgan {base:8.0f} "
                      f"img/s   cost per step {base / ours:.2f}x", flush=True)


if __name__ == "__main__":
    main()
