from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from fastcalogan.data import HitShowers, iter_hits, read_hits, write_hits
from fastcalogan.errors import DataFormatError


def _hits(n_events: int = 5, seed: int = 3) -> HitShowers:
    g = np.random.default_rng(seed)
    n = 40
    return HitShowers.from_event_ids(
        incident_energies=np.full(n_events, 1000.0),
        event_id=g.integers(0, n_events, n),
        r=g.uniform(0, 50, n),
        alpha=g.uniform(-np.pi, np.pi, n),
        layer=g.choice([0, 1, 2], n),
        energy=g.uniform(0, 10, n),
        attrs={"particle": "photon"},
    )


def test_round_trip_and_streaming(tmp_path: Path) -> None:
    hits = _hits()
    path = write_hits(tmp_path / "hits.h5", hits)
    back = read_hits(path)
    np.testing.assert_array_equal(back.event_offsets, hits.event_offsets)
    np.testing.assert_allclose(back.energy, hits.energy)
    np.testing.assert_allclose(back.total_energy(), hits.total_energy())
    assert back.attrs["particle"] == "photon"
    blocks = list(iter_hits(path, chunk_events=2))
    assert [b.n_events for b in blocks] == [2, 2, 1]
    np.testing.assert_allclose(
        np.concatenate([b.total_energy() for b in blocks]), hits.total_energy()
    )


def test_events_are_sorted_and_sliced() -> None:
    hits = _hits()
    assert np.all(np.diff(hits.event_id) >= 0)
    part = hits.events(1, 3)
    np.testing.assert_allclose(part.total_energy(), hits.total_energy()[1:3])


def test_bad_hit_values_are_named(tmp_path: Path) -> None:
    hits = _hits()
    path = write_hits(tmp_path / "hits.h5", hits)
    with h5py.File(path, "r+") as f:
        f["hits/energy"][0] = -1.0
    with pytest.raises(DataFormatError, match=r"hits.h5: field 'hits/energy' must be >= 0 MeV"):
        read_hits(path)
    with h5py.File(path, "r+") as f:
        del f["hits/alpha"]
    with pytest.raises(DataFormatError, match=r"hits.h5: missing dataset\(s\) \['hits/alpha'\]"):
        read_hits(path)


def test_event_ids_out_of_range() -> None:
    with pytest.raises(DataFormatError, match=r"event_id must lie in \[0, 2\)"):
        HitShowers.from_event_ids([1.0, 2.0], [0, 5], [1, 1], [0, 0], [1, 1], [1, 1])
