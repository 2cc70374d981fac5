"""`fastcalogan voxelise` and `fastcalogan invert` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import HitShowers, read_hits, read_showers, write_hits, write_showers
from fastcalogan.geometry import CartesianGeometry, load_geometry, write_geometry_yaml
from fastcalogan.voxelise import voxelise_hits


def _hit_file(path: Path) -> tuple[Path, HitShowers]:
    g = np.random.default_rng(9)
    n = 600
    hits = HitShowers.from_event_ids(
        np.full(12, 65536.0),
        g.integers(0, 12, n),
        g.uniform(0, 700, n).astype(np.float32),
        g.uniform(-np.pi, np.pi, n).astype(np.float32),
        g.choice([0, 1, 2, 3, 12], n).astype(np.int16),
        g.exponential(50.0, n),
        {"particle": "photon", "eta_min": 0.2, "eta_max": 0.25},
    )
    return write_hits(path, hits), hits


def test_voxelise_then_invert(tmp_path: Path) -> None:
    hits_path, hits = _hit_file(tmp_path / "hits.h5")
    out = tmp_path / "showers.h5"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["voxelise", str(hits_path), "--binning", "ds1-photons", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == str(out)
    assert lines[1].startswith("12 events, 368 voxels (ds1-photons, layers 0,1,2,3,12)")
    assert lines[2].startswith("leakage fraction ") and "12: " in lines[2]
    b = load_geometry("ds1-photons")
    np.testing.assert_allclose(read_showers(out).showers, voxelise_hits(hits, b).showers, rtol=1e-6)

    back = tmp_path / "back.h5"
    result = runner.invoke(cli, ["invert", str(out), "-o", str(back), "--set", "step_mm=10"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == str(back)
    np.testing.assert_allclose(
        voxelise_hits(read_hits(back), b).showers, read_showers(out).showers, rtol=1e-6
    )


def test_config_file_and_overrides(tmp_path: Path) -> None:
    hits_path, _ = _hit_file(tmp_path / "hits.h5")
    cfg = tmp_path / "v.yaml"
    # a pion binning for photon hits: refused unless the config says so
    cfg.write_text("binning: ds1-pions\nchunk_events: 5\n")
    result = CliRunner().invoke(
        cli, ["voxelise", str(hits_path), "-o", str(tmp_path / "s.h5"), "--config", str(cfg)]
    )
    assert result.exit_code == 2
    assert "binning: ds1-pions is for pion (hadron showers), but the showers are photon" in (
        result.stderr
    )
    cfg.write_text("binning: ds1-pions\nchunk_events: 5\nallow_geometry_mismatch: true\n")
    out = tmp_path / "s.h5"
    result = CliRunner().invoke(
        cli, ["voxelise", str(hits_path), "-o", str(out), "--config", str(cfg)]
    )
    assert result.exit_code == 0, result.output
    assert read_showers(out).n_voxels == 533
    result = CliRunner().invoke(
        cli, ["voxelise", str(hits_path), "-o", str(out), "--set", "chunk_events=0"]
    )
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: --set chunk_events: Input should be")


def test_missing_file_exits_2_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.h5"
    for args in (
        ["voxelise", str(missing), "-o", str(tmp_path / "s.h5")],
        ["invert", str(missing), "-o", str(tmp_path / "h.h5")],
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2
        assert result.stderr == f"error: {missing}: no such file\n"
    assert not list(tmp_path.iterdir())


def test_polar_only_commands_refuse_a_cartesian_geometry(tmp_path: Path) -> None:
    grid = CartesianGeometry.from_layers("grid", "photon", (0.2, 0.25), [(0, (2, 2), (5, 5))])
    showers = write_showers(tmp_path / "g.h5", [1000.0], np.ones((1, 4)), geometry=grid)
    hits_path, _ = _hit_file(tmp_path / "hits.h5")
    yaml_path = write_geometry_yaml(grid, tmp_path / "grid.yaml")
    for args, what in (
        (["invert", str(showers), "-o", str(tmp_path / "h.h5")], "inverting voxels into"),
        (
            ["voxelise", str(hits_path), "--binning", str(yaml_path), "-o", str(tmp_path / "s.h5")],
            "voxelising",
        ),
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2
        assert result.stderr == (
            f"error: geometry grid is cartesian; {what} (r, alpha) hits needs a polar "
            "(r, alpha) binning\n"
        )
    assert not (tmp_path / "h.h5").exists() and not (tmp_path / "s.h5").exists()
