"""The run folder: its layout, run.json, best.json and the selection table, one error each."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from fastcalogan.errors import CheckpointError
from fastcalogan.train import (
    BestCheckpoint,
    PointScore,
    RunFolder,
    RunInfo,
    SelectionRow,
    TrainConfig,
    train,
)


def test_layout_of_a_trained_run(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    run = RunFolder(tmp_path / "run")
    train(tiny_config(iterations=2, checkpoint_every=1), tiny_file, run.path)
    for path in (run.run_json, run.config_yaml, run.preprocess_json, run.binning_yaml):
        assert path.is_file(), path
    assert run.losses_csv.is_file() and run.train_log.is_file()
    assert run.checkpoints() == [run.checkpoint_path(1), run.checkpoint_path(2)]
    info = run.info()
    assert info is not None and info.particle == "photon" and info.eta == (0.2, 0.25)
    assert info.energy_range == (1024.0, 8192.0) and not info.split
    assert run.parts() == [run] and not run.is_split
    # no selection yet: the latest checkpoint is used
    assert run.best() is None and run.checkpoint_to_use() == (run.checkpoint_path(2), False)
    with run.writing() as writer:
        row = SelectionRow(1, run.relative(run.checkpoint_path(1)), 4.0, 2)
        writer.write_selection([row], {"config": {}}, BestCheckpoint.of_row(row, "etot"))
    assert run.checkpoint_to_use() == (run.checkpoint_path(1), True)
    assert run.selection_rows() == [row]


def test_split_run_lists_its_ranges(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    with run.writing() as writer:
        writer.write_info(
            RunInfo(split="split3", ranges=((1.0, 2.0), (2.0, 3.0)), subruns=("range-0", "range-1"))
        )
        assert writer.part(1).folder == RunFolder(tmp_path / "range-1")
    assert run.is_split
    assert [p.path.name for p in run.parts()] == ["range-0", "range-1"]
    info = run.info()
    assert info is not None and info.ranges == ((1.0, 2.0), (2.0, 3.0))
    assert json.loads(run.run_json.read_text())["subruns"] == ["range-0", "range-1"]


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ("{not json", "expected JSON"),
        ("[1, 2]", "found list"),
        ('{"split": "split3"}', "split run without a list of subruns"),
        ('{"eta": "wide"}', "expected a JSON object"),
    ],
)
def test_malformed_run_json_is_one_error(tmp_path: Path, content: str, found: str) -> None:
    (tmp_path / "run.json").write_text(content)
    with pytest.raises(CheckpointError, match=r"run\.json: unreadable run description") as err:
        RunFolder(tmp_path).parts()
    assert found in str(err.value) and len(str(err.value).splitlines()) == 1


def test_missing_folder_and_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"absent: no such run folder \(expected a folder"):
        RunFolder.open(tmp_path / "absent")
    with pytest.raises(CheckpointError, match=r"absent: no such run folder or checkpoint"):
        RunFolder.open(tmp_path / "absent", or_checkpoint=True)
    with pytest.raises(CheckpointError, match=r"no checkpoints in .*checkpoints \(expected ckpt-"):
        RunFolder.open(tmp_path).checkpoint_to_use()


def test_malformed_or_dangling_selection(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    run.selection_dir.mkdir()
    run.best_json.write_text('{"iteration": 3}')
    with pytest.raises(
        CheckpointError,
        match=r"best\.json: unreadable selection \(expected a JSON object with 'checkpoint'",
    ):
        run.best()
    run.best_json.write_text('{"checkpoint": "checkpoints/ckpt-00000003.pt", "chi2_ndf": null}')
    best = run.best()
    assert best is not None and best.chi2_ndf == math.inf
    with pytest.raises(
        CheckpointError, match=r"selected checkpoint checkpoints/ckpt-00000003\.pt is missing"
    ):
        run.checkpoint_to_use()
    with pytest.raises(CheckpointError, match=r"chi2\.json: unreadable selection table"):
        run.selection_rows()


def test_selection_row_round_trip() -> None:
    row = SelectionRow(
        iteration=5,
        checkpoint="checkpoints/ckpt-00000005.pt",
        chi2=30.0,
        ndf=12,
        points=(PointScore(1024.0, 10.0, 4), PointScore(3000.5, 20.0, 0)),
        range="range-1",
    )
    record = row.to_record()
    assert list(record)[:6] == ["range", "iteration", "checkpoint", "chi2", "ndf", "chi2_ndf"]
    assert record["chi2_ndf E=1024"] == 2.5 and record["chi2_ndf E=3000.5"] == math.inf
    assert record["chi2 E=3000.5"] == 20.0 and record["ndf E=1024"] == 4
    assert SelectionRow.from_record(record) == row
    # JSON holds no infinity: null reads back as one
    assert SelectionRow.from_record({**record, "chi2_ndf E=3000.5": None}) == row
    with pytest.raises(CheckpointError, match=r"t\.json: malformed selection row \(expected"):
        SelectionRow.from_record({"iteration": 1, "chi2_ndf E=5": 1.0}, "t.json")


def test_losses_are_cut_back_to_the_checkpoint(tmp_path: Path) -> None:
    with RunFolder(tmp_path).writing() as writer:
        writer.start_losses(("iteration", "a", "active_points"), up_to=0)
        writer.append_losses(["1,0.5,1", "2,0.25,1", "3,0.125,2"])
        writer.start_losses(("iteration", "a", "active_points"), up_to=2)
        assert (
            writer.folder.losses_csv.read_text() == "iteration,a,active_points\n1,0.5,1\n2,0.25,1\n"
        )
