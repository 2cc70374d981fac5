from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import HitShowers, write_hits, write_showers
from fastcalogan.geometry import CartesianGeometry, load_geometry


def test_inspect_prints_points_and_layer_fractions(tmp_path: Path) -> None:
    g = np.random.default_rng(0)
    inc = np.repeat([1024.0, 65536.0], 5)
    showers = g.uniform(0, 1, (10, 368)) * inc[:, None] / 368
    path = write_showers(tmp_path / "s.h5", inc, showers, attrs={"binning": "ds1-photons"})
    result = CliRunner().invoke(cli, ["inspect", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "10 events, 2 energy points, 368 voxels" in result.output
    assert "f(EMB2)" in result.output and "65536" in result.output


def test_inspect_hit_file(tmp_path: Path) -> None:
    hits = HitShowers.from_event_ids(
        [1000.0, 1000.0], [0, 1, 1], [1, 2, 3], [0, 0, 0], [1, 2, 2], [100, 200, 300]
    )
    path = write_hits(tmp_path / "h.h5", hits)
    result = CliRunner().invoke(cli, ["inspect", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "mean hits/event 1.5" in result.output


def test_user_error_exits_2_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["inspect", str(tmp_path / "absent.h5")])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'absent.h5'}: no such file"


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--debug", "inspect", str(tmp_path / "absent.h5")])
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "DataFormatError"


def test_unknown_voxel_count_asks_for_binning(tmp_path: Path) -> None:
    path = write_showers(tmp_path / "odd.h5", [1000.0], np.ones((1, 7)))
    result = CliRunner().invoke(cli, ["inspect", str(path)])
    assert result.exit_code == 2
    assert (
        "odd.h5: no 'binning' attribute and no built-in binning has 7 voxels; name it (--binning, or binning: in the config)"
        in result.output
    )


def test_inspect_shows_a_file_with_too_much_energy(tmp_path: Path) -> None:
    """An untrained generator's output (E_tot = 7 x E_inc) is shown, not refused."""
    inc = np.full(4, 1024.0)
    showers = np.full((4, 368), 7.0 * 1024.0 / 368)
    path = write_showers(tmp_path / "g.h5", inc, showers, attrs={"binning": "ds1-photons"})
    result = CliRunner().invoke(cli, ["inspect", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "7.0000" in result.output


def _random_showers(
    n_voxels: int, energies: list[float], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    inc = np.asarray(energies)
    return inc, (g.dirichlet(np.ones(n_voxels), size=inc.size) * inc[:, None] * 0.5).astype(
        np.float32
    )


@pytest.mark.parametrize(
    ("stem", "n_voxels"), [("binning_dataset_2", 6480), ("binning_dataset_3", 40500)]
)
def test_inspect_calochallenge_datasets_2_and_3(
    shared_dir: Path, tmp_path: Path, stem: str, n_voxels: int
) -> None:
    """Random showers of each shape read back: the file's own geometry, then an old-style
    file (no geometry attribute) with the XML named on the command line."""
    geometry = load_geometry(shared_dir / "data" / "binning" / f"{stem}.xml")
    inc, showers = _random_showers(n_voxels, [1024.0, 1024.0, 65536.0], seed=1)
    carried = write_showers(tmp_path / "carried.h5", inc, showers, geometry=geometry)
    bare = write_showers(tmp_path / "bare.h5", inc, showers, attrs={"particle": "electron"})
    xml = str(shared_dir / "data" / "binning" / f"{stem}.xml")
    for args in (["inspect", str(carried)], ["inspect", str(bare), "--binning", xml]):
        result = CliRunner().invoke(cli, args, terminal_width=200)
        assert result.exit_code == 0, result.output
        assert (
            f"3 events, 2 energy points, {n_voxels} voxels; geometry {stem} (polar, 45 layers)"
            in result.output
        )
        # 45 layers: one row each, with the mean fraction per energy point
        row = next(line for line in result.output.splitlines() if "│ layer 44 " in line)
        expected = showers[:2, -n_voxels // 45 :].sum(axis=1) / showers[:2].sum(axis=1)
        assert float(row.split("│")[2]) == pytest.approx(expected.mean(), abs=1e-4)
    without = CliRunner().invoke(cli, ["inspect", str(bare)])
    assert without.exit_code == 2 and f"no built-in binning has {n_voxels} voxels" in without.output


def test_inspect_cartesian_file_without_being_told(tmp_path: Path) -> None:
    geometry = CartesianGeometry.from_layers(
        "calogan",
        "photon",
        None,
        [(0, (3, 96), (160, 5)), (1, (12, 12), (40, 40)), (2, (12, 6), (40, 80))],
    )
    inc, showers = _random_showers(504, [1000.0, 2000.0], seed=2)
    path = write_showers(tmp_path / "c.h5", inc, showers, geometry=geometry)
    result = CliRunner().invoke(cli, ["inspect", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "504 voxels; geometry calogan (cartesian, 3 layers)" in result.output
    assert "f(layer 2)" in result.output
