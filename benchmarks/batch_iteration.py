"""Benchmark: batches by index from the resident training tensor vs a per-item DataLoader.

Prints steps per second of GAN training (d_step + g_step) for both ways of feeding batches,
and their ratio, on the device `auto` picks. Usage:
    python benchmarks/batch_iteration.py [--variant dcgan] [--steps 60] [--data PATH]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from gan.config import Params
from gan.data import batches, load_prepared, normalize
from gan.runtime import resolve_device
from gan.train import d_step, g_step
from gan.train_state import init_state, train_config


def steps_per_second(feed, state, cfg, device, steps: int) -> float:
    def one_step(x: torch.Tensor) -> None:
        z = torch.randn(len(x), cfg.model.z_dim, device=device)
        d_step(state.G, state.D, state.opt_d, x, None, z, None)
        g_step(state.G, state.D, state.opt_g, torch.randn_like(z), None)

    it = iter(feed)
    one_step(next(it))  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        one_step(next(it))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="dcgan", choices=["gan", "dcgan", "dcgan_bn"])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--data", type=Path, default=Path("data/prepared/fashion_mnist.pt"))
    args = parser.parse_args()
    params = Params()
    cfg = train_config(params, args.variant)
    device = resolve_device("auto")
    images = load_prepared(args.data)["train"].images
    gen = torch.Generator().manual_seed(0)

    x = normalize(images).to(device)  # resident: one tensor on the device
    resident = (x[idx] for idx in batches(len(x), cfg.batch_size, gen, True, device))
    loader = DataLoader(TensorDataset(normalize(images)), batch_size=cfg.batch_size,
                        shuffle=True, drop_last=True, generator=gen)
    per_item = (b.to(device, non_blocking=True) for (b,) in loader)

    state = init_state(cfg, device)
    fast = steps_per_second(resident, state, cfg, device, args.steps)
    slow = steps_per_second(per_item, state, cfg, device, args.steps)
    print(f"device {device}, variant {args.variant}, batch {cfg.batch_size}, {args.steps} steps")
    print(f"resident tensor, index batches: {fast:8.1f} steps/s")
    print(f"DataLoader, per-item collation: {slow:8.1f} steps/s")
    print(f"ratio resident / DataLoader:    {fast / slow:8.2f}x")


if __name__ == "__main__":
    main()
