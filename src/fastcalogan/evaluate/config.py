"""Configuration of the evaluation stage."""

from __future__ import annotations

from typing import Literal, get_args

import pydantic
from pydantic import Field

from .._config import StageConfig
from ..data.features import FeatureSet
from ..geometry import get_particle

__all__ = [
    "HISTOGRAM_BINNINGS",
    "METRICS",
    "ClassifierConfig",
    "EvaluateConfig",
    "HistogramBinning",
    "MetricName",
    "VoxelTransform",
]

#: How the voxels enter the low-level classifier.
VoxelTransform = Literal["linear", "log", "linear+log"]
#: How observables are histogrammed (see :class:`EvaluateConfig`).
HistogramBinning = Literal["per_energy", "calochallenge"]
HISTOGRAM_BINNINGS: tuple[HistogramBinning, ...] = get_args(HistogramBinning)

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
    """The classifier two-sample test (see :mod:`fastcalogan.evaluate.classifier`).

    The defaults flag a 5 % scale of one layer's energy on 36k vs 36k photons (AUC 0.8 and
    more) and give 0.500 +- 0.003 for two samples of one simulator, in about a minute of
    one CPU core for the voxel classifier (``scripts/classifier_sensitivity.py``). The
    CaloChallenge evaluator's network is ``hidden=[2048, 2048, 2048]``,
    ``learning_rate=2e-4``, ``batch_size=1000``, ``epochs=50``, on unstandardised inputs.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    hidden: tuple[int, ...] = Field(default=(256, 256, 256), min_length=1, max_length=8)
    epochs: int = Field(default=50, ge=1, le=1000, description="at most this many epochs")
    patience: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="stop after this many epochs without a better validation loss",
    )
    batch_size: int = Field(default=1000, ge=8, le=65536)
    learning_rate: float = Field(default=1e-3, gt=0, le=1.0)
    folds: int = Field(
        default=5, ge=3, le=20, description="k-fold cross-fitting: every event is tested once"
    )
    max_events: int = Field(default=100_000, ge=50, description="events per sample, at most")
    voxel_transform: VoxelTransform = Field(
        default="linear", description="low-level inputs: E/E_inc, log10(E/E_inc) or both"
    )
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
        particle: particle name (labels, binning); ``None`` takes it from the files.
        binning: voxel binning name or file; ``None`` takes the reference file's ``binning``
            attribute, else the particle's default binning.
        histogram_binning: ``"per_energy"`` (each observable histogrammed per incident-energy
            point on the reference's 0.1-99.9 % range, ``n_bins`` bins plus under- and
            overflow bins; chi2 summed over the points) or ``"calochallenge"`` (all energies
            pooled, the CaloChallenge evaluator's fixed ranges and 1 MeV voxel threshold,
            entries outside a range left out: numbers comparable with the published ones).
        allow_mismatch: compare files whose particle or |eta| slice differ, or that share
            no incident energy (refused otherwise).
        metrics: which metrics to compute (all by default); binned histograms for the
            report are always made.
        n_max: at most this many events per sample (a seeded random subset); ``None``: all.
        seed: seeds every random choice (subsets, batches, classifier initialisation).
        n_bins: bins per histogram (``per_energy`` mode).
        classifier: settings of the classifier test.
        features: high-level feature set for FPD, KPD and the feature classifier:
            ``"fastcalogan"`` or ``"calochallenge"`` (the CaloChallenge evaluator's set and
            scaling, for numbers beside the published table).
        feature_clip_quantile: before FPD and KPD, features are clipped to the reference's
            [q, 1 - q] quantiles (robust to rare far outliers); ``None``: 0.001 for the
            fastcalogan set, 0 (as published) for the calochallenge set.
        fpd_min_samples, fpd_max_samples, fpd_points, fpd_batches: FPD batch sizes (regular
            in 1/N), number of sizes and draws per size.
        kpd_batch_size, kpd_batches: KPD batch size and number of batches.
        nn_tree_events, nn_query_events: sizes of the nearest-neighbour memory set and of
            the query set.
        voxel_threshold_mev: voxel energies above this count as filled (sparsity, spectrum).
        example_showers: individual showers of each sample drawn in the report.
        suites: observable suites of a detector or study to run
            (:mod:`fastcalogan.evaluate.suites`); ``None``: every registered suite that
            applies to the files; ``[]``: none.
    """

    particle: str | None = None
    binning: str | None = None
    histogram_binning: HistogramBinning = "per_energy"
    allow_mismatch: bool = False
    metrics: tuple[MetricName, ...] = METRICS
    n_max: int | None = Field(default=None, ge=10)
    seed: int = Field(default=0, ge=0)
    n_bins: int = Field(default=40, ge=2, le=1000)
    classifier: ClassifierConfig = ClassifierConfig()
    features: FeatureSet = "fastcalogan"
    feature_clip_quantile: float | None = Field(default=None, ge=0.0, lt=0.5)
    fpd_min_samples: int = Field(default=10_000, ge=10)
    fpd_max_samples: int = Field(default=50_000, ge=10)
    fpd_points: int = Field(default=10, ge=4, le=50)
    fpd_batches: int = Field(default=20, ge=2, le=100)
    kpd_batch_size: int = Field(default=5_000, ge=10)
    kpd_batches: int = Field(default=10, ge=5, le=1000)
    nn_tree_events: int = Field(default=5_000, ge=10)
    nn_query_events: int = Field(default=1_000, ge=10)
    voxel_threshold_mev: float = Field(default=0.0, ge=0.0)
    example_showers: int = Field(default=3, ge=0, le=10)
    suites: tuple[str, ...] | None = None

    @pydantic.field_validator("particle")
    @classmethod
    def _known_particle(cls, v: str | None) -> str | None:
        if v is None:
            return None
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

    @property
    def clip_quantile(self) -> float:
        """The feature clipping in use (``feature_clip_quantile`` resolved for the set)."""
        if self.feature_clip_quantile is not None:
            return self.feature_clip_quantile
        return 0.001 if self.features == "fastcalogan" else 0.0
