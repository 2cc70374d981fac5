"""Evaluation: physics metrics of generated showers against a reference sample."""

from .classifier import ClassifierResult, classifier_test, roc_auc, voxel_inputs
from .comparison import EnergyGroup, compare_observables, energy_groups, response_resolution
from .config import HISTOGRAM_BINNINGS, METRICS, ClassifierConfig, EvaluateConfig
from .evaluation import (
    HEADLINE_KEYS,
    METRICS_KEYS,
    EvaluateResult,
    Reporter,
    evaluate,
    load_histograms,
)
from .neighbours import NeighbourResult, nearest_neighbour_check, normalised_voxels
from .precision import PrecisionGuard, precision_guard
from .response import ResponseStats, ResponseSummary, energy_response, response_summary
from .suites import (
    Suite,
    SuiteResult,
    histogram_entry,
    register_suite,
    registered_suites,
    suites_for,
)
from .training import training_curves

__all__ = [
    "HEADLINE_KEYS",
    "HISTOGRAM_BINNINGS",
    "METRICS",
    "METRICS_KEYS",
    "ClassifierConfig",
    "ClassifierResult",
    "EnergyGroup",
    "EvaluateConfig",
    "EvaluateResult",
    "NeighbourResult",
    "PrecisionGuard",
    "Reporter",
    "ResponseStats",
    "ResponseSummary",
    "Suite",
    "SuiteResult",
    "classifier_test",
    "compare_observables",
    "energy_groups",
    "energy_response",
    "evaluate",
    "histogram_entry",
    "load_histograms",
    "nearest_neighbour_check",
    "normalised_voxels",
    "precision_guard",
    "register_suite",
    "registered_suites",
    "response_resolution",
    "response_summary",
    "roc_auc",
    "suites_for",
    "training_curves",
    "voxel_inputs",
]
