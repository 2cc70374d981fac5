"""Configuration of the evaluation stage."""

from __future__ import annotations

from typing import Literal, get_args

import pydantic
from pydantic import Field

from .._config import StageConfig
from ..geometry import get_particle

__all__ = ["METRICS", "ClassifierConfig", "EvaluateConfig", "MetricName"]

MetricName = Literal[
    "chi2",
    "response",
    "fpd",
    "kpd",
    "classifier_voxels",
    "classifier_features",
    "nearest_neighbour",
]

#: Every metric the evaluation can compute, in the order it computes them.
METRICS: tuple[MetricName, ...] = get_args(MetricName)


class ClassifierConfig(pydantic.BaseModel):
    """The classifier two-sample test: a small MLP telling reference from generated.

    The defaults take a few seconds for 10k vs 10k showers on a 2-core CPU (one torch
    thread: for batches this small, intra-op threading costs more than it gains, up to 10x
    on a busy machine); CaloChallenge
    used 2 hidden layers of 512 and up to 50 epochs (``hidden=[512, 512]``, ``epochs=50``).
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    hidden: tuple[int, ...] = Field(default=(64, 64), min_length=1, max_length=8)
    epochs: int = Field(default=8, ge=1, le=1000)
    batch_size: int = Field(default=512, ge=8, le=65536)
    learning_rate: float = Field(default=2e-3, gt=0, le=1.0)
    max_events: int = Field(default=20_000, ge=50, description="events per sample, at most")
    validation_fraction: float = Field(default=0.2, gt=0, lt=0.5)
    test_fraction: float = Field(default=0.3, gt=0, lt=0.5)
    threads: int | None = Field(
        default=1, ge=1, description="torch intra-op threads while training; None: torch's"
    )

    @pydantic.field_validator("hidden")
    @classmethod
    def _positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(h < 1 for h in v):
            raise ValueError(f"hidden layer sizes must be >= 1, found {list(v)}")
        return v


class EvaluateConfig(StageConfig):
    """What to compare and how.

    Attributes:
        particle: particle name (for the binning and the labels).
        binning: binning name or file; ``None`` takes the reference file's ``binning``
            attribute, else the particle's default binning.
        metrics: which metrics to compute (all by default); binned histograms for the
            report are always made.
        n_max: at most this many events per sample (a seeded random subset); ``None``: all.
        seed: seeds every random choice (subsets, batches, classifier initialisation).
        n_bins: bins per histogram for chi2 and separation power.
        classifier: settings of the classifier test.
        fpd_min_samples, fpd_max_samples, fpd_points, fpd_batches: FPD batch sizes, number
            of sizes and draws per size (extrapolation to infinite N).
        feature_clip_quantile: before FPD and KPD, features are clipped to the reference's
            [q, 1 - q] quantiles (robust to rare outliers; 0 switches it off).
        kpd_batch_size, kpd_batches: KPD batch size and number of batches.
        nn_tree_events, nn_query_events: sizes of the nearest-neighbour memory set and of
            the query set.
        voxel_threshold_mev: voxel energies above this count as filled (sparsity, spectrum).
    """

    particle: str = "photon"
    binning: str | None = None
    metrics: tuple[MetricName, ...] = METRICS
    n_max: int | None = Field(default=None, ge=10)
    seed: int = Field(default=0, ge=0)
    n_bins: int = Field(default=40, ge=2, le=1000)
    classifier: ClassifierConfig = ClassifierConfig()
    fpd_min_samples: int = Field(default=5_000, ge=10)
    fpd_max_samples: int = Field(default=20_000, ge=10)
    fpd_points: int = Field(default=6, ge=1, le=50)
    fpd_batches: int = Field(default=10, ge=1, le=100)
    feature_clip_quantile: float = Field(default=0.001, ge=0.0, lt=0.5)
    kpd_batch_size: int = Field(default=2_000, ge=10)
    kpd_batches: int = Field(default=10, ge=2, le=1000)
    nn_tree_events: int = Field(default=5_000, ge=10)
    nn_query_events: int = Field(default=1_000, ge=10)
    voxel_threshold_mev: float = Field(default=0.0, ge=0.0)

    @pydantic.field_validator("particle")
    @classmethod
    def _known_particle(cls, v: str) -> str:
        try:
            return get_particle(v).name
        except Exception as err:  # ConfigError from the catalogue -> pydantic error
            raise ValueError(str(err)) from err

    @pydantic.field_validator("metrics")
    @classmethod
    def _unique(cls, v: tuple[MetricName, ...]) -> tuple[MetricName, ...]:
        return tuple(m for m in METRICS if m in v)

    @pydantic.model_validator(mode="after")
    def _fpd_range(self) -> EvaluateConfig:
        if self.fpd_min_samples > self.fpd_max_samples:
            raise ValueError(
                f"fpd_min_samples ({self.fpd_min_samples}) must not exceed "
                f"fpd_max_samples ({self.fpd_max_samples})"
            )
        return self
