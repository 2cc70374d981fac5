"""The geometry protocol on both kinds, the one serialised form, and old binnings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from fastcalogan.errors import BinningError
from fastcalogan.geometry import (
    Binning,
    CartesianGeometry,
    CartesianLayer,
    Geometry,
    LayerBinning,
    geometry_from_mapping,
    geometry_to_mapping,
    hit_slots,
    load_geometry,
    read_binning_xml,
    require_polar,
    write_binning_xml,
    write_geometry_yaml,
)

#: CaloGAN's three layers (Paganini et al., PRD 97 (2018) 014021): images 3x96, 12x12, 12x6
#: of cells 160x5, 40x40, 40x80 mm (each layer 480 mm x 480 mm), with made-up depths.
CALOGAN = [(0, (3, 96), (160.0, 5.0)), (1, (12, 12), (40.0, 40.0)), (2, (12, 6), (40.0, 80.0))]


@pytest.fixture
def calogan() -> CartesianGeometry:
    layers = tuple(
        CartesianLayer(i, cells, size, name=name, depth_mm=depth, thickness_x0=x0)
        for (i, cells, size), name, depth, x0 in zip(
            CALOGAN,
            ("strips", "middle", "back"),
            (45.0, 200.0, 400.0),
            (3.0, 16.0, 2.0),
            strict=True,
        )
    )
    return CartesianGeometry("calogan", "photon", None, None, layers)


def test_calogan_shaped_geometry_through_the_protocol(calogan: CartesianGeometry) -> None:
    g: Geometry = calogan
    assert g.kind == "cartesian" and g.eta is None
    assert g.n_voxels == 288 + 144 + 72 and g.n_layers == 3
    assert g.layer_ids == (0, 1, 2) and g.layer_names == ("strips", "middle", "back")
    assert g.layer_sizes == (288, 144, 72) and g.layer_shapes == ((3, 96), (12, 12), (12, 6))
    assert g.layer_offsets.tolist() == [0, 288, 432, 504]
    assert g.layer_slice(1) == slice(288, 432) and g.layer_position(2) == 2
    assert g.layer_depths_mm == (45.0, 200.0, 400.0)
    assert g.voxel_layer.tolist() == [0] * 288 + [1] * 144 + [2] * 72
    assert g.transverse_layer_ids == (0, 1, 2)
    # row-major: the first 96 voxels of the strip layer are its first eta row, phi varying
    strips = g.layer_slice(0)
    np.testing.assert_allclose(g.voxel_eta[strips][:96], -160.0)
    np.testing.assert_allclose(g.voxel_phi[strips][:2], [-237.5, -232.5])
    np.testing.assert_allclose(g.voxel_eta[strips][96:98], 0.0)
    # every layer spans 480 mm x 480 mm centred on the axis
    for lid in g.layer_ids:
        sl = g.layer_slice(lid)
        assert g.voxel_eta[sl].mean() == pytest.approx(0.0, abs=1e-9)
        assert g.voxel_phi[sl].max() - g.voxel_phi[sl].min() == pytest.approx(
            480.0 - g.layer(lid).cell_size_mm[1]
        )
    np.testing.assert_allclose(g.voxel_r_centre, np.hypot(g.voxel_eta, g.voxel_phi))
    showers = np.arange(2 * 504, dtype=float).reshape(2, 504)
    images = g.layer_images(showers, 2)
    assert images.shape == (2, 12, 6) and images[1, 0, 1] == 504 + 432 + 1
    assert "calogan (cartesian): photon, no |eta| slice, 3 layers, 504 voxels" in g.describe()


@pytest.mark.parametrize(
    ("layers", "n_voxels"),
    [
        # ATLAS cells around the impact cell: presampler 7x3, strips 56x3, middle 7x7, back 4x7
        (
            [
                (0, (7, 3), (25, 98)),
                (1, (56, 3), (3, 98)),
                (2, (7, 7), (25, 25)),
                (3, (4, 7), (50, 25)),
            ],
            266,
        ),
        ([(0, (30, 30), (20, 20))], 900),  # an LHCb ECAL region: 30x30 cells of 20 mm
    ],
)
def test_other_cartesian_detectors(layers: list, n_voxels: int) -> None:
    g = CartesianGeometry.from_layers("det", "electron", (0.2, 0.25), layers)
    assert g.n_voxels == n_voxels and g.eta == (0.2, 0.25)
    assert g.layer_names == tuple(f"layer {i}" for i, _c, _s in layers)


def test_with_layers_relabel_and_same_voxels(calogan: CartesianGeometry) -> None:
    sub = calogan.with_layers([2, 0])
    assert sub.name == "calogan[0,2]" and sub.layer_names == ("strips", "back")
    assert sub.n_voxels == 288 + 72 and isinstance(sub, CartesianGeometry)
    moved = calogan.relabel(particle="electron", eta=(0.2, 0.25), name="other")
    assert (moved.particle, moved.eta, moved.name) == ("electron", (0.2, 0.25), "other")
    assert moved.same_voxels(calogan) and not sub.same_voxels(calogan)
    photons = load_geometry("ds1-photons")
    assert photons.with_layers([3, 0, 1, 2]).name == "ds1-photons[0,1,2,3]"
    assert not photons.same_voxels(calogan)


@pytest.mark.parametrize("which", ["calogan", "ds1-pions"])
def test_serialised_form_round_trips(
    tmp_path: Path, calogan: CartesianGeometry, which: str
) -> None:
    g = calogan if which == "calogan" else load_geometry(which)
    mapping = geometry_to_mapping(g)
    assert mapping["kind"] == g.kind and mapping["n_voxels"] == g.n_voxels
    assert geometry_from_mapping(mapping, "test") == g
    path = write_geometry_yaml(g, tmp_path / "g.yaml")
    assert load_geometry(path) == g
    assert yaml.safe_load(path.read_text()) == mapping


def test_cartesian_yaml_as_a_user_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(
        "kind: cartesian\nname: grid\nparticle: photon\neta: null\nlayers:\n"
        "  - {id: 7, cells: [2, 3], cell_size_mm: [10, 20], depth_mm: 12.5}\n"
    )
    g = load_geometry(path, particle="gamma")
    assert isinstance(g, CartesianGeometry) and g.particle == "photon"
    assert g.layer_names == ("layer 7",) and g.layer_depths_mm == (12.5,)
    np.testing.assert_allclose(g.voxel_phi, [-20, 0, 20, -20, 0, 20])


def test_mapping_without_kind_reads_as_polar_with_atlas_names() -> None:
    """Today's binning.yaml, checkpoints and sidecars: no kind, no names."""
    old = {
        "name": "ds1-photons[0,1,2]",
        "particle": "photon",
        "eta": [0.2, 0.25],
        "layers": [
            {"id": 0, "n_alpha": 1, "r_edges": [0, 5, 10]},
            {"id": 1, "n_alpha": 10, "r_edges": [0, 2, 4]},
            {"id": 2, "n_alpha": 10, "r_edges": [0, 2, 5]},
        ],
    }
    g = geometry_from_mapping(old, "run/binning.yaml")
    assert isinstance(g, Binning) and g.kind == "polar"
    assert g.layer_names == ("PreSamplerB", "EMB1", "EMB2") and g.n_voxels == 2 + 20 + 20
    # ids beyond the 24 ATLAS samplings are plain integers named "layer <id>"
    old["layers"].append({"id": 44, "n_alpha": 1, "r_edges": [0, 1]})
    assert geometry_from_mapping(old, "x").layer_names[-2:] == ("layer 2", "layer 44")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "hexagonal"}, r"src: kind 'hexagonal' is unknown \(known: polar, cartesian\)"),
        ({"n_voxels": 99}, "src: n_voxels is 99 but the layers define 288 voxels"),
        ({"eta": [0.3]}, r"src: eta must be \[eta_min, eta_max\] or null"),
        ({"layers": "strips"}, "src: layers must be a list, found str"),
        ({"layers": [{"id": 0, "cells": [3, 96]}]}, r"src: layers\[0\]: needs id, cells"),
        (
            {"layers": [{"id": 0, "cells": [0, 96], "cell_size_mm": [1, 1]}]},
            "cells must be two integers >= 1",
        ),
        (
            {"layers": [{"id": 0, "cells": [3, 96], "cell_size_mm": [1, -1]}]},
            "cell_size_mm must be two sizes > 0",
        ),
    ],
)
def test_malformed_mappings_are_one_line(change: dict, message: str) -> None:
    base = {
        "kind": "cartesian",
        "name": "g",
        "particle": "photon",
        "layers": [{"id": 0, "cells": [3, 96], "cell_size_mm": [160, 5]}],
    }
    with pytest.raises(BinningError, match=message):
        geometry_from_mapping({**base, **change}, "src")


