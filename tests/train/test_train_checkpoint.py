from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from fastcalogan.errors import CheckpointError
from fastcalogan.train import (
    TrainConfig,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
    train,
)
from fastcalogan.train.checkpoint import REQUIRED_KEYS


@pytest.fixture
def run(tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]) -> Path:
    train(tiny_config(iterations=4, checkpoint_every=2), tiny_file, tmp_path / "run")
    return tmp_path / "run"


def test_checkpoints_are_self_describing(run: Path) -> None:
    paths = list_checkpoints(run)
    assert [p.name for p in paths] == ["ckpt-00000002.pt", "ckpt-00000004.pt"]
    state = load_checkpoint(paths[-1])
    assert set(REQUIRED_KEYS) <= set(state)
    assert state["iteration"] == 4
    assert state["particle"] == "photon" and state["eta"] == [0.2, 0.25]
    assert state["energy_range"] == [1024.0, 8192.0]
    assert state["binning_name"] == "tiny" and len(state["binning"]["layers"]) == 3
    assert (
        state["train_config"]["batch_size"] == 16
        and state["train_config"]["preset"] == "fastcalogan"
    )
    assert state["model_config"]["latent_dim"] == 4
    assert set(state["rng"]) == {"torch", "numpy", "python"}
    assert isinstance(state["generator"]["net.0.weight"], torch.Tensor)
    assert (run / "config.yaml").is_file() and (run / "preprocess.json").is_file()
    assert (run / "binning.yaml").is_file() and (run / "train.log").is_file()
    rows = (run / "losses.csv").read_text().splitlines()
    assert rows[0].startswith("iteration,critic_loss,generator_loss")
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]


def test_crash_during_save_keeps_the_previous_checkpoint(
    run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = checkpoint_path(run, 4)
    before = target.read_bytes()
    state = load_checkpoint(target)

    def crashing_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        Path(f).write_bytes(before[: len(before) // 3])  # a partial write, then the crash
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(target, {**state, "iteration": 99})
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "ckpt-00000002.pt",
        "ckpt-00000004.pt",
    ]


def test_truncated_and_foreign_files_are_named(run: Path, tmp_path: Path) -> None:
    data = checkpoint_path(run, 4).read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut.pt: cannot read checkpoint \(truncated"):
        load_checkpoint(cut)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match=r"foreign\.pt: not a fastcalogan checkpoint"):
        load_checkpoint(foreign)
    text = tmp_path / "text.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match=r"text\.pt: cannot read checkpoint"):
        load_checkpoint(text)
    with pytest.raises(CheckpointError, match=r"absent\.pt: no such checkpoint"):
        load_checkpoint(tmp_path / "absent.pt")
    with pytest.raises(CheckpointError, match="lacks"):
        save_checkpoint(tmp_path / "x.pt", {"format": "x"})


def test_list_ignores_temporary_and_foreign_names(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for name in ("ckpt-00000010.pt", "ckpt-00000002.pt", ".ckpt-00000012.pt.abc.tmp", "notes.txt"):
        (folder / name).write_text("")
    assert [p.name for p in list_checkpoints(tmp_path)] == ["ckpt-00000002.pt", "ckpt-00000010.pt"]
    assert list_checkpoints(tmp_path / "nothing") == []


@pytest.mark.parametrize(
    ("preset", "columns", "objective"),
    [
        (
            "fastcalogan",
            "critic_loss,generator_loss,gradient_penalty,wasserstein",
            {"critic", "optimizer_generator", "optimizer_critic"},
        ),
        ("vae-mlp", "loss,reconstruction,kl", {"encoder", "optimizer"}),
    ],
)
def test_checkpoints_store_the_family(
    tmp_path: Path,
    tiny_file: Path,
    tiny_config: Callable[..., TrainConfig],
    preset: str,
    columns: str,
    objective: set[str],
) -> None:
    result = train(tiny_config(preset=preset, iterations=2), tiny_file, tmp_path / "run")
    state = load_checkpoint(result.checkpoints[-1])
    assert state["format"] == "fastcalogan-checkpoint-2"
    assert state["family"] == state["train_config"]["family"] == tiny_config(preset=preset).family
    assert set(state["objective"]) == objective
    assert state["model_shape"]["n_conditions"] == 1
    assert state["model_shape"]["layer_shapes"] == [[1, 4], [2, 4], [1, 4]]
    header = (tmp_path / "run" / "losses.csv").read_text().splitlines()[0]
    assert header == f"iteration,{columns},active_points"
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["family"] == state["family"]


def test_a_checkpoint_before_model_families_reads_as_the_mlp_wgan(
    run: Path, tmp_path: Path
) -> None:
    """Format 1 held the critic and optimiser states at the top level and no family."""
    state = load_checkpoint(list_checkpoints(run)[-1])
    old = {k: v for k, v in state.items() if k not in ("family", "objective")}
    old.update(state["objective"], format="fastcalogan-checkpoint-1")
    old["train_config"] = {k: v for k, v in state["train_config"].items() if k != "family"}
    torch.save(old, tmp_path / "old.pt")
    back = load_checkpoint(tmp_path / "old.pt")
    assert back["family"] == back["train_config"]["family"] == "wgan-gp-mlp"
    assert back["format"] == state["format"]
    assert set(back["objective"]) == set(state["objective"])
    assert torch.equal(
        back["objective"]["critic"]["net.0.weight"], state["objective"]["critic"]["net.0.weight"]
    )
    torch.save({**old, "format": "fastcalogan-checkpoint-0"}, tmp_path / "older.pt")
    with pytest.raises(
        CheckpointError,
        match=r"older\.pt: not a fastcalogan checkpoint \(expected format .* found 'fastcalogan-checkpoint-0'\)",
    ):
        load_checkpoint(tmp_path / "older.pt")


def test_a_checkpoint_of_an_unknown_family_is_one_error(run: Path) -> None:
    from fastcalogan.train import TrainedGenerator

    state = load_checkpoint(list_checkpoints(run)[-1])
    with pytest.raises(
        CheckpointError,
        match=r"<checkpoint>: unknown model family 'flow-x' \(registered: wgan-gp-mlp, vae-mlp, flow-gan\); a newer fastcalogan may read it",
    ):
        TrainedGenerator.from_checkpoint({**state, "family": "flow-x"}, "cpu")
