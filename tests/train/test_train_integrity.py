"""Checkpoints that are damaged, diverged or cannot fit: named in one line, never used.

Flipped bytes and truncated files are caught by the checksum every checkpoint carries; resume
falls back to the newest good checkpoint (and stays bit-identical); a training that diverges
stops with the last good checkpoint kept; runs that cannot fit on the disk or in memory are
refused before any work.
"""

from __future__ import annotations

import logging
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.errors import CheckpointError, ConfigError, ModelError, OutputError
from fastcalogan.geometry import Binning, write_geometry_yaml
from fastcalogan.models.wgan_gp_mlp import WganGpObjective
from fastcalogan.train import (
    TrainConfig,
    TrainedGenerator,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    train,
)
from fastcalogan.train import checkpoint as checkpoint_module
from fastcalogan.train import loop as loop_module


def flip_a_weight(path: Path) -> None:
    """Flip bits in the high byte of a float of the largest tensor record (torch does not check
    the zip's CRC: the file still loads, with a weight of order 1e37)."""
    with zipfile.ZipFile(path) as z:
        record = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack(
        "<HH", data[record.header_offset + 26 : record.header_offset + 30]
    )
    data[record.header_offset + 30 + name_len + extra_len + 3] ^= 0x7F
    path.write_bytes(bytes(data))


@pytest.fixture
def run(tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]) -> Path:
    train(tiny_config(iterations=4, checkpoint_every=2), tiny_file, tmp_path / "run")
    return tmp_path / "run"


def test_flipped_bytes_are_named(run: Path) -> None:
    path = checkpoint_path(run, 4)
    torch.load(path, weights_only=True)  # readable before
    flip_a_weight(path)
    state = torch.load(path, weights_only=True)  # still readable: torch does not notice
    assert state["format"] == "fastcalogan-checkpoint-3"
    with pytest.raises(
        CheckpointError,
        match=r"ckpt-00000004.pt: corrupt checkpoint: its contents do not match its checksum",
    ):
        load_checkpoint(path)