def test_layer_rules() -> None:
    with pytest.raises(BinningError, match="layer names must be unique"):
        CartesianGeometry(
            "g",
            "photon",
            None,
            None,
            (
                CartesianLayer(0, (1, 1), (1, 1), name="a"),
                CartesianLayer(1, (1, 1), (1, 1), name="a"),
            ),
        )
    with pytest.raises(BinningError, match="give both eta_min and eta_max or neither"):
        CartesianGeometry("g", "photon", 0.2, None, (CartesianLayer(0, (1, 1), (1, 1)),))
    with pytest.raises(BinningError, match="depth_mm must be a finite number >= 0"):
        CartesianLayer(0, (1, 1), (1, 1), depth_mm=-3.0)
    # any plain integer id is a layer id; names follow the geometry's rule
    assert Binning("b", "photon", None, None, (LayerBinning(30, (0, 1)),)).layer_names == (
        "layer 30",
    )


def test_polar_only_code_refuses_another_kind(calogan: CartesianGeometry) -> None:
    with pytest.raises(
        BinningError,
        match=r"^geometry calogan is cartesian; placing \(r, alpha\) hits in voxels needs a polar",
    ):
        hit_slots([0], [1.0], [0.0], calogan)
    with pytest.raises(BinningError, match="the CaloChallenge binning XML needs a polar"):
        write_binning_xml(calogan, "never.xml")  # type: ignore[arg-type]
    assert require_polar(load_geometry("ds1-photons"), "x").kind == "polar"


