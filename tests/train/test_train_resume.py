from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from fastcalogan.errors import CheckpointError
from fastcalogan.train import TrainConfig, list_checkpoints, load_checkpoint, train


class _Kill(Exception):
    """Stands in for a SIGKILL in the middle of training."""


def _kill_at(iteration: int) -> Callable[..., None]:
    def progress(done: int, total: int, status: str = "") -> None:
        if done == iteration:
            raise _Kill

    return progress


def _assert_equal(a: Any, b: Any, where: str) -> None:
    """Bit-identical nested states: tensors by ``torch.equal``, containers item by item."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), f"{where} differs"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f"{where}: keys differ"
        for key in a:
            _assert_equal(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_equal(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _assert_same_state(a: Path, b: Path) -> None:
    """Every network's weights, every optimiser state and the RNG states are identical."""
    sa, sb = load_checkpoint(a), load_checkpoint(b)
    assert sa["generator"] and sa["objective"]
    for key in ("generator", "objective"):
        _assert_equal(sa[key], sb[key], key)
    assert torch.equal(sa["rng"]["torch"], sb["rng"]["torch"])
    assert sa["rng"]["numpy"] == sb["rng"]["numpy"]


@pytest.mark.parametrize(
    "preset",
    ["fastcalogan", "caloshowergan-photon", "vae-mlp", "atlas18-vae", "atlas18-wgan"],
    ids=["fcg", "csg-batchnorm-spectral", "vae", "atlas18-vae", "atlas18-wgan"],
)
def test_killed_and_resumed_run_ends_bit_identical(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig], preset: str
) -> None:
    config = tiny_config(preset=preset, iterations=9, checkpoint_every=3, injection_every=2)
    whole = train(config, tiny_file, tmp_path / "whole")
    assert whole.last_iteration == 9

    # killed mid-way between checkpoints (after 7 of 9), then the same command again
    with pytest.raises(_Kill):
        train(config, tiny_file, tmp_path / "killed", progress=_kill_at(7))
    assert [p.name for p in list_checkpoints(tmp_path / "killed")][-1] == "ckpt-00000006.pt"
    rows = (tmp_path / "killed" / "losses.csv").read_text().splitlines()
    assert rows[-1].split(",")[0] == "6"
    resumed = train(config, tiny_file, tmp_path / "killed")
    assert resumed.last_iteration == 9
    _assert_same_state(whole.checkpoints[-1], resumed.checkpoints[-1])
    assert (tmp_path / "whole" / "losses.csv").read_text() == (
        tmp_path / "killed" / "losses.csv"
    ).read_text()


@pytest.mark.parametrize("preset", ["fastcalogan", "vae-mlp", "fast-photon"])
def test_half_then_extended_run_matches(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig], preset: str
) -> None:
    def config(iterations: int) -> TrainConfig:
        return tiny_config(preset=preset, iterations=iterations, checkpoint_every=3)

    whole = train(config(8), tiny_file, tmp_path / "a")
    train(config(4), tiny_file, tmp_path / "b")
    more = train(config(8), tiny_file, tmp_path / "b")
    _assert_same_state(whole.checkpoints[-1], more.checkpoints[-1])
    again = train(config(8), tiny_file, tmp_path / "b")
    assert again.iterations_per_s == 0.0 and again.last_iteration == 8


def test_conflicting_architecture_on_resume_is_an_error(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    train(tiny_config(iterations=2), tiny_file, tmp_path / "run")
    other = tiny_config(iterations=4, model={"latent_dim": 6, "generator_hidden": [8]})
    with pytest.raises(
        CheckpointError,
        match=r"ckpt-00000002.pt: config field 'model.critic_hidden' is \[0, 0, 0\] but the run was "
        r"started with \[8\] \(also model.latent_dim\); use a new run folder",
    ):
        train(other, tiny_file, tmp_path / "run")
    with pytest.raises(CheckpointError, match="config field 'preset'"):
        train(tiny_config(iterations=4, preset="caloshowergan-pion"), tiny_file, tmp_path / "run")
    with pytest.raises(CheckpointError, match="config field 'family' is 'vae-mlp' but the run"):
        train(tiny_config(iterations=4, preset="vae-mlp"), tiny_file, tmp_path / "run")
