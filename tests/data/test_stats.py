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
    separation_floor,
    separation_power,
    wasserstein_1d,
)
from fastcalogan.data.distances import max_abs_scale


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
    disjoint = compare_samples([0.2, 0.4], [1.2, 5.0], edges)  # 5.0 lands in the overflow
    assert disjoint.separation == pytest.approx(1.0)
    assert disjoint.generated.tolist() == [0.0, 1.0]
    assert disjoint.generated_flow.tolist() == [0.0, 1.0]
    assert disjoint.chi2.ndf == 3  # two bins and the overflow
    # a tail outside the reference's range is seen (flow bins) or ignored (drop)
    tail = compare_samples([0.5, 1.5] * 50, [0.5, 1.5] * 45 + [7.0] * 10, edges)
    dropped = compare_samples([0.5, 1.5] * 50, [0.5, 1.5] * 45 + [7.0] * 10, edges, "drop")
    assert tail.chi2.chi2 > 5 and dropped.chi2.chi2 == 0.0
    assert dropped.generated_flow.tolist() == [0.0, 10.0]


def test_chi2_ceiling_and_saturation() -> None:
    # disjoint samples reach the ceiling chi2 = N + M, whatever their distance
    near = chi2_samples([0.5] * 300, [1.5] * 100, [0.0, 1.0, 2.0, 30.0])
    far = chi2_samples([0.5] * 300, [29.0] * 100, [0.0, 1.0, 2.0, 30.0])
    assert near.chi2 == pytest.approx(400.0) and far.chi2 == pytest.approx(400.0)
    assert near.ceiling == 200.0 and near.saturated
    assert (near.n_reference, near.n_generated) == (300.0, 100.0)
    g = np.random.default_rng(3)
    ok = chi2_samples(g.normal(size=5000), g.normal(size=5000), np.linspace(-3, 3, 31))
    assert not ok.saturated and ok.chi2_ndf < 2 < ok.ceiling


def test_separation_floor_matches_two_samples_of_one_distribution() -> None:
    g = np.random.default_rng(4)
    edges = np.linspace(-3, 3, 41)
    seps = [
        compare_samples(g.normal(size=3000), g.normal(size=3000), edges, "drop").separation
        for _ in range(40)
    ]
    floor = separation_floor(40, 3000, 3000)
    assert floor == pytest.approx(0.0065, abs=1e-4)
    assert np.mean(seps) == pytest.approx(floor, rel=0.15)


def test_wasserstein_is_unbinned_and_in_units() -> None:
    assert wasserstein_1d([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]) == 0.0
    assert wasserstein_1d(np.arange(100.0), np.arange(100.0) + 0.5) == pytest.approx(0.5)
    assert np.isnan(wasserstein_1d([], [1.0]))


def test_frechet_distance_known() -> None:
    assert frechet_distance([0, 0], np.eye(2), [3, 4], np.eye(2)) == pytest.approx(25.0)
    # 1-D: (mu1-mu2)^2 + (s1 - s2)^2 for variances s1^2, s2^2
    assert frechet_distance([0.0], [[4.0]], [0.0], [[1.0]]) == pytest.approx(1.0)


def test_fpd_kpd_same_vs_shifted() -> None:
    g = np.random.default_rng(0)
    a, b = g.normal(size=(4000, 5)), g.normal(size=(4000, 5))
    c = g.normal(size=(4000, 5)) + np.array([0.5, 0, 0, 0, 0])
    fpd_same = frechet_physics_distance(a, b, np.random.default_rng(1), 1000, 4000, 5, 5)
    fpd_diff = frechet_physics_distance(a, c, np.random.default_rng(1), 1000, 4000, 5, 5)
    assert fpd_same.method == "extrapolated" and len(fpd_same.batch_sizes) == 5
    assert abs(fpd_same.value) < 2 * fpd_same.error
    assert fpd_diff.value == pytest.approx(0.25, abs=0.05)
    assert fpd_diff.value > 5 * fpd_diff.error
    kpd_same = kernel_physics_distance(a, b, np.random.default_rng(2), 1000, 5)
    kpd_diff = kernel_physics_distance(a, c, np.random.default_rng(2), 1000, 5)
    assert abs(kpd_same.value) < 3 * kpd_same.error + 1e-3
    assert kpd_diff.value > 10 * kpd_same.error
    assert mmd_polynomial_unbiased(np.zeros((3, 1)), np.ones((3, 1)), 3) == pytest.approx(7.0)
    assert mmd_polynomial_unbiased(np.zeros((3, 1)), np.ones((3, 1))) == pytest.approx(15.0)


def test_fpd_null_is_consistent_with_zero_where_the_published_estimator_is_not() -> None:
    """Pairs of samples of one distribution: the published intercept sits above zero by many
    of its errors (it extrapolates to the finite samples, not to the distributions)."""
    g = np.random.default_rng(5)
    pulls, published = [], []
    for i in range(8):
        a, b = g.standard_t(6, size=(1500, 8)), g.standard_t(6, size=(1500, 8))
        r = frechet_physics_distance(a, b, np.random.default_rng(i), 500, 3000, 6, 5)
        pulls.append(r.value / r.error)
        published.append(r.published / r.published_error)
    assert abs(np.mean(pulls)) < 1.0 and np.max(np.abs(pulls)) < 3.0
    assert np.mean(published) > 3.0


def test_kpd_null_without_repeated_event_bias() -> None:
    """Batches drawn with replacement repeat events; pairing them with themselves biases
    the plain estimator upwards, leaving them out does not."""
    g = np.random.default_rng(6)
    values, plain = [], []
    for i in range(24):
        a, b = g.normal(size=(300, 4)), g.normal(size=(300, 4))
        r = kernel_physics_distance(a, b, np.random.default_rng(i), 300, 4)
        values.append(r.value)
        plain.append(r.published)
    se = np.std(values) / np.sqrt(len(values))
    assert abs(np.mean(values)) < 3 * se
    assert np.mean(plain) > np.mean(values) + 5 * se
    # a sample smaller than the batch size still gets an error (batches differ)
    small = kernel_physics_distance(a[:50], b[:50], np.random.default_rng(0), 2000, 6)
    assert small.batch_sizes == (50,) and small.error > 1e-6


def test_max_abs_scaling_and_feature_scaling_choice() -> None:
    x, y = max_abs_scale([[2.0, -8.0]], [[1.0, 4.0]])
    assert x.tolist() == [[1.0, -1.0]] and y.tolist() == [[0.5, 0.5]]
    with pytest.raises(ValueError, match="scaling"):
        frechet_physics_distance(
            np.zeros((10, 2)), np.zeros((10, 2)), np.random.default_rng(0), scaling="zscore"
        )  # type: ignore[arg-type]
