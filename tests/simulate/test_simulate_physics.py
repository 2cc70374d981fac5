"""Physics behaviour of the reference simulator: bounds, trends, particle differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcalogan.data import layer_energies
from fastcalogan.geometry import default_geometry
from fastcalogan.simulate import simulate_voxels

PHOTONS = default_geometry("photon")
PIONS = default_geometry("pion")


def _fractions(particle: str, energy: float, n: int = 400, eta=(0.20, 0.25), seed: int = 1):
    binning = PHOTONS if particle in ("photon", "electron") else PIONS
    v = simulate_voxels(particle, np.full(n, energy), eta, binning, seed)
    return layer_energies(v, binning).mean(axis=0) / energy, binning


@settings(max_examples=12, deadline=None)
@given(
    particle=st.sampled_from(["photon", "electron"]),
    log2_e=st.floats(8.0, 22.0),
    eta=st.floats(0.0, 1.4),
    seed=st.integers(0, 2**31),
)
def test_em_deposit_never_exceeds_incident_beyond_sampling(particle, log2_e, eta, seed):
    energy = 2.0**log2_e
    v = simulate_voxels(particle, np.full(64, energy), eta, PHOTONS, seed, batch_size=64)
    ratio = v.sum(axis=1) / energy
    # 10 %/sqrt(E) sampling: stay within 6 sigma of full containment
    assert ratio.max() <= 1.0 + 6 * 0.10 / np.sqrt(energy / 1e3)
    assert (v >= 0).all()


def test_em_mean_response_below_one():
    for energy in (256.0, 65536.0, 1048576.0):
        v = simulate_voxels("photon", np.full(300, energy), (0.2, 0.25), PHOTONS, 2)
        assert v.sum(axis=1).mean() / energy < 1.0


def test_pions_exceed_incident_only_at_low_energy():
    low = simulate_voxels("pion", np.full(1000, 256.0), (0.2, 0.25), PIONS, 3).sum(1) / 256.0
    assert (low > 1.0).mean() > 0.05  # ionisation read at the e.m. scale (x 1/e-hat)
    for energy in (4096.0, 65536.0, 1048576.0):
        r = simulate_voxels("pion", np.full(1000, energy), (0.2, 0.25), PIONS, 3).sum(1) / energy
        assert (r > 1.0).mean() <= 0.01
        assert r.max() < 1.1


def test_photon_layer_fraction_trends():
    f = {e: _fractions("photon", e)[0] for e in (1024.0, 65536.0, 1048576.0)}
    emb1 = [f[e][1] for e in sorted(f)]
    emb2 = [f[e][2] for e in sorted(f)]
    assert emb1[0] > emb1[1] > emb1[2]
    assert emb2[0] < emb2[1] < emb2[2]


def test_photon_layer_fractions_near_design_table():
    f, _ = _fractions("photon", 65536.0, n=1000)
    assert f[1] == pytest.approx(0.19, abs=0.03)
    assert f[2] == pytest.approx(0.79, abs=0.03)


def test_pion_tile_share_rises_with_energy():
    tile = []
    for energy in (4096.0, 65536.0, 1048576.0):
        f, binning = _fractions("pion", energy, n=600)
        tile_pos = [binning.layer_position(i) for i in (12, 13, 14)]
        tile.append(f[tile_pos].sum() / f.sum())
    assert tile[0] < tile[1] < tile[2]


def test_electrons_deposit_more_in_presampler_and_strips_than_photons():
    fg, _ = _fractions("photon", 4096.0, n=1000)
    fe, _ = _fractions("electron", 4096.0, n=1000)
    assert fe[0] > 1.3 * fg[0]
    assert fe[1] > fg[1] + 0.03


def test_pion_mip_population_at_low_energy():
    binning = PIONS
    v = simulate_voxels("pion", np.full(1000, 256.0), (0.2, 0.25), binning, 4)
    em = np.zeros(len(v))
    core = np.zeros(len(v))
    for lid, r_cut in ((1, 7.0), (2, 5.0)):
        sl = binning.layer_slice(lid)
        em += v[:, sl].sum(axis=1)
        core += v[:, sl][:, binning.voxel_r_centre[sl] < r_cut].sum(axis=1)
    mip_like = (em > 50.0) & (core > 0.9 * em)
    assert 0.2 < mip_like.mean() < 0.8
    v_hi = simulate_voxels("pion", np.full(300, 65536.0), (0.2, 0.25), binning, 4)
    assert v_hi.sum(1).mean() > 100 * v.sum(1).mean()


def test_showers_start_earlier_in_layer_terms_at_higher_eta():
    central, _ = _fractions("photon", 65536.0, eta=0.0)
    forward, _ = _fractions("photon", 65536.0, eta=1.3)
    assert forward[1] > central[1] + 0.03  # depths scale with cosh(eta)
    assert forward[2] < central[2]
