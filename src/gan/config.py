"""Typed configuration built from params.yaml, validated before any work starts.

Every knob lives in params.yaml; the pydantic models below mirror its layout (frozen, unknown
keys refused, strict types: a bool is not an int, "3" is not a number). A bad value becomes
one ConfigError line naming the file, the key, what is expected and what was given. Defaults
here exist only so tests can build small configs; the pipeline always reads params.yaml in full.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gan.errors import WHERE, ConfigError, describe


class _Section(BaseModel):
    """A params.yaml section: frozen, strict, and an unknown key listed with the valid ones."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    _renamed: ClassVar[dict[str, str]] = {}  # old key -> how to write it now

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            renamed = [message for key, message in cls._renamed.items() if key in data]
            if renamed:
                raise ValueError(f"{WHERE} has an old key: {renamed[0]}")
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(f"{WHERE}: unknown key(s) {unknown}; valid keys: "
                                 f"{sorted(cls.model_fields)}")
        return data


def _epoch_keys(value: Any) -> Any:
    """Milestone epochs as ints: DVC's `-S lr_d_milestones.100=1e-4` writes the key as text."""
    if not isinstance(value, dict):
        return value
    bad = [k for k in value if isinstance(k, bool) or not (isinstance(k, int) or
                                                            str(k).isdigit())]
    if bad:
        raise ValueError(f"{WHERE} keys must be whole numbers, got {bad[0]!r}")
    return {int(k): v for k, v in value.items()}


Milestones = dict[int, float]
# The registries' names (gan.train.losses, gan.train.penalties, gan.models.d_options,
# gan.train.augment), checked here once; tests/test_config.py checks that they agree.
Loss = Literal["hinge", "least_squares", "minimax", "non_saturating", "wasserstein"]
Penalty = Literal["none", "r1", "wgan_gp"]
DNorm = Literal["batch", "layer", "none", "spectral"]
Augment = Literal["brightness", "contrast", "cutout", "translation"]
SMOOTHING_LOSSES = ("non_saturating", "minimax")  # the BCE losses: label smoothing applies
Positive = Annotated[float, Field(gt=0)]
Unit = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=1)]


class DataConfig(_Section):
    # Public mirrors tried in order; each holds the four official gzip files.
    mirrors: list[str] = [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    ]
    # Directory holding the four files, tried before the mirrors. FASHION_MNIST_MIRROR wins.
    local_mirror: str | None = None
    timeout_s: float = Field(30.0, gt=0)
    val_size: int = Field(5000, ge=1)
    # Optional caps for quick runs; null keeps everything.
    train_size: int | None = Field(None, ge=1)
    test_size: int | None = Field(None, ge=1)
    # Stacked Fashion-MNIST: k > 1 trains every variant on k images stacked as channels,
    # 10**k modes (PacGAN's Stacked MNIST protocol, on Fashion-MNIST); 1: plain Fashion-MNIST.
    stack: int = Field(1, ge=1, le=3)


