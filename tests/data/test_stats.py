"""chi2, separation power, binning helpers and the physics distances on known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcalogan.data import (
    chi2_histograms,
    chi2_samples,
    compare_samples,
    frechet_distance,
    frechet_physics_distance,
    histogram_counts,
    kernel_physics_distance,
    mmd_polynomial_unbiased,
    reference_edges,
    separation_power,
)


def test_separation_identical_and_disjoint() -> None:
    assert separation_power([3, 5, 2], [3, 5, 2]) == 0.0
    assert separation_power([6, 10, 4], [3, 5, 2]) == pytest.approx(0.0)  # shapes only
    assert separation_power([4, 4, 0, 0], [0, 0, 1, 7]) == pytest.approx(1.0)
    # half overlap: p = (1/2, 1/2, 0), q = (0, 1/2, 1/2) -> 0.5 * (1/4/(1/2) * 2) = 0.5
    assert separation_power([1, 1, 0], [0, 1, 1]) == pytest.approx(0.5)


def test_chi2_identical_and_known_value() -> None:
    assert chi2_histograms([5, 10, 5], [5, 10, 5]).chi2 == 0.0
    # n = (10, 0), m = (0, 10): N = M = 10; chi2 = (100^2/10 + 100^2/10) / 100 = 20
    r = chi2_histograms([10, 0], [0, 10])
    assert (r.chi2, r.ndf, r.chi2_ndf) == (20.0, 2, 10.0)
    x = np.arange(100.0)
    assert chi2_samples(x, x, np.linspace(0, 100, 11)).chi2 == 0.0


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(0, 50), min_size=3, max_size=3),
    st.lists(st.integers(0, 50), min_size=3, max_size=3),
)
def test_chi2_nonnegative_symmetric(a: list[int], b: list[int]) -> None:
    r1, r2 = chi2_histograms(a, b), chi2_histograms(b, a)
    assert r1.chi2 >= 0
    assert r1.chi2 == pytest.approx(r2.chi2)
    if sum(a) > 0:
        assert chi2_histograms(a, a).chi2 == 0.0


def test_reference_edges_and_overflow() -> None:
    edges = reference_edges(np.arange(1001.0), n_bins=10, quantiles=(0.0, 1.0))
    np.testing.assert_allclose(edges, np.linspace(0, 1000, 11))
    assert reference_edges([5.0, 5.0], n_bins=2).tolist() == [2.5, 5.0, 7.5]
    log_edges = reference_edges([1.0, 10.0, 100.0], n_bins=2, quantiles=(0, 1), log=True)
    np.testing.assert_allclose(log_edges, [1, 10, 100])
    assert histogram_counts([-5.0, 0.5, 99.0, np.nan], [0.0, 1.0, 2.0]).tolist() == [2.0, 1.0]


def test_compare_samples_disjoint_and_identical() -> None:
    edges = np.linspace(0, 2, 3)
    same = compare_samples([0.5, 1.5, 1.5], [0.5, 1.5, 1.5], edges)
    assert (same.chi2.chi2, same.separation) == (0.0, 0.0)
    disjoint = compare_samples([0.2, 0.4], [1.2, 5.0], edges)  # 5.0 folds into the last bin
    assert disjoint.separation == pytest.approx(1.0)
    assert disjoint.generated.tolist() == [0.0, 2.0]


def test_frechet_distance_known() -> None:
    assert frechet_distance([0, 0], np.eye(2), [3, 4], np.eye(2)) == pytest.approx(25.0)
    # 1-D: (mu1-mu2)^2 + (s1 - s2)^2 for variances s1^2, s2^2
    assert frechet_distance([0.0], [[4.0]], [0.0], [[1.0]]) == pytest.approx(1.0)


def test_fpd_kpd_same_vs_shifted() -> None:
    g = np.random.default_rng(0)
    a, b = g.normal(size=(4000, 5)), g.normal(size=(4000, 5))
    c = g.normal(size=(4000, 5)) + np.array([0.5, 0, 0, 0, 0])
    fpd_same = frechet_physics_distance(a, b, np.random.default_rng(1), 1000, 4000, 3, 4)
    fpd_diff = frechet_physics_distance(a, c, np.random.default_rng(1), 1000, 4000, 3, 4)
    assert fpd_same.method == "extrapolated"
    assert abs(fpd_same.value) < 0.02
    assert fpd_diff.value == pytest.approx(0.25, abs=0.05)
    kpd_same = kernel_physics_distance(a, b, np.random.default_rng(2), 1000, 5)
    kpd_diff = kernel_physics_distance(a, c, np.random.default_rng(2), 1000, 5)
    assert abs(kpd_same.value) < 3 * kpd_same.error + 1e-3
    assert kpd_diff.value > 10 * kpd_same.error
    assert mmd_polynomial_unbiased(np.zeros((3, 1)), np.ones((3, 1))) == pytest.approx(7.0)
