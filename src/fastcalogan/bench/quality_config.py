"""What ``fastcalogan bench quality`` runs: recipes, sample, budget, selection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic

from .._config import StageConfig
from ..models import preset_names

__all__ = ["DEFAULT_RECIPES", "QualityConfig", "QualityResult"]

#: The recipes a bench compares by default, per particle: the fast recipe (``flow-gan``), the
#: paper's and CaloShowerGAN's. A new recipe (a preset of any model family) is one more entry.
DEFAULT_RECIPES: dict[str, tuple[str, ...]] = {
    "photon": ("fast-photon", "fastcalogan", "caloshowergan-photon"),
    "pion": ("fast-pion", "fastcalogan", "caloshowergan-pion"),
}


class QualityConfig(StageConfig):
    """A time-to-quality benchmark: recipes trained side by side for the same wall-clock
    budget on the same sample, each checkpoint scored against an independent reference.

    Attributes:
        particle: ``photon`` or ``pion`` (the embedded simulator's sample at ``eta``).
        recipes: presets to train (``fastcalogan models`` lists them); default
            :data:`DEFAULT_RECIPES` of the particle.
        eta: the |eta| slice of the sample.
        events: dataset-1 scale of the simulated samples (``simulate --events``: 10000 gives
            10k events per point up to 262 GeV, then 5k, 3k, 2k, 1k).
        data, reference: shower files to use instead of simulating (training sample and
            independent reference); give both or neither.
        seed: seed of the training sample and of every training; the reference is simulated
            with ``seed + 1000``.
        budget_seconds: training time of each recipe (``TrainConfig.max_seconds``).
        checkpoint_seconds: time between checkpoints (``TrainConfig.checkpoint_seconds``).
        budget_clock: the clock of both: ``wall`` (default, the issue's budget) or ``cpu``
            (each training process's CPU time: a fair budget on a machine whose load leaves
            the trainings a fraction of a core; ``TrainConfig.time_clock``).
        threads: torch threads of each training (and of its selection).
        jobs: trainings run at once, each in its own process; default as many as the
            machine's cores allow at ``threads`` each (at most one per recipe). 1 runs them one
            after the other in this process.
        injection_every: iterations between injected energy points of recipes with energy
            injection (the paper's 50k would leave most points out of any CPU budget).
        events_per_point: showers generated per energy point and checkpoint by selection.
        figure_of_merit: what selection ranks by (``SelectConfig.figure_of_merit``); every
            checkpoint's E_tot chi2/NDF is reported whatever it is. ``extended`` (default)
            also gives the layer-energy chi2/NDF.
        thresholds: E_tot chi2/NDF values whose first crossing is reported.
        classifier_events: showers per energy point of the feature-classifier test of the
            selected checkpoint (0: no classifier).
    """

    particle: Literal["photon", "pion"] = "photon"
    recipes: tuple[str, ...] | None = None
    eta: tuple[float, float] = (0.20, 0.25)
    events: int = pydantic.Field(default=10_000, ge=1)
    data: str | None = None
    reference: str | None = None
    seed: int = pydantic.Field(default=0, ge=0)
    budget_seconds: float = pydantic.Field(default=1800.0, gt=0, allow_inf_nan=False)
    checkpoint_seconds: float = pydantic.Field(default=90.0, gt=0, allow_inf_nan=False)
    budget_clock: Literal["wall", "cpu"] = "wall"
    threads: int = pydantic.Field(default=1, ge=1, le=1024)
    jobs: int | None = pydantic.Field(default=None, ge=1)
    injection_every: int = pydantic.Field(default=100, ge=1)
    events_per_point: int = pydantic.Field(default=10_000, ge=10)
    figure_of_merit: Literal["etot", "etot+layers", "extended"] = "extended"
    thresholds: tuple[float, ...] = (10.0, 5.0, 2.0)
    classifier_events: int = pydantic.Field(default=3000, ge=0)

    @pydantic.field_validator("recipes")
    @classmethod
    def _known_recipes(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return value
        known = preset_names()
        unknown = [p for p in value if p not in known]
        if unknown:
            raise ValueError(f"unknown recipe(s) {unknown} (presets: {', '.join(known)})")
        if not value:
            raise ValueError("give at least one recipe")
        if len(set(value)) != len(value):
            raise ValueError(f"a recipe is named twice in {list(value)}")
        return value

    @pydantic.model_validator(mode="after")
    def _check(self) -> QualityConfig:
        if (self.data is None) != (self.reference is None):
            raise ValueError("give data and reference together (or neither, to simulate both)")
        if 0 < self.classifier_events < 25:
            raise ValueError(
                f"classifier_events must be 0 (no classifier) or at least 25 (5 folds of 5), "
                f"found {self.classifier_events}"
            )
        if not 0 <= self.eta[0] < self.eta[1]:
            raise ValueError(f"eta must satisfy 0 <= min < max, found {self.eta}")
        return self

    @property
    def recipe_names(self) -> tuple[str, ...]:
        """The recipes to train: :attr:`recipes`, or the particle's default list."""
        return self.recipes or DEFAULT_RECIPES[self.particle]

    @classmethod
    def quick(cls, **overrides: Any) -> QualityConfig:
        """``--quick``: 3 minutes per recipe, smaller samples; about 5-6 minutes in all with
        two recipes in parallel on a 2-core machine."""
        base: dict[str, Any] = {
            "events": 2000,
            "budget_seconds": 180.0,
            "checkpoint_seconds": 20.0,
            "events_per_point": 2000,
            "classifier_events": 300,
        }
        base.update(overrides)
        return cls.model_validate(base)


@dataclass(frozen=True)
class QualityResult:
    """Outcome of :func:`~fastcalogan.bench.bench_quality`.

    Attributes:
        json_path: ``quality.json``.
        plot_path: ``quality.png``.
        data: the JSON document.
        seconds: wall time of the whole benchmark.
    """

    json_path: Path
    plot_path: Path
    data: dict[str, Any]
    seconds: float
