"""Configuration of a training run: the model family and preset, and the trainer's settings."""

from __future__ import annotations

from typing import Any, Literal

import pydantic
from pydantic_core import PydanticCustomError

from .._config import StageConfig
from ..errors import ModelError
from ..models import ModelFamily, Preset, get_family, get_preset, preset_names
from ..models import families as registered_families
from ..preprocess import PreprocessConfig

__all__ = ["INJECTION_ORDER_LOG2", "PHOTON_SPLIT_RANGES", "SPLIT_RANGES", "TrainConfig"]

#: Objective settings that existing configs give at the top level (``n_critic: 5``); they
#: are the ``objective:`` keys of the families that have them (the MLP WGAN-GP).
TOP_LEVEL_OBJECTIVE_KEYS: tuple[str, ...] = ("n_critic", "gp_lambda", "beta1", "beta2")

#: FastCaloGAN's injection order as log2(E / MeV): 2^15 MeV (the "32 GeV" point) alone, then
#: 64, 16, 128, 8, 256, 4, 512, 2, 1024, 1, 2048, 0.5, 4096, 0.25 GeV.
INJECTION_ORDER_LOG2: tuple[int, ...] = (15, 16, 14, 17, 13, 18, 12, 19, 11, 20, 10, 21, 9, 22, 8)

#: FastCaloGAN's photon momentum split in MeV: [256 MeV, 4 GeV], [4 GeV, 262 GeV],
#: [262 GeV, 4 TeV]; neighbouring ranges share their boundary points.
PHOTON_SPLIT_RANGES: tuple[tuple[float, float], ...] = (
    (2.0**8, 2.0**12),
    (2.0**12, 2.0**18),
    (2.0**18, 2.0**22),
)


#: The energy splits of ``energy_ranges``: one generator per range.
SPLIT_RANGES: dict[str, tuple[tuple[float, float], ...]] = {"split3": PHOTON_SPLIT_RANGES}


def _choices(names: Any) -> str:
    quoted = [f"'{n}'" for n in names]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


