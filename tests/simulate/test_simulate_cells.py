"""Transverse readout in cells: the rectangle integral of the GFlash kernel, cell assignment,
energy conservation, the spot path against the integral, oblique tracks."""

from __future__ import annotations

import numpy as np
import pytest

from fastcalogan.data import layer_energies
from fastcalogan.geometry import CartesianGeometry, cell_slots, load_geometry
from fastcalogan.simulate import GivenTracks, NormalIncidence, simulate_showers
from fastcalogan.simulate.cells import rectangle_shares


def test_rectangle_shares_integrate_the_kernel():
    radius = 12.0
    edges = np.array([-1e12, -30.0, -5.0, 0.0, 7.0, 40.0, 1e12])
    shares = rectangle_shares(edges, edges, np.array(radius))
    assert shares.sum() == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(shares, shares.T, atol=1e-15)  # symmetric in eta <-> phi
    # a quadrant of a centred kernel holds a quarter
    assert shares[3:, 3:].sum() == pytest.approx(0.25, abs=1e-9)
    # against spots drawn from the radial profile (r = R sqrt(u / (1 - u)), uniform angle)
    g = np.random.default_rng(3)
    u = g.random(400_000)
    r = radius * np.sqrt(u / (1.0 - u))
    a = g.uniform(-np.pi, np.pi, u.size)
    counts, _, _ = np.histogram2d(r * np.cos(a), r * np.sin(a), bins=[edges, edges])
    np.testing.assert_allclose(counts / u.size, shares, atol=4e-3)


def test_rectangle_shares_far_cells_are_small_and_positive():
    edges = np.linspace(-400.0, 400.0, 81)
    s = rectangle_shares(edges, edges, np.array(20.0))
    assert (s >= 0).all() and s[40, 40] > 100 * s[0, 0] > 0


def test_cell_slots_place_points_in_the_expected_cell():
    g = load_geometry("calogan")
    # layer 0: 3 rows of 160 mm (eta), 96 columns of 5 mm (phi), centred on the beam
    slots = cell_slots([0, 0, 1, 2, 2], [0.0, -200.0, 0.0, 239.0, 250.0], [2.5, -2.5, 0.0, 0, 0], g)
    assert slots[0] == 1 * 96 + 48  # middle row, first column right of the axis
    assert slots[1] == 0 * 96 + 47
    assert slots[2] == 288 + 6 * 12 + 6
    assert slots[3] == 288 + 144 + 11 * 6 + 3
    assert slots[4] == 504 + 2  # outside layer 2: its leakage slot
    # LHCb: 30 x 30 cells of 20 mm centred on 0; cell (i, j) spans [20 i - 300, 20 i - 280)
    lhcb = load_geometry("lhcb-ecal")
    slots = cell_slots([0, 0, 0, 0], [-5.0, 0.0, 299.9, -300.1], [15.0, 0.0, -300.0, 0.0], lhcb)
    assert slots.tolist() == [14 * 30 + 15, 15 * 30 + 15, 29 * 30 + 0, 900]


@pytest.mark.parametrize(
    ("detector", "particle"),
    [
        ("calogan", "positron"),
        ("calogan", "pion"),
        ("lhcb-ecal", "electron"),
        ("atlas-cells", "photon"),
    ],
)
def test_energy_conserved_up_to_the_reported_overflow(detector, particle):
    """Cells + overflow do not depend on the grid: the layer energies are drawn first.

    (Read out without the threshold, which takes away more of a finer grid's energy.)
    """
    e = np.full(60, 20_000.0)
    a = simulate_showers(detector, particle, e, seed=4, readout_threshold_mev=0.0)
    coarse = CartesianGeometry.from_layers(
        "coarse",
        particle,
        None,
        [(lay.layer_id, (3, 3), (30.0, 30.0)) for lay in a.geometry.layers],
    )
    b = simulate_showers(detector, particle, e, seed=4, geometry=coarse, readout_threshold_mev=0.0)
    total_a = a.showers.sum(axis=1) + a.overflow.sum(axis=1)
    total_b = b.showers.sum(axis=1) + b.overflow.sum(axis=1)
    np.testing.assert_allclose(total_a, total_b, rtol=1e-12)
    assert b.overflow.sum() > 5 * a.overflow.sum()  # a 9 cm window loses far more
    assert (a.overflow >= 0).all() and (a.showers >= 0).all()