class ClassifierConfig(_Section):
    epochs: int = Field(8, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(5e-4, ge=0)
    channels: int = Field(32, ge=1)
    feature_dim: int = Field(128, ge=1)
    dropout: float = Field(0.3, ge=0, le=0.95)
    hflip: bool = True


class GanConfig(_Section):
    z_dim: int = Field(100, ge=1)
    beta1: float = Field(0.5, ge=0, le=1)
    beta2: float = Field(0.999, ge=0, le=1)
    # split: D on fakes, then on reals, separate updates (as the Keras write-ups); joint: one step.
    d_update: Literal["split", "joint"] = "split"
    label_smoothing: float = Field(0.0, ge=0, le=0.5)  # one-sided: real target 1 - this
    ema_decay: float = Field(0.0, ge=0, le=0.9999)     # 0 disables the generator EMA
    bf16: bool = False                                    # bf16 autocast, CUDA only
    grid_every: int = Field(1, ge=1)                   # epochs between animation frames
    # torch.compile of G and D for the training step; auto: where the benchmark found it pays.
    compile: Literal["auto", "on", "off"] = "auto"
    # Learning rates scale with batch_size / base_batch_size: none, sqrt (Adam) or linear.
    lr_scaling: Literal["none", "sqrt", "linear"] = "none"
    base_batch_size: int = Field(128, ge=1)


class VariantConfig(_Section):
    arch: Literal["mlp", "dcgan"] = "dcgan"
    conditional: bool = False
    projection: bool = False  # conditional D by projection instead of input concatenation
    width: int = Field(64, ge=1)
    d_width: int | None = Field(None, ge=1)  # D narrower than G (PacGAN's Table 3); null: width
    # Remedies for mode collapse (README: remedies): the names of their registries.
    loss: Loss = "non_saturating"
    d_norm: DNorm = "none"        # D's normalisation
    g_spectral: bool = False      # spectral norm on G's weights too
    penalty: Penalty = "none"
    penalty_weight: float = Field(10.0, ge=0)  # lambda (wgan_gp) or gamma (r1)
    n_critic: int = Field(1, ge=1)             # D steps per G step
    pack: int = Field(1, ge=1)                 # PacGAN: samples per D input
    mbstd_group: int = Field(0, ge=0)          # minibatch std group size (0: off)
    augment: list[Augment] = []         # DiffAugment policy, in order
    beta1: float | None = Field(None, ge=0, le=1)  # Adam's, overriding gan.beta1
    beta2: float | None = Field(None, ge=0, le=1)
    # Per-variant overrides of the top-level knobs; null uses the top-level value.
    epochs: int | None = Field(None, ge=1)
    lr_d: float | None = Field(None, gt=0)
    lr_g: float | None = Field(None, gt=0)
    lr_d_milestones: Milestones | None = None

    _renamed: ClassVar[dict[str, str]] = {
        "d_batchnorm": "'d_batchnorm' is now 'd_norm' (d_batchnorm: true is d_norm: batch, "
                       "false is d_norm: none)"}
    _milestone_keys = field_validator("lr_d_milestones", mode="before")(_epoch_keys)

    @model_validator(mode="after")
    def _pack_without_projection(self) -> VariantConfig:
        if self.pack > 1 and self.projection:
            raise ValueError(f"{WHERE}.pack needs a D without projection (packing scores "
                             "several samples at once, projection one sample's label)")
        return self


class EvalConfig(_Section):
    n_samples: int = Field(10000, ge=2)             # generated vs this many test images
    coverage_min_share: float = Field(0.02, ge=0, le=1)
    confidence_threshold: float = Field(0.5, ge=0, le=1)  # below: the classifier is unsure
    batch_size: int = Field(1000, ge=1)
    eval_every: int = Field(5, ge=0)                # epochs between generator snapshots
    snapshot_n_samples: int = Field(2000, ge=2)     # samples to score each snapshot
    # Stacked runs (data.stack > 1): modes are counted over this many samples (PacGAN: 26,000),
    # a mode being covered when it holds at least mode_min_count of them (PacGAN: 1).
    mode_n_samples: int = Field(26000, ge=1)
    mode_min_count: int = Field(1, ge=1)


DEFAULT_VARIANTS = {
    "gan": VariantConfig(arch="mlp"),
    "dcgan": VariantConfig(arch="dcgan"),
    "dcgan_bn": VariantConfig(arch="dcgan", d_norm="batch"),
    "cgan": VariantConfig(arch="dcgan", conditional=True),
    "cgan_proj": VariantConfig(arch="dcgan", conditional=True, projection=True),
}


class MlflowConfig(_Section):
    experiment: str = "fashion-gan"
    # MLflow's system metrics of training and evaluation runs (CPU, memory, disk, network; GPU
    # where nvidia-ml-py finds one), sampled every this many seconds; 0 turns them off.
    system_metrics_s: float = Field(10.0, ge=0)

    @property
    def system_metrics(self) -> float | None:
        """The sampling interval for `tracking.start_run`, None when off."""
        return self.system_metrics_s or None


class Params(_Section):
    seed: int = Field(0, ge=0)  # the shared stages: validation split, classifier
    # Every GAN variant trains, samples and is evaluated once per seed; the report aggregates.
    seeds: list[Annotated[int, Field(ge=0)]] = [0, 1, 2]
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    # Same seed, same result on the same hardware (deterministic kernels, no autotuning).
    deterministic: bool = True
    # GAN knobs at top level so `dvc exp run -S lr_d=1e-4` works.
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(128, ge=1)
    lr_d: float = Field(2e-4, gt=0)
    lr_g: float = Field(2e-4, gt=0)
    # Discriminator learning rate from an epoch on: {100: 1.0e-4} trains D at lr_d for the
    # first 100 epochs, then at 1e-4 (one write-up's schedule). Empty: lr_d throughout.
    lr_d_milestones: Milestones = {}
    data: DataConfig = DataConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    gan: GanConfig = GanConfig()
    variants: dict[str, VariantConfig] = dict(DEFAULT_VARIANTS)
    eval: EvalConfig = EvalConfig()
    mlflow: MlflowConfig = MlflowConfig()

    _milestone_keys = field_validator("lr_d_milestones", mode="before")(_epoch_keys)

    @model_validator(mode="after")
    def _consistent(self) -> Params:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"'seeds' must be a non-empty list of distinct seeds, e.g. "
                             f"[0, 1, 2]; got {self.seeds}")
        schedules = {"lr_d_milestones": self.lr_d_milestones} | {
            f"variants.{n}.lr_d_milestones": v.lr_d_milestones
            for n, v in self.variants.items() if v.lr_d_milestones is not None}
        for key, schedule in schedules.items():
            bad_lr = {k: v for k, v in schedule.items() if k < 1 or v <= 0}
            if bad_lr:
                raise ValueError(f"'{key}' needs epochs >= 1 and rates > 0, got {bad_lr}")
        unconditioned = [n for n, v in self.variants.items() if v.projection and not v.conditional]
        if unconditioned:
            raise ValueError(f"variants {unconditioned} set projection: true; it needs "
                             "conditional: true")
        bad = [name for name in self.variants if not VARIANT_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"variant name(s) {bad} must match {VARIANT_NAME.pattern} (they "
                             "become file names)")
        for name, v in self.variants.items():
            if self.gan.label_smoothing and v.loss not in SMOOTHING_LOSSES:
                raise ValueError(f"'gan.label_smoothing' applies to the BCE losses "
                                 f"({', '.join(SMOOTHING_LOSSES)}); variant {name} uses "
                                 f"{v.loss}: set gan.label_smoothing: 0")
            per_d = self.batch_size // v.pack
            if self.batch_size % v.pack or (v.mbstd_group and
                                            per_d % min(v.mbstd_group, per_d)):
                raise ValueError(f"'variants.{name}': batch_size {self.batch_size} must split "
                                 f"into packs of {v.pack} and minibatch-std groups of "
                                 f"{v.mbstd_group}")
        return self

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
    data = read_yaml(Path(path))
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, str(path))) from None
