"""FastCaloGAN's relevant-layer rule, in memory and in the streaming voxeliser."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from fastcalogan.data import HitShowers, read_shower_attrs, read_showers, write_hits
from fastcalogan.errors import ConfigError, DataFormatError
from fastcalogan.geometry import Binning, load_geometry
from fastcalogan.voxelise import (
    VoxeliseConfig,
    choose_energy_point,
    geometry_of_file,
    layers_from_energies,
    relevant_layers,
    relevant_layers_at,
    restrict_to_layers,
    voxelise,
)


def _showers_with_layer_fractions(binning: Binning, fractions: list[float]) -> np.ndarray:
    """Two showers whose layers hold ``fractions`` of 1 TeV, spread over each layer's voxels."""
    showers = np.zeros((2, binning.n_voxels))
    for lay, f in zip(binning.layers, fractions, strict=True):
        sl = binning.layer_slice(lay.layer_id)
        showers[:, sl] = f * 1e6 / lay.n_voxels
    return showers


def test_weak_layer_in_front_of_a_kept_layer_is_kept() -> None:
    b = load_geometry("ds1-photons")  # layers 0, 1, 2, 3, 12
    showers = _showers_with_layer_fractions(b, [5e-4, 0.3, 0.69, 5e-4, 0.009])
    assert relevant_layers(showers, b) == (0, 1, 2, 3, 12)


def test_weak_trailing_layers_are_dropped() -> None:
    b = load_geometry("ds1-photons")
    showers = _showers_with_layer_fractions(b, [0.01, 0.3, 0.6885, 0.0011, 0.0004])
    assert relevant_layers(showers, b) == (0, 1, 2, 3)
    # exactly at the threshold counts as relevant; a higher threshold drops layer 3 too
    assert layers_from_energies([1.0, 998.0, 1.0], b.with_layers([0, 1, 2])) == (0, 1, 2)
    assert relevant_layers(showers, b, threshold=0.005) == (0, 1, 2)


def test_restrict_to_layers_selects_their_columns(tiny_binning: Binning, tiny_showers) -> None:
    _, showers = tiny_showers
    sub_showers, sub = restrict_to_layers(showers, tiny_binning, [0, 2])
    assert sub.layer_ids == (0, 2) and sub.n_voxels == 8
    np.testing.assert_array_equal(sub_showers, np.hstack([showers[:, :4], showers[:, 12:]]))


def test_bad_inputs_are_named(tiny_binning: Binning) -> None:
    with pytest.raises(DataFormatError, match=r"do not fit binning tiny \(n, 16\)"):
        relevant_layers(np.ones((3, 5)), tiny_binning)
    with pytest.raises(DataFormatError, match="no energy in any layer"):
        relevant_layers(np.zeros((3, 16)), tiny_binning)
    with pytest.raises(ConfigError, match=r"relevant_threshold: must lie in \(0, 1\)"):
        relevant_layers(np.ones((3, 16)), tiny_binning, threshold=0.0)


def _two_point_hits() -> HitShowers:
    """Events at 1 TeV (2^20 MeV) and at 65 GeV; layer 12 is weak only in the 1 TeV sample."""
    tev, low = float(2**20), float(2**16)
    rows = []
    for ev, e_inc in enumerate([tev, tev, low, low]):
        share = {0: 1e-2, 1: 0.3, 2: 0.68, 3: 5e-3, 12: 1e-4 if e_inc == tev else 0.2}
        for layer, f in share.items():
            rows.append((ev, 1.0, 0.5, layer, f * e_inc))
    ev, r, a, lay, e = (np.array(c) for c in zip(*rows, strict=True))
    return HitShowers.from_event_ids([tev, tev, low, low], ev, r, a, lay, e, {"particle": "photon"})


