"""Configuration of a training run, and the per-preset training recipes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pydantic

from .._config import StageConfig
from ..models import PRESETS, ModelConfig
from ..preprocess import PreprocessConfig

__all__ = ["INJECTION_ORDER_LOG2", "PHOTON_SPLIT_RANGES", "RECIPES", "Recipe", "TrainConfig"]

PresetName = Literal["fastcalogan", "caloshowergan-photon", "caloshowergan-pion"]


@dataclass(frozen=True)
class Recipe:
    """Training settings of a published recipe (used where the config leaves them unset)."""

    batch_size: int
    n_critic: int
    gp_lambda: float
    preprocess: PreprocessConfig
    injection: bool


#: FastCaloGAN: lambda 10, 5 critic steps, batch 128, sequential energy injection.
#: CaloShowerGAN: lambda 3 / 20 and 8 / 5 critic steps (photons / pions), batch 1024.
RECIPES: dict[str, Recipe] = {
    "fastcalogan": Recipe(128, 5, 10.0, PreprocessConfig(kind="fastcalogan"), True),
    "caloshowergan-photon": Recipe(
        1024, 8, 3.0, PreprocessConfig(kind="caloshowergan", layer_norm=True), False
    ),
    "caloshowergan-pion": Recipe(
        1024, 5, 20.0, PreprocessConfig(kind="caloshowergan", layer_norm=True), False
    ),
}

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


class TrainConfig(StageConfig):
    """A WGAN-GP training run on one particle and |eta| slice.

    Unset recipe fields (``None``) take the preset's value; :meth:`resolved` fills them in
    and is what the run folder and every checkpoint store.

    Attributes:
        preset: ``fastcalogan``, ``caloshowergan-photon`` or ``caloshowergan-pion``.
        model: overrides of the preset's :class:`~fastcalogan.models.ModelConfig` fields.
        preprocess: preprocessing; default the preset's.
        data: CaloChallenge shower file to train on (the CLI's default input).
        binning: binning name or file; default the file's ``binning`` attribute, else
            guessed from the voxel count.
        particle, eta: default the file's attributes, else the binning's.
        iterations: generator steps to reach (a resumed run continues up to this number).
        batch_size, n_critic, gp_lambda: WGAN-GP settings; default the preset's.
        lr, beta1, beta2: Adam settings of both networks.
        injection: sequential energy injection (default on for ``fastcalogan``).
        injection_every: K, iterations between two injected energy points.
        energy_ranges: ``full`` or ``split3`` (three GANs over the photon momentum ranges,
            trained one after the other in ``range-0..2`` sub-folders).
        energy_range: ``[E_lo, E_hi]`` MeV: train only on events in this range.
        checkpoint_every: iterations between checkpoints (the last iteration always gets one).
        log_every: iterations between rows of ``losses.csv`` and progress reports.
        seed: seed of initialisation, batch sampling and noise.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        deterministic: ask PyTorch for deterministic algorithms.
        threads: CPU threads of PyTorch during the run (restored after); ``None`` keeps the
            current setting. Use 1 per process when several trainings share the cores: two
            threads on a busy 2-core machine are many times slower than one.
    """

    preset: PresetName = "fastcalogan"
    model: dict[str, Any] = pydantic.Field(default_factory=dict)
    preprocess: PreprocessConfig | None = None
    data: str | None = None
    binning: str | None = None
    particle: str | None = None
    eta: tuple[float, float] | None = None
    iterations: int = pydantic.Field(default=10_000, ge=1)
    batch_size: int | None = pydantic.Field(default=None, ge=1)
    n_critic: int | None = pydantic.Field(default=None, ge=1)
    gp_lambda: float | None = pydantic.Field(default=None, ge=0)
    lr: float = pydantic.Field(default=1e-4, gt=0, allow_inf_nan=False)
    beta1: float = pydantic.Field(default=0.5, ge=0, lt=1)
    beta2: float = pydantic.Field(default=0.999, ge=0, lt=1)
    injection: bool | None = None
    injection_every: int = pydantic.Field(default=50_000, ge=1)
    energy_ranges: Literal["full", "split3"] = "full"
    energy_range: tuple[float, float] | None = None
    checkpoint_every: int = pydantic.Field(default=1000, ge=1)
    log_every: int = pydantic.Field(default=10, ge=1)
    seed: int = pydantic.Field(default=0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    deterministic: bool = True
    threads: int | None = pydantic.Field(default=None, ge=1, le=1024)

    @pydantic.model_validator(mode="after")
    def _check(self) -> TrainConfig:
        self.architecture()  # model overrides must form a valid ModelConfig
        if self.energy_range is not None and not 0 < self.energy_range[0] <= self.energy_range[1]:
            raise ValueError(f"energy_range must satisfy 0 < lo <= hi, found {self.energy_range}")
        if self.eta is not None and not 0 <= self.eta[0] < self.eta[1]:
            raise ValueError(f"eta must satisfy 0 <= min < max, found {self.eta}")
        return self

    def architecture(self) -> ModelConfig:
        """The preset's model config with ``model`` overrides applied."""
        base = PRESETS[self.preset].model_dump()
        unknown = sorted(set(self.model) - set(ModelConfig.model_fields))
        if unknown:
            raise ValueError(
                f"unknown model field(s) {unknown} (allowed: {', '.join(ModelConfig.model_fields)})"
            )
        try:
            return ModelConfig.model_validate({**base, **self.model})
        except pydantic.ValidationError as err:
            raise ValueError(f"model: {err.errors()[0]['loc']}: {err.errors()[0]['msg']}") from err

    def resolved(self) -> TrainConfig:
        """A copy with every preset default filled in (what runs and checkpoints store)."""
        recipe = RECIPES[self.preset]
        return self.model_copy(
            update={
                "model": self.architecture().model_dump(mode="json"),
                "preprocess": self.preprocess or recipe.preprocess,
                "batch_size": self.batch_size or recipe.batch_size,
                "n_critic": self.n_critic or recipe.n_critic,
                "gp_lambda": recipe.gp_lambda if self.gp_lambda is None else self.gp_lambda,
                "injection": recipe.injection if self.injection is None else self.injection,
            }
        )
