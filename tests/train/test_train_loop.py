from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

import fastcalogan.train as tr
from fastcalogan._config import load, parse
from fastcalogan.data import DS1_ENERGIES, write_showers
from fastcalogan.errors import BinningError, ConfigError, DataFormatError
from fastcalogan.geometry import Binning, write_geometry_yaml
from fastcalogan.models import get_family
from fastcalogan.train import (
    PHOTON_SPLIT_RANGES,
    TrainConfig,
    TrainedGenerator,
    list_checkpoints,
    load_checkpoint,
    train,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_public_api_is_pinned() -> None:
    assert {
        "TrainConfig",
        "TrainResult",
        "train",
        "injection_schedule",
        "save_checkpoint",
        "load_checkpoint",
        "list_checkpoints",
        "TrainedGenerator",
    } <= set(tr.__all__)


def test_recipes_fill_unset_fields() -> None:
    fcg = TrainConfig().resolved()
    assert (fcg.batch_size, fcg.n_critic, fcg.gp_lambda, fcg.injection) == (128, 5, 10.0, True)
    assert fcg.preprocess is not None and fcg.preprocess.kind == "fastcalogan"
    photon = TrainConfig(preset="caloshowergan-photon").resolved()
    assert (photon.batch_size, photon.n_critic, photon.gp_lambda) == (1024, 8, 3.0)
    assert photon.preprocess is not None and photon.preprocess.layer_norm
    pion = TrainConfig(preset="caloshowergan-pion", batch_size=64).resolved()
    assert (pion.batch_size, pion.n_critic, pion.gp_lambda) == (64, 5, 20.0)
    assert pion.model["latent_dim"] == 200 and pion.injection is False
    assert (fcg.lr, fcg.beta1, fcg.beta2) == (1e-4, 0.5, 0.999)
    wgan = {p.name for p in get_family("wgan-gp-mlp").presets}
    assert wgan == {"fastcalogan", "caloshowergan-photon", "caloshowergan-pion"}


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"t.yaml: preset: Input should be 'fastcalogan'"):
        parse({"preset": "gan"}, TrainConfig, "t.yaml")
    with pytest.raises(ConfigError, match=r"unknown model field\(s\) \['latent'\]"):
        parse({"model": {"latent": 3}}, TrainConfig, "t.yaml")
    with pytest.raises(ConfigError, match=r"t\.yaml: iterations"):
        parse({"iterations": 0}, TrainConfig, "t.yaml")
    with pytest.raises(ConfigError, match=r"unknown key 'iteration' .*did you mean 'iterations'"):
        parse({"iteration": 3}, TrainConfig, "t.yaml")


@pytest.mark.parametrize(
    "name",
    [
        "train-fastcalogan.yaml",
        "train-caloshowergan-photon.yaml",
        "train-caloshowergan-pion.yaml",
        "train-vae-mlp.yaml",
        "train-atlas18-vae.yaml",
        "train-atlas18-wgan.yaml",
    ],
)
def test_example_configs_load(name: str) -> None:
    config = load(CONFIGS / name, TrainConfig).resolved()
    assert config.preset == name.removeprefix("train-").removesuffix(".yaml")


@pytest.mark.parametrize(
    ("preset", "status"), [("fastcalogan", "D "), ("vae-mlp", "loss "), ("fast-photon", "NLL ")]
)
def test_run_folder_contents(
    tmp_path: Path,
    tiny_file: Path,
    tiny_config: Callable[..., TrainConfig],
    preset: str,
    status: str,
) -> None:
    seen: list[tuple[int, int, str]] = []
    result = train(
        tiny_config(preset=preset, iterations=3, checkpoint_every=2),
        tiny_file,
        tmp_path / "run",
        progress=lambda d, t, status="": seen.append((d, t, status)),
    )
    assert result.last_iteration == 3 and result.iterations_per_s > 0
    assert [p.name for p in result.checkpoints] == ["ckpt-00000002.pt", "ckpt-00000003.pt"]
    assert [s[:2] for s in seen] == [(1, 3), (2, 3), (3, 3)] and seen[0][2].startswith(status)
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["batch_size"] == 16 and saved["data"] == str(tiny_file.resolve())
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["energy_points"] == [8192.0, 4096.0, 2048.0, 1024.0]
    assert f"training {preset}" in (tmp_path / "run" / "train.log").read_text()