class TrainConfig(StageConfig):
    """A training run on one particle and |eta| slice.

    ``preset`` picks a model family and its published settings; ``family`` alone picks the
    family's default preset. ``model`` overrides are validated against the family's network
    config (a change on resume is an error), ``objective`` overrides against its objective
    config (losses and optimisers). Unset trainer fields (``None``) take the preset's value;
    :meth:`resolved` fills them in and is what the run folder and every checkpoint store.

    Attributes:
        family: the model family (``fastcalogan models`` lists them); default the preset's.
        preset: ``fastcalogan``, ``caloshowergan-photon``, ``caloshowergan-pion``,
            ``vae-mlp``, ...; default the family's first.
        model: overrides of the family's network config (``ModelConfig`` for
            ``wgan-gp-mlp``, ``VaeMlpConfig`` for ``vae-mlp``).
        objective: overrides of the family's objective config (``WganGpObjectiveConfig``:
            n_critic, gp_lambda, beta1, beta2; ``VaeObjectiveConfig``: beta_kl).
        preprocess: preprocessing; default the preset's.
        data: CaloChallenge shower file to train on (the CLI's default input).
        binning: binning name or file; default the file's ``binning`` attribute, else
            guessed from the voxel count.
        allow_geometry_mismatch: train with a ``binning`` made for another kind of shower or
            another |eta| range than the data's (refused by default: see
            :func:`~fastcalogan.data.geometry_label_mismatch`).
        particle, eta: default the file's attributes, else the binning's.
        iterations: training iterations to reach (a resumed run continues up to this number).
        batch_size: showers per batch; default the preset's.
        n_critic, gp_lambda, beta1, beta2: the ``wgan-gp-mlp`` objective settings, accepted
            at the top level as well (the same as ``objective.<key>``).
        lr: learning rate of the family's optimisers; default the preset's.
        injection: sequential energy injection (default on for ``fastcalogan``).
        injection_every: K, iterations between two injected energy points.
        energy_ranges: ``full`` or ``split3`` (three models over the photon momentum ranges,
            trained one after the other in ``range-0..2`` sub-folders).
        energy_range: ``[E_lo, E_hi]`` MeV: train only on events in this range.
        checkpoint_every: iterations between checkpoints (the last iteration always gets one).
        checkpoint_seconds: also write a checkpoint when this many seconds of wall time have
            passed since the previous one (``None``: by iterations only). Time-to-quality
            studies (``fastcalogan bench quality``) need checkpoints regular in time.
        max_seconds: stop after this many seconds of training time in this call (per
            model of a split run), with a checkpoint where it stops; ``iterations`` still
            caps the run. ``None``: train to ``iterations``.
        time_clock: the clock of ``max_seconds`` and ``checkpoint_seconds``: ``wall`` (default)
            or ``cpu``, this process's CPU time (every thread), which a shared machine's load
            does not stretch.
        log_every: iterations between rows of ``losses.csv`` and progress reports.
        seed: seed of initialisation, batch sampling and noise.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        deterministic: ask PyTorch for deterministic algorithms.
        cuda_graph: on CUDA, capture an ensemble's iteration (all critic and generator steps
            and the Adam updates of every member) as one CUDA graph and replay it
            (:func:`~fastcalogan.train.train_ensemble`; ``fastcalogan train`` trains on CUDA
            through it whenever the preset allows an ensemble, one member or more).
        precision: matrix products on CUDA: ``fp32``, or ``tf32`` (TensorFloat-32 inputs,
            float32 sums: faster, about 1e-3 relative rounding; ignored on the CPU).
        threads: CPU threads of PyTorch during the run (restored after); ``None`` keeps the
            current setting. Use 1 per process when several trainings share the cores: two
            threads on a busy 2-core machine are many times slower than one.
    """

    family: str = pydantic.Field(
        default="wgan-gp-mlp",
        json_schema_extra=lambda schema: schema.update(
            enum=[f.name for f in registered_families()]
        ),
    )
    preset: str = pydantic.Field(
        default="fastcalogan",
        json_schema_extra=lambda schema: schema.update(enum=list(preset_names())),
    )
    model: dict[str, Any] = pydantic.Field(default_factory=dict)
    objective: dict[str, Any] = pydantic.Field(default_factory=dict)
    preprocess: PreprocessConfig | None = None
    data: str | None = None
    binning: str | None = None
    allow_geometry_mismatch: bool = False
    particle: str | None = None
    eta: tuple[float, float] | None = None
    iterations: int = pydantic.Field(default=10_000, ge=1)
    batch_size: int | None = pydantic.Field(default=None, ge=1)
    n_critic: int | None = pydantic.Field(default=None, ge=1)
    gp_lambda: float | None = pydantic.Field(default=None, ge=0)
    lr: float | None = pydantic.Field(default=None, gt=0, allow_inf_nan=False)
    beta1: float | None = pydantic.Field(default=None, ge=0, lt=1)
    beta2: float | None = pydantic.Field(default=None, ge=0, lt=1)
    injection: bool | None = None
    injection_every: int = pydantic.Field(default=50_000, ge=1)
    energy_ranges: Literal["full", "split3"] = "full"
    energy_range: tuple[float, float] | None = None
    checkpoint_every: int = pydantic.Field(default=1000, ge=1)
    checkpoint_seconds: float | None = pydantic.Field(default=None, gt=0, allow_inf_nan=False)
    max_seconds: float | None = pydantic.Field(default=None, gt=0, allow_inf_nan=False)
    time_clock: Literal["wall", "cpu"] = "wall"
    log_every: int = pydantic.Field(default=10, ge=1)
    seed: int = pydantic.Field(default=0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    deterministic: bool = True
    cuda_graph: bool = True
    precision: Literal["fp32", "tf32"] = "fp32"
    threads: int | None = pydantic.Field(default=None, ge=1, le=1024)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _family_of_preset(cls, data: Any) -> Any:
        """``preset`` alone implies its family; ``family`` alone its default preset."""
        if not isinstance(data, dict) or ("family" in data) == ("preset" in data):
            return data
        try:
            if "preset" in data:
                return {**data, "family": get_preset(str(data["preset"])).family}
            return {**data, "preset": get_family(str(data["family"])).default_preset().name}
        except ModelError:
            return data  # the field validators name the unknown value

    @pydantic.field_validator("family")
    @classmethod
    def _known_family(cls, value: str) -> str:
        names = [f.name for f in registered_families()]
        if value not in names:
            raise PydanticCustomError(
                "literal_error", "Input should be {expected}", {"expected": _choices(names)}
            )
        return value

    @pydantic.field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        if value not in preset_names():
            raise PydanticCustomError(
                "literal_error",
                "Input should be {expected}",
                {"expected": _choices(preset_names())},
            )
        return value

    @pydantic.model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.recipe.family != self.family:
            raise ValueError(
                f"preset {self.preset} is a recipe of family {self.recipe.family}, not "
                f"{self.family} (presets of {self.family}: "
                f"{', '.join(p.name for p in self.model_family.presets)})"
            )
        self.architecture()  # model overrides must form a valid network config
        self.objective_settings()  # and objective overrides a valid objective config
        if self.energy_range is not None and not 0 < self.energy_range[0] <= self.energy_range[1]:
            raise ValueError(f"energy_range must satisfy 0 < lo <= hi, found {self.energy_range}")
        if self.eta is not None and not 0 <= self.eta[0] < self.eta[1]:
            raise ValueError(f"eta must satisfy 0 <= min < max, found {self.eta}")
        return self

    @property
    def model_family(self) -> ModelFamily[Any, Any]:
        """The family of :attr:`family`."""
        return get_family(self.family)

    @property
    def recipe(self) -> Preset:
        """The preset of :attr:`preset`."""
        return get_preset(self.preset)

    @property
    def n_ranges(self) -> int:
        """Models trained by this run: 1, or one per range of the split."""
        return len(SPLIT_RANGES.get(self.energy_ranges, ((0.0, 0.0),)))

    def architecture(self) -> Any:
        """The preset's network config with ``model`` overrides applied (family's class)."""
        cls = self.model_family.network_config
        return _merged(cls, self.recipe.model.model_dump(), self.model, "model")

    def objective_settings(self) -> Any:
        """The preset's objective config with ``objective`` and top-level overrides applied."""
        cls = self.model_family.objective_config
        overrides = dict(self.objective)
        for key in TOP_LEVEL_OBJECTIVE_KEYS:
            value = getattr(self, key)
            if value is None:
                continue
            if key not in cls.model_fields:
                raise ValueError(
                    f"{key} is not a setting of model family {self.family} (its objective "
                    f"settings: {', '.join(k for k in cls.model_fields if k != 'schema_version')})"
                )
            if key in overrides and overrides[key] != value:
                raise ValueError(
                    f"{key} is {value!r} at the top level but objective.{key} is "
                    f"{overrides[key]!r}; give it once"
                )
            overrides[key] = value
        return _merged(cls, self.recipe.objective.model_dump(), overrides, "objective")

    def resolved(self) -> TrainConfig:
        """A copy with every preset default filled in (what runs and checkpoints store)."""
        recipe = self.recipe
        objective = self.objective_settings()
        mirrored = {
            key: getattr(objective, key) if key in type(objective).model_fields else None
            for key in TOP_LEVEL_OBJECTIVE_KEYS
        }
        return self.model_copy(
            update={
                "model": self.architecture().model_dump(mode="json"),
                "objective": objective.model_dump(mode="json"),
                "preprocess": self.preprocess or recipe.preprocess,
                "batch_size": self.batch_size or recipe.batch_size,
                "lr": recipe.lr if self.lr is None else self.lr,
                "injection": recipe.injection if self.injection is None else self.injection,
                **mirrored,
            }
        )


def _merged(
    cls: type[StageConfig], base: dict[str, Any], overrides: dict[str, Any], key: str
) -> Any:
    unknown = sorted(set(overrides) - set(cls.model_fields))
    if unknown:
        raise ValueError(
            f"unknown {key} field(s) {unknown} (allowed: {', '.join(cls.model_fields)})"
        )
    try:
        return cls.model_validate({**base, **overrides})
    except pydantic.ValidationError as err:
        first = err.errors()[0]
        where = ".".join([key, *(str(p) for p in first["loc"])])
        found = first.get("input")
        shown = "" if isinstance(found, dict) else f" (found {found!r})"
        raise ValueError(f"{where}: {first['msg']}{shown}") from err
