"""A full disk under an HDF5 writer: one OSError naming the output, nothing half-written, the
previous file intact, and no crash of the HDF5 library (which died with SIGSEGV/SIGBUS)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fastcalogan.data import (
    HitShowers,
    ShowerWriter,
    open_layout_writer,
    read_showers,
    write_hits,
    write_showers,
)
from fastcalogan.geometry import load_geometry


def _showers(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    return np.full(n, 1024.0), g.random((n, 368), dtype=np.float32)


def test_a_full_disk_is_one_error_naming_the_output(tmp_path: Path, disk_of: Any) -> None:
    out = tmp_path / "showers.h5"
    e, s = _showers(50)
    write_showers(out, e, s)
    before = out.read_bytes()
    disk_of(20_000)
    with pytest.raises(OSError, match="No space left on device") as info:
        write_showers(out, *_showers(2000, seed=1))
    assert info.value.filename == str(out) and info.value.errno == errno.ENOSPC
    assert out.read_bytes() == before  # the previous file, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["showers.h5"]  # no temporary file


def test_a_streamed_file_stops_at_the_first_refused_block(tmp_path: Path, disk_of: Any) -> None:
    disk_of(200_000)
    out = tmp_path / "streamed.h5"
    blocks = 0
    with pytest.raises(OSError) as info, ShowerWriter(out, 368, chunk_events=100) as writer:
        for seed in range(100):
            writer.append(*_showers(500, seed))
            blocks += 1
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(out)
    assert 0 < blocks < 100 and not out.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize("layout", ["calogan", "lhcb", "atlas-cells"])
def test_layout_writers_stop_at_the_first_refused_block(
    tmp_path: Path, disk_of: Any, layout: str
) -> None:
    geometry = load_geometry("lhcb-ecal" if layout == "lhcb" else layout)
    g = np.random.default_rng(0)
    n = 400
    e = np.full(n, 4000.0)
    conditions = {
        "lhcb": np.stack([np.zeros(n), np.zeros(n), e, np.zeros(n), np.zeros(n)], axis=1),
        "atlas-cells": np.zeros((n, 2), dtype=int),
    }.get(layout)
    disk_of(300_000)
    out = tmp_path / f"{layout}.h5"
    blocks = 0
    with pytest.raises(OSError) as info:
        with open_layout_writer(layout, out, geometry) as writer:
            for _ in range(100):
                writer.append(e, g.random((n, geometry.n_voxels), dtype=np.float32), conditions)
                blocks += 1
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(out)
    assert 0 < blocks < 100 and os.listdir(tmp_path) == []


def test_hit_files_too(tmp_path: Path, disk_of: Any) -> None:
    disk_of(5_000)
    g = np.random.default_rng(0)
    hits = HitShowers.from_event_ids(
        np.full(100, 1024.0),
        np.repeat(np.arange(100), 50),
        g.random(5000) * 10,
        g.uniform(-3, 3, 5000),
        np.full(5000, 2),
        g.random(5000),
    )
    with pytest.raises(OSError, match="No space left on device") as info:
        write_hits(tmp_path / "hits.h5", hits)
    assert info.value.filename == str(tmp_path / "hits.h5") and os.listdir(tmp_path) == []


def test_an_intact_write_reads_back_as_written(tmp_path: Path) -> None:
    e, s = _showers(300)
    back = read_showers(write_showers(tmp_path / "a.h5", e, s))
    np.testing.assert_array_equal(back.showers, s)


def _tmpfs_available() -> str | None:
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return "needs Linux and unshare(1) to mount a small tmpfs"
    probe = subprocess.run(
        [unshare, "-rm", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt || exit 3"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return "unprivileged mount namespaces are not available here"
    return None


_ON_A_FULL_TMPFS = """
import errno, os, sys
import numpy as np
from fastcalogan.data import ShowerWriter

d = sys.argv[1]
out = os.path.join(d, "big.h5")
g = np.random.default_rng(0)
try:
    with ShowerWriter(out, 368) as w:
        for _ in range(50):
            w.append(np.full(1000, 1024.0), g.random((1000, 368), dtype=np.float32))
except OSError as err:
    print("writer:", err.errno == errno.ENOSPC, err.filename == out)
print("left:", sorted(os.listdir(d)))
"""


def test_a_real_full_file_system(tmp_path: Path) -> None:
    """A 256 KiB tmpfs in a private mount namespace: the HDF5 writer fills it and survives."""
    reason = _tmpfs_available()
    if reason:
        pytest.skip(reason)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = tmp_path / "full.py"
    script.write_text(textwrap.dedent(_ON_A_FULL_TMPFS))
    cmd = f"mount -t tmpfs -o size=256k none {mnt} && exec {sys.executable} {script} {mnt}"
    res = subprocess.run(
        ["unshare", "-rm", "sh", "-c", cmd], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr  # not 139 (SIGSEGV) or 135 (SIGBUS)
    lines = res.stdout.splitlines()
    assert lines == ["writer: True True", "left: []"], res.stdout
