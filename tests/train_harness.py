"""Training in-process, for tests: small params, a few hundred real images, a few epochs, and a
run stopped after an epoch (its state saved as the train stage saves it) to resume from."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
import torch

from gan.config import GanConfig, Params, VariantConfig
from gan.data.prepared import Split, normalize
from gan.remedies import study
from gan.run_config import TrainConfig, train_config
from gan.train.loop import train, train_epoch
from gan.train.state import TrainState, init_state, load_state, save_state

CPU = torch.device("cpu")


def tiny_params(**gan) -> Params:
    """Every default variant at width 8, 3 epochs of batches of 64; GAN knobs as given."""
    variants = {name: v.model_copy(update={"width": 8}) for name, v in Params().variants.items()}
    return Params(epochs=3, batch_size=64, variants=variants, gan=GanConfig(**gan))


def remedy_params() -> Params:
    """Every variant of the remedies study at width 8: 2 epochs of batches of 16."""
    variants = {n: VariantConfig(arch="dcgan", width=8, **fields) for n, fields in study().items()}
    return Params(epochs=2, batch_size=16, variants=variants)


def few_images(splits: dict[str, Split], n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `n` training images, normalised, and their labels."""
    return normalize(splits["train"].images[:n]), splits["train"].labels[:n]


def trained(variant: str, data: tuple[torch.Tensor, torch.Tensor], device: torch.device = CPU,
            **gan) -> tuple[TrainState, TrainConfig]:
    """A whole run of `variant` under tiny_params(**gan), seed 0."""
    cfg = train_config(tiny_params(**gan), variant, seed=0)
    state = init_state(cfg, device)
    return train(state, cfg, *(t.to(device) for t in data), lambda s, r: None), cfg


def blank_frame(state: TrainState) -> None:
    """A blank animation frame: the train stage saves the state with its frames."""
    state.frames.append(torch.zeros(100, 28, 28, dtype=torch.uint8))


def train_until_stopped(cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor, path: Path,
                        device: torch.device = CPU, stop_after: int = 1,
                        key: str = "data") -> None:
    """Train afresh, saving the state to `path` after every epoch as the train stage does, and
    stop (as a killed run stops) once epoch `stop_after` is saved."""

    class Stopped(Exception):
        pass

    def save_then_stop(state: TrainState, row: dict[str, float]) -> None:
        state.history.append(row)
        blank_frame(state)
        save_state(path, state, cfg, key)
        if state.epoch == stop_after:
            raise Stopped

    with pytest.raises(Stopped):
        train(init_state(cfg, device), cfg, x, y, save_then_stop)


def resume(path: Path, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor,
           device: torch.device = CPU, key: str = "data") -> tuple[int, TrainState]:
    """Load the state saved at `path` and train it to the end: (the epoch it resumed after,
    the finished state)."""
    state = load_state(path, cfg, device, key)
    assert state is not None, f"{path} did not resume"
    after = state.epoch
    train(state, cfg, x, y, lambda s, r: None)
    return after, state


def differing(a: TrainState, b: TrainState, modules: Iterable[str] = ("G", "D")) -> list[str]:
    """The modules among `modules` whose weights differ between two states."""
    out = []
    for module in modules:
        sa, sb = getattr(a, module).state_dict(), getattr(b, module).state_dict()
        if not all(torch.equal(sa[k], sb[k]) for k in sa):
            out.append(module)
    return out


def written_state(tmp_path: Path, variant: str = "cgan", **gan) -> tuple[Path, TrainConfig]:
    """A resume checkpoint (tmp_path/last.pt, run key "key") after one epoch on random images,
    with optimizer state, a frame and an EMA generator."""
    cfg = train_config(tiny_params(ema_decay=0.9, **gan), variant, seed=0)
    state = init_state(cfg, CPU)
    x = torch.rand(128, 1, 28, 28) * 2 - 1
    train_epoch(state, cfg, x, torch.randint(10, (128,)))  # optimizer state to save
    blank_frame(state)
    state.frame_epochs.append(0)
    path = tmp_path / "last.pt"
    save_state(path, state, cfg, "key")
    return path, cfg
