"""The ATLAS 2018 figures of merit: profiles around the impact cell, shower depth, response and
the chi2 of every distribution, in evaluate's report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from fastcalogan.data import ShowerData, read_showers, write_atlas_cells
from fastcalogan.evaluate import Atlas2018Suite, EvaluateConfig, evaluate, load_histograms
from fastcalogan.evaluate.atlas2018 import lateral_profiles, profile_chi2, shower_depth_mm
from fastcalogan.geometry import load_geometry
from fastcalogan.simulate import simulate_showers
from fastcalogan.simulate.atlas_cells import CELL_WINDOWS, LAYER_RADIUS_MM, window_centres

GEOMETRY = load_geometry("atlas-cells")
ENERGIES = (4000.0, 32000.0)


def _sample(seed: int, n: int = 300) -> ShowerData:
    s = simulate_showers("atlas-cells", "photon", np.repeat(ENERGIES, n), seed=seed)
    return ShowerData(
        s.incident_energies,
        s.showers,
        {"particle": "photon", "eta_min": 0.2, "eta_max": 0.25},
        s.conditions,
        s.condition_names,
    )


@pytest.fixture(scope="module")
def samples() -> tuple[ShowerData, ShowerData]:
    return _sample(1), _sample(2)


def test_cells_keep_their_bin_around_the_impact_cell_for_every_alignment() -> None:
    """The premise of cell-wide profile bins: the impact cell's centre lies less than half a
    cell from every window's centre, whatever the alignment, so a cell's offset from the
    impact cell falls in the bin of its own index."""
    d_eta, d_phi = 0.025, 2 * math.pi / 256
    seen = set()
    for i in (8, 9):  # |eta| 0.200-0.250: two middle cells
        for j in range(40, 44):
            eta, phi = np.array([(i + 0.5) * d_eta]), np.array([(j + 0.5) * d_phi])
            centres, align = window_centres(eta, phi)
            seen.add(tuple(align[0]))
            for pos, window in enumerate(CELL_WINDOWS):
                offset_eta = abs(eta[0] - centres[0, pos, 0]) / window.d_eta
                offset_phi = abs(phi[0] - centres[0, pos, 1]) / window.d_phi
                assert offset_eta < 0.5 and offset_phi < 0.5
                # the geometry's cells are these windows at the layer's radius
                lay = GEOMETRY.layer(window.layer_id)
                r = LAYER_RADIUS_MM[window.layer_id]
                assert lay.cell_size_mm == pytest.approx((window.d_eta * r, window.d_phi * r))
    assert seen == {(a, e) for a in range(4) for e in range(2)}


def test_shower_depth_and_profiles_on_hand_made_showers() -> None:
    s = np.zeros((2, 266))
    s[0, GEOMETRY.layer_slice(2).start + 3 * 7 + 3] = 1000.0  # the impact cell alone
    s[1, GEOMETRY.layer_slice(1).start + 0] = 500.0  # first strip, first phi cell
    s[1, GEOMETRY.layer_slice(3).start + 6] = 1500.0  # back row 0, last phi cell
    assert shower_depth_mm(s, GEOMETRY).tolist() == pytest.approx([314.0, (122 + 3 * 513) / 4])
    eta, phi = lateral_profiles(s, [2000.0, 1000.0], GEOMETRY, 2)
    assert eta[0].tolist() == [0, 0, 0, 0.5, 0, 0, 0] and phi[0].tolist() == eta[0].tolist()
    eta, phi = lateral_profiles(s, [2000.0, 1000.0], GEOMETRY, 3)
    assert eta[1].tolist() == [1.5, 0, 0, 0] and phi[1].tolist() == [0] * 6 + [1.5]
    assert math.isnan(shower_depth_mm(np.zeros((1, 266)), GEOMETRY)[0])
    # profiles: chi2 over bins with an error, each bin (m_r - m_g)^2 / (s_r^2 + s_g^2)
    got = profile_chi2(np.array([1.0, 2.0, 0.0]), np.array([0.3, 0.0, 0.0]),
                       np.array([1.5, 2.0, 0.0]), np.array([0.4, 0.1, 0.0]))  # fmt: skip
    assert got == (pytest.approx(1.0), 2)


def test_two_samples_of_one_simulator_agree_and_a_distortion_is_seen(
    samples: tuple[ShowerData, ShowerData],
) -> None:
    a, b = samples
    suite = Atlas2018Suite()
    assert suite.applies(GEOMETRY, {}) and not suite.applies(load_geometry("ds1-photons"), {})
    same = suite.compute(a, b, GEOMETRY, np.random.default_rng(0)).metrics["chi2"]
    assert set(same) >= {"middle-layer energy", "total energy", "shower depth"}
    assert len([k for k in same if k.startswith("profile")]) == 8
    for name, entry in same.items():
        # profile bins of one layer are correlated (they add up to its energy): their sum of
        # squared pulls has the mean NDF of a chi2 but a wider spread
        assert entry["chi2_ndf"] < (4.0 if name.startswith("profile") else 1.6), name
    # a quarter of the middle layer's energy moved to the strips' first cell row
    showers = b.showers.copy()
    mid, strips = GEOMETRY.layer_slice(2), GEOMETRY.layer_slice(1)
    moved = 0.25 * showers[:, mid].sum(axis=1)
    showers[:, mid] *= 0.75
    showers[:, strips.start] += moved
    bent = ShowerData(b.incident_energies, showers, b.attrs, b.conditions, b.condition_names)
    result = suite.compute(a, bent, GEOMETRY, np.random.default_rng(0))
    got = result.metrics["chi2"]
    assert got["middle-layer energy"]["chi2_ndf"] > 4
    assert got["shower depth"]["chi2_ndf"] > 4
    assert got["profile EMB1 eta"]["chi2_ndf"] > 10 and got["profile EMB2 eta"]["chi2_ndf"] > 10
    assert got["total energy"]["chi2_ndf"] < 1.6  # nothing lost
    assert got["profile EMB3 eta"]["chi2_ndf"] < 4  # nor moved in the back
    # response and resolution per energy point, in the table too
    response = result.metrics["response"]
    assert response["energy_mev"] == list(ENERGIES)
    assert response["generated"] == pytest.approx(response["reference"], abs=0.01)
    assert 0.0 < result.metrics["resolution"]["reference"][1] < 0.05
    quantities = {row[0] for row in result.table["rows"]}
    assert {"response <E_tot/E_inc>", "resolution RMS/mean of E_tot"} <= quantities


def test_suite_runs_in_evaluate(tmp_path: Path, samples: tuple[ShowerData, ShowerData]) -> None:
    paths = []
    for name, d in zip(("ref", "gen"), samples, strict=True):
        paths.append(
            write_atlas_cells(
                tmp_path / f"{name}.h5",
                d.incident_energies,
                d.showers,
                d.conditions.astype(np.int64),
                d.attrs,
                geometry=GEOMETRY,
            )
        )
    assert read_showers(paths[0]).condition_names == ("phi_alignment", "eta_alignment")
    config = EvaluateConfig(metrics=("chi2",))
    # the report's generic renderer draws the suite (tests/evaluate/test_suites.py; the page
    # of an atlas-cells evaluation is checked by tests/e2e/test_atlas2018_chain.py)
    result = evaluate(config, paths[0], paths[1], tmp_path / "eval")
    suite = json.loads(result.metrics_path.read_text())["suites"]["atlas-2018"]
    assert suite["chi2"]["middle-layer energy"]["ndf"] > 0
    h = load_histograms(result.histograms_path)
    key = "suite/atlas-2018/profile EMB1 eta"
    assert h[f"{key}/edges"].size == 57 and h[f"{key}/reference_error"].shape == (56,)
    assert "suite/atlas-2018/E_mid/E_inc 004 GeV/edges" in h
    assert ["resolution RMS/mean of E_tot", "32 GeV"] == suite["table"]["rows"][7][:2]
