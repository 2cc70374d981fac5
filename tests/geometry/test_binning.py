from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcalogan.errors import BinningError
from fastcalogan.geometry import (
    Binning,
    LayerBinning,
    default_geometry,
    load_geometry,
    read_binning_xml,
    write_binning_xml,
)


@pytest.mark.parametrize(
    ("name", "n_voxels", "layers"),
    [("ds1-photons", 368, (0, 1, 2, 3, 12)), ("ds1-pions", 533, (0, 1, 2, 3, 12, 13, 14))],
)
def test_builtin_binnings_have_dataset1_sizes(name: str, n_voxels: int, layers: tuple) -> None:
    b = load_geometry(name)
    assert b.n_voxels == n_voxels
    assert b.layer_ids == layers
    assert b.layer_offsets[-1] == n_voxels


@pytest.mark.parametrize(("builtin", "stem"), [("ds1-photons", "photons"), ("ds1-pions", "pions")])
def test_shared_xml_agrees_with_package_binning(shared_dir: Path, builtin: str, stem: str) -> None:
    xml = read_binning_xml(shared_dir / "data" / "binning" / f"binning_dataset_1_{stem}.xml")
    ours = load_geometry(builtin)
    assert xml.same_voxels(ours)
    assert xml.particle == ours.particle
    assert (xml.eta_min, xml.eta_max) == (ours.eta_min, ours.eta_max)


def test_calochallenge_index_order(tiny_binning: Binning) -> None:
    # layer 1 has 2 alpha x 4 r bins and starts after the 4 voxels of layer 0
    assert int(tiny_binning.voxel_index(1, 1, 2)) == 4 + 1 * 4 + 2
    assert tiny_binning.layer_slice(2) == slice(12, 16)
    assert tiny_binning.voxel_layer.tolist() == [0] * 4 + [1] * 8 + [2] * 4
    assert tiny_binning.voxel_alpha_bin[4:12].tolist() == [0] * 4 + [1] * 4
    assert tiny_binning.voxel_r_bin[4:12].tolist() == [0, 1, 2, 3] * 2


def test_voxel_centres_follow_calochallenge(tiny_binning: Binning) -> None:
    # alpha centres are the mid-points of linspace(-pi, pi, n + 1); r centres mid-points of edges
    np.testing.assert_allclose(
        tiny_binning.voxel_alpha_centre[4:12], [-math.pi / 2] * 4 + [math.pi / 2] * 4
    )
    np.testing.assert_allclose(tiny_binning.voxel_r_centre[4:8], [2.5, 7.5, 15, 30])
    np.testing.assert_allclose(tiny_binning.voxel_eta[:4], [5, 15, 35, 75])
    np.testing.assert_allclose(tiny_binning.voxel_phi[4:8], [-2.5, -7.5, -15, -30])


@settings(max_examples=25, deadline=None)
@given(layers=st.lists(st.tuples(st.integers(1, 6), st.integers(1, 5)), min_size=1, max_size=4))
def test_index_map_is_a_bijection(layers: list[tuple[int, int]]) -> None:
    spec = [(i, list(range(n_r + 1)), n_a) for i, (n_r, n_a) in enumerate(layers)]
    b = Binning.from_layers("prop", "photon", (0, 1), spec)
    seen = np.concatenate(
        [
            b.voxel_index(
                lay.layer_id, *np.meshgrid(np.arange(lay.n_alpha), np.arange(lay.n_r))
            ).ravel()
            for lay in b.layers
        ]
    )
    assert sorted(seen.tolist()) == list(range(b.n_voxels))
    assert np.array_equal(
        b.voxel_index(
            0, b.voxel_alpha_bin[: b.layers[0].n_voxels], b.voxel_r_bin[: b.layers[0].n_voxels]
        ),
        np.arange(b.layers[0].n_voxels),
    )


def test_xml_round_trip(tmp_path: Path) -> None:
    b = load_geometry("ds1-pions")
    path = write_binning_xml(b, tmp_path / "pions.xml")
    back = read_binning_xml(path)
    assert back.same_voxels(b)
    assert back.particle == "pion"
    assert load_geometry(path).n_voxels == 533


def test_with_layers_keeps_order_and_size() -> None:
    b = load_geometry("ds1-pions").with_layers([12, 1, 2])
    assert b.layer_ids == (1, 2, 12)
    assert b.n_voxels == 100 + 100 + 150


def test_default_binning_for_particles() -> None:
    assert default_geometry("electron").n_voxels == 368
    assert default_geometry("electron").particle == "electron"
    assert default_geometry("antiproton", eta=(0.2, 0.25)).n_voxels == 533


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layer_id": 1, "r_edges": (0.0,), "n_alpha": 1}, "at least 2 edges"),
        ({"layer_id": 1, "r_edges": (1.0, 2.0), "n_alpha": 1}, "must start at 0 mm"),
        ({"layer_id": 1, "r_edges": (0.0, 5.0, 5.0), "n_alpha": 1}, "increase strictly"),
        ({"layer_id": 1, "r_edges": (0.0, 5.0), "n_alpha": 0}, "n_alpha must be >= 1"),
        ({"layer_id": -1, "r_edges": (0.0, 5.0), "n_alpha": 1}, "integer >= 0"),
    ],
)
def test_bad_layer_binnings_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(BinningError, match=message):
        LayerBinning(**kwargs)


def test_xml_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(
        "<Bins><Bin name='photon' etaMin='0' etaMax='130'><Layer id='1' n_bin_alpha='1'/>"
    )
    with pytest.raises(BinningError, match=r"bad.xml: not valid XML"):
        read_binning_xml(bad)
    bad.write_text(
        "<Bins><Bin name='photon' etaMin='0' etaMax='130'><Layer id='1' n_bin_alpha='1'/></Bin></Bins>"
    )
    with pytest.raises(
        BinningError,
        match=r"bad.xml: <Bin name='photon'> <Layer id='1'>: missing attribute 'r_edges'",
    ):
        read_binning_xml(bad)
    with pytest.raises(BinningError, match=r"no <Bin name='pion'> \(found \['photon'\]\)"):
        read_binning_xml(bad, particle="pion")
    with pytest.raises(BinningError, match="not a built-in name"):
        load_geometry(tmp_path / "missing.xml")
