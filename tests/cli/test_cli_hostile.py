"""Issue 13's hostile cases through the command line: one line, exit code 2, nothing lost.

Each test is one case (or a family of them) of the issue: an input that would have been
overwritten, a crash, something accepted without a word, or a message that misled.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import HitShowers, write_hits, write_showers
from fastcalogan.geometry import load_geometry, write_binning_xml
from fastcalogan.train import TrainConfig, checkpoint_path, train
from fastcalogan.train import checkpoint as checkpoint_module


def _error(args: list[str]) -> str:
    """The one error line of a command that must fail with exit code 2."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def _final_error(args: list[str]) -> str:
    """The error line of a command that fails after some work (its progress bar above)."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == [lines[-1]] and "Traceback" not in result.output, result.output
    return lines[-1]


def _raw_hits(path: Path, **columns: Any) -> Path:
    """A hit file written with h5py as a user's script would (no validation, any dtype)."""
    n_events, n_hits = 3, 12
    g = np.random.default_rng(0)
    data: dict[str, Any] = {
        "incident_energies": np.full((n_events, 1), 65536.0),
        "hits/event_offsets": np.array([0, 4, 8, 12]),
        "hits/r": g.uniform(0, 100, n_hits).astype(np.float32),
        "hits/alpha": g.uniform(-3, 3, n_hits).astype(np.float32),
        "hits/layer": np.full(n_hits, 2, dtype=np.int16),
        "hits/energy": g.exponential(10.0, n_hits),
    }
    data.update({f"hits/{k}" if k != "incident_energies" else k: v for k, v in columns.items()})
    with h5py.File(path, "w") as f:
        for key, value in data.items():
            f[key] = value
        f.attrs.update({"particle": "photon", "eta_min": 0.2, "eta_max": 0.25})
    return path


def _hit_file(path: Path) -> Path:
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
    return write_hits(path, hits)


@pytest.fixture
def run(tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]) -> Path:
    train(tiny_config(iterations=2), tiny_file, tmp_path / "run")
    return tmp_path / "run"


# ----- data lost ----------------------------------------------------------------------------------
def test_voxelise_refuses_to_write_over_its_binning_xml(tmp_path: Path) -> None:
    hits = _hit_file(tmp_path / "hits.h5")
    xml = write_binning_xml(load_geometry("ds1-photons"), tmp_path / "b.xml")
    before = xml.read_bytes()
    line = _error(["voxelise", str(hits), "--binning", str(xml), "-o", str(xml)])
    assert line == f"error: {xml}: the shower file would overwrite the binning file {xml}"
    assert xml.read_bytes() == before


def test_generate_refuses_to_write_over_the_runs_training_file(run: Path, tiny_file: Path) -> None:
    before = tiny_file.read_bytes()
    line = _error(["generate", str(run), "--energies", "1024", "-o", str(tiny_file)])
    assert (
        line
        == f"error: {tiny_file}: the shower file would overwrite the run's training data {tiny_file}"
    )
    assert tiny_file.read_bytes() == before
    # a relative spelling or a link is the same file
    link = tiny_file.parent / "link.h5"
    link.symlink_to(tiny_file)
    assert "would overwrite the run's training data" in _error(
        ["generate", str(run), "--energies", "1024", "-o", str(link)]
    )


def test_a_config_is_not_an_output(tmp_path: Path) -> None:
    hits = _hit_file(tmp_path / "hits.h5")
    config = tmp_path / "v.yaml"
    config.write_text("chunk_events: 5\n")
    line = _error(["voxelise", str(hits), "--config", str(config), "-o", str(config)])
    assert line == f"error: {config}: the shower file would overwrite the config file {config}"
    assert config.read_text() == "chunk_events: 5\n"


