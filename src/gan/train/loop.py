"""One training loop for every GAN variant, built from small pure D and G steps."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from gan.config import ConfigError
from gan.data.prepared import gather, stack_batches
from gan.errors import PipelineError
from gan.run_config import TrainConfig, lr_d_at
from gan.train.augment import augment
from gan.train.losses import get_loss
from gan.train.penalties import get_penalty
from gan.train.state import TrainState

log = logging.getLogger(__name__)

# d_penalty: the weighted penalty term added to D's loss on reals (0 without a penalty).
METRICS = ("d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake", "d_penalty")


class NonFiniteLossError(PipelineError, RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def _amp(device: torch.device, enabled: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if enabled else nullcontext()


def sample_labels(n: int, conditional: bool, generator: torch.Generator,
                  device: torch.device, num_classes: int = 10,
                  shape: tuple[int, ...] = ()) -> torch.Tensor | None:
    """Uniform random class labels (n, *shape) for conditional fakes (shape (k,) for stacked
    images: a class per channel), None for unconditional models."""
    if not conditional:
        return None
    return torch.randint(num_classes, (n, *shape), generator=generator, device=device)


@dataclass(frozen=True)
class StepConfig:
    """How one D and G step is taken.

    d_update: split, a D step on the fakes then one on the reals (the Keras two-phase recipe);
    joint, one D step on reals and fakes together. label_smoothing: the real target is
    1 - label_smoothing (one-sided, BCE losses). amp: bf16 autocast. loss, penalty, augment:
    names in gan.train.losses, .penalties and .augment (checked by the config); penalty_weight
    is lambda or gamma.
    """

    d_update: str = "split"
    label_smoothing: float = 0.0
    amp: bool = False
    loss: str = "non_saturating"
    penalty: str = "none"
    penalty_weight: float = 0.0
    augment: tuple[str, ...] = ()


def _penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
             labels: torch.Tensor | None, step: StepConfig,
             generator: torch.Generator | None) -> torch.Tensor:
    return step.penalty_weight * get_penalty(step.penalty)(D, real, fake, labels, generator)


def d_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, real: torch.Tensor,
           z: torch.Tensor, step: StepConfig, real_labels: torch.Tensor | None = None,
           fake_labels: torch.Tensor | None = None,
           generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """One discriminator update on reals (B, C, 28, 28) and fakes G(z); G is not updated.
    `generator` draws the augmentations and the penalty's interpolation (the run's noise)."""
    amp, loss = step.amp, get_loss(step.loss)
    with torch.no_grad(), _amp(real.device, amp):
        fake = G(z, fake_labels).to(real.dtype)  # (B, C, 28, 28)
    real = augment(real, step.augment, generator)
    fake = augment(fake, step.augment, generator)
    real_target = 1.0 - step.label_smoothing
    if step.d_update == "joint":
        labels = None if real_labels is None else torch.cat([real_labels, fake_labels])
        with _amp(real.device, amp):
            logit_real, logit_fake = D(torch.cat([real, fake]), labels).chunk(2)
        loss_real, loss_fake = loss.d_real(logit_real, real_target), loss.d_fake(logit_fake)
        penalty = _penalty(D, real, fake, real_labels, step, generator)
        opt_d.zero_grad(set_to_none=True)
        (loss_real + loss_fake + penalty).backward()
        opt_d.step()
    else:
        with _amp(real.device, amp):
            logit_fake = D(fake, fake_labels)
        loss_fake = loss.d_fake(logit_fake)
        opt_d.zero_grad(set_to_none=True)
        loss_fake.backward()
        opt_d.step()
        with _amp(real.device, amp):
            logit_real = D(real, real_labels)
        loss_real = loss.d_real(logit_real, real_target)
        penalty = _penalty(D, real, fake, real_labels, step, generator)
        opt_d.zero_grad(set_to_none=True)
        (loss_real + penalty).backward()
        opt_d.step()
    return {"d_loss_real": loss_real.detach(), "d_loss_fake": loss_fake.detach(),
            "d_real": logit_real.detach().float().sigmoid().mean(),
            "d_fake": logit_fake.detach().float().sigmoid().mean(),
            "d_penalty": penalty.detach()}


def g_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, z: torch.Tensor,
           step: StepConfig, labels: torch.Tensor | None = None,
           generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """One generator update with the step's loss (through the same augmentations D sees);
    D's weights are frozen meanwhile."""
    D.requires_grad_(False)
    try:
        with _amp(z.device, step.amp):
            logits = D(augment(G(z, labels), step.augment, generator), labels)  # (B/m,)
        loss = get_loss(step.loss).g(logits)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
    finally:
        D.requires_grad_(True)
    return {"g_loss": loss.detach()}


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for the weights, in one multi-tensor kernel.
    Batch-norm statistics are not copied from the live model (they belong to other weights):
    `gan.train.state.ready_sampler` recomputes them for the EMA weights before any use."""
    torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1.0 - decay)


# Devices where torch.compile of G and D pays, as measured by benchmarks/train_throughput.py
# (`gan.compile: auto`). On a 2-core CPU it does not: the DCGAN step is convolution-bound.
COMPILE_PAYS = {"cuda": True, "cpu": False, "mps": False}


def step_nets(state: TrainState, cfg: TrainConfig, device: torch.device
              ) -> tuple[nn.Module, nn.Module]:
    """G and D as the training step calls them: compiled (sharing the weights of state.G and
    state.D, which checkpoints save) or the modules themselves. A D with a gradient penalty
    is not compiled: torch.compile has no double backward."""
    on = cfg.compile == "on" or (cfg.compile == "auto" and COMPILE_PAYS.get(device.type, False))
    if not on:
        return state.G, state.D
    D = state.D if cfg.penalty != "none" else torch.compile(state.D, dynamic=False)
    return torch.compile(state.G, dynamic=False), D


def step_config(cfg: TrainConfig, device: torch.device) -> StepConfig:
    return StepConfig(cfg.d_update, cfg.label_smoothing, cfg.bf16 and device.type == "cuda",
                      cfg.loss, cfg.penalty, cfg.penalty_weight, cfg.augment)


def check_batch_size(cfg: TrainConfig, n_images: int) -> None:
    """Fail before the first epoch when not one full batch fits in the training set."""
    if cfg.batch_size > n_images:
        raise ConfigError(f"params.yaml: 'batch_size' {cfg.batch_size} exceeds the {n_images} "
                          "training images; lower it (or raise data.train_size)")


def train_epoch(state: TrainState, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor,
                nets: tuple[nn.Module, nn.Module] | None = None,
                on_step: Callable[[], None] | None = None) -> dict[str, float]:
    """One pass over the resident training tensors x (N, 1, 28, 28) and y (N,); epoch means.
    With cfg.model.channels = k > 1 each real is k images of x stacked as channels
    (Stacked Fashion-MNIST, see data.stack_batches), its labels (B, k).

    `nets`: G and D for the step (see step_nets); state.G and state.D by default. `on_step`
    is called after each step (a progress bar). The loop never waits on the device: losses are
    summed and checked for NaN on it, and read once at the end.
    """
    device, gen = x.device, state.noise_gen
    G, D = nets or (state.G, state.D)
    step_cfg = step_config(cfg, device)
    cond, shape = cfg.model.conditional, cfg.model.label_shape
    totals = torch.zeros(len(METRICS), device=device)
    g_col = METRICS.index("g_loss")
    first_bad = torch.tensor(-1, device=device)  # first non-finite step, found without a sync
    n_steps = n_g_steps = 0
    for step, idx in enumerate(stack_batches(len(x), cfg.batch_size, cfg.model.channels,
                                             state.batch_gen, drop_last=True, device=device)):
        n = len(idx)  # idx: (B,) or (B, k) for stacked images
        z_d = torch.randn(n, cfg.model.z_dim, generator=gen, device=device)
        labels_d = sample_labels(n, cond, gen, device, shape=shape)
        out = d_step(G, D, state.opt_d, gather(x, idx), z_d, step_cfg,
                     real_labels=gather(y, idx) if cond else None, fake_labels=labels_d,
                     generator=gen)
        if (step + 1) % cfg.n_critic == 0:  # n_critic D steps per G step
            z_g = torch.randn(n, cfg.model.z_dim, generator=gen, device=device)
            labels_g = sample_labels(n, cond, gen, device, shape=shape)
            out |= g_step(G, D, state.opt_g, z_g, step_cfg, labels=labels_g, generator=gen)
            n_g_steps += 1
            if state.ema is not None:
                ema_update(state.ema, state.G, cfg.ema_decay)
        else:
            out["g_loss"] = totals.new_zeros(())
        row = torch.stack([out[k] for k in METRICS])
        bad = ~torch.isfinite(row).all()
        first_bad = torch.where(bad & (first_bad < 0), step, first_bad)
        totals += row
        n_steps += 1
        if on_step is not None:
            on_step()
    if int(first_bad) >= 0:
        raise NonFiniteLossError(
            f"variant {cfg.variant}: non-finite loss at epoch {state.epoch + 1}, step "
            f"{int(first_bad) + 1}; training stopped, the last good checkpoint (epoch "
            f"{state.epoch}) is kept. Try lower lr_d/lr_g, or bf16: false.")
    state.step += n_steps
    means = totals / n_steps
    means[g_col] = totals[g_col] / max(n_g_steps, 1)
    return dict(zip(METRICS, means.tolist(), strict=True))


def train(state: TrainState, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor,
          on_epoch: Callable[[TrainState, dict[str, float]], None],
          on_step: Callable[[], None] | None = None) -> TrainState:
    """Train from state.epoch to cfg.epochs; `on_epoch` logs and checkpoints after each epoch.
    The caller has checked the batch size (check_batch_size), before any other work."""
    nets = step_nets(state, cfg, x.device)
    while state.epoch < cfg.epochs:
        for group in state.opt_d.param_groups:  # the lr_d schedule (milestones)
            group["lr"] = lr_d_at(cfg, state.epoch)
        row = train_epoch(state, cfg, x, y, nets, on_step)
        state.epoch += 1
        log.debug("%s epoch %d/%d %s", cfg.variant, state.epoch, cfg.epochs,
                  " ".join(f"{k}={v:.4f}" for k, v in row.items()))
        on_epoch(state, row)
    return state
