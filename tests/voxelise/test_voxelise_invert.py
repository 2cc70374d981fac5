"""Voxels -> hits: the grid of points, and voxelise -> invert -> voxelise conserving energy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcalogan.data import read_hits, write_showers
from fastcalogan.errors import BinningError, DataFormatError
from fastcalogan.geometry import Binning, load_geometry
from fastcalogan.voxelise import (
    InvertConfig,
    invert,
    invert_showers,
    voxel_grid,
    voxelise_hits,
)


def test_grid_sizes_follow_the_steps_and_the_cap() -> None:
    b = Binning.from_layers(
        "g", "photon", (0, 1), [(1, [0, 2, 4, 100], 10), (2, [0, 12, 100], 1), (5, [0, 3], 1)]
    )
    g = voxel_grid(b)
    # layer 1 (fine, 1 mm): r widths 2, 2, 96 -> 2, 2, 10 cells; arcs at mid radius 1, 3, 52 mm
    # times 2 pi / 10 -> 0.63, 1.88, 32.7 mm -> 1, 2, 10 cells
    assert g.n_r[:3].tolist() == [2, 2, 10]
    assert g.n_alpha[:3].tolist() == [1, 2, 10]
    # layer 2 (5 mm, no alpha bins): r widths 12, 88 -> 3, 10; whole annulus at r 6 and 56 mm:
    # 37.7 and 352 mm -> 8 and 10 cells; layer 5 is fine: 3 mm -> 3, annulus 9.4 mm -> 10
    assert g.n_r[30:].tolist() == [3, 10, 3]
    assert g.n_alpha[30:].tolist() == [8, 10, 10]
    coarse = voxel_grid(b, InvertConfig(step_mm_fine=1.0, step_mm=5.0, max_points_per_axis=3))
    assert coarse.n_points.max() == 9


def test_points_are_cell_centres_inside_their_voxel(tiny_binning: Binning) -> None:
    showers = np.zeros((2, 16))
    # layer 0 r [0, 10), no alpha bins, 5 mm step: 2 r cells x ceil(5 mm * 2 pi / 5 mm) = 7
    showers[0, 0] = 14.0
    # layer 1 alpha (0, pi], r [5, 10), 1 mm step: 5 r cells x min(10, ceil(7.5 pi)) = 10
    showers[1, 9] = 6.0
    hits = invert(showers, [1000.0, 2000.0], tiny_binning)
    assert hits.event_offsets.tolist() == [0, 14, 64]
    first = slice(0, 14)
    assert sorted(set(hits.r[first].tolist())) == [2.5, 7.5]
    alphas = np.sort(np.unique(hits.alpha[first]))
    np.testing.assert_allclose(alphas, -math.pi + (np.arange(7) + 0.5) * 2 * math.pi / 7, 1e-6)
    np.testing.assert_allclose(hits.energy[first], 1.0)
    second = slice(14, 64)
    np.testing.assert_allclose(np.unique(hits.r[second]), [5.5, 6.5, 7.5, 8.5, 9.5])
    assert hits.alpha[second].min() > 0 and hits.alpha[second].max() < math.pi
    np.testing.assert_allclose(hits.energy[second].sum(), 6.0, rtol=1e-15)
    assert set(hits.layer.tolist()) == {0, 1}
    np.testing.assert_array_equal(hits.incident_energies, [1000.0, 2000.0])


def test_zero_and_negative_voxels_give_no_hits(
    tiny_binning: Binning, caplog: pytest.LogCaptureFixture
) -> None:
    showers = np.zeros((3, 16))
    showers[1, 3] = -1e-4
    hits = invert(showers, np.full(3, 1000.0), tiny_binning)
    assert hits.n_hits == 0 and hits.event_offsets.tolist() == [0, 0, 0, 0]
    assert "1 negative voxel energies" in caplog.text


def test_shape_mismatch_is_named(tiny_binning: Binning) -> None:
    with pytest.raises(DataFormatError, match=r"do not fit binning tiny \(2, 16\)"):
        invert(np.ones((2, 15)), [1.0, 1.0], tiny_binning)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_events=st.integers(1, 6),
    name=st.sampled_from(["ds1-photons", "ds1-pions"]),
    density=st.floats(0.05, 1.0),
)
def test_voxelise_invert_voxelise_conserves_every_voxel(
    seed: int, n_events: int, name: str, density: float
) -> None:
    b = load_geometry(name)
    g = np.random.default_rng(seed)
    showers = g.exponential(50.0, (n_events, b.n_voxels)) * (
        g.random((n_events, b.n_voxels)) < density
    )
    inc = g.uniform(1e3, 1e6, n_events)
    hits = invert(showers, inc, b)
    again = voxelise_hits(hits, b)
    np.testing.assert_allclose(again.showers, showers, rtol=1e-9, atol=0)
    assert again.leakage.sum() == 0 and again.unbinned.sum() == 0
    np.testing.assert_allclose(hits.total_energy(), showers.sum(axis=1), rtol=1e-12)
    # and once more: a second round trip changes nothing
    np.testing.assert_allclose(
        voxelise_hits(invert(again.showers, inc, b), b).showers, showers, rtol=1e-9
    )


def test_tiny_binning_round_trip(tiny_binning: Binning, tiny_showers) -> None:
    inc, showers = tiny_showers
    hits = invert(showers, inc, tiny_binning)
    np.testing.assert_allclose(voxelise_hits(hits, tiny_binning).showers, showers, rtol=1e-6)


def test_invert_showers_file_round_trip(
    tmp_path: Path, tiny_binning: Binning, tiny_showers
) -> None:
    inc, showers = tiny_showers
    b = load_geometry("ds1-photons")
    g = np.random.default_rng(2)
    big = g.exponential(20.0, (9, b.n_voxels))
    path = write_showers(
        tmp_path / "s.h5",
        np.full(9, 65536.0),
        big,
        {"binning": "ds1-photons", "particle": "photon"},
    )
    calls: list[tuple[int, int]] = []
    res = invert_showers(
        InvertConfig(chunk_events=4),
        path,
        tmp_path / "h.h5",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(4, 9), (8, 9), (9, 9)]
    hits = read_hits(res.out_path)
    assert hits.n_events == 9 and res.n_hits == hits.n_hits and res.binning == "ds1-photons"
    assert hits.attrs["binning"] == "ds1-photons"
    # stored as float32 on disk: the voxels come back to float32 precision
    np.testing.assert_allclose(voxelise_hits(hits, b).showers, big.astype(np.float32), rtol=1e-6)
    # a file without attributes is recognised by its voxel count; a wrong binning is named
    bare = write_showers(tmp_path / "bare.h5", inc, showers)
    with pytest.raises(BinningError, match=r"bare.h5: no 'binning' attribute and no built-in"):
        invert_showers(InvertConfig(), bare, tmp_path / "x.h5")
    res = invert_showers(InvertConfig(), bare, tmp_path / "x.h5", binning=tiny_binning)
    assert res.n_events == 64
    with pytest.raises(BinningError, match=r"showers have 16 voxels; binning ds1-pions has 533"):
        invert_showers(InvertConfig(), bare, tmp_path / "y.h5", binning="ds1-pions")