def test_injection_limits_the_training_points(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    train(tiny_config(iterations=5, injection_every=2), tiny_file, tmp_path / "run")
    rows = (tmp_path / "run" / "losses.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[-1]) for r in rows] == [1, 1, 2, 2, 3]


@pytest.mark.parametrize("preset", ["caloshowergan-pion", "vae-mlp", "fast-photon"])
def test_trained_generator_round_trip(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig], preset: str
) -> None:
    result = train(tiny_config(preset=preset, iterations=2), tiny_file, tmp_path / "run")
    model = TrainedGenerator.from_checkpoint(result.checkpoints[-1], "cpu")
    assert model.family == tiny_config(preset=preset).family
    assert model.iteration == 2 and model.energy_range == (1024.0, 8192.0)
    assert not model.generator.training
    import torch

    showers = model.sample([1024.0, 8192.0, 4096.0], torch.Generator().manual_seed(0), 2)
    assert showers.shape == (3, 16) and (showers >= 0).all()
    # layer-normalised output: the total over E_inc is a ReLU node, the rest softmaxes
    assert np.isfinite(showers).all()


@pytest.mark.parametrize("preset", ["fastcalogan", "vae-mlp"])
def test_split3_trains_three_ranges(
    tmp_path: Path,
    tiny_binning: Binning,
    tiny_config: Callable[..., TrainConfig],
    fabricate: Callable[..., tuple[np.ndarray, np.ndarray]],
    preset: str,
) -> None:
    binning_path = tmp_path / "b.yaml"
    write_geometry_yaml(tiny_binning, binning_path)
    e, s = fabricate(tiny_binning, 4, seed=1, energies=tuple(DS1_ENERGIES))
    data = write_showers(tmp_path / "all.h5", e, s, {"binning": str(binning_path)})
    config = tiny_config(preset=preset, iterations=2, energy_ranges="split3")
    result = train(config, data, tmp_path / "split")
    assert len(result.checkpoints) == 3
    for k, (lo, hi) in enumerate(PHOTON_SPLIT_RANGES):
        state = load_checkpoint(list_checkpoints(tmp_path / "split" / f"range-{k}")[-1])
        assert state["energy_range"] == [lo, hi]
        assert state["train_config"]["seed"] == 5 + k
    info = json.loads((tmp_path / "split" / "run.json").read_text())
    assert info["subruns"] == ["range-0", "range-1", "range-2"]


def test_data_problems(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    with pytest.raises(DataFormatError, match=r"no events with incident energy in \(1\.0, 2\.0\)"):
        train(tiny_config(energy_range=(1.0, 2.0)), tiny_file, tmp_path / "a")
    with pytest.raises(ConfigError, match="data: no shower file given"):
        train(tiny_config(), None, tmp_path / "b")
    odd = write_showers(tmp_path / "odd.h5", [1000.0], np.ones((1, 7)))
    with pytest.raises(
        BinningError, match=r"odd.h5: no 'binning' attribute and no built-in binning has 7 voxels"
    ):
        train(tiny_config(), odd, tmp_path / "c")
    with pytest.raises(BinningError, match="showers have 16 voxels; binning ds1-photons has 368"):
        train(tiny_config(binning="ds1-photons"), tiny_file, tmp_path / "d")


def test_threads_are_restored_after_the_run(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    import torch

    before = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    train(tiny_config(iterations=1, threads=2), tiny_file, tmp_path / "run")
    assert torch.get_num_threads() == before
    assert torch.are_deterministic_algorithms_enabled() == deterministic


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_time_budget_and_checkpoints_in_time(
    clock: str,
    tmp_path: Path,
    tiny_file: Path,
    tiny_config: Callable[..., TrainConfig],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """max_seconds stops the run with a checkpoint; checkpoint_seconds adds checkpoints in
    time; every checkpoint records the training clock, which a resumed run continues."""
    import fastcalogan.train.loop as loop
    from fastcalogan.models.wgan_gp_mlp import WganGpObjective

    # a fake clock that moves one second per training iteration and at no other time
    now = [100.0]
    step = WganGpObjective.step

    def timed_step(self: WganGpObjective, *args: object, **kwargs: object) -> object:
        now[0] += 1.0
        return step(self, *args, **kwargs)

    monkeypatch.setattr(WganGpObjective, "step", timed_step)
    name = {"wall": "perf_counter", "cpu": "process_time"}[clock]
    monkeypatch.setattr(loop.time, name, lambda: now[0])
    config = tiny_config(
        iterations=100,
        checkpoint_every=1000,
        checkpoint_seconds=3,
        max_seconds=7.5,
        time_clock=clock,
    )
    result = train(config, tiny_file, tmp_path / "run")
    assert result.last_iteration == 8
    checkpoints = list_checkpoints(tmp_path / "run")
    assert [p.name for p in checkpoints] == [
        "ckpt-00000003.pt",
        "ckpt-00000006.pt",
        "ckpt-00000008.pt",
    ]
    clocks = [load_checkpoint(p)["clock"] for p in checkpoints]
    key = f"{clock}_seconds"
    assert [c[key] for c in clocks] == [3.0, 6.0, 8.0]
    assert all(c["cpu_seconds"] >= 0 and c["wall_seconds"] >= 0 for c in clocks)
    losses = (tmp_path / "run" / "losses.csv").read_text().splitlines()
    assert losses[-1].split(",")[0] == "8"  # the stopping iteration has its row

    # resumed with a new budget: the clock goes on from 8 s
    again = train(config.model_copy(update={"max_seconds": 2.0}), tiny_file, tmp_path / "run")
    assert again.last_iteration == 10
    assert load_checkpoint(list_checkpoints(tmp_path / "run")[-1])["clock"][key] == 10.0

    with pytest.raises(ValueError, match="max_seconds"):
        TrainConfig(max_seconds=0)
