"""Typed configuration built from params.yaml, validated before any work starts.

Every knob lives in params.yaml; the dataclasses below mirror its layout. Defaults here exist
only so tests can build small configs; the pipeline always reads params.yaml in full.
"""

from __future__ import annotations

import dataclasses
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from gan.errors import PipelineError


class ConfigError(PipelineError, ValueError):
    """A params file is missing, malformed, or holds an invalid value."""


def _bounded(default: Any, *, ge: float | None = None, gt: float | None = None,
             le: float | None = None, choices: tuple[str, ...] | None = None) -> Any:
    meta = {"ge": ge, "gt": gt, "le": le, "choices": choices}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class DataConfig:
    # Public mirrors tried in order; each holds the four official gzip files.
    mirrors: list[str] = _bounded([
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    ])
    # Directory holding the four files, tried before the mirrors. FASHION_MNIST_MIRROR wins.
    local_mirror: str | None = None
    timeout_s: float = _bounded(30.0, gt=0)
    val_size: int = _bounded(5000, ge=1)
    # Optional caps for quick runs; null keeps everything.
    train_size: int | None = _bounded(None, ge=1)
    test_size: int | None = _bounded(None, ge=1)
    # Stacked Fashion-MNIST: k > 1 trains every variant on k images stacked as channels,
    # 10**k modes (PacGAN's Stacked MNIST protocol, on Fashion-MNIST); 1: plain Fashion-MNIST.
    stack: int = _bounded(1, ge=1, le=3)


@dataclass(frozen=True)
class ClassifierConfig:
    epochs: int = _bounded(8, ge=1)
    batch_size: int = _bounded(128, ge=1)
    lr: float = _bounded(3e-3, gt=0)
    weight_decay: float = _bounded(5e-4, ge=0)
    channels: int = _bounded(32, ge=1)
    feature_dim: int = _bounded(128, ge=1)
    dropout: float = _bounded(0.3, ge=0, le=0.95)
    hflip: bool = True


@dataclass(frozen=True)
class GanConfig:
    z_dim: int = _bounded(100, ge=1)
    beta1: float = _bounded(0.5, ge=0, le=1)
    beta2: float = _bounded(0.999, ge=0, le=1)
    # split: D on fakes, then on reals, separate updates (as the Keras write-ups); joint: one step.
    d_update: str = _bounded("split", choices=("split", "joint"))
    label_smoothing: float = _bounded(0.0, ge=0, le=0.5)  # one-sided: real target 1 - this
    ema_decay: float = _bounded(0.0, ge=0, le=0.9999)     # 0 disables the generator EMA
    bf16: bool = False                                    # bf16 autocast, CUDA only
    grid_every: int = _bounded(1, ge=1)                   # epochs between animation frames
    # torch.compile of G and D for the training step; auto: where the benchmark found it pays.
    compile: str = _bounded("auto", choices=("auto", "on", "off"))
    # Learning rates scale with batch_size / base_batch_size: none, sqrt (Adam) or linear.
    lr_scaling: str = _bounded("none", choices=("none", "sqrt", "linear"))
    base_batch_size: int = _bounded(128, ge=1)


@dataclass(frozen=True)
class VariantConfig:
    arch: str = _bounded("dcgan", choices=("mlp", "dcgan"))
    conditional: bool = False
    projection: bool = False  # conditional D by projection instead of input concatenation
    width: int = _bounded(64, ge=1)
    # Remedies for mode collapse (README: remedies); names are checked against their registries.
    loss: str = "non_saturating"  # gan.losses
    d_norm: str = "none"          # D's normalisation: none | batch | layer | spectral
    g_spectral: bool = False      # spectral norm on G's weights too
    penalty: str = "none"         # gan.penalties: none | wgan_gp | r1
    penalty_weight: float = _bounded(10.0, ge=0)  # lambda (wgan_gp) or gamma (r1)
    n_critic: int = _bounded(1, ge=1)             # D steps per G step
    pack: int = _bounded(1, ge=1)                 # PacGAN: samples per D input
    mbstd_group: int = _bounded(0, ge=0)          # minibatch std group size (0: off)
    augment: list[str] = _bounded([])             # DiffAugment policy (gan.augment), in order
    beta1: float | None = _bounded(None, ge=0, le=1)  # Adam's, overriding gan.beta1
    beta2: float | None = _bounded(None, ge=0, le=1)
    # Per-variant overrides of the top-level knobs; null uses the top-level value.
    epochs: int | None = _bounded(None, ge=1)
    lr_d: float | None = _bounded(None, gt=0)
    lr_g: float | None = _bounded(None, gt=0)
    lr_d_milestones: dict[int, float] | None = None