def test_replacing_an_old_output_is_said(tmp_path: Path) -> None:
    hits = _hit_file(tmp_path / "hits.h5")
    out = tmp_path / "s.h5"
    out.write_text("old")
    result = CliRunner().invoke(cli, ["voxelise", str(hits), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"WARNING fastcalogan._fileio: {out}: replacing the existing file (shower file)" in (
        result.output
    )


# ----- crashes --------------------------------------------------------------------------------------
@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch, disk_of: Any) -> None:
    """Every HDF5 write and checkpoint write fails with ENOSPC after a few kilobytes."""
    disk_of(4096)

    def write_file(path: Path, data: Any) -> None:
        path.write_bytes(bytes(data)[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(checkpoint_module, "_write_file", write_file)


@pytest.fixture
def hits(tmp_path: Path) -> Path:
    return _hit_file(tmp_path / "hits.h5")


def test_a_full_disk_is_one_line_naming_the_output(
    tmp_path: Path, tiny_file: Path, run: Path, hits: Path, full_disk: None
) -> None:
    cases = {
        "sim.h5": ["simulate", "--particle", "photon", "--energies", "1024", "--events", "500"],
        "gen.h5": ["generate", str(run), "--energies", "1024", "-n", "500"],
        "inv.h5": ["invert", str(tiny_file)],
        "vox.h5": ["voxelise", str(hits)],
    }
    for name, args in cases.items():
        out = tmp_path / name
        assert _final_error([*args, "-o", str(out)]) == f"error: {out}: No space left on device"
        assert not out.exists()
    assert not (tmp_path / "vox.voxelise.json").exists()  # no summary without its file
    config = tmp_path / "t.yaml"
    config.write_text(
        yaml.safe_dump({**yaml.safe_load((run / "config.yaml").read_text()), "iterations": 4})
    )
    line = _final_error(["train", str(config), "--data", str(tiny_file), "-o", str(run)])
    assert line == f"error: {checkpoint_path(run, 4)}: No space left on device"
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_a_full_disk_keeps_the_previous_voxelisation_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hits = _hit_file(tmp_path / "hits.h5")
    out = tmp_path / "s.h5"
    assert CliRunner().invoke(cli, ["voxelise", str(hits), "-o", str(out)]).exit_code == 0
    summary = tmp_path / "s.voxelise.json"
    before = (out.read_bytes(), summary.read_bytes())

    def full(self: Path, text: str, *args: Any, **kwargs: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", full)  # the summary is the write that fails
    line = _final_error(["voxelise", str(hits), "-o", str(out)])
    assert line == f"error: {summary}: No space left on device"
    assert (out.read_bytes(), summary.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hits.h5", "s.h5", "s.voxelise.json"]


def test_hit_columns_of_the_wrong_type_are_named(tmp_path: Path) -> None:
    bad = _raw_hits(tmp_path / "strings.h5", r=np.array([b"12.5"] * 12))
    assert _error(["voxelise", str(bad), "-o", str(tmp_path / "o.h5")]) == (
        f"error: {bad}: field 'hits/r' must be numeric, found dtype |S4"
    )


def test_a_batch_of_a_billion_is_refused_at_once(tmp_path: Path, tiny_file: Path) -> None:
    config = tmp_path / "t.yaml"
    config.write_text("batch_size: 1000000000\ndevice: cpu\n")
    line = _error(["train", str(config), "--data", str(tiny_file), "-o", str(tmp_path / "r")])
    assert line.endswith(
        "batch_size: 1000000000 is larger than the 128 training events of "
        f"{tiny_file}; use at most 128"
    )


# ----- accepted without a word ----------------------------------------------------------------------
def test_iterations_that_cannot_fit_on_the_disk(tmp_path: Path, tiny_file: Path) -> None:
    config = tmp_path / "t.yaml"
    config.write_text("iterations: 100000000000000000000000\ndevice: cpu\nbatch_size: 16\n")
    line = _error(["train", str(config), "--data", str(tiny_file), "-o", str(tmp_path / "r")])
    assert "not enough free space for the checkpoints" in line
    assert not (tmp_path / "r").exists()


def test_schema_versions_and_duplicate_keys_are_refused(tmp_path: Path, tiny_file: Path) -> None:
    config = tmp_path / "t.yaml"
    args = ["train", str(config), "--data", str(tiny_file), "-o", str(tmp_path / "r")]
    config.write_text("schema_version: 99\n")
    assert _error(args) == (
        f"error: {config}: schema_version: this fastcalogan reads schema_version 1, a newer one "
        "may read this file (found 99)"
    )
    config.write_text("lr: 1.0e-4\nbatch_size: 16\nlr: 1.0e-3\n")
    assert _error(args) == (
        f"error: {config}: line 3: duplicate key 'lr' (first given at line 1); give each key once"
    )


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            {"alpha": np.full(12, 4.0, np.float32)},
            r"'hits/alpha' must lie in \(-pi, pi\] rad, found 4 \(hit 0\); are the angles in degrees\?",
        ),
        (
            {"alpha": np.full(12, 100.0, np.float32)},
            r"'hits/alpha' must lie in \(-pi, pi\] rad, found 100 \(hit 0\); are the angles",
        ),
        (
            {"layer": np.full(12, -1, np.int16)},
            r"'hits/layer' must hold layer ids >= 0, found -1 \(hit 0\)",
        ),
        (
            {"layer": np.full(12, 2.5)},
            r"'hits/layer' must hold integer layer ids, found 2.5 \(hit 0\)",
        ),
        (
            {"layer": np.full(12, 99, np.int16)},
            r"'hits/layer' holds layer id 99 \(event 0\); expected ATLAS sampling ids 0..23",
        ),
        ({"r": np.full(12, -1.0, np.float32)}, r"'hits/r' must be >= 0 mm, found -1.0 \(hit 0\)"),
        (
            {"event_offsets": np.array([0, 8, 4, 12])},
            r"'hits/event_offsets' must not decrease, found 8 then 4 \(events 1 and 2\)",
        ),
        (
            {"event_offsets": np.array([0, 4, 8, 11])},
            r"'hits/event_offsets' must end at the number of hits, 12, found 11",
        ),
    ],
)
def test_hits_out_of_range_are_named(tmp_path: Path, columns: dict[str, Any], message: str) -> None:
    bad = _raw_hits(tmp_path / "bad.h5", **columns)
    line = _error(["voxelise", str(bad), "-o", str(tmp_path / "o.h5")])
    assert line.startswith(f"error: {bad}: field "), line
    assert re.search(message, line), line
    # alpha exactly at +-pi in float32 is in range
    ok = _raw_hits(tmp_path / "ok.h5", alpha=np.float32([np.pi, -np.pi] * 6))
    assert (
        CliRunner().invoke(cli, ["voxelise", str(ok), "-o", str(tmp_path / "ok-s.h5")]).exit_code
        == 0
    )


def test_a_binning_for_another_slice_or_particle_does_not_train_silently(
    tmp_path: Path, tiny_file: Path
) -> None:
    b = load_geometry("ds1-photons")
    other = write_binning_xml(b.relabel(eta=(1.5, 2.0)), tmp_path / "b.xml")
    showers = write_showers(
        tmp_path / "photons.h5",
        np.full(40, 1024.0),
        np.full((40, b.n_voxels), 1.0, np.float32),
        {"particle": "photon", "eta_min": 0.2, "eta_max": 0.25},
    )
    config = tmp_path / "t.yaml"
    config.write_text(f"binning: {other}\nbatch_size: 16\ndevice: cpu\niterations: 1\n")
    args = ["train", str(config), "--data", str(showers), "-o", str(tmp_path / "r")]
    assert _error(args) == (
        f"error: binning: {other} is for |eta| 1.50-2.00, but the showers are at |eta| "
        f"0.20-0.25 ({showers}); use the binning of these showers, or set "
        "allow_geometry_mismatch: true (--set allow_geometry_mismatch=true) to train with it "
        "anyway"
    )
    result = CliRunner().invoke(cli, [*args, "--set", "allow_geometry_mismatch=true"])
    assert result.exit_code == 0, result.output


# ----- messages that misled ---------------------------------------------------------------------------
def test_set_errors_name_the_override(tmp_path: Path, tiny_file: Path) -> None:
    config = tmp_path / "t.yaml"
    config.write_text("batch_size: 16\n")
    args = ["train", str(config), "--data", str(tiny_file), "-o", str(tmp_path / "r")]
    assert _error([*args, "--set", "iterations=abc"]) == (
        "error: --set iterations: Input should be a valid integer, unable to parse string as an "
        "integer (found 'abc')"
    )


def test_cross_field_errors_name_the_fields_not_the_root(tmp_path: Path, tiny_file: Path) -> None:
    config = tmp_path / "t.yaml"
    config.write_text("eta: [0.5, 0.2]\npreset: vae-mlp\n")
    args = ["train", str(config), "--data", str(tiny_file), "-o", str(tmp_path / "r")]
    line = _error(args)
    assert line == f"error: {config}: eta must satisfy 0 <= min < max, found (0.5, 0.2)"
    line = _error([*args, "--set", "eta=[0.1,0.2]", "--set", "family=wgan-gp-mlp"])
    assert line.startswith("error: --set family: preset vae-mlp is a recipe of family vae-mlp")
    for text in (line, _error([*args, "--set", "eta=[0.1,0.2]", "--set", "model.latent_dim=0"])):
        assert "<root>" not in text and "{" not in text


def test_a_3d_showers_dataset_says_so(tmp_path: Path) -> None:
    path = tmp_path / "calogan.h5"
    with h5py.File(path, "w") as f:
        f["incident_energies"] = np.ones((4, 1))
        f["showers"] = np.ones((4, 3, 96), np.float32)
    line = _error(["inspect", str(path)])
    assert line == (
        f"error: {path}: field 'showers' must be 2-D (events, voxels), found shape (4, 3, 96); "
        "flatten each shower's voxels (layer, then the layer's image row by row)"
    )


def test_usage_errors_are_one_line_with_the_hint(tmp_path: Path) -> None:
    missing = tmp_path / "nothing"
    assert _error(["select", str(missing)]) == (
        f"error: Invalid value for 'RUN_DIR': Directory '{missing}' does not exist. "
        "(see 'fastcalogan select -h')"
    )
    assert _error(["generate", str(tmp_path), "-o", "x.h5", "--energies"]) == (
        "error: Option '--energies' requires an argument. (see 'fastcalogan generate -h')"
    )
    assert _error(["trian"]).startswith("error: No such command 'trian'.")
    # a required -o without a default stays required (click >= 8.3 treats default=None as one)
    assert _error(["simulate", "--particle", "photon"]) == (
        "error: Missing option '-o' / '--output'. (see 'fastcalogan simulate -h')"
    )


def test_outputs_are_checked_before_the_work(
    tmp_path: Path, tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fastcalogan.evaluate as evaluate_stage
    import fastcalogan.simulate.api as simulate_api

    def no_work(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the work started before the output was checked")

    monkeypatch.setattr(evaluate_stage, "evaluate", no_work)
    monkeypatch.setattr(simulate_api, "simulate_showers", no_work)
    monkeypatch.setattr(simulate_api, "simulate_hits", no_work)
    a_file = tmp_path / "report"
    a_file.write_text("")
    line = _error(
        [
            "evaluate",
            "--reference",
            str(tiny_file),
            "--generated",
            str(tiny_file),
            "-o",
            str(a_file),
        ]
    )
    assert line == f"error: {a_file}: expected a folder for the output folder, found a file"
    line = _error(
        [
            "evaluate",
            "--reference",
            str(tiny_file),
            "--generated",
            str(tiny_file),
            "-o",
            str(tiny_file),
        ]
    )
    assert "expected a folder" in line
    folder = tmp_path / "out"
    folder.mkdir()
    line = _error(["simulate", "--particle", "photon", "--events", "10", "-o", str(folder)])
    assert line == f"error: {folder}: is a folder; expected a file name for the shower file"


def test_a_campaign_file_is_not_its_stored_copy(tmp_path: Path) -> None:
    folder = tmp_path / "camp"
    folder.mkdir()
    spec = folder / "campaign.json"
    spec.write_text('{"name": "c", "particles": ["photon"], "eta": [[0.2, 0.25]]}')
    before = spec.read_text()
    line = _error(["campaign", "run", str(spec), "-o", str(folder)])
    assert line == (
        f"error: {folder.resolve()}/campaign.json: the stored campaign would overwrite the "
        f"campaign file {spec}"
    )
    assert spec.read_text() == before


def test_a_selection_is_checked_before_it_scores(run: Path, tmp_path: Path) -> None:
    (run / "selection").mkdir()
    (run / "selection" / "chi2.png").mkdir()  # a folder where the plot goes
    line = _error(["select", str(run)])
    assert (
        line
        == f"error: {run}/selection/chi2.png: is a folder; expected a file name for the selection plot"
    )


# ----- beyond the issue (scripts/hostile_cli.py found these) ---------------------------------------
def test_further_messages_name_the_point(tmp_path: Path, run: Path, tiny_file: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    assert _error(
        ["simulate", "--particle", "photon", "--events", "20", "-o", f"{afile}/o.h5"]
    ) == (f"error: {afile}/o.h5: cannot write the shower file: {afile} is a file, not a folder")
    if Path("/proc/self").is_dir():
        assert _error(
            ["simulate", "--particle", "photon", "--events", "20", "-o", "/proc/o.h5"]
        ) == (
            "error: /proc/o.h5: cannot write the shower file: /proc is on a file system that "
            "stores no files"
        )
    bad = tmp_path / "bad.yaml"
    bad.write_text("iterations: [1, 2\n")
    assert _error(["train", str(bad), "--data", str(tiny_file), "-o", str(run)]) == (
        f"error: {bad}: not valid YAML at line 2, column 1: while parsing a flow sequence "
        "expected ',' or ']', but got '<stream end>'"
    )
    line = _error(
        [
            "train",
            str(run / "config.yaml"),
            "--data",
            str(tiny_file),
            "-o",
            str(run),
            "--set",
            "model.latent_dim=7",
        ]
    )
    assert line == (
        f"error: {checkpoint_path(run, 2)}: config field 'model.latent_dim' is 7 but the run was "
        "started with 4; use a new run folder or restore the setting"
    )
    assert _error(["campaign", "status", str(tmp_path / "nothing")]) == (
        f"error: {tmp_path / 'nothing'}: no such campaign file or folder (expected the campaign's "
        "YAML file or the folder 'fastcalogan campaign run' wrote)"
    )
