"""The shared layout plumbing: event blocks read with one-line errors, optional datasets,
column names, file attributes, and the one writer interface every layout offers."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from fastcalogan.data import LayoutWriter, open_layout_writer, read_showers
from fastcalogan.data._layout_io import (
    iter_event_blocks,
    names_attr,
    optional_dataset,
    write_file_attrs,
)
from fastcalogan.errors import DataFormatError
from fastcalogan.geometry import load_geometry


def _file(path: Path, n: int) -> Path:
    with h5py.File(path, "w") as f:
        f["a"] = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
        f["b"] = np.arange(n, dtype=np.int64)
    return path


def test_blocks_cover_every_event_once_in_order(tmp_path):
    with h5py.File(_file(tmp_path / "x.h5", 5)) as f:
        blocks = list(iter_event_blocks(tmp_path, {"b": f["b"], "a": f["a"]}, 5, 2))
    assert [(b.start, b.stop) for b in blocks] == [(0, 2), (2, 4), (4, 5)]
    assert [list(b.rows) for b in blocks] == [["b", "a"]] * 3
    np.testing.assert_array_equal(np.concatenate([b.rows["b"] for b in blocks]), np.arange(5))
    assert blocks[2].rows["a"].tolist() == [[8.0, 9.0]]


def test_a_file_without_events_gives_one_empty_block_or_none(tmp_path):
    with h5py.File(_file(tmp_path / "x.h5", 0)) as f:
        one = list(iter_event_blocks(tmp_path, {"a": f["a"]}, 0, 4))
        none = list(iter_event_blocks(tmp_path, {"a": f["a"]}, 0, 4, empty_block=False))
    assert [(b.start, b.stop, b.rows["a"].shape) for b in one] == [(0, 0, (0, 2))]
    assert none == []


class _CorruptFrom:
    """Rows the HDF5 library cannot read from event ``first_bad`` on (a corrupt chunk)."""

    def __init__(self, first_bad: int) -> None:
        self.first_bad = first_bad

    def __getitem__(self, rows: slice) -> np.ndarray:
        if rows.stop > self.first_bad:
            raise OSError("Can't synchronously read data (wrong B-tree signature)")
        return np.zeros(rows.stop - rows.start)


@pytest.mark.parametrize(
    ("name_field", "said"),
    [
        (False, "cannot read events 3..5 (truncated or corrupt: "),
        (True, "field 'bad' cannot be read (file truncated or corrupt: "),
    ],
)
def test_an_unreadable_block_is_one_line_naming_the_file(tmp_path, name_field, said):
    path = tmp_path / "f.h5"
    blocks = iter_event_blocks(
        path, {"good": np.arange(5), "bad": _CorruptFrom(4)}, 5, 3, name_field=name_field
    )
    assert next(blocks).rows["good"].tolist() == [0, 1, 2]
    with pytest.raises(DataFormatError) as err:
        next(blocks)
    assert str(err.value) == (
        f"{path}: {said}Can't synchronously read data (wrong B-tree signature))"
    )


def test_optional_dataset_is_none_when_absent_and_checked_when_present(tmp_path):
    path = _file(tmp_path / "x.h5", 4)
    with h5py.File(path) as f:
        assert optional_dataset(f, path, "overflow", 2) is None
        assert optional_dataset(f, path, "a", 2, 4) is not None
        with pytest.raises(
            DataFormatError, match=r"field 'a' must have 3 events, found shape \(4, 2\)"
        ):
            optional_dataset(f, path, "a", 2, 3)
        with pytest.raises(DataFormatError, match="field 'b' must be a 2-D dataset"):
            optional_dataset(f, path, "b", 2)


@pytest.mark.parametrize(
    ("stored", "names"),
    [("px,py,pz", ("px", "py", "pz")), (["a", "b"], ("a", "b")), (None, ())],
)
def test_names_attr_reads_text_and_lists(tmp_path, stored, names):
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f["c"] = np.zeros((1, len(names)))
        if stored is not None:
            f["c"].attrs.create("names", stored, dtype=h5py.string_dtype())
        assert names_attr(f["c"]) == names


def test_names_stored_as_a_fixed_length_bytes_array_read_as_text(tmp_path):
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f["c"] = np.zeros((1, 2))
        f["c"].attrs["names"] = np.array([b"px", b"py"])  # what h5py makes of a list of bytes
        assert names_attr(f["c"]) == ("px", "py")


def test_the_geometry_wins_over_the_binning_given(tmp_path):
    with h5py.File(tmp_path / "x.h5", "w") as f:
        write_file_attrs(f, {"binning": "old", "particle": "photon"}, load_geometry("calogan"))
        assert f.attrs["binning"] == "calogan" and f.attrs["particle"] == "photon"
        assert "geometry" in f.attrs
        write_file_attrs(f, {"binning": "kept"}, None)
        assert f.attrs["binning"] == "kept"


@pytest.mark.parametrize("layout", ["calochallenge", "calogan", "lhcb", "atlas-cells"])
def test_every_layout_writes_through_one_interface(tmp_path, layout):
    geometry = load_geometry(
        {"calochallenge": "ds1-photons", "lhcb": "lhcb-ecal"}.get(layout, layout)
    )
    n, e = 3, np.array([2000.0, 4000.0, 8000.0])
    showers = np.full((n, geometry.n_voxels), 0.1, dtype=np.float32)
    conditions = {
        "lhcb": np.stack([np.zeros(n), np.zeros(n), e, np.zeros(n), np.zeros(n)], axis=1),
        "atlas-cells": np.array([[0, 1], [3, 0], [2, 1]]),
    }.get(layout)
    writer = open_layout_writer(layout, tmp_path / "out.h5", geometry, {"particle": "photon"})
    assert isinstance(writer, LayoutWriter)
    writer.append(e, showers, conditions, None)
    writer.append(e[:1], showers[:1], None if conditions is None else conditions[:1])
    assert writer.n_events == n + 1
    writer.close()
    data = read_showers(tmp_path / "out.h5")
    np.testing.assert_allclose(data.incident_energies, [*e, e[0]])
    np.testing.assert_array_equal(data.showers, np.concatenate([showers, showers[:1]]))
