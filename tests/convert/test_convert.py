"""``convert``: ATLAS CSV -> CaloChallenge, hits <-> showers, foreign shower files, the
format registry, and the one-line hints of commands given a file to convert."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.convert import (
    ConvertConfig,
    ShowerFormat,
    convert,
    detect_format,
    formats,
    get_format,
    register_format,
    registry,
    writer_format,
)
from fastcalogan.data import (
    HitShowers,
    ShowerWriter,
    geometry_of_file,
    read_hits,
    read_shower_attrs,
    read_showers,
    write_hits,
    write_showers,
)
from fastcalogan.errors import ConfigError, DataFormatError
from fastcalogan.geometry import Binning, load_geometry, write_geometry_yaml
from fastcalogan.voxelise import VoxeliseConfig, voxelise

PHOTONS = load_geometry("ds1-photons")


def _csv(path: Path, n: int, n_voxels: int = 368, seed: int = 0, header: bool = True) -> Path:
    g = np.random.default_rng(seed)
    rows = np.hstack(
        [g.uniform(0, 0.1, (n, 1)), np.full((n, 1), 0.22), g.uniform(0, 2, (n, n_voxels))]
    )
    lines = [",".join(["phiMod", "eta"] + [f"v{i}" for i in range(n_voxels)])] if header else []
    lines += [",".join(f"{x:.6g}" for x in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(args: Sequence[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), terminal_width=300)
    return result.exit_code, result.output


def test_atlas_csv_files_become_one_shower_file_carrying_its_geometry(tmp_path: Path) -> None:
    a = _csv(tmp_path / "pid22_E65536_eta_20_25.csv", 3)
    b = _csv(tmp_path / "pid22_E1024_eta_20_25.csv", 2, seed=1, header=False)
    out = tmp_path / "photons.h5"
    code, output = _run(["convert", str(a), str(b), "-o", str(out)])
    assert code == 0, output
    assert "atlas-csv -> calochallenge: 5 events from 2 file(s)" in output
    data = read_showers(out)
    assert data.incident_energies.tolist() == [1024.0] * 2 + [65536.0] * 3
    attrs = read_shower_attrs(out)
    # particle and slice from the names, geometry from the particle: carried by the file
    assert attrs["particle"] == "photon" and (attrs["eta_min"], attrs["eta_max"]) == (0.2, 0.25)
    assert geometry_of_file(attrs).same_voxels(PHOTONS)
    # a folder of CSV files is the same input
    again = tmp_path / "again.h5"
    code, output = _run(["convert", str(tmp_path), "-o", str(again)])
    assert code == 0, output
    np.testing.assert_array_equal(read_showers(again).showers, data.showers)


def test_csv_without_names_takes_the_geometry_from_the_column_count(tmp_path: Path) -> None:
    path = _csv(tmp_path / "showers.csv", 2, n_voxels=533)
    out = tmp_path / "pions.h5"
    result = convert(ConvertConfig(energy_mev=4096.0, eta=(0.5, 0.55)), [path], out)
    assert result.input_format == "atlas-csv" and result.n_events == 2
    attrs = read_shower_attrs(out)
    assert attrs["particle"] == "pion" and attrs["n_voxels"] == 533
    assert read_showers(out).incident_energies.tolist() == [4096.0, 4096.0]
    with pytest.raises(ConfigError, match="match no built-in geometry; name it with --binning"):
        convert(ConvertConfig(energy_mev=1.0), [_csv(tmp_path / "x.csv", 1, 7)], tmp_path / "x.h5")


def test_csv_of_a_geometry_file(tmp_path: Path, tiny_binning: Binning) -> None:
    binning = write_geometry_yaml(tiny_binning, tmp_path / "tiny.yaml")
    path = _csv(tmp_path / "pid22_E2048.csv", 4, n_voxels=tiny_binning.n_voxels)
    out = tmp_path / "tiny.h5"
    code, output = _run(["convert", str(path), "-o", str(out), "--binning", str(binning)])
    assert code == 0, output
    assert geometry_of_file(read_shower_attrs(out)).same_voxels(tiny_binning)


def test_hits_to_showers_is_the_voxeliser_and_back(tmp_path: Path) -> None:
    g = np.random.default_rng(3)
    n_hits = 400
    hits = HitShowers.from_event_ids(
        [4096.0, 65536.0, 1024.0],
        g.integers(0, 3, n_hits),
        g.uniform(0, 300, n_hits),
        g.uniform(-3, 3, n_hits),
        g.choice([0, 1, 2, 3, 12], n_hits),
        g.uniform(0, 5, n_hits),
        attrs={"particle": "photon", "eta_min": 0.2, "eta_max": 0.25},
    )
    hit_file = write_hits(tmp_path / "hits.h5", hits)
    showers = tmp_path / "showers.h5"
    code, output = _run(["convert", str(hit_file), "-o", str(showers)])
    assert code == 0, output
    assert "hits -> calochallenge: 3 events" in output
    direct = voxelise(VoxeliseConfig(), hit_file, tmp_path / "direct.h5")
    np.testing.assert_array_equal(
        read_showers(showers).showers, read_showers(direct.out_path).showers
    )
    # and back to hits: re-voxelising gives the voxels again
    back = tmp_path / "back.h5"
    code, output = _run(["convert", str(showers), "--to", "hits", "-o", str(back)])
    assert code == 0, output
    assert read_hits(back).n_events == 3
    again = convert(ConvertConfig(), [back], tmp_path / "again.h5")
    np.testing.assert_allclose(
        read_showers(again.out_path).showers, read_showers(showers).showers, rtol=1e-5, atol=1e-4
    )


def test_a_foreign_shower_file_gets_its_geometry(tmp_path: Path) -> None:
    g = np.random.default_rng(0)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:  # as the CaloChallenge files come: no attributes
        f["incident_energies"] = np.full((4, 1), 8192.0)
        f["showers"] = g.uniform(0, 10, (4, 368)).astype(np.float32)
    out = tmp_path / "carried.h5"
    config = ConvertConfig(binning="ds1-photons", particle="electron", eta=(0.4, 0.45))
    result = convert(config, [foreign], out)
    assert (result.input_format, result.output_format) == ("calochallenge", "calochallenge")
    attrs = read_shower_attrs(out)
    assert attrs["particle"] == "electron" and attrs["eta_min"] == 0.4
    assert "geometry" in attrs and attrs["source"] == str(foreign)
    np.testing.assert_array_equal(read_showers(out).showers, read_showers(foreign).showers)


def test_conditions_travel_through_a_rewrite(tmp_path: Path) -> None:
    src = write_showers(
        tmp_path / "c.h5",
        [1000.0, 2000.0],
        np.ones((2, 368)),
        {"particle": "photon"},
        geometry=PHOTONS,
        conditions=[[1.0, 2.0], [3.0, 4.0]],
        condition_names=("px", "py"),
    )
    out = convert(ConvertConfig(), [src], tmp_path / "d.h5").out_path
    data = read_showers(out)
    assert data.condition_names == ("px", "py")
    np.testing.assert_array_equal(data.conditions, [[1.0, 2.0], [3.0, 4.0]])


def test_conversion_errors_are_one_line(tmp_path: Path) -> None:
    csv = _csv(tmp_path / "pid22_E1024_eta_20_25.csv", 1)
    code, output = _run(["convert", str(csv), "-o", str(csv)])
    assert code == 2 and "the output would overwrite the input file" in output
    code, output = _run(["convert", str(csv), "--to", "atlas-csv", "-o", str(tmp_path / "o")])
    assert code == 2 and "to: atlas-csv is read-only; convert writes" in output
    code, output = _run(["convert", str(csv), "--to", "root", "-o", str(tmp_path / "o")])
    assert (
        code == 2
        and "unknown format 'root' (known: calogan, lhcb, atlas-cells, hits, atlas-csv, calochallenge)"
        in output
    )
    code, output = _run(["convert", str(tmp_path / "nope.h5"), "-o", str(tmp_path / "o.h5")])
    assert code == 2 and "nope.h5: no such file" in output
    other = _csv(tmp_path / "pid211_E1024_eta_20_25.csv", 1)
    with pytest.raises(ConfigError, match="name different particles"):
        convert(ConvertConfig(), [csv, other], tmp_path / "o.h5")
    for line in output.splitlines():
        assert "Traceback" not in line


def test_commands_given_a_csv_or_hit_file_say_how_to_convert(
    tmp_path: Path, tiny_file: Path
) -> None:
    csv = _csv(tmp_path / "pid22_E1024_eta_20_25.csv", 1)
    config = tmp_path / "t.yaml"
    config.write_text("preset: fastcalogan\niterations: 1\n")
    code, output = _run(["train", str(config), "--data", str(csv), "-o", str(tmp_path / "r")])
    assert code == 2, output
    assert output.strip() == (
        f"error: {csv}: --data is ATLAS CSV (one file per energy point: phi-mod, eta, voxel "
        f"energies); train reads shower files: convert it first with 'fastcalogan convert "
        f"{csv} -o {csv.with_suffix('.h5')}'"
    )
    assert not (tmp_path / "r").exists()
    hits = write_hits(
        tmp_path / "h.h5", HitShowers.from_event_ids([1.0], [0], [1.0], [0.0], [1], [0.5])
    )
    args = ["evaluate", "--reference", str(tiny_file), "--generated", str(hits), "-o", "x"]
    code, output = _run(args)
    assert code == 2 and "--generated is a hit file" in output
    assert f"fastcalogan convert {hits} -o {tmp_path / 'h-showers.h5'}" in output


def test_detection_and_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    csv = _csv(tmp_path / "pid22_E1024.csv", 1)
    assert detect_format([csv]).name == "atlas-csv"
    assert detect_format([tmp_path / "missing.h5"], strict=False) is None
    assert [f.name for f in formats()] == [
        "calogan",
        "lhcb",
        "atlas-cells",
        "hits",
        "atlas-csv",
        "calochallenge",
    ]
    assert get_format("hits").modes == "read, write" and get_format("atlas-csv").modes == "read"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFormatError, match="empty: a folder without CSV files"):
        detect_format([empty])

    # a new layout plugs in: recognised before the generic reader, read through the hub
    def detect(paths: Sequence[Path]) -> bool:
        return len(paths) == 1 and paths[0].suffix == ".npy"

    def read(paths: Sequence[Path], out: Path, config: ConvertConfig, progress: object) -> int:
        showers = np.load(paths[0])
        write_showers(
            out, np.full(len(showers), 512.0), showers, {"particle": "photon"}, geometry=PHOTONS
        )
        return len(showers)

    monkeypatch.setattr(registry, "_FORMATS", list(registry._FORMATS))
    register_format(ShowerFormat("npy", "a numpy array of showers", detect, to_showers=read))
    assert [f.name for f in formats()][-2:] == ["npy", "calochallenge"]
    with pytest.raises(ConfigError, match="format 'npy' is already registered"):
        register_format(ShowerFormat("npy", "again", None))
    array = tmp_path / "s.npy"
    np.save(array, np.ones((3, 368), dtype=np.float32))
    result = convert(ConvertConfig(to="hits"), [array], tmp_path / "hits.h5")
    assert (result.input_format, result.output_format, result.n_events) == ("npy", "hits", 3)
    assert read_hits(tmp_path / "hits.h5").n_events == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".convert-")] == []


def test_a_layout_with_a_block_writer_is_a_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[tuple[str, tuple[str, ...]]] = []

    def open_writer(out: Path, geometry: object, attrs: dict, names: tuple[str, ...]) -> object:
        # a "layout" that stores float64 showers: the CaloChallenge writer stands in
        opened.append((str(attrs["particle"]), names))
        return ShowerWriter(out, 368, attrs, dtype=np.float64, geometry=PHOTONS)

    monkeypatch.setattr(registry, "_FORMATS", list(registry._FORMATS))
    register_format(writer_format("f64", "float64 showers", open_writer))
    src = write_showers(tmp_path / "s.h5", [1024.0], np.full((1, 368), 0.5), geometry=PHOTONS)
    code, output = _run(
        ["convert", str(src), "--to", "f64", "--particle", "electron", "-o", str(tmp_path / "o.h5")]
    )
    assert code == 0, output
    assert "calochallenge -> f64: 1 events" in output and opened == [("electron", ())]
    with h5py.File(tmp_path / "o.h5") as f:
        assert f["showers"].dtype == np.float64
    # and it reads as the shower readers read it
    back = convert(ConvertConfig(input_format="f64"), [tmp_path / "o.h5"], tmp_path / "b.h5")
    assert back.input_format == "f64" and read_showers(back.out_path).showers.tolist() == [
        [0.5] * 368
    ]


def test_detector_layouts_convert_both_ways(tmp_path: Path) -> None:
    from fastcalogan.simulate import SimulateConfig, simulate

    cfg = SimulateConfig(detector="calogan", particle="positron", events=6, energy_range=[2e3, 5e3])
    original = simulate(cfg, tmp_path / "calogan.h5").showers_path
    assert detect_format([original]).name == "calogan"
    code, output = _run(["convert", str(original), "-o", str(tmp_path / "cc.h5")])
    assert code == 0 and "calogan -> calochallenge: 6 events" in output, output
    code, output = _run(["convert", str(tmp_path / "cc.h5"), "--to", "calogan", "-o",
                         str(tmp_path / "back.h5")])  # fmt: skip
    assert code == 0, output
    with h5py.File(original) as a, h5py.File(tmp_path / "back.h5") as b:
        assert sorted(a) == sorted(b) == ["energy", "layer_0", "layer_1", "layer_2", "overflow"]
        for key in ("layer_0", "layer_1", "layer_2", "energy"):
            np.testing.assert_allclose(a[key][()], b[key][()], rtol=1e-6)
    # a layout that carries conditions keeps them through the hub
    lhcb = simulate(SimulateConfig(detector="lhcb-ecal", particle="electron", events=4),
                    tmp_path / "lhcb.h5").showers_path  # fmt: skip
    hub = convert(ConvertConfig(), [lhcb], tmp_path / "lhcb-cc.h5").out_path
    np.testing.assert_array_equal(read_showers(hub).conditions, read_showers(lhcb).conditions)
