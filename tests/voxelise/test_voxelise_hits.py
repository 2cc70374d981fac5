"""Hits -> voxels: hand-computed indices, edges, leakage, conservation, streaming from files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastcalogan.voxelise as vx
from fastcalogan.data import HitShowers, read_showers, write_hits
from fastcalogan.errors import ConfigError, DataFormatError, OutputError
from fastcalogan.geometry import Binning, load_geometry
from fastcalogan.voxelise import VoxeliseConfig, voxelise, voxelise_hits

PI = math.pi


def _hits(rows: list[tuple[int, float, float, int, float]], n_events: int) -> HitShowers:
    """Hits from (event, r, alpha, layer, energy) rows; incident energy 1 GeV."""
    ev, r, a, lay, e = (np.array(c) for c in zip(*rows, strict=True))
    return HitShowers.from_event_ids(np.full(n_events, 1000.0), ev, r, a, lay, e)


def random_hits(
    binning: Binning, n_events: int, hits_per_event: int, seed: int, leak: float = 0.05
) -> HitShowers:
    """Seeded hits in the binning's layers (plus a few in an unused layer), some beyond r_max."""
    g = np.random.default_rng(seed)
    n = n_events * hits_per_event
    ids = np.array([*binning.layer_ids, 13 if 13 not in binning.layer_ids else 21])
    layer = g.choice(ids, size=n)
    r_max = np.array([binning.layer(i).r_max if i in binning.layer_ids else 100.0 for i in layer])
    r = g.uniform(0.0, 1.0, n) * r_max * (1.0 + leak)
    return HitShowers.from_event_ids(
        g.uniform(1e3, 1e5, n_events),
        g.integers(0, n_events, n),
        r.astype(np.float32),
        g.uniform(-PI, PI, n).astype(np.float32),
        layer.astype(np.int16),
        g.exponential(10.0, n),
        {"particle": "photon", "eta_min": 0.2, "eta_max": 0.25, "seed": seed},
    )


def test_hand_computed_voxel_indices(tiny_binning: Binning) -> None:
    # tiny: layer 0 r [0,10,20,50,100] (voxels 0-3); layer 1 r [0,5,10,20,40] x 2 alpha bins
    # (voxels 4-11, alpha (-pi,0] then (0,pi]); layer 2 r [0,10,30,60,120] (voxels 12-15)
    rows = [
        (0, 15.0, 0.3, 0, 1.0),  # layer 0, r bin 1 -> voxel 1
        (0, 7.0, -0.5, 1, 2.0),  # layer 1, alpha bin 0, r bin 1 -> 4 + 0 + 1 = 5
        (0, 7.0, 0.5, 1, 4.0),  # layer 1, alpha bin 1, r bin 1 -> 4 + 4 + 1 = 9
        (1, 0.0, -PI, 1, 8.0),  # alpha = -pi goes in the first bin, r = 0 in the first -> 4
        (1, 39.0, PI, 1, 16.0),  # alpha = +pi goes in the last bin, r bin 3 -> 4 + 4 + 3 = 11
        (1, 10.0, 0.0, 1, 32.0),  # r on an inner edge goes outwards, alpha 0 in (-pi, 0] -> 6
        (1, 40.0, 1.0, 1, 64.0),  # r on the last edge: leakage of layer 1
        (1, 500.0, 1.0, 2, 128.0),  # beyond the last edge: leakage of layer 2
        (1, 5.0, 1.0, 3, 256.0),  # layer 3 is not binned: unbinned
    ]
    v = voxelise_hits(_hits(rows, 2), tiny_binning)
    expected = np.zeros((2, 16))
    expected[0, [1, 5, 9]] = [1.0, 2.0, 4.0]
    expected[1, [4, 11, 6]] = [8.0, 16.0, 32.0]
    np.testing.assert_array_equal(v.showers, expected)
    np.testing.assert_array_equal(v.leakage, [[0, 0, 0], [0, 64.0, 128.0]])
    np.testing.assert_array_equal(v.unbinned, [0.0, 256.0])


def test_float32_pi_and_stray_angles_stay_in_the_edge_bins(tiny_binning: Binning) -> None:
    # float32(pi) > pi and float32(-pi) < -pi: rounding must not leave the (-pi, pi] range;
    # an angle far outside is wrapped (3 pi == pi -> last bin, -2.5 pi == -0.5 pi -> first bin)
    alpha = np.array([np.float32(PI), np.float32(-PI), 3 * PI, -2.5 * PI])
    slots = vx.hit_slots(np.ones(4, int), np.full(4, 1.0), alpha, tiny_binning)
    assert slots.tolist() == [8, 4, 8, 4]


def test_ds1_photon_indices_by_hand() -> None:
    b = load_geometry("ds1-photons")
    # EMB2 (layer 2) starts at 8 + 160 = 168; 19 r bins; r = 12 mm is bin 3 ([10, 15));
    # alpha = 1.0 rad lies in bin floor((1 + pi) / (2 pi / 10)) = 6
    slots = vx.hit_slots([2, 12, 12], [12.0, 150.0, 2000.0], [1.0, 0.0, 0.0], b)
    assert slots.tolist() == [168 + 6 * 19 + 3, 363 + 1, 368 + 4]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_events=st.integers(1, 12))