def test_polar_layer_images_are_alpha_by_r() -> None:
    b = load_geometry("ds1-photons")
    assert b.layer_shape(1) == (10, 16)
    showers = np.zeros((1, b.n_voxels))
    showers[0, int(require_polar(b, "t").voxel_index(1, 3, 5))] = 1.0
    assert b.layer_images(showers, 1)[0, 3, 5] == 1.0
    assert b.layer_images(showers, 1).sum() == 1.0
    assert b.voxel_eta[b.layer_slice(0)][0] == pytest.approx(2.5 * math.cos(0.0))


@pytest.mark.parametrize(
    ("stem", "n_voxels", "n_alpha", "n_r"),
    [("binning_dataset_2", 6480, 16, 9), ("binning_dataset_3", 40500, 50, 18)],
)
def test_calochallenge_datasets_2_and_3_load(
    shared_dir: Path, stem: str, n_voxels: int, n_alpha: int, n_r: int
) -> None:
    g = load_geometry(shared_dir / "data" / "binning" / f"{stem}.xml")
    assert g.kind == "polar" and g.n_voxels == n_voxels and g.n_layers == 45
    assert g.layer_ids == tuple(range(45)) and set(g.layer_shapes) == {(n_alpha, n_r)}
    assert g.eta is None and g.particle == "electron"
    assert g.layer_names[0] == "layer 0" and g.layer_names[-1] == "layer 44"
    assert g.transverse_layer_ids == g.layer_ids


def test_dataset_1_xml_keeps_atlas_names(shared_dir: Path) -> None:
    g = read_binning_xml(shared_dir / "data" / "binning" / "binning_dataset_1_pions.xml")
    assert g.layer_names == (
        "PreSamplerB",
        "EMB1",
        "EMB2",
        "EMB3",
        "TileBar0",
        "TileBar1",
        "TileBar2",
    )


def test_xml_round_trip_of_plain_ids_without_eta(tmp_path: Path) -> None:
    b = Binning.from_layers(
        "ds2-like", "electron", None, [(i, [0, 4.65, 9.3], 16) for i in range(30)]
    )
    back = read_binning_xml(write_binning_xml(b, tmp_path / "b.xml"))
    assert back.same_voxels(b) and back.eta is None and back.layer_names[29] == "layer 29"
    assert "etaMin" not in (tmp_path / "b.xml").read_text()
