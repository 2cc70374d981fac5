"""What to generate: like a reference file, the dataset-1 points, fixed conditions; errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from fastcalogan._config import parse
from fastcalogan.cli import cli
from fastcalogan.data import DS1_ENERGIES, ds1_event_counts, read_showers, write_showers
from fastcalogan.errors import ConfigError, DataFormatError, ModelError, OutputError
from fastcalogan.generate import GenerateConfig, Simulator, generate, generation_request
from fastcalogan.geometry import Binning
from fastcalogan.models import get_preset
from fastcalogan.train import TrainConfig, train


@pytest.fixture
def plain_run(tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]) -> Path:
    """A 2-iteration run conditioned on the incident energy alone."""
    train(tiny_config(iterations=2), tiny_file, tmp_path / "run")
    return tmp_path / "run"


@pytest.fixture
def conditioned_run(
    tmp_path: Path,
    conditioned_file: Path,
    conditions_config: dict[str, Any],
    tiny_config: Callable[..., TrainConfig],
) -> Path:
    """A 2-iteration VAE conditioned on depth and side (see ``fabricate_conditioned``)."""
    preprocess = {**get_preset("vae-mlp").preprocess.model_dump(), "conditions": conditions_config}
    config = tiny_config(preset="vae-mlp", preprocess=preprocess, iterations=2)
    train(config, conditioned_file, tmp_path / "crun")
    return tmp_path / "crun"


def test_like_reproduces_the_reference_event_by_event(
    plain_run: Path, tiny_file: Path, tmp_path: Path
) -> None:
    config = GenerateConfig(like=str(tiny_file), seed=3, chunk_events=50)
    result = generate(config, plain_run, tmp_path / "like.h5")
    ref = read_showers(tiny_file)
    got = read_showers(result.path, max_deposit_ratio=None)
    assert result.n_events == ref.n_events == 128
    np.testing.assert_array_equal(got.incident_energies, ref.incident_energies)
    assert got.n_conditions == 0 and got.attrs["like"] == str(tiny_file)
    # the same showers as asking for the reference's energies directly
    sim = Simulator.load(plain_run, "cpu")
    rng = np.random.default_rng(3)
    direct = np.concatenate(
        [sim.simulate(ref.incident_energies[i : i + 50], rng) for i in range(0, 128, 50)]
    )
    np.testing.assert_array_equal(got.showers, direct)
    # the output may not replace the reference
    with pytest.raises(OutputError, match="would overwrite the reference file"):
        generate(config, plain_run, tiny_file)


def test_like_takes_the_model_conditions_from_the_reference(
    conditioned_run: Path, conditioned_file: Path, tiny_file: Path, tmp_path: Path
) -> None:
    request = generation_request(GenerateConfig(like=str(conditioned_file)), ("side", "depth"))
    ref = read_showers(conditioned_file)
    np.testing.assert_array_equal(request.conditions, ref.conditions[:, [1, 0]])
    assert request.condition_names == ("side", "depth")
    # a reference without the model's conditions is one line naming the missing ones
    with pytest.raises(DataFormatError, match=r"tiny\.h5: the model is conditioned on depth, "):
        generate(GenerateConfig(like=str(tiny_file)), conditioned_run, tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_energies_ds1_scales_the_dataset_1_counts(
    tmp_path: Path, tiny_binning: Binning, tiny_config: Callable[..., TrainConfig], fabricate: Any
) -> None:
    e, s = fabricate(tiny_binning, 4, seed=1, energies=tuple(DS1_ENERGIES))
    data = write_showers(tmp_path / "ds1.h5", e, s, {"particle": "photon"}, geometry=tiny_binning)
    run = tmp_path / "run"
    train(tiny_config(iterations=1, eta=[0.2, 0.25], injection=False), data, run)
    out = tmp_path / "gen.h5"
    res = CliRunner().invoke(
        cli, ["generate", str(run), "--energies", "ds1", "-n", "10", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    counts = ds1_event_counts(0.001)
    said = " ".join(res.output.split())  # the console wraps long lines
    assert "ds1: 15 points 256..4194304 MeV" in said
    assert "10 events per point up to 262144 MeV, then 5, 3, 2, 1 (dataset-1 counts x" in said
    got = read_showers(out, max_deposit_ratio=None)
    np.testing.assert_array_equal(got.incident_energies, np.repeat(DS1_ENERGIES, counts))
    # without -n: the dataset-1 counts, as simulate's default
    full = tmp_path / "full.h5"
    res = CliRunner().invoke(cli, ["generate", str(run), "--energies", "ds1", "-o", str(full)])
    assert res.exit_code == 0, res.output
    assert "10000 events per point" in " ".join(res.output.split())
    assert read_showers(full, max_deposit_ratio=None).n_events == 121_000


def test_fixed_conditions_and_errors(conditioned_run: Path, plain_run: Path) -> None:
    sim = Simulator.load(conditioned_run, "cpu")
    assert sim.condition_names == ("depth", "side")
    e = np.full(4, 2048.0)
    with pytest.raises(ModelError, match="conditioned on depth, side beyond the incident energy"):
        sim.simulate(e, 0)
    with pytest.raises(ModelError, match=r"missing: side \(given: depth\)"):
        sim.simulate(e, 0, conditions={"depth": np.zeros(4)})
    with pytest.raises(ModelError, match=r"condition 'side' is 3\.0 in event 0; expected an int"):
        sim.simulate(e, 0, conditions={"depth": np.zeros(4), "side": np.full(4, 3)})
    # an array in the model's order is the same as a mapping
    by_name = sim.simulate(e, 5, conditions={"side": [0, 1, 2, 1], "depth": np.zeros(4)})
    by_order = sim.simulate(e, 5, conditions=np.stack([np.zeros(4), [0, 1, 2, 1]], axis=1))
    np.testing.assert_array_equal(by_name, by_order)
    # a model of the energy alone ignores named conditions
    plain = Simulator.load(plain_run, "cpu")
    np.testing.assert_array_equal(
        plain.simulate(e, 1), plain.simulate(e, 1, conditions={"depth": np.zeros(4)})
    )
    with pytest.raises(ConfigError, match="give energies or like"):
        parse({"n_events": 3}, GenerateConfig, "g.yaml")
    with pytest.raises(ConfigError, match="like takes the reference's conditions"):
        parse({"like": "r.h5", "conditions": {"depth": 0.0}}, GenerateConfig, "g.yaml")


def test_cli_errors_are_one_line(plain_run: Path, tiny_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = str(tmp_path / "o.h5")
    cases = [
        (["--energies", "1024", "--like", str(tiny_file)], "give --energies or --like"),
        ([], "give --energies or --like"),
        (["--like", str(tiny_file), "-n", "5"], "-n does not apply to --like"),
        (["--energies", "1024", "--condition", "depth"], "--condition: expected NAME=VALUE"),
        (["--energies", "ds2"], "--energies: expected 'ds1' or comma-separated MeV"),
    ]
    for args, message in cases:
        res = runner.invoke(cli, ["generate", str(plain_run), *args, "-o", out])
        assert res.exit_code == 2 and message in res.output, (args, res.output)
        assert "Traceback" not in res.output
