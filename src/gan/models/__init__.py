"""Model registry: names map to (module, architecture config class, model class).

Entries are imported on first use, so a stage that loads the classifier does not import the GAN
networks (and does not list them as DVC dependencies).
"""

from __future__ import annotations

import importlib
from dataclasses import asdict
from typing import Any

from torch import nn

REGISTRY: dict[str, tuple[str, str, str]] = {
    "classifier": ("gan.models.classifier", "ClassifierArch", "FashionClassifier"),
    "mlp_generator": ("gan.models.gan_nets", "GanArch", "MLPGenerator"),
    "mlp_discriminator": ("gan.models.gan_nets", "GanArch", "MLPDiscriminator"),
    "dcgan_generator": ("gan.models.gan_nets", "GanArch", "DCGenerator"),
    "dcgan_discriminator": ("gan.models.gan_nets", "GanArch", "DCDiscriminator"),
}
# GAN architectures: name -> (generator, discriminator) registry names.
GAN_ARCHS = {"mlp": ("mlp_generator", "mlp_discriminator"),
             "dcgan": ("dcgan_generator", "dcgan_discriminator")}


def build_model(name: str, config: dict[str, Any]) -> nn.Module:
    """Build a registered model from its name and architecture config (as stored in checkpoints)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown model {name!r}; valid names: {sorted(REGISTRY)}")
    module_name, arch_name, class_name = REGISTRY[name]
    module = importlib.import_module(module_name)
    return getattr(module, class_name)(getattr(module, arch_name)(**config))


def build_gan(arch_name: str, arch: Any) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator of a GAN architecture; unknown names list the valid ones."""
    if arch_name not in GAN_ARCHS:
        raise ValueError(f"unknown GAN architecture {arch_name!r}; valid: {sorted(GAN_ARCHS)}")
    g_name, d_name = GAN_ARCHS[arch_name]
    return build_model(g_name, asdict(arch)), build_model(d_name, asdict(arch))


def model_config(model: nn.Module) -> dict[str, Any]:
    """The architecture config a registered model was built from, as a plain dict."""
    return asdict(model.arch)


def model_name(model: nn.Module) -> str:
    key = (type(model).__module__, type(model).__name__)
    for name, (module_name, _, class_name) in REGISTRY.items():
        if key == (module_name, class_name):
            return name
    raise ValueError(f"{type(model).__name__} is not a registered model; "
                     f"valid: {sorted(REGISTRY)}")
