"""Observables against hand-computed values on tiny showers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fastcalogan import data
from fastcalogan.data import observables as obs
from fastcalogan.data.features import high_level_features, observable_table
from fastcalogan.errors import DataFormatError
from fastcalogan.geometry import Binning, CartesianGeometry


@pytest.fixture
def hand_showers(tiny_binning: Binning) -> np.ndarray:
    """Event 0: layer 0 = [2, 0, 0, 2]; layer 1: 1 MeV at (alpha -pi/2, r 2.5 mm) and 3 MeV at
    (alpha +pi/2, r 15 mm); layer 2 empty. Event 1: empty."""
    s = np.zeros((2, tiny_binning.n_voxels), dtype=np.float32)
    s[0, 0] = 2.0
    s[0, 3] = 2.0
    s[0, tiny_binning.voxel_index(1, 0, 0)] = 1.0
    s[0, tiny_binning.voxel_index(1, 1, 2)] = 3.0
    return s


def test_energies_and_response(hand_showers: np.ndarray, tiny_binning: Binning) -> None:
    assert obs.total_energy(hand_showers).tolist() == [8.0, 0.0]
    assert obs.layer_energies(hand_showers, tiny_binning).tolist() == [[4, 4, 0], [0, 0, 0]]
    assert obs.layer_fractions(hand_showers, tiny_binning).tolist() == [[0.5, 0.5, 0], [0, 0, 0]]
    assert obs.response(hand_showers, [16.0, 4.0]).tolist() == [0.5, 0.0]
    with pytest.raises(DataFormatError, match="incident_energies has 1 events but showers has 2"):
        obs.response(hand_showers, [1.0])


def test_eta_phi_centroids_and_widths(hand_showers: np.ndarray, tiny_binning: Binning) -> None:
    assert obs.alpha_binned_layers(tiny_binning) == (1,)
    # phi = r sin(alpha): -2.5 mm (1 MeV) and +15 mm (3 MeV); eta = r cos(+-pi/2) = 0
    cp = obs.centroid_phi(hand_showers, tiny_binning)
    assert cp.shape == (2, 1)
    assert cp[0, 0] == pytest.approx((-2.5 + 45.0) / 4)
    assert obs.width_phi(hand_showers, tiny_binning)[0, 0] == pytest.approx(
        math.sqrt((6.25 + 3 * 225) / 4 - 10.625**2)
    )
    assert obs.centroid_eta(hand_showers, tiny_binning)[0, 0] == pytest.approx(0, abs=1e-12)
    assert obs.width_eta(hand_showers, tiny_binning)[0, 0] == pytest.approx(0, abs=1e-6)
    for f in (obs.centroid_eta, obs.centroid_phi, obs.width_eta, obs.width_phi):
        assert f(hand_showers, tiny_binning)[1].tolist() == [0.0]


def test_radial_moments_and_lateral_width(hand_showers: np.ndarray, tiny_binning: Binning) -> None:
    cr = obs.centroid_r(hand_showers, tiny_binning)
    wr = obs.width_r(hand_showers, tiny_binning)
    # layer 0: 2 MeV at r = 5 and 75 mm; layer 1: 1 MeV at 2.5, 3 MeV at 15 mm; layer 2 empty
    np.testing.assert_allclose(cr[0], [40.0, 11.875, 0.0])
    np.testing.assert_allclose(wr[0], [35.0, math.sqrt(170.3125 - 11.875**2), 0.0])
    lw = obs.lateral_width(hand_showers, tiny_binning)
    np.testing.assert_allclose(lw[0], [math.sqrt(2825.0), math.sqrt(170.3125 - 10.625**2), 0.0])
    assert cr[1].tolist() == wr[1].tolist() == lw[1].tolist() == [0.0, 0.0, 0.0]


def test_sparsity_spectrum_and_calogan_shapes(
    hand_showers: np.ndarray, tiny_binning: Binning
) -> None:
    assert obs.sparsity(hand_showers, tiny_binning).tolist() == [[0.5, 0.25, 0.0], [0, 0, 0]]
    assert sorted(obs.voxel_spectrum(hand_showers).tolist()) == [1.0, 2.0, 2.0, 3.0]
    assert obs.energy_ratio_hottest(hand_showers, tiny_binning).tolist() == [
        [0.0, 0.5, 0.0],
        [0.0, 0.0, 0.0],
    ]
    assert obs.deepest_layer(hand_showers, tiny_binning).tolist() == [1, 0]
    assert obs.depth_weighted_energy(hand_showers, tiny_binning).tolist() == [4.0, 0.0]
    assert obs.shower_depth(hand_showers, tiny_binning).tolist() == [0.5, 0.0]
    assert obs.shower_depth_width(hand_showers, tiny_binning).tolist() == [0.5, 0.0]


def test_centroid_matches_calochallenge_formula(
    tiny_showers: tuple[np.ndarray, np.ndarray], tiny_binning: Binning
) -> None:
    _, s = tiny_showers
    sl = tiny_binning.layer_slice(1)
    e = s[:, sl].astype(np.float64)
    eta = tiny_binning.voxel_eta[sl]
    ec = (e * eta).sum(1) / e.sum(1)
    width = np.sqrt((e * eta * eta).sum(1) / e.sum(1) - ec**2)
    np.testing.assert_allclose(obs.centroid_eta(s, tiny_binning)[:, 0], ec, atol=1e-9)
    np.testing.assert_allclose(obs.width_eta(s, tiny_binning)[:, 0], width, atol=1e-6)


def test_layer_moments_match_single_functions(
    tiny_showers: tuple[np.ndarray, np.ndarray], tiny_binning: Binning
) -> None:
    _, s = tiny_showers
    m = obs.layer_moments(s, tiny_binning)
    for name in (
        "centroid_eta",
        "width_eta",
        "centroid_phi",
        "width_phi",
        "centroid_r",
        "width_r",
        "lateral_width",
    ):
        np.testing.assert_array_equal(m[name], getattr(obs, name)(s, tiny_binning))


def test_observable_table_and_features(
    tiny_showers: tuple[np.ndarray, np.ndarray], tiny_binning: Binning
) -> None:
    e, s = tiny_showers
    table = observable_table(s, e, tiny_binning)
    assert "centroid_eta_EMB1" in table and "centroid_eta_PreSamplerB" not in table
    assert all(v.shape == (64,) for v in table.values())
    names, x = high_level_features(s, e, tiny_binning)
    assert x.shape == (64, len(names)) and names[0] == "log10_e_inc"
    assert np.isfinite(x).all()


def test_empty_input_and_wrong_shape(tiny_binning: Binning) -> None:
    empty = np.zeros((0, tiny_binning.n_voxels))
    assert obs.centroid_r(empty, tiny_binning).shape == (0, 3)
    assert obs.sparsity(empty, tiny_binning).shape == (0, 3)
    with pytest.raises(DataFormatError, match="do not fit binning tiny"):
        obs.centroid_r(np.zeros((2, 5)), tiny_binning)


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, (3, 16), elements=st.floats(0, 1e4)))
def test_widths_nonnegative_and_finite(showers: np.ndarray) -> None:
    b = Binning.from_layers(
        "tiny",
        "photon",
        (0.2, 0.25),
        [(0, [0, 10, 20, 50, 100], 1), (1, [0, 5, 10, 20, 40], 2), (2, [0, 10, 30, 60, 120], 1)],
    )
    for f in (obs.width_r, obs.width_eta, obs.width_phi, obs.lateral_width):
        w = f(showers, b)
        assert np.isfinite(w).all() and (w >= 0).all()
    depth = obs.shower_depth(showers, b)
    assert ((depth >= 0) & (depth <= 2)).all()


def test_public_api_pinned() -> None:
    for name in (
        "centroid_eta",
        "width_phi",
        "lateral_width",
        "high_level_features",
        "frechet_physics_distance",
        "compare_samples",
        "reference_edges",
    ):
        assert name in data.__all__


def test_observables_on_a_cartesian_geometry() -> None:
    """Two layers: a 2x3 grid of 10 x 20 mm cells and a single 50 mm cell."""
    g = CartesianGeometry.from_layers(
        "grid", "photon", None, [(3, (2, 3), (10.0, 20.0)), (8, (1, 1), (50.0, 50.0))]
    )
    s = np.zeros((1, 7))
    s[0, 2] = 3.0  # row 0, column 2: centre (-5, +20) mm
    s[0, 3] = 1.0  # row 1, column 0: centre (+5, -20) mm
    s[0, 6] = 4.0  # the single cell of layer 8
    assert obs.alpha_binned_layers(g) == (3,)  # a single cell cannot place the energy
    assert obs.layer_energies(s, g).tolist() == [[4.0, 4.0]]
    assert obs.centroid_eta(s, g)[0, 0] == pytest.approx((3 * -5 + 1 * 5) / 4)
    assert obs.centroid_phi(s, g)[0, 0] == pytest.approx((3 * 20 - 1 * 20) / 4)
    assert obs.width_phi(s, g)[0, 0] == pytest.approx(math.sqrt(400 - 10**2))
    assert obs.lateral_width(s, g).tolist()[0][1] == 0.0
    table = observable_table(s, [10.0], g)
    assert table["centroid_eta_layer 3"][0] == pytest.approx(-2.5)
    assert "centroid_eta_layer 8" not in table and table["fraction_layer 8"][0] == 0.5
    names, features = high_level_features(s, [10.0], g)
    assert features.shape == (1, len(names)) and "width_r_layer 8" in names