def test_generate_refuses_a_damaged_checkpoint_and_select_skips_it(
    run: Path, tiny_file: Path, tmp_path: Path
) -> None:
    flip_a_weight(checkpoint_path(run, 4))
    out = tmp_path / "gen.h5"
    res = CliRunner().invoke(cli, ["generate", str(run), "--energies", "1024", "-o", str(out)])
    assert res.exit_code == 2 and not out.exists()
    assert res.output.strip() == (
        f"error: {checkpoint_path(run, 4)}: corrupt checkpoint: its contents do not match its "
        + res.output.split("do not match its ", 1)[1].strip()
    )
    res = CliRunner().invoke(cli, ["select", str(run), "--set", "events_per_point=20"])
    assert res.exit_code == 0, res.output
    assert "skipped 1 damaged checkpoint(s): ckpt-00000004.pt" in res.output
    table = (run / "selection" / "chi2.json").read_text()
    assert '"checkpoint": "checkpoints/ckpt-00000004.pt"' in table and "corrupt checkpoint" in table
    # the selection chose among the readable ones, and generation then works
    assert (
        '"checkpoint": "checkpoints/ckpt-00000002.pt"'
        in (run / "selection" / "best.json").read_text()
    )
    res = CliRunner().invoke(
        cli, ["generate", str(run), "--energies", "1024", "-n", "5", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output


def test_resume_falls_back_to_the_newest_good_checkpoint_and_stays_bit_identical(
    tmp_path: Path,
    tiny_file: Path,
    tiny_config: Callable[..., TrainConfig],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = tiny_config(iterations=6, checkpoint_every=2)
    straight = train(config, tiny_file, tmp_path / "straight")
    broken = tmp_path / "broken"
    train(tiny_config(iterations=4, checkpoint_every=2), tiny_file, broken)
    last = checkpoint_path(broken, 4)
    last.write_bytes(last.read_bytes()[:1000])  # a checkpoint cut short
    with caplog.at_level(logging.WARNING, logger="fastcalogan"):
        resumed = train(config, tiny_file, broken)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and said[0].startswith(f"{last}: cannot read checkpoint (truncated")
    assert said[0].endswith(
        "resuming from ckpt-00000002.pt (iteration 2) instead, the damaged file is kept as "
        "ckpt-00000004.pt.corrupt"
    )
    assert (broken / "checkpoints" / "ckpt-00000004.pt.corrupt").exists()
    assert [p.name for p in resumed.checkpoints] == [p.name for p in straight.checkpoints]
    a, b = load_checkpoint(straight.checkpoints[-1]), load_checkpoint(resumed.checkpoints[-1])
    for key in a["generator"]:
        assert torch.equal(a["generator"][key], b["generator"][key]), key
    rows = (broken / "losses.csv").read_text().splitlines()
    assert rows == (tmp_path / "straight" / "losses.csv").read_text().splitlines()


def test_a_folder_without_any_readable_checkpoint_is_one_error(
    run: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    for path in list_checkpoints(run):
        path.write_bytes(b"")
    with pytest.raises(
        CheckpointError, match=r"checkpoints: no readable checkpoint to resume from \(2 damaged"
    ):
        train(tiny_config(iterations=6, checkpoint_every=2), tiny_file, run)
    assert len(list_checkpoints(run)) == 2  # nothing moved when nothing can be resumed


def test_checkpoints_without_a_checksum_still_load_with_a_note(
    run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = load_checkpoint(checkpoint_path(run, 4))
    old_dir = tmp_path / "old" / "checkpoints"
    old_dir.mkdir(parents=True)
    torch.save({**state, "format": "fastcalogan-checkpoint-2"}, old_dir / "ckpt-00000004.pt")
    with caplog.at_level(logging.WARNING, logger="fastcalogan"):
        back = load_checkpoint(old_dir / "ckpt-00000004.pt")
        load_checkpoint(old_dir / "ckpt-00000004.pt")
    assert back["iteration"] == 4 and TrainedGenerator.from_checkpoint(back, "cpu").iteration == 4
    notes = [r.getMessage() for r in caplog.records]
    assert notes == [
        f"{old_dir}: checkpoints of format 2 carry no checksum; they are read unverified "
        "(checkpoints written from now on carry one)"
    ]


def test_weights_that_are_not_finite_are_refused(run: Path, tmp_path: Path) -> None:
    state = load_checkpoint(checkpoint_path(run, 4))
    state["generator"]["net.0.weight"][0, 0] = float("nan")
    torch.save({**state, "format": "fastcalogan-checkpoint-2"}, tmp_path / "nan.pt")
    with pytest.raises(
        CheckpointError,
        match=r"nan.pt: the weights hold NaN or inf \(first in generator.net.0.weight\)",
    ):
        load_checkpoint(tmp_path / "nan.pt")
    # the content checksum covers what makes a checkpoint: a re-signed NaN is still refused
    signed = {**state, "format": "fastcalogan-checkpoint-3"}
    signed["checksum"] = checkpoint_module.content_digest(signed)
    torch.save(signed, tmp_path / "nan3.pt")
    with pytest.raises(CheckpointError, match="NaN or inf"):
        load_checkpoint(tmp_path / "nan3.pt")


def test_a_diverging_training_stops_and_keeps_the_last_good_checkpoint(
    run: Path,
    tiny_file: Path,
    tiny_config: Callable[..., TrainConfig],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The weights turn NaN at iteration 5 (as a too large learning rate makes them)."""
    before = checkpoint_path(run, 4).read_bytes()
    step = WganGpObjective.step

    def diverging(self: WganGpObjective, *args: object) -> object:
        losses = step(self, *args)  # type: ignore[arg-type]
        with torch.no_grad():
            for p in self.sampler.parameters():
                p.fill_(float("nan"))
        return losses

    monkeypatch.setattr(WganGpObjective, "step", diverging)
    with pytest.raises(ModelError) as info:
        train(tiny_config(iterations=8, checkpoint_every=2), tiny_file, run)
    message = str(info.value)
    assert message.startswith(f"{run}: training diverged at iteration 6: the losses are not finite")
    assert message.endswith(
        f"(lr 0.0001: try a smaller learning rate); the last good checkpoint is "
        f"{checkpoint_path(run, 4)}"
    )
    assert [p.name for p in list_checkpoints(run)] == ["ckpt-00000002.pt", "ckpt-00000004.pt"]
    assert checkpoint_path(run, 4).read_bytes() == before
    assert "nan" not in (run / "losses.csv").read_text()


def test_a_learning_rate_that_diverges_at_once_leaves_no_folder(
    tmp_path: Path, tiny_file: Path
) -> None:
    """The issue's case: ``lr: 1e300`` trained to NaN, exited 0 and wrote NaN checkpoints."""
    config = tmp_path / "t.yaml"
    config.write_text(
        "model: {latent_dim: 4, generator_hidden: [8], critic_hidden: [8]}\n"
        "n_critic: 2\nbatch_size: 16\ncheckpoint_every: 2\nlog_every: 1\ndevice: cpu\n"
        "iterations: 8\nlr: 1.0e+300\n"
    )
    run = tmp_path / "run"
    res = CliRunner().invoke(cli, ["train", str(config), "--data", str(tiny_file), "-o", str(run)])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and " training diverged at iteration " in lines[0]
    assert lines[0].endswith(
        "(lr 1e+300: try a smaller learning rate); no checkpoint was written before"
    )
    assert not run.exists()


def test_iterations_beyond_the_disk_are_refused_before_any_work(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    config = tiny_config(iterations=10**23, checkpoint_every=1000)
    with pytest.raises(
        OutputError,
        match=r"run/checkpoints: not enough free space for the checkpoints: about .* needed "
        r"\(100000000000000000000 checkpoints of .* up to iteration 100000000000000000000000 "
        r"\(checkpoint_every 1000\); fewer iterations or a larger checkpoint_every need less\)",
    ):
        train(config, tiny_file, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_batch_larger_than_the_sample_is_refused(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    with pytest.raises(
        ConfigError,
        match=r"batch_size: 1000000000 is larger than the 128 training events of .*tiny.h5; "
        r"use at most 128",
    ):
        train(tiny_config(batch_size=10**9), tiny_file, tmp_path / "run")
    with pytest.raises(
        ConfigError, match=r"training events with incident energy in \(1024.0, 2048.0\) MeV"
    ):
        train(tiny_config(batch_size=100, energy_range=(1024, 2048)), tiny_file, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_batch_beyond_the_memory_is_refused(
    tmp_path: Path,
    tiny_file: Path,
    tiny_config: Callable[..., TrainConfig],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loop_module, "_available_memory", lambda device: 100_000)
    with pytest.raises(
        ConfigError,
        match=r"batch_size: 64 needs about .* of memory per training step \(.* per shower\); "
        r"97.7 KiB is available on cpu; use at most \d+",
    ):
        train(tiny_config(batch_size=64), tiny_file, tmp_path / "run")
    assert loop_module._available_memory(torch.device("cpu")) is not None


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (
            {"eta": (1.5, 2.0)},
            r"is for \|eta\| 1.50-2.00, but the showers are at \|eta\| 0.20-0.25",
        ),
        ({"particle": "pion"}, r"is for pion \(hadron showers\), but the showers are photon"),
    ],
)
def test_a_binning_for_other_showers_is_refused_unless_allowed(
    tmp_path: Path,
    tiny_file: Path,
    tiny_binning: Binning,
    tiny_config: Callable[..., TrainConfig],
    labels: dict[str, object],
    message: str,
) -> None:
    other = write_geometry_yaml(tiny_binning.relabel(**labels), tmp_path / "other.yaml")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=f"binning: {other} {message}.*allow_geometry_mismatch"):
        train(tiny_config(binning=str(other)), tiny_file, tmp_path / "run")
    result = train(
        tiny_config(binning=str(other), allow_geometry_mismatch=True, iterations=2),
        tiny_file,
        tmp_path / "run",
    )
    assert result.last_iteration == 2
