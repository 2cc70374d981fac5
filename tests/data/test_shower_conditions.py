"""Per-event conditions beyond the incident energy in shower files (the ``conditions`` dataset)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from fastcalogan.data import ShowerData, ShowerWriter, iter_showers, read_showers, write_showers
from fastcalogan.errors import DataFormatError

NAMES = ("px", "py", "pz", "x", "y")


def _arrays(n: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    energies = rng.uniform(1e3, 1e5, n)
    showers = rng.uniform(0.0, 1.0, (n, 4)) * energies[:, None] / 10
    conditions = rng.normal(size=(n, len(NAMES)))
    return energies, showers, conditions


def test_conditions_round_trip_and_select(tmp_path):
    e, s, c = _arrays()
    path = write_showers(tmp_path / "c.h5", e, s, conditions=c, condition_names=NAMES)
    data = read_showers(path)
    assert data.condition_names == NAMES
    np.testing.assert_array_equal(data.conditions, c)
    picked = data.select(e > np.median(e))
    np.testing.assert_array_equal(picked.conditions, c[e > np.median(e)])
    # streamed blocks carry their rows of conditions
    blocks = list(iter_showers(path, chunk_events=3))
    np.testing.assert_array_equal(np.concatenate([b.conditions for b in blocks]), c)


def test_plain_files_have_no_conditions(tmp_path):
    e, s, _ = _arrays()
    data = read_showers(write_showers(tmp_path / "p.h5", e, s))
    assert data.n_conditions == 0
    assert data.conditions.shape == (len(e), 0)


def test_writer_refuses_missing_or_misshaped_conditions(tmp_path):
    e, s, c = _arrays()
    with pytest.raises(DataFormatError, match=r"needs conditions of shape \(7, 5\).*found none"):
        with ShowerWriter(tmp_path / "a.h5", 4, condition_names=NAMES) as w:
            w.append(e, s)
    with pytest.raises(DataFormatError, match=r"needs conditions of shape \(7, 0\).*found shape"):
        with ShowerWriter(tmp_path / "b.h5", 4) as w:
            w.append(e, s, c)
    assert not (tmp_path / "a.h5").exists() and not (tmp_path / "b.h5").exists()


def test_reader_names_bad_conditions(tmp_path):
    e, s, c = _arrays()
    path = write_showers(tmp_path / "c.h5", e, s, conditions=c, condition_names=NAMES)
    with h5py.File(path, "a") as f:
        f["conditions"].attrs["names"] = "px,py"
    with pytest.raises(DataFormatError, match=r"'conditions' has 5 columns but .*names' lists 2"):
        read_showers(path)
    with h5py.File(path, "a") as f:
        del f["conditions"]
        f["conditions"] = np.zeros((3, 2))
    with pytest.raises(DataFormatError, match=r"'conditions' must have shape \(7, k\)"):
        read_showers(path)
    with h5py.File(path, "a") as f:
        del f["conditions"]
        f["conditions"] = np.full((7, 1), np.nan)
        f["conditions"].attrs["names"] = "x"
    with pytest.raises(DataFormatError, match="'conditions' holds NaN"):
        read_showers(path)


def test_showerdata_checks_condition_names():
    with pytest.raises(DataFormatError, match="do not fit 2 events"):
        ShowerData(np.ones(2), np.ones((2, 3)), {}, np.ones((2, 2)), ("a",))
