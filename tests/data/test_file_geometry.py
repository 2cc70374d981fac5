"""Shower files carry their geometry; files written before that still read."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from fastcalogan.data import (
    ShowerWriter,
    geometry_attrs,
    geometry_of_file,
    read_shower_attrs,
    write_showers,
)
from fastcalogan.errors import BinningError, DataFormatError
from fastcalogan.geometry import Binning, CartesianGeometry, load_geometry, write_geometry_yaml


@pytest.fixture
def grid() -> CartesianGeometry:
    return CartesianGeometry.from_layers(
        "grid", "photon", None, [(0, (2, 3), (10.0, 20.0)), (5, (4, 4), (25.0, 25.0))]
    )


def test_writers_store_the_serialised_geometry(tmp_path: Path, grid: CartesianGeometry) -> None:
    path = write_showers(
        tmp_path / "g.h5", [1000.0], np.ones((1, 22)), {"binning": "stale"}, geometry=grid
    )
    with h5py.File(path, "r") as f:
        mapping = json.loads(f.attrs["geometry"])
        assert f.attrs["binning"] == "grid"  # the helper's name wins over a stale one
    assert mapping["kind"] == "cartesian" and mapping["n_voxels"] == 22
    assert geometry_of_file(read_shower_attrs(path), source=str(path)) == grid
    assert geometry_attrs(grid)["geometry"] == json.dumps(mapping, separators=(",", ":"))


def test_carried_geometry_comes_before_the_name(tmp_path: Path, tiny_binning: Binning) -> None:
    relevant = load_geometry("ds1-photons").with_layers([0, 1, 2])
    showers = np.full((2, relevant.n_voxels), 1.0)
    path = write_showers(tmp_path / "r.h5", [1000.0, 1000.0], showers, geometry=relevant)
    attrs = read_shower_attrs(path)
    assert attrs["binning"] == "ds1-photons[0,1,2]"  # a name no loader knows
    assert geometry_of_file(attrs) == relevant
    # a geometry named by the caller still overrides the file's
    with pytest.raises(BinningError, match="showers have 358 voxels; binning tiny has 16"):
        geometry_of_file(attrs, tiny_binning, source="r.h5")
    # relabelling for a particle keeps the voxels
    assert geometry_of_file(attrs, particle="e-").particle == "electron"


def test_files_without_a_geometry_read_as_before(tmp_path: Path, tiny_binning: Binning) -> None:
    """Name attribute (a built-in or a file) with the relevant-layer ids; bare files by count."""
    yaml_path = write_geometry_yaml(tiny_binning, tmp_path / "tiny.yaml")
    named = write_showers(
        tmp_path / "n.h5",
        [1000.0],
        np.ones((1, 12)),
        {"binning": str(yaml_path), "binning_layers": np.array([0, 1])},
    )
    g = geometry_of_file(read_shower_attrs(named))
    assert g.layer_ids == (0, 1) and g.name == "tiny[0,1]"
    bare = write_showers(tmp_path / "b.h5", [1000.0], np.ones((1, 533)))
    assert geometry_of_file(read_shower_attrs(bare)).name == "ds1-pions"


def test_a_malformed_carried_geometry_is_one_line(tmp_path: Path) -> None:
    path = write_showers(tmp_path / "m.h5", [1000.0], np.ones((1, 4)), {"geometry": "{kind:"})
    with pytest.raises(BinningError, match=r"m.h5: attribute 'geometry': expected the geometry as"):
        geometry_of_file(read_shower_attrs(path), source=str(path))
    bad = json.dumps({"kind": "polar", "name": "x", "particle": "photon", "layers": []})
    path = write_showers(tmp_path / "e.h5", [1000.0], np.ones((1, 4)), {"geometry": bad})
    with pytest.raises(BinningError, match=r"e.h5: attribute 'geometry': geometry x: no layer"):
        geometry_of_file(read_shower_attrs(path), source=str(path))


def test_writer_refuses_a_geometry_of_another_size(tmp_path: Path, grid: CartesianGeometry) -> None:
    with pytest.raises(DataFormatError, match="showers of 21 voxels cannot carry geometry grid"):
        ShowerWriter(tmp_path / "w.h5", 21, geometry=grid)
    assert not (tmp_path / "w.h5").exists()
