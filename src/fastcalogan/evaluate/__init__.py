"""Evaluation: physics metrics of generated showers against a reference sample."""

from .atlas2018 import Atlas2018Suite

# importing .calogan registers the CaloGAN observable suites
from .calogan import CaloGanShowerShapes, CaloGanTransfer, TransferOptions, classifier_transfer
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
from .lhcb import LhcbRegressorSuite, LhcbShowerSuite, lhcb_observables, regressor_residuals
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
    "Atlas2018Suite",
    "CaloGanShowerShapes",
    "CaloGanTransfer",
    "ClassifierConfig",
    "ClassifierResult",
    "EnergyGroup",
    "EvaluateConfig",
    "EvaluateResult",
    "LhcbRegressorSuite",
    "LhcbShowerSuite",
    "NeighbourResult",
    "PrecisionGuard",
    "Reporter",
    "ResponseStats",
    "ResponseSummary",
    "Suite",
    "SuiteResult",
    "TransferOptions",
    "classifier_test",
    "classifier_transfer",
    "compare_observables",
    "energy_groups",
    "energy_response",
    "evaluate",
    "histogram_entry",
    "lhcb_observables",
    "load_histograms",
    "nearest_neighbour_check",
    "normalised_voxels",
    "precision_guard",
    "register_suite",
    "registered_suites",
    "regressor_residuals",
    "response_resolution",
    "response_summary",
    "roc_auc",
    "suites_for",
    "training_curves",
    "voxel_inputs",
]