def test_energy_is_conserved_into_voxels_leakage_and_unbinned(seed: int, n_events: int) -> None:
    b = load_geometry("ds1-pions")
    hits = random_hits(b, n_events, 50, seed)
    v = voxelise_hits(hits, b)
    assert v.showers.shape == (n_events, 533) and v.leakage.shape == (n_events, 7)
    np.testing.assert_allclose(v.total_energy(), hits.total_energy(), rtol=1e-12)
    assert np.all(v.showers >= 0)


def test_stream_from_file_equals_in_memory(tmp_path: Path) -> None:
    b = load_geometry("ds1-photons")
    hits = random_hits(b, 23, 40, seed=3)
    path = write_hits(tmp_path / "hits.h5", hits)
    cfg = VoxeliseConfig(binning="ds1-photons", chunk_events=5, dtype="float64")
    res = voxelise(cfg, path, tmp_path / "showers.h5")
    data = read_showers(res.out_path, binning=b)
    v = voxelise_hits(hits, b)
    np.testing.assert_allclose(data.showers, v.showers, rtol=1e-12)
    np.testing.assert_array_equal(data.incident_energies, hits.incident_energies)
    assert res.n_events == 23 and res.n_hits == hits.n_hits and res.n_voxels == 368
    assert res.leakage_mev == pytest.approx(v.leakage.sum(), rel=1e-12)
    assert res.leakage_fraction == pytest.approx(v.leakage.sum() / hits.energy.sum())
    assert sum(res.leakage_fraction_per_layer.values()) == pytest.approx(res.leakage_fraction)
    assert res.unbinned_fraction == pytest.approx(v.unbinned.sum() / hits.energy.sum())
    assert 0 < res.leakage_fraction < 0.1
    assert data.attrs["binning"] == "ds1-photons"
    assert data.attrs["particle"] == "photon"
    assert (data.attrs["eta_min"], data.attrs["eta_max"]) == (0.2, 0.25)
    assert list(data.attrs["binning_layers"]) == [0, 1, 2, 3, 12]
    assert data.attrs["seed"] == 3
    summary = json.loads(res.summary_path.read_text())
    assert summary["n_events"] == 23
    assert summary["leakage_fraction"] == pytest.approx(res.leakage_fraction)
    assert res.summary_path.name == "showers.voxelise.json"
    assert not list(tmp_path.glob(".*tmp"))


def test_float32_output_and_progress(tmp_path: Path) -> None:
    b = load_geometry("ds1-photons")
    hits = random_hits(b, 10, 20, seed=5)
    path = write_hits(tmp_path / "hits.h5", hits)
    calls: list[tuple[int, int]] = []
    res = voxelise(
        VoxeliseConfig(chunk_events=4), path, tmp_path / "s.h5", lambda d, t: calls.append((d, t))
    )
    assert calls == [(4, 10), (8, 10), (10, 10)]
    with h5py.File(res.out_path) as f:
        assert f["showers"].dtype == np.float32
        assert f["incident_energies"].shape == (10, 1)
    # no binning given: the particle attribute chose ds1-photons
    assert res.binning == "ds1-photons"


def test_missing_and_wrong_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"nothing.h5: no such file"):
        voxelise(VoxeliseConfig(), tmp_path / "nothing.h5", tmp_path / "s.h5")
    not_hits = tmp_path / "showers.h5"
    with h5py.File(not_hits, "w") as f:
        f["showers"] = np.zeros((1, 3))
    with pytest.raises(DataFormatError, match=r"showers.h5: not a hit file"):
        voxelise(VoxeliseConfig(), not_hits, tmp_path / "s.h5")
    hits = HitShowers.from_event_ids([1000.0], [0], [1.0], [0.0], [1], [5.0])
    path = write_hits(tmp_path / "h.h5", hits)
    with pytest.raises(ConfigError, match=r"binning: not set and the hit file has no 'particle'"):
        voxelise(VoxeliseConfig(), path, tmp_path / "s.h5")
    with pytest.raises(OutputError, match=r"would overwrite the input"):
        voxelise(VoxeliseConfig(binning="ds1-photons"), path, path)
    assert not (tmp_path / "s.h5").exists()


def test_config_rejects_bad_values() -> None:
    from fastcalogan._config import parse

    with pytest.raises(ConfigError, match=r"chunk_events: Input should be greater than or equal"):
        parse({"chunk_events": 0}, VoxeliseConfig, "v.yaml")
    with pytest.raises(
        ConfigError, match=r"unknown key 'chunk_event' .*did you mean 'chunk_events'"
    ):
        parse({"chunk_event": 10}, VoxeliseConfig, "v.yaml")
    with pytest.raises(
        ConfigError, match=r"v.yaml: eta: need 0 <= eta_min < eta_max, found \[0.5, 0.2\]$"
    ):
        parse({"eta": [0.5, 0.2]}, VoxeliseConfig, "v.yaml")
