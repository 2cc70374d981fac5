"""Outputs: atomic and durable writes, full disks, and the one check of inputs against outputs."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

from fastcalogan import _fileio
from fastcalogan._fileio import PathPlan, atomic_path, check_free_space, write_text
from fastcalogan.errors import OutputError


def test_a_full_disk_inside_the_block_names_the_target_and_keeps_the_old_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "out.txt"
    target.write_text("previous")
    with (
        pytest.raises(OSError, match="No space left on device") as info,
        atomic_path(target) as tmp,
    ):
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
    assert info.value.filename == str(target) and info.value.errno == errno.ENOSPC
    assert target.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_an_error_about_another_file_is_left_alone(tmp_path: Path) -> None:
    with pytest.raises(OSError) as info, atomic_path(tmp_path / "out.txt"):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "input.h5")
    assert info.value.filename == "input.h5"


def test_files_and_their_folder_are_flushed_before_and_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTCALOGAN_FSYNC", "1")
    flushed: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        flushed.append(
            os.readlink(f"/proc/self/fd/{fd}") if Path("/proc/self/fd").is_dir() else "?"
        )
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_text(tmp_path / "a.txt", "x")
    assert len(flushed) == 2
    if flushed[0] != "?":
        assert Path(flushed[0]).name.startswith(".a.txt.") and Path(flushed[1]) == tmp_path
    # a flush refused by the disk is a refusal of the write: the target is untouched
    monkeypatch.setattr(
        os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "Input/output error"))
    )
    with pytest.raises(OSError, match="Input/output error") as info:
        write_text(tmp_path / "a.txt", "y")
    assert info.value.filename == str(tmp_path / "a.txt")
    assert (tmp_path / "a.txt").read_text() == "x"


def test_the_plan_refuses_an_output_that_is_an_input(tmp_path: Path) -> None:
    binning = tmp_path / "b.xml"
    binning.write_text("<Bins/>")
    plan = PathPlan().read(tmp_path / "hits.h5", "input hit file").read(binning, "binning file")
    with pytest.raises(OutputError, match=r"b.xml: the shower file would overwrite the binning"):
        plan.write(tmp_path / "sub" / ".." / "b.xml", "shower file").check()
    # a hard link and a symbolic link are the same file
    os.link(binning, tmp_path / "hard.xml")
    (tmp_path / "soft.xml").symlink_to(binning)
    for other in ("hard.xml", "soft.xml"):
        with pytest.raises(OutputError, match=f"{other}: the shower file would overwrite"):
            PathPlan().read(binning, "binning file").write(tmp_path / other, "shower file").check()
    assert binning.read_text() == "<Bins/>"


def test_the_plan_refuses_two_outputs_in_one_file(tmp_path: Path) -> None:
    plan = PathPlan().write(tmp_path / "a.h5", "shower file").write(tmp_path / "a.h5", "hit file")
    with pytest.raises(OutputError, match=r"a.h5: named for both the shower file and the hit"):
        plan.check()


def test_the_plan_checks_folders_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "dir.h5").mkdir()
    (tmp_path / "file").write_text("")
    cases = [
        (tmp_path / "dir.h5", False, r"dir.h5: is a folder; expected a file name for the x"),
        (tmp_path / "file", True, r"file: expected a folder for the x, found a file"),
        (tmp_path / "file" / "a.h5", False, r"a.h5: cannot write the x: .*file is a file"),
    ]
    for out, folder, message in cases:
        with pytest.raises(OutputError, match=message):
            PathPlan().write(out, "x", folder=folder).check()
    # a folder that does not exist yet is fine: it will be made
    PathPlan().write(tmp_path / "new" / "deep" / "a.h5", "x").check()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_the_plan_refuses_a_folder_that_cannot_be_written(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match=r"the folder .*locked is not writable"):
            PathPlan().write(locked / "a.h5", "shower file").check()
    finally:
        locked.chmod(0o700)


def test_replacing_a_file_that_is_not_an_input_is_allowed_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = tmp_path / "old.h5"
    old.write_text("")
    with caplog.at_level(logging.WARNING, logger="fastcalogan"):
        PathPlan().write(old, "shower file").write(tmp_path / "new.h5", "hit file").check()
        PathPlan().write(old, "run's config", quiet=True).check()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"{old}: replacing the existing file (shower file)"]


def test_an_output_may_be_the_input_it_is_the_resolved_form_of(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("x: 1\n")
    plan = PathPlan().read(config, "config file")
    plan.write(config, "run's config", quiet=True, may_replace="config file").check()
    with pytest.raises(OutputError):
        PathPlan().read(config, "binning file").write(
            config, "run's config", may_replace="config file"
        ).check()


def test_free_space_is_checked_against_the_file_system(tmp_path: Path) -> None:
    check_free_space(tmp_path / "a" / "b.h5", 1000, "shower file")
    with pytest.raises(
        OutputError,
        match=r"b.h5: not enough free space for the shower file: about 1024.0 TiB needed "
        r"\(2 showers\), .* free on ",
    ):
        check_free_space(tmp_path / "a" / "b.h5", 2**50, "shower file", "2 showers")


def test_sizes_read_well() -> None:
    assert [_fileio.format_size(n) for n in (5, 2048, 3 * 2**30)] == ["5 B", "2.0 KiB", "3.0 GiB"]