def test_streaming_voxelise_keeps_the_relevant_layers(tmp_path: Path) -> None:
    path = write_hits(tmp_path / "hits.h5", _two_point_hits())
    calls: list[tuple[int, int]] = []
    cfg = VoxeliseConfig(binning="ds1-photons", relevant_layers=True, chunk_events=3)
    res = voxelise(cfg, path, tmp_path / "s.h5", lambda d, t: calls.append((d, t)))
    assert res.relevant_layers == (0, 1, 2, 3)
    assert res.layer_ids == (0, 1, 2, 3) and res.n_voxels == 363
    assert calls == [(3, 8), (4, 8), (7, 8), (8, 8)]
    # layer 12 is now energy in a layer without voxels: reported, not lost
    total = res.voxel_energy_mev + res.leakage_mev + res.unbinned_mev
    assert total == pytest.approx(res.total_energy_mev, rel=1e-12)
    assert res.unbinned_mev == pytest.approx(2 * 1e-4 * 2**20 + 2 * 0.2 * 2**16)
    attrs = read_shower_attrs(res.out_path)
    assert list(attrs["binning_layers"]) == [0, 1, 2, 3]
    b = geometry_of_file(attrs)
    assert b.layer_ids == (0, 1, 2, 3)
    assert read_showers(res.out_path, binning=b).n_voxels == 363
    # every event used for the rule: layer 12 holds 8 % of the energy and is kept
    all_events = VoxeliseConfig(relevant_layers=True, relevant_energy_mev=None)
    assert voxelise(all_events, path, tmp_path / "t.h5").relevant_layers == (0, 1, 2, 3, 12)


def test_an_absent_energy_point_uses_the_nearest_one_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_hits(tmp_path / "hits.h5", _two_point_hits())
    # 4 GeV is absent: 65 GeV (4 octaves away) is nearer in log E than 1 TeV (8 octaves)
    cfg = VoxeliseConfig(relevant_layers=True, relevant_energy_mev=4096.0)
    with caplog.at_level(logging.WARNING, logger="fastcalogan"):
        res = voxelise(cfg, path, tmp_path / "s.h5")
    assert res.relevant_energy_mev == 65536.0
    # at 65 GeV layer 12 holds 20 % of the energy: kept
    assert res.relevant_layers == (0, 1, 2, 3, 12)
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert str(path) in record.getMessage()
    assert "no event within 1% of 4096 MeV" in record.getMessage()
    assert "using the nearest energy point, 65536 MeV" in record.getMessage()
    assert "(energies present: 65536, 1.04858e+06 MeV)" in record.getMessage()
    summary = json.loads(res.summary_path.read_text())
    assert summary["relevant_energy_mev"] == 65536.0


def test_the_rule_on_showers_in_memory_is_the_same_rule() -> None:
    """The voxeliser's hits and the campaign's showers give the same layers at each point."""
    b = load_geometry("ds1-photons")
    tev = _showers_with_layer_fractions(b, [1e-2, 0.3, 0.68, 5e-3, 1e-4]) * 2**20 / 1e6
    low = _showers_with_layer_fractions(b, [1e-2, 0.3, 0.48, 5e-3, 0.2]) * 2**16 / 1e6
    showers = np.vstack([tev, low])
    inc = np.array([2.0**20] * 2 + [2.0**16] * 2)
    at_tev = relevant_layers_at(showers, inc, b)
    assert (at_tev.layers, at_tev.energy_mev, at_tev.n_events) == ((0, 1, 2, 3), 2.0**20, 2)
    at_low = relevant_layers_at(showers, inc, b, energy_mev=4096.0, source="x.h5")
    assert (at_low.layers, at_low.energy_mev) == ((0, 1, 2, 3, 12), 2.0**16)
    # a tie in log E goes to the higher energy (deeper showers)
    assert choose_energy_point([1024.0, 4096.0], 2048.0, "t.h5") == 4096.0
    every = relevant_layers_at(showers, inc, b, energy_mev=None)
    assert every.energy_mev is None and every.n_events == 4
    with pytest.raises(DataFormatError, match=r"x\.h5: no events to choose relevant layers"):
        relevant_layers_at(np.zeros((0, b.n_voxels)), np.zeros(0), b, source="x.h5")
