"""Ensembles: K GANs trained at once with stacked weights equal their separate trainings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from fastcalogan.data import write_showers
from fastcalogan.errors import CheckpointError, ConfigError, ModelError
from fastcalogan.geometry import Binning, write_geometry_yaml
from fastcalogan.train import (
    EnsembleMember,
    RunFolder,
    TrainConfig,
    TrainedGenerator,
    ensemble_members,
    list_checkpoints,
    load_checkpoint,
    train,
    train_ensemble,
)


@pytest.fixture
def slice_files(
    tmp_path: Path, tiny_binning: Binning, fabricate: Callable[..., tuple[Any, Any]]
) -> list[Path]:
    """Two |eta| slices of the tiny binning with different showers."""
    binning_path = tmp_path / "tiny-binning.yaml"
    write_geometry_yaml(tiny_binning, binning_path)
    files = []
    for k, eta in enumerate(((0.2, 0.25), (0.25, 0.3))):
        e, s = fabricate(tiny_binning, 32, seed=10 + k)
        attrs = {"particle": "photon", "eta_min": eta[0], "eta_max": eta[1]}
        attrs["binning"] = str(binning_path)
        files.append(write_showers(tmp_path / f"eta{k}.h5", e, s, attrs))
    return files


def _state(run: Path) -> dict[str, Any]:
    return load_checkpoint(list_checkpoints(run)[-1])


def _close(
    a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], skip: tuple[str, ...] = ()
) -> None:
    """Equal to float rounding: Adam divides by the gradient's root mean square, so an
    element whose gradient is near zero turns a rounding difference into a step of up to
    lr (1e-4) per iteration; nearly every element agrees to 1e-6 (relative 1e-5). ``skip``:
    tensors whose gradient is zero but for rounding (a bias before a batch norm, which
    subtracts it again, and the running mean that follows it), held to the bound alone."""
    assert a.keys() == b.keys()
    far, total = 0, 0
    for key in a:
        diff = (a[key].float() - b[key].float()).abs()
        assert float(diff.max()) <= 3e-4, key
        if key not in skip:
            loose = diff > 1e-6 + 1e-5 * b[key].float().abs()
            far, total = far + int(loose.sum()), total + diff.numel()
    assert far <= 0.05 * total, (far, total)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_each_member_equals_its_separate_training(
    tmp_path: Path,
    slice_files: list[Path],
    tiny_config: Callable[..., TrainConfig],
    batch_norm: bool,
) -> None:
    model = {"latent_dim": 4, "generator_hidden": [8, 6], "critic_hidden": [8, 0]}
    config = tiny_config(
        iterations=6,
        checkpoint_every=3,
        model={**model, "generator_batch_norm": batch_norm},
    )
    members = [
        EnsembleMember(slice_files[0], tmp_path / "ens" / "a", seed=5),
        EnsembleMember(slice_files[1], tmp_path / "ens" / "b", seed=5),
        EnsembleMember(slice_files[0], tmp_path / "ens" / "c", seed=8),
    ]
    result = train_ensemble(config, members)
    assert [r.last_iteration for r in result.runs] == [6, 6, 6]
    assert result.gan_iterations_per_s > 0
    for m in members:
        alone = tmp_path / "alone" / m.run_dir.name
        train(config.model_copy(update={"seed": m.seed}), m.data, alone)
        ens, ref = _state(m.run_dir), _state(alone)
        assert ens["iteration"] == ref["iteration"] == 6
        before_norm = (
            ("net.0.bias", "net.3.bias", "net.1.running_mean", "net.4.running_mean")
            if batch_norm
            else ()
        )
        _close(ens["generator"], ref["generator"], before_norm)
        _close(ens["objective"]["critic"], ref["objective"]["critic"])
        for opt in ("optimizer_generator", "optimizer_critic"):
            for p, state in ref["objective"][opt]["state"].items():
                other = ens["objective"][opt]["state"][p]
                assert float(other["step"]) == float(state["step"])
                scale = float(state["exp_avg"].abs().max())
                torch.testing.assert_close(
                    other["exp_avg"], state["exp_avg"], rtol=1e-3, atol=1e-3 * scale + 1e-8
                )
        # the same loss log, to float rounding; the same checkpoints and readable folders
        ens_rows = (m.run_dir / "losses.csv").read_text().splitlines()
        ref_rows = (alone / "losses.csv").read_text().splitlines()
        assert ens_rows[0] == ref_rows[0] and len(ens_rows) == len(ref_rows) == 7
        for a, b in zip(ens_rows[1:], ref_rows[1:], strict=True):
            va, vb = [float(x) for x in a.split(",")], [float(x) for x in b.split(",")]
            assert va == pytest.approx(vb, rel=1e-3, abs=1e-5)
        assert [p.name for p in list_checkpoints(m.run_dir)] == [
            p.name for p in list_checkpoints(alone)
        ]
        info = RunFolder.open(m.run_dir).info()
        assert info is not None and info.eta == (0.2, 0.25) if m.data == slice_files[0] else True
        TrainedGenerator.from_checkpoint(list_checkpoints(m.run_dir)[-1], device="cpu")


def test_killed_ensemble_resumes_bit_identical(
    tmp_path: Path, slice_files: list[Path], tiny_config: Callable[..., TrainConfig]
) -> None:
    config = tiny_config(iterations=6, checkpoint_every=2)

    def members(root: str) -> list[EnsembleMember]:
        return [EnsembleMember(f, tmp_path / root / f.stem) for f in slice_files]

    train_ensemble(config, members("whole"))
    train_ensemble(config.model_copy(update={"iterations": 4}), members("split"))
    train_ensemble(config, members("split"))
    for f in slice_files:
        a, b = _state(tmp_path / "whole" / f.stem), _state(tmp_path / "split" / f.stem)
        for key, value in a["generator"].items():
            assert torch.equal(value, b["generator"][key]), key
        assert (tmp_path / "whole" / f.stem / "losses.csv").read_text() == (
            tmp_path / "split" / f.stem / "losses.csv"
        ).read_text()


def test_members_must_match(
    tmp_path: Path,
    slice_files: list[Path],
    tiny_file: Path,
    tiny_config: Callable[..., TrainConfig],
) -> None:
    config = tiny_config(iterations=2)
    with pytest.raises(ConfigError, match="own run folders"):
        train_ensemble(config, [EnsembleMember(f, tmp_path / "same") for f in slice_files])
    with pytest.raises(ConfigError, match="relu activations and no spectral"):
        train_ensemble(
            tiny_config(preset="caloshowergan-photon", iterations=2),
            [EnsembleMember(slice_files[0], tmp_path / "p")],
        )
    with pytest.raises(ConfigError, match="family wgan-gp-mlp"):
        train_ensemble(
            tiny_config(family="vae-mlp", iterations=2),
            [EnsembleMember(slice_files[0], tmp_path / "v")],
        )
    # members at different iterations
    train(config, slice_files[0], tmp_path / "m0")
    with pytest.raises(CheckpointError, match="different iterations"):
        train_ensemble(
            config.model_copy(update={"iterations": 4}),
            [
                EnsembleMember(slice_files[0], tmp_path / "m0"),
                EnsembleMember(tiny_file, tmp_path / "m1"),
            ],
        )


def test_members_of_different_shapes_are_refused(
    tmp_path: Path,
    slice_files: list[Path],
    tiny_config: Callable[..., TrainConfig],
    fabricate: Callable[..., tuple[Any, Any]],
) -> None:
    other = Binning.from_layers("wide", "photon", (0.2, 0.25), [(0, [0, 10, 20, 50, 100, 200], 1)])
    path = tmp_path / "wide.yaml"
    write_geometry_yaml(other, path)
    e, s = fabricate(other, 16, seed=1)
    wide = write_showers(tmp_path / "wide.h5", e, s, {"particle": "photon", "binning": str(path)})
    with pytest.raises(ModelError, match="another architecture or data shape"):
        train_ensemble(
            tiny_config(iterations=2),
            [EnsembleMember(slice_files[0], tmp_path / "a"), EnsembleMember(wide, tmp_path / "b")],
        )


def test_member_folders() -> None:
    one = ensemble_members(["d/a.h5"], "runs/x")
    assert one == [EnsembleMember(Path("d/a.h5"), Path("runs/x"), None)]
    two = ensemble_members(["d/a.h5", "e/b.h5"], "runs/x", seeds=[1, 2])
    assert [(m.run_dir.as_posix(), m.seed) for m in two] == [
        ("runs/x/a-seed1", 1),
        ("runs/x/a-seed2", 2),
        ("runs/x/b-seed1", 1),
        ("runs/x/b-seed2", 2),
    ]
    seeds = ensemble_members(["d/a.h5"], "runs/x", seeds=[3, 4])
    assert [m.run_dir.as_posix() for m in seeds] == ["runs/x/seed3", "runs/x/seed4"]
    with pytest.raises(ConfigError, match="repeated names"):
        ensemble_members(["d/a.h5", "e/a.h5"], "runs/x")


def test_cli_trains_an_ensemble(
    tmp_path: Path, slice_files: list[Path], tiny_config: Callable[..., TrainConfig]
) -> None:
    from click.testing import CliRunner

    from fastcalogan.cli import cli

    config = tmp_path / "train.yaml"
    settings = tiny_config(iterations=2).model_dump(mode="json", exclude_defaults=True)
    config.write_text(json.dumps(settings))
    args = ["train", str(config), "-o", str(tmp_path / "runs")]
    data = [a for f in slice_files for a in ("--data", str(f))]
    result = CliRunner().invoke(cli, [*args, *data, "--seeds", "1,2"])
    assert result.exit_code == 0, result.output
    assert "trained 4 GANs to iteration 2" in result.output
    for name in ("eta0-seed1", "eta0-seed2", "eta1-seed1", "eta1-seed2"):
        state = _state(tmp_path / "runs" / name)
        assert state["iteration"] == 2 and state["train_config"]["seed"] == int(name[-1])
    result = CliRunner().invoke(cli, [*args, *data, "--seeds", "1,x"])
    assert result.exit_code == 2 and "--seeds: expected comma-separated integers" in result.output