def test_spot_path_agrees_with_the_integral():
    e = np.full(300, 30_000.0)
    fast = simulate_showers("calogan", "positron", e, seed=9)
    spots = simulate_showers("calogan", "positron", e, seed=9, transverse="spots")
    g = fast.geometry
    # same layer energies shower by shower (drawn before the transverse readout)
    np.testing.assert_allclose(
        fast.showers.sum(1) + fast.overflow.sum(1), spots.showers.sum(1) + spots.overflow.sum(1)
    )
    np.testing.assert_allclose(
        layer_energies(fast.showers, g).mean(0),
        layer_energies(spots.showers, g).mean(0),
        rtol=0.01,
        atol=1e-4 * 30_000.0,  # layer 2 holds ~25 MeV; what leaves its grid differs by chance
    )
    # the lateral profile: mean energy in each middle-layer ring of cells
    sl = g.layer_slice(1)
    r = g.voxel_r_centre[sl]
    for lo, hi in ((0, 30), (30, 60), (60, 120)):
        ring = (r >= lo) & (r < hi)
        f = fast.showers[:, sl][:, ring].sum(1).mean()
        s = spots.showers[:, sl][:, ring].sum(1).mean()
        assert f == pytest.approx(s, rel=0.05)


def _centroid(showers: np.ndarray, geometry) -> np.ndarray:
    w = showers / showers.sum(axis=1, keepdims=True)
    return np.stack([w @ geometry.voxel_eta, w @ geometry.voxel_phi], axis=1)


def test_impact_point_and_tilt_move_the_shower():
    n = 200
    e = np.full(n, 50_000.0)
    point = np.tile([[13.0, -27.0]], (n, 1))
    straight = GivenTracks(np.tile([[0.0, 0.0, 1.0]], (n, 1)), point)
    tilted = GivenTracks(np.tile([[0.1, 0.0, 1.0]], (n, 1)), point)
    a = simulate_showers("lhcb-ecal", "electron", e, seed=2, incidence=straight)
    b = simulate_showers("lhcb-ecal", "electron", e, seed=2, incidence=tilted)
    ca, cb = _centroid(a.showers, a.geometry), _centroid(b.showers, b.geometry)
    # 20 mm cells pull the centroid towards cell centres by a few mm (the S-shape)
    assert np.abs(ca.mean(0) - [13.0, -27.0]).max() < 4.0
    # t_x = 0.1 moves the axis by 0.1 mm per mm of depth: the energy sits ~6-10 X0 deep
    shift = cb.mean(0) - ca.mean(0)
    assert 8.0 < shift[0] < 20.0 and abs(shift[1]) < 1.0
    np.testing.assert_allclose(b.conditions[:, 3:], point)
    np.testing.assert_allclose(np.linalg.norm(b.conditions[:, :3], axis=1), e)


def test_normal_incidence_off_centre_is_refused_by_polar_binnings():
    from fastcalogan.errors import BinningError
    from fastcalogan.geometry import Binning

    polar = Binning.from_layers("p", "positron", None, [(1, [0, 10, 100], 4)])
    ok = simulate_showers("calogan", "positron", [10_000.0], seed=0, geometry=polar)
    assert ok.showers.shape == (1, 8)
    with pytest.raises(BinningError, match=r"polar .* normal incidence at \(5, 0\) mm"):
        simulate_showers(
            "calogan",
            "positron",
            [10_000.0],
            seed=0,
            geometry=polar,
            incidence=NormalIncidence(5.0),
        )