@dataclass(frozen=True)
class EvalConfig:
    n_samples: int = _bounded(10000, ge=2)             # generated vs this many test images
    coverage_min_share: float = _bounded(0.02, ge=0, le=1)
    confidence_threshold: float = _bounded(0.5, ge=0, le=1)  # below: the classifier is unsure
    batch_size: int = _bounded(1000, ge=1)
    eval_every: int = _bounded(5, ge=0)                # epochs between generator snapshots
    snapshot_n_samples: int = _bounded(2000, ge=2)     # samples to score each snapshot
    # Stacked runs (data.stack > 1): modes are counted over this many samples (PacGAN: 26,000),
    # a mode being covered when it holds at least mode_min_count of them (PacGAN: 1).
    mode_n_samples: int = _bounded(26000, ge=1)
    mode_min_count: int = _bounded(1, ge=1)


DEFAULT_VARIANTS = {
    "gan": VariantConfig(arch="mlp"),
    "dcgan": VariantConfig(arch="dcgan"),
    "dcgan_bn": VariantConfig(arch="dcgan", d_norm="batch"),
    "cgan": VariantConfig(arch="dcgan", conditional=True),
    "cgan_proj": VariantConfig(arch="dcgan", conditional=True, projection=True),
}


@dataclass(frozen=True)
class MlflowConfig:
    experiment: str = "fashion-gan"


@dataclass(frozen=True)
class Params:
    seed: int = _bounded(0, ge=0)  # the shared stages: validation split, classifier
    # Every GAN variant trains, samples and is evaluated once per seed; the report aggregates.
    seeds: list[int] = _bounded([0, 1, 2], ge=0)
    device: str = _bounded("auto", choices=("auto", "cpu", "cuda", "mps"))
    # Same seed, same result on the same hardware (deterministic kernels, no autotuning).
    deterministic: bool = True
    # GAN knobs at top level so `dvc exp run -S lr_d=1e-4` works.
    epochs: int = _bounded(20, ge=1)
    batch_size: int = _bounded(128, ge=1)
    lr_d: float = _bounded(2e-4, gt=0)
    lr_g: float = _bounded(2e-4, gt=0)
    # Discriminator learning rate from an epoch on: {100: 1.0e-4} trains D at lr_d for the
    # first 100 epochs, then at 1e-4 (one write-up's schedule). Empty: lr_d throughout.
    lr_d_milestones: dict[int, float] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    gan: GanConfig = field(default_factory=GanConfig)
    variants: dict[str, VariantConfig] = field(default_factory=lambda: dict(DEFAULT_VARIANTS))
    eval: EvalConfig = field(default_factory=EvalConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)

    def __post_init__(self) -> None:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"params.yaml: 'seeds' must be a non-empty list of distinct "
                              f"seeds, e.g. [0, 1, 2]; got {self.seeds}")
        schedules = {"lr_d_milestones": self.lr_d_milestones} | {
            f"variants.{n}.lr_d_milestones": v.lr_d_milestones
            for n, v in self.variants.items() if v.lr_d_milestones is not None}
        for key, schedule in schedules.items():
            bad_lr = {k: v for k, v in schedule.items() if k < 1 or v <= 0}
            if bad_lr:
                raise ConfigError(f"params.yaml: '{key}' needs epochs >= 1 and rates > 0, "
                                  f"got {bad_lr}")
        unconditioned = [n for n, v in self.variants.items() if v.projection and not v.conditional]
        if unconditioned:
            raise ConfigError(f"params.yaml: variants {unconditioned} set projection: true; it "
                              "needs conditional: true")
        bad = [name for name in self.variants if not VARIANT_NAME.fullmatch(name)]
        if bad:
            raise ConfigError(f"params.yaml: variant name(s) {bad} must match "
                              f"{VARIANT_NAME.pattern} (they become file names)")

    def variant(self, name: str) -> VariantConfig:
        if name not in self.variants:
            raise ConfigError(f"params.yaml: no variant {name!r} under 'variants'; "
                              f"defined: {sorted(self.variants)}")
        return self.variants[name]


