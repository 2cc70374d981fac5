from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import HitShowers, write_hits, write_showers


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
