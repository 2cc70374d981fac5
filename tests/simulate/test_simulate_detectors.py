"""Detector descriptions and the three new detectors: constants, response, containment, cells."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastcalogan.data import layer_energies
from fastcalogan.errors import SimulationError
from fastcalogan.geometry import cell_slots, load_geometry
from fastcalogan.simulate import (
    DETECTORS,
    Detector,
    EtaSlice,
    NormalIncidence,
    SamplingStructure,
    Slab,
    get_detector,
    simulate_showers,
)
from fastcalogan.simulate.atlas_cells import (
    MIDDLE_DETA,
    MIDDLE_DPHI,
    STRIP_DPHI,
    window_centres,
    window_position,
)
from fastcalogan.simulate.detector import layer_response
from fastcalogan.simulate.em import ACCORDION
from fastcalogan.simulate.materials import LAR, PB, SCINTILLATOR


def test_sampling_structures_match_the_textbook_numbers():
    """CaloGAN: about 29-31 X0 and 1.3 lambda_I in 480 mm; LHCb: 25 X0 in 396 mm, R_M 3.5 cm."""
    calogan = SamplingStructure(PB, 2.0, LAR, 4.0)
    assert 480.0 / calogan.x0_mm == pytest.approx(30.8, abs=0.3)
    assert 480.0 / calogan.lambda_mm == pytest.approx(1.28, abs=0.02)
    assert calogan.e_hat == pytest.approx(1 / (1 + 0.007 * 64))
    assert 0.24 < calogan.f_mip < 0.26  # 4 mm LAr next to 2 mm Pb
    lhcb = SamplingStructure(PB, 2.0, SCINTILLATOR, 4.0)
    assert 396.0 / lhcb.x0_mm == pytest.approx(24.2, abs=0.3)
    assert lhcb.moliere_mm == pytest.approx(35.0, rel=0.08)
    assert 0.15 < lhcb.sampling_fraction < 0.17
    assert lhcb.sampling_term == pytest.approx(0.109, abs=0.005)  # 2.7 % sqrt(4 mm / f_mip)


def test_detector_totals_and_descriptions():
    calogan = get_detector("calogan")
    assert calogan.layer_ids == (0, 1, 2)
    assert calogan.x0 == pytest.approx(30.8, abs=0.3) and calogan.lambda_i == pytest.approx(
        1.28, 0.02
    )
    assert [s.thickness_mm for s in calogan.slabs] == [90.0, 347.0, 43.0]
    assert get_detector("lhcb-ecal").x0 == pytest.approx(24.2, abs=0.3)
    assert get_detector("atlas-cells").slabs == get_detector("atlas-barrel").slabs
    text = calogan.describe()
    assert "calogan" in text and "layer 1" in text and "347 mm" in text
    assert set(DETECTORS) == {"atlas-barrel", "calogan", "lhcb-ecal", "atlas-cells"}
    with pytest.raises(Exception, match="unknown detector 'cms'"):
        get_detector("cms")


def test_bad_descriptions_are_refused():
    medium = SamplingStructure(PB, 2.0, LAR, 4.0).medium("m")
    dead = Slab.of_thickness("dead", -1, medium, 10.0)
    layer = Slab.of_thickness("l", 0, medium, 10.0)
    kwargs = dict(summary="", shower=ACCORDION, signal="total", incidence=NormalIncidence())
    with pytest.raises(SimulationError, match="no slab is a readout layer"):
        Detector("d", slabs=(dead,), **kwargs)
    with pytest.raises(SimulationError, match="each readout layer is one slab"):
        Detector("d", slabs=(layer, layer), **kwargs)
    with pytest.raises(SimulationError, match="depth_slices"):
        Detector("d", slabs=(layer,), depth_slices=(2, 3), **kwargs)
    with pytest.raises(SimulationError, match="has no X0"):
        Slab.of_thickness("x", 0, get_detector("atlas-barrel").slabs[1].medium, 10.0)
    with pytest.raises(SimulationError, match="outside the barrel"):
        EtaSlice(0.2, 1.7)


def test_signal_readings():
    media = [get_detector("lhcb-ecal").slabs[0].medium]
    total = layer_response(media, "total")
    assert total.c_em[0] == 0 and total.mip_scale[0] == 1 and total.scale[0] == 1
    active = layer_response(media, "active")
    assert active.scale[0] == pytest.approx(media[0].sampling_fraction)
    em = layer_response(media, "em-scale")
    assert em.scale[0] == 1 and em.c_em[0] == pytest.approx(0.095)


def _response(detector: str, particle: str, energy: float, n: int = 400, seed: int = 1):
    s = simulate_showers(detector, particle, np.full(n, energy), seed=seed)
    return s, s.showers.sum(axis=1) / energy


def test_calogan_positrons_nearly_contained_pions_leak():
    """29-31 X0 contain e+ (no sampling fluctuation: deposits in absorber and LAr alike);
    1.3 lambda_I lets pions through or leak most of their shower."""
    s, r = _response("calogan", "positron", 20_000.0)
    assert 0.98 < r.mean() < 1.0 and r.std() < 0.01
    fractions = layer_energies(s.showers, s.geometry).mean(0) / 20_000.0
    assert fractions[1] > fractions[0] > 20 * fractions[2]  # the 22 X0 layer takes most
    _, pion = _response("calogan", "pion", 20_000.0)
    assert 0.1 < pion.mean() < 0.5 and pion.std() / pion.mean() > 0.4
    # pions that do not interact cross all 480 mm as MIPs: about 0.27 GeV deposited
    mip_like = np.abs(pion * 20_000.0 - 272.0) < 60.0
    assert 0.15 < mip_like.mean() < 0.5


def test_calogan_photons_start_later_than_positrons():
    s_e, _ = _response("calogan", "positron", 10_000.0, n=600)
    s_g, _ = _response("calogan", "photon", 10_000.0, n=600)
    f_e = layer_energies(s_e.showers, s_e.geometry).mean(0)
    f_g = layer_energies(s_g.showers, s_g.geometry).mean(0)
    assert f_g[0] < 0.95 * f_e[0]


def test_lhcb_reads_the_scintillator_with_its_resolution():
    det = get_detector("lhcb-ecal")
    f_e = det.slabs[0].medium.sampling_fraction
    for energy in (10_000.0, 50_000.0):
        s, r = _response("lhcb-ecal", "electron", energy, n=600)
        assert r.mean() == pytest.approx(f_e, rel=0.02)  # 24 X0, 30 x 30 cells: contained
        stochastic = 0.095 / math.sqrt(energy / 1000.0)
        assert stochastic < r.std() / r.mean() < 1.35 * stochastic
        # the five conditions, |p| = E, impact points inside the central 12 x 12 cm
        c = s.conditions
        assert s.condition_names == ("px", "py", "pz", "x", "y")
        np.testing.assert_allclose(np.linalg.norm(c[:, :3], axis=1), energy)
        assert np.abs(c[:, 3:]).max() <= 60.0 and (np.abs(c[:, :2] / c[:, 2:3]) <= 0.1).all()


def test_atlas_cells_windows_and_alignments():
    """A hit at a known (eta, phi) lands in the expected window cell, for every alignment.

    Hits are placed just inside both edges of an absolute ATLAS cell: a window shifted by less
    than a cell would split them.
    """
    g = load_geometry("atlas-cells")
    inner = 0.02  # fraction of a cell inside its edges
    for j in range(8, 12):
        for eta in (0.2101, 0.2351):
            i = math.floor(eta / MIDDLE_DETA)
            phi = (j + 0.37) * MIDDLE_DPHI
            _, align = window_centres(np.array([eta]), np.array([phi]))
            assert align.tolist() == [[j % 4, i % 2]]
            strip = 8 * i - 5  # 5 strips below the impact cell's first strip
            cases = {
                # layer: (absolute eta cell edges, phi cell edges, expected window cell)
                2: ((i, i + 1, MIDDLE_DETA), (j, j + 1, MIDDLE_DPHI), 3 * 7 + 3),
                0: ((i, i + 1, MIDDLE_DETA), (j // 4, j // 4 + 1, STRIP_DPHI), 3 * 3 + 1),
                1: (
                    (strip, strip + 1, MIDDLE_DETA / 8),
                    (j // 4 + 1, j // 4 + 2, STRIP_DPHI),
                    (24 - 5) * 3 + 2,
                ),
                # back: the back cell k = i // 2 is window row 2 - e
                3: (
                    (i // 2, i // 2 + 1, 2 * MIDDLE_DETA),
                    (j, j + 1, MIDDLE_DPHI),
                    (2 - i % 2) * 7 + 3,
                ),
            }
            for layer_id, ((e0, e1, de), (p0, p1, dp), cell) in cases.items():
                for fe in (inner, 1 - inner):
                    for fp in (inner, 1 - inner):
                        h_eta = (e0 + fe * (e1 - e0)) * de
                        h_phi = (p0 + fp * (p1 - p0)) * dp
                        x, y = window_position(layer_id, h_eta, h_phi, eta, phi)
                        slot = cell_slots([layer_id], x, y, g)[0]
                        assert slot == g.layer_slice(layer_id).start + cell, (j, eta, layer_id)


def test_atlas_cells_simulation():
    s, r = _response("atlas-cells", "photon", 16_000.0, n=400)
    assert s.showers.shape == (400, 266) and s.geometry.layer_sizes == (21, 168, 49, 28)
    assert 0.95 < r.mean() < 1.0
    align = s.conditions.astype(int)
    assert set(map(tuple, align)) == {(a, e) for a in range(4) for e in range(2)}
    # the impact cell is the middle layer's hottest cell on average
    middle = s.geometry.layer_images(s.showers, 2).mean(axis=0)
    assert np.unravel_index(middle.argmax(), middle.shape) == (3, 3)
    # the back window's hottest row follows the eta alignment: row 2 - e
    back = s.geometry.layer_images(s.showers, 3)
    for e in (0, 1):
        rows = back[align[:, 1] == e].sum(axis=(0, 2))
        assert rows.argmax() == 2 - e
    # what leaves the 7 x 7 middle window is reported
    assert 0.0 < s.overflow[:, 2].mean() / 16_000.0 < 0.03