VARIANT_NAME = re.compile(r"[a-z][a-z0-9_]*")


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader that reads `1e-4` as a float (YAML 1.2), as DVC writes it for `-S lr_d=1e-4`."""


_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?$|^[-+]?\.(?:inf|Inf|INF)$"
               r"|^\.(?:nan|NaN|NAN)$"),
    list("-+0123456789."),
)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, with a clear error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found (run from the repository root "
                          "or pass --params PATH)")
    try:
        data = yaml.load(path.read_text(), Loader=_Yaml12Loader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values at the top level")
    return data


def load_params(path: Path | str = "params.yaml") -> Params:
    """Build and validate the full config from a params file."""
    return build(Params, read_yaml(Path(path)), source=str(path))


def build(cls: type, data: Any, source: str = "params", prefix: str = "") -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys, wrong types and bad ranges."""
    where = f"{source}: " + (f"'{prefix}'" if prefix else "top level")
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(data).__name__}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {sorted(fields)}")
    values = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        values[name] = _coerce(hints[name], value, key, source)
        _check_bounds(fields[name].metadata, values[name], key, source)
    return cls(**values)


def _coerce(hint: Any, value: Any, key: str, source: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(inner, value, key, source)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, source, key)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{key}' must be a mapping, got {value!r}")
        return {_key(args[0], k, key, source): _coerce(args[1], v, f"{key}.{k}", source)
                for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{source}: '{key}' must be a list, got {value!r}")
        return [_coerce(args[0], v, f"{key}[{i}]", source) for i, v in enumerate(value)]
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[hint]
    if not ok:
        raise ConfigError(f"{source}: '{key}' must be {hint.__name__}, got {value!r} "
                          f"({type(value).__name__})")
    return float(value) if hint is float else value


def _key(hint: Any, k: Any, key: str, source: str) -> Any:
    """A mapping key: str as written, or int (DVC's `-S a.100=...` writes the key as text)."""
    if hint is int:
        if isinstance(k, bool) or not (isinstance(k, int) or str(k).isdigit()):
            raise ConfigError(f"{source}: '{key}' keys must be whole numbers, got {k!r}")
        return int(k)
    return str(k)


def _check_bounds(meta: Any, value: Any, key: str, source: str) -> None:
    if value is None or not meta:
        return
    if isinstance(value, list):  # bounds apply to each element
        for i, item in enumerate(value):
            _check_bounds(meta, item, f"{key}[{i}]", source)
        return
    expected = None
    if meta["ge"] is not None and value < meta["ge"]:
        expected = f">= {meta['ge']}"
    elif meta["gt"] is not None and value <= meta["gt"]:
        expected = f"> {meta['gt']}"
    elif meta["le"] is not None and value > meta["le"]:
        expected = f"<= {meta['le']}"
    elif meta["choices"] is not None and value not in meta["choices"]:
        expected = f"one of {list(meta['choices'])}"
    if expected:
        raise ConfigError(f"{source}: '{key}' must be {expected}, got {value!r}")
