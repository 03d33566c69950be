"""Train and evaluate the Fashion-MNIST classifier (the feature space of the GAN metrics)."""

from __future__ import annotations

import copy
import logging

import torch
import torch.nn.functional as F
from torch import nn

from gan import CLASS_NAMES
from gan.config import ClassifierConfig
from gan.data.prepared import Split, batches, normalize
from gan.models.classifier import ClassifierArch, FashionClassifier
from gan.runtime import seed_everything, to_device
from gan.tracking import Tracker

log = logging.getLogger(__name__)


def build_classifier(cfg: ClassifierConfig) -> FashionClassifier:
    return FashionClassifier(ClassifierArch(cfg.channels, cfg.feature_dim, cfg.dropout))


def train_step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor) -> tuple[float, int]:
    """One optimisation step on a normalized batch; returns (loss, number correct)."""
    model.train()
    logits = model(x)  # (B, 10)
    loss = F.cross_entropy(logits, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item(), int((logits.argmax(1) == y).sum())


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, device: torch.device,
             batch_size: int = 1000) -> dict[str, float | dict[str, float]]:
    """Loss, accuracy and per-class accuracy (by class name) of a model on a split."""
    model.eval()
    labels = split.labels.to(device)
    preds, loss = [], 0.0
    for idx in batches(len(labels), batch_size):
        logits = model(normalize(split.images[idx].to(device)))
        loss += F.cross_entropy(logits, labels[idx.to(device)], reduction="sum").item()
        preds.append(logits.argmax(1))
    correct = torch.cat(preds) == labels
    per_class = {name: correct[labels == k].float().mean().item()
                 for k, name in enumerate(CLASS_NAMES) if (labels == k).any()}
    return {"loss": loss / len(labels), "accuracy": correct.float().mean().item(),
            "per_class_accuracy": per_class}


def train_classifier(splits: dict[str, Split], cfg: ClassifierConfig, seed: int,
                     device: torch.device, tracker: Tracker) -> tuple[FashionClassifier, dict]:
    """Train on the training split; keep the weights of the best epoch on validation."""
    gen = seed_everything(seed)
    model = to_device(build_classifier(cfg), device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    x_train = normalize(splits["train"].images).to(device)  # (N, 1, 28, 28), resident
    y_train = splits["train"].labels.to(device)
    steps_per_epoch = -(-len(y_train) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr,
                                                total_steps=cfg.epochs * steps_per_epoch)
    best = {"accuracy": -1.0}
    for epoch in range(1, cfg.epochs + 1):
        loss_sum = correct = 0
        for idx in batches(len(y_train), cfg.batch_size, gen):
            idx = idx.to(device)
            x = x_train[idx]
            if cfg.hflip:  # mirror half the batch: garments are left-right symmetric classes
                flip = (torch.rand(len(idx), generator=gen) < 0.5).to(device)
                x = torch.where(flip[:, None, None, None], x.flip(3), x)
            loss, n_correct = train_step(model, opt, x, y_train[idx])
            sched.step()
            loss_sum += loss * len(idx)
            correct += n_correct
        val = evaluate(model, splits["val"], device)
        row = {"train_loss": loss_sum / len(y_train), "train_accuracy": correct / len(y_train),
               "val_loss": val["loss"], "val_accuracy": val["accuracy"]}
        tracker.log_metrics(row, step=epoch)
        log.info("epoch %d/%d %s", epoch, cfg.epochs,
                 " ".join(f"{k}={v:.4f}" for k, v in row.items()))
        if val["accuracy"] > best["accuracy"]:
            best = {"accuracy": val["accuracy"], "epoch": epoch,
                    "state": copy.deepcopy(model.state_dict())}
    model.load_state_dict(best["state"])
    return model, {"best_epoch": best["epoch"], "val_accuracy": best["accuracy"]}
