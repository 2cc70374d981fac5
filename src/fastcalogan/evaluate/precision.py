"""The fidelity guard of reduced-precision generation (bf16, int8) against float32.

Two samples generated from the same noise and energies, one in float32 and one in reduced
precision, must be indistinguishable: the low-level classifier test
(:func:`~fastcalogan.evaluate.classifier_test`) between them gives an AUC within
``auc_tolerance`` (0.01) of 0.5, and the total-energy response ``E_tot / E_inc`` of each,
against the same reference sample, gives the same chi2/NDF within its statistical error
``sqrt(2 / NDF)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import chi2_samples
from .classifier import classifier_test, voxel_inputs
from .config import ClassifierConfig

__all__ = ["PrecisionGuard", "precision_guard"]


@dataclass(frozen=True)
class PrecisionGuard:
    """Outcome of :func:`precision_guard`.

    Attributes:
        auc, auc_error: classifier AUC of float32 vs reduced-precision showers.
        auc_tolerance: the largest allowed ``|auc - 0.5|``.
        etot_chi2_ndf_fp32, etot_chi2_ndf_reduced: chi2/NDF of ``E_tot / E_inc`` of each
            sample against the reference sample.
        etot_chi2_ndf_error: the statistical error of a chi2/NDF, ``sqrt(2 / NDF)``.
        ndf: bins of the response histogram.
        n_events: showers per sample.
        passed: both criteria hold.
    """

    auc: float
    auc_error: float
    auc_tolerance: float
    etot_chi2_ndf_fp32: float
    etot_chi2_ndf_reduced: float
    etot_chi2_ndf_error: float
    ndf: int
    n_events: int
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)


def precision_guard(
    full: npt.ArrayLike,
    reduced: npt.ArrayLike,
    reference: npt.ArrayLike,
    incident_energies: npt.ArrayLike,
    classifier: ClassifierConfig | None = None,
    auc_tolerance: float = 0.01,
    n_bins: int = 50,
    seed: int = 0,
) -> PrecisionGuard:
    """Compare reduced-precision showers with float32 ones of the same noise and energies.

    Args:
        full: float32-generated showers ``(n, n_voxels)``, MeV.
        reduced: the same events generated in reduced precision ``(n, n_voxels)``.
        reference: a third sample at the same energies ``(n, n_voxels)`` (float32 with other
            noise, or the training showers): what both responses are compared with.
        incident_energies: ``(n,)`` MeV, of all three samples.
        classifier: the classifier test's settings (default :class:`ClassifierConfig`).
        auc_tolerance: the largest allowed ``|AUC - 0.5|``.
        n_bins: bins of the response histogram (between the reference's 0.1 and 99.9 %
            quantiles, with under- and overflow bins).
        seed: seeds the classifier test.

    Returns:
        The two numbers, their errors and whether both criteria hold.
    """
    e_inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
    a = np.asarray(full, dtype=np.float64)
    b = np.asarray(reduced, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    config = classifier or ClassifierConfig()
    result = classifier_test(voxel_inputs(a, e_inc), voxel_inputs(b, e_inc), config, seed=seed)
    response = {name: s.sum(axis=1) / e_inc for name, s in (("a", a), ("b", b), ("r", r))}
    lo, hi = np.quantile(response["r"], [0.001, 0.999])
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, n_bins + 1)
    chi_a = chi2_samples(response["r"], response["a"], edges, overflow=True)
    chi_b = chi2_samples(response["r"], response["b"], edges, overflow=True)
    ndf = max(chi_a.ndf, 1)
    error = float(np.sqrt(2.0 / ndf))
    passed = (
        abs(result.auc - 0.5) <= auc_tolerance and abs(chi_b.chi2_ndf - chi_a.chi2_ndf) <= error
    )
    return PrecisionGuard(
        auc=result.auc,
        auc_error=result.auc_error,
        auc_tolerance=auc_tolerance,
        etot_chi2_ndf_fp32=chi_a.chi2_ndf,
        etot_chi2_ndf_reduced=chi_b.chi2_ndf,
        etot_chi2_ndf_error=error,
        ndf=chi_a.ndf,
        n_events=result.n_events,
        passed=bool(passed),
    )
