"""One writer per run folder and per campaign folder, checked with two real processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fastcalogan._locking import exclusive_writer, lock_holder
from fastcalogan.cli import cli
from fastcalogan.errors import LockError
from fastcalogan.train import RunFolder, TrainConfig, list_checkpoints, train

#: A second process that holds a folder's lock until its stdin closes.
_HOLDER = """
import sys
from fastcalogan._locking import exclusive_writer
with exclusive_writer(sys.argv[1], sys.argv[2], "holding"):
    print("holding", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def holder() -> Iterator[Callable[[Path, str], subprocess.Popen[str]]]:
    """``holder(folder, purpose)``: another process holding the lock (released at teardown)."""
    procs: list[subprocess.Popen[str]] = []

    def start(folder: Path, purpose: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(folder), purpose],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        return proc

    yield start
    for proc in procs:
        proc.communicate(timeout=60)


def test_a_second_training_process_is_refused_naming_the_first(
    tmp_path: Path, tiny_file: Path, holder: Callable[[Path, str], subprocess.Popen[str]]
) -> None:
    run = tmp_path / "run"
    first = holder(run, "training")
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({"iterations": 2, "batch_size": 16, "device": "cpu"}))
    res = CliRunner().invoke(cli, ["train", str(config), "--data", str(tiny_file), "-o", str(run)])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    assert lines[0].startswith(
        f"error: {run}: a training into this run folder is in progress in pid {first.pid} on "
        f"host {socket.gethostname()} ("
    )
    assert lines[0].endswith("; wait for it to end, or train into another -o folder")
    # the refused process wrote nothing
    assert sorted(p.name for p in run.iterdir()) == [".training.lock", ".training.lock.json"]
    holder_record = lock_holder(run, "training")
    assert holder_record is not None and holder_record["pid"] == first.pid


def test_the_lock_goes_with_its_process(
    tmp_path: Path,
    tiny_file: Path,
    tiny_config: Callable[..., TrainConfig],
    holder: Callable[[Path, str], subprocess.Popen[str]],
) -> None:
    run = tmp_path / "run"
    first = holder(run, "training")
    first.kill()  # a killed writer leaves no stale lock
    first.wait(timeout=60)
    train(tiny_config(iterations=2), tiny_file, run)
    assert [p.name for p in list_checkpoints(run)] == ["ckpt-00000002.pt"]
    assert lock_holder(run, "training") is None  # the record goes with the lock


def test_a_selection_may_run_beside_a_training_but_not_beside_another(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run")
    with folder.writing("training"), folder.writing("selection"):
        with pytest.raises(LockError, match=f"in progress in pid {os.getpid()}"):
            with folder.writing("training"):
                pass  # pragma: no cover
        with pytest.raises(
            LockError, match=r"a selection of this run's checkpoints is in progress"
        ):
            with folder.writing("selection"):
                pass  # pragma: no cover


def test_a_second_campaign_run_is_refused(
    tmp_path: Path, holder: Callable[[Path, str], subprocess.Popen[str]]
) -> None:
    spec = tmp_path / "c.yaml"
    spec.write_text("name: c\nparticles: [photon]\neta: [[0.2, 0.25]]\n")
    folder = tmp_path / "out"
    first = holder(folder, "campaign")
    res = CliRunner().invoke(cli, ["campaign", "run", str(spec), "-o", str(folder)])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    assert lines[0].startswith(f"error: {folder.resolve()}: a run of this campaign is in progress")
    assert f"pid {first.pid} on host" in lines[0] and "campaign status" in lines[0]
    assert not (folder / "campaign.json").exists()


def test_the_holder_record_names_the_command(tmp_path: Path) -> None:
    with exclusive_writer(tmp_path, "x", "work"):
        record = json.loads((tmp_path / ".x.lock.json").read_text())
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        assert record["command"] and record["since"]
    assert not (tmp_path / ".x.lock.json").exists()
