"""ONNX export: the graph equals the torch generation function, sidecar, routing, CLI."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner

import fastcalogan.generate as gen_pkg
from fastcalogan._fileio import write_json
from fastcalogan.bench import synthetic_generator
from fastcalogan.cli import cli
from fastcalogan.data import read_showers
from fastcalogan.errors import CheckpointError, ModelError
from fastcalogan.generate import (
    ExportConfig,
    GeneratorGraph,
    OnnxSimulator,
    Simulator,
    export_generators,
    export_onnx,
)
from fastcalogan.generate.graph import relative_difference
from fastcalogan.geometry import Binning
from fastcalogan.models import get_preset, sample_noise
from fastcalogan.train import (
    TrainConfig,
    TrainedGenerator,
    list_checkpoints,
    showers_from_noise,
    train,
)

#: Every preset of both model families.
PRESETS = (
    "fastcalogan",
    "caloshowergan-photon",
    "caloshowergan-pion",
    "vae-mlp",
    "atlas18-vae",
    "atlas18-wgan",
)
#: Presets whose label is the energy alone (a conditioned preset's export is tested with its
#: conditions: tests/models/test_models_atlas2018.py).
UNCONDITIONED = tuple(p for p in PRESETS if not get_preset(p).preprocess.conditions)
RTOL = 1e-5


def _inputs(model: TrainedGenerator, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lo, hi = model.energy_range
    u = torch.rand(n, 1, generator=g, dtype=torch.float64)
    energy = torch.exp(np.log(lo) * (1 - u) + np.log(hi) * u).float()
    return sample_noise(model.noise, n, g), energy


def _onnx_vs_torch(model: TrainedGenerator, path: Path, n: int = 200, rtol: float = RTOL) -> None:
    noise, energy = _inputs(model, n, seed=1)
    with torch.inference_mode():
        ref = showers_from_noise(model.generator, model.preprocessor, noise, energy.reshape(-1))
    got = OnnxSimulator(path, threads=1).run(noise.numpy(), energy.numpy().ravel())
    assert got.shape == (n, model.binning.n_voxels) and got.dtype == np.float32
    assert float(ref.abs().max()) > 0
    assert relative_difference(got, ref) < rtol
    np.testing.assert_allclose(got.sum(axis=1), ref.sum(dim=1).numpy(), rtol=rtol)


@pytest.fixture
def trained(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> Callable[[str], Path]:
    """``trained(preset)``: a 2-iteration run of the preset's recipe (tiny widths)."""

    def make(preset: str) -> Path:
        run = tmp_path / f"run-{preset}"
        train(tiny_config(preset=preset, iterations=2, checkpoint_every=1), tiny_file, run)
        return run

    return make


def test_public_api_is_pinned() -> None:
    assert {"ExportConfig", "ExportResult", "OnnxSimulator", "export_onnx", "generate_onnx"} <= set(
        gen_pkg.__all__
    )


@pytest.mark.parametrize("preset", PRESETS)
def test_onnx_equals_torch_for_each_trained_preset(
    preset: str, trained: Callable[[str], Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = trained(preset)
    with caplog.at_level(logging.WARNING, logger="fastcalogan"):
        result = export_onnx(ExportConfig(), run, tmp_path / "gen.onnx")
    assert "no selection" in caplog.text and "ckpt-00000002.pt" in caplog.text
    assert result.max_rel_diff is not None and result.max_rel_diff < RTOL
    assert result.weights_bytes == result.onnx_path.stat().st_size  # what campaigns record
    assert result.checkpoints == (list_checkpoints(run)[-1],)
    model = TrainedGenerator.from_checkpoint(list_checkpoints(run)[-1], "cpu")
    _onnx_vs_torch(model, result.onnx_path)


def _realistic(model: TrainedGenerator) -> TrainedGenerator:
    """Shift the total-energy node of a layer-normalised head to about E_inc, as training does.

    With random weights that node sits near its ReLU's zero, where float32 cancellation in the
    last sum (not the export) dominates the comparison.
    """
    if model.preprocessor.layer_norm:
        last = model.generator.net[-1]
        assert isinstance(last, torch.nn.Linear)
        with torch.no_grad():
            last.bias[-1] += 1.0
    return model


@pytest.mark.parametrize("preset", UNCONDITIONED)
def test_onnx_equals_torch_at_full_preset_size(preset: str, tmp_path: Path) -> None:
    model = _realistic(synthetic_generator(preset, seed=3))
    result = export_generators([model], ExportConfig(verify=False), tmp_path / f"{preset}.onnx")
    # atlas18-vae with random weights: 2.5e-5 (not yet understood: not the sigmoid's
    # saturation); its trained decoder's export check gave 9.1e-7 (docs/atlas2018.md)
    _onnx_vs_torch(model, result.onnx_path, n=64, rtol=5e-5 if preset == "atlas18-vae" else RTOL)
    # the batch axis is dynamic: one row and many rows through the same file
    sim = OnnxSimulator(result.onnx_path, threads=1, block_rows=16)
    noise, energy = _inputs(model, 40, seed=2)
    whole = sim.run(noise.numpy(), energy.numpy().ravel())
    one = sim.run(noise[:1].numpy(), energy[:1].numpy().ravel())
    assert relative_difference(one, whole[:1]) < RTOL
    assert whole.shape == (40, model.binning.n_voxels)


def test_batch_norm_is_folded_and_the_graph_is_plain(tmp_path: Path) -> None:
    model = _realistic(synthetic_generator("caloshowergan-photon"))
    for m in model.generator.modules():  # non-trivial running statistics
        if isinstance(m, torch.nn.BatchNorm1d):
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.uniform_(-0.2, 0.2, generator=torch.Generator().manual_seed(0))
            m.running_var.uniform_(0.8, 1.2, generator=torch.Generator().manual_seed(1))
    result = export_generators([model], ExportConfig(), tmp_path / "g.onnx")
    ops = {n.op_type for n in onnx.load(str(result.onnx_path)).graph.node}
    assert "BatchNormalization" not in ops and "Gemm" in ops and "Log" in ops
    graph = onnx.load(str(result.onnx_path)).graph
    assert [i.name for i in graph.input] == ["noise", "incident_energy"]
    assert [o.name for o in graph.output] == ["showers"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert result.max_rel_diff is not None and result.max_rel_diff < RTOL


def _split_models() -> list[TrainedGenerator]:
    ranges = [(256.0, 4096.0), (4096.0, 2.0**18), (2.0**18, 2.0**22)]
    models = []
    for k, (lo, hi) in enumerate(ranges):
        m = synthetic_generator("fastcalogan", seed=k)
        m.preprocessor.e_min, m.preprocessor.e_max = lo, hi
        models.append(m)
    return models


def test_split_run_is_one_graph_that_routes_by_energy(tmp_path: Path) -> None:
    models = _split_models()
    result = export_generators(models[::-1], ExportConfig(verify_events=90), tmp_path / "s.onnx")
    assert result.n_generators == 3 and result.max_rel_diff is not None
    assert result.max_rel_diff < RTOL
    sim = OnnxSimulator(result.onnx_path, threads=1)
    assert sim.energy_range == (256.0, 2.0**22) and len(sim.ranges) == 3
    # boundaries go to the lower range, as in the torch Simulator
    energy = torch.tensor([[256.0], [4096.0], [5000.0], [2.0**18], [3e5], [2.0**22]])
    noise = sample_noise(models[0].model_config, 6, torch.Generator().manual_seed(0))
    got = sim.run(noise.numpy(), energy.numpy().ravel())
    for row, k in enumerate((0, 0, 1, 1, 2, 2)):
        with torch.inference_mode():
            ref = showers_from_noise(
                models[k].generator, models[k].preprocessor, noise[row : row + 1], energy[row]
            )
        assert relative_difference(got[row : row + 1], ref) < RTOL
    with torch.inference_mode():
        graph_out = GeneratorGraph(models)(noise, energy)
    assert relative_difference(got, graph_out) < RTOL
    with pytest.raises(ModelError, match=r"energy 100 MeV is outside the trained range 256-"):
        sim.simulate([100.0], rng=0)


def test_sidecar_describes_the_model(trained: Callable[[str], Path], tmp_path: Path) -> None:
    run = trained("caloshowergan-photon")
    first = list_checkpoints(run)[0]
    write_json(run / "selection" / "best.json", {"checkpoint": str(first.relative_to(run))})
    result = export_onnx(ExportConfig(opset=18), run, tmp_path / "out" / "gen.onnx")
    side = json.loads(result.sidecar_path.read_text())
    assert result.sidecar_path == tmp_path / "out" / "gen.json"
    assert side["format"] == "fastcalogan-onnx-1" and side["iterations"] == [1]
    assert side["particle"] == "photon" and side["eta"] == [0.2, 0.25]
    assert side["energy_range"] == [1024.0, 8192.0] and side["n_voxels"] == 16
    assert side["noise"] == {"distribution": "normal", "latent_dim": 4, "mean": 0.5, "std": 0.5}
    assert side["binning_name"] == "tiny" and len(side["binning"]["layers"]) == 3
    assert set(side["versions"]) == {"fastcalogan", "torch", "onnx", "opset", "exporter"}
    assert side["versions"]["opset"] == 18 and side["versions"]["exporter"] == "torchscript"
    assert side["inputs"]["incident_energy"]["shape"] == ["batch", 1]
    assert onnx.load(str(result.onnx_path)).opset_import[0].version == 18
    # a non-built-in binning travels as YAML beside the model; no temporary files remain
    assert result.binning_path == tmp_path / "out" / "gen.binning.yaml"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "gen.binning.yaml",
        "gen.json",
        "gen.onnx",
    ]


@pytest.mark.parametrize("preset", ["fastcalogan", "vae-mlp", "fast-photon"])
def test_onnx_simulator_reproduces_the_torch_simulator(
    trained: Callable[[str], Path], tmp_path: Path, preset: str
) -> None:
    run = trained(preset)
    result = export_onnx(ExportConfig(), run, tmp_path / "gen.onnx")
    energies = np.repeat([1024.0, 3000.0, 8192.0], 30)
    ref = Simulator.load(run, "cpu").simulate(energies, rng=4, batch_size=32)
    got = OnnxSimulator(result.onnx_path, threads=1).simulate(energies, rng=4, batch_size=32)
    assert relative_difference(got, ref) < RTOL
    electrons = OnnxSimulator(result.onnx_path).simulate(energies[:3], 4, particle="electron")
    assert electrons.shape == (3, 16)
    with pytest.raises(ModelError, match=r"cannot simulate pion \(hadron shower\)"):
        OnnxSimulator(result.onnx_path).simulate(energies[:3], 4, particle="pion")


def test_missing_checkpoints_and_sidecar_are_user_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"no checkpoints in"):
        export_onnx(ExportConfig(), tmp_path / "empty", tmp_path / "g.onnx")
    model = synthetic_generator("fastcalogan")
    result = export_generators([model], ExportConfig(verify=False), tmp_path / "g.onnx")
    result.sidecar_path.unlink()
    with pytest.raises(ModelError, match=r"g.json: cannot read the sidecar of g.onnx"):
        OnnxSimulator(result.onnx_path)


def test_export_and_generate_onnx_cli(trained: Callable[[str], Path], tmp_path: Path) -> None:
    run = trained("fastcalogan")
    runner = CliRunner()
    model = tmp_path / "gen.onnx"
    res = runner.invoke(cli, ["export", str(run), "-o", str(model)])
    assert res.exit_code == 0, res.output
    assert "1 generator(s)" in res.output and model.is_file()
    args = ["--energies", "1024,8192", "-n", "5", "--seed", "2", "--batch-size", "4"]
    out_onnx, out_torch = tmp_path / "onnx.h5", tmp_path / "torch.h5"
    res = runner.invoke(cli, ["generate", "--onnx", str(model), *args, "-o", str(out_onnx)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["generate", str(run), *args, "-o", str(out_torch)])
    assert res.exit_code == 0, res.output
    a = read_showers(out_onnx, max_deposit_ratio=None)
    b = read_showers(out_torch, max_deposit_ratio=None)
    assert a.showers.shape == (10, 16) and a.attrs["generator"] == "fastcalogan-onnx"
    np.testing.assert_array_equal(a.incident_energies, b.incident_energies)
    assert relative_difference(a.showers, b.showers) < RTOL
    res = runner.invoke(cli, ["generate", str(run), "--onnx", str(model), *args, "-o", "x.h5"])
    assert res.exit_code == 2 and "give either RUN_DIR or --onnx" in res.output


@pytest.mark.parametrize("preset", ["fastcalogan", "vae-mlp", "fast-photon"])
def test_split_run_folder_exports_every_range(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig], preset: str
) -> None:
    run = tmp_path / "split"
    ranges = [(1024.0, 2048.0), (2048.0, 4096.0), (4096.0, 8192.0)]
    for k, rng_range in enumerate(ranges):
        train(
            tiny_config(preset=preset, iterations=1, energy_range=rng_range, seed=k),
            tiny_file,
            run / f"range-{k}",
        )
    write_json(run / "run.json", {"split": "split3", "subruns": ["range-0", "range-1", "range-2"]})
    result = export_onnx(ExportConfig(verify_events=30), run, tmp_path / "gen.onnx")
    assert result.n_generators == 3 and len(result.checkpoints) == 3
    assert result.max_rel_diff is not None and result.max_rel_diff < RTOL
    energies = np.array([1024.0, 2048.0, 3000.0, 4096.0, 8192.0] * 4)
    ref = Simulator.load(run, "cpu").simulate(energies, rng=9)
    got = OnnxSimulator(result.onnx_path, threads=1).simulate(energies, rng=9)
    assert relative_difference(got, ref) < RTOL
    (run / "run.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"run.json: unreadable run description"):
        export_onnx(ExportConfig(), run, tmp_path / "again.onnx")


def _conditioned_split_models(binning: Binning) -> list[TrainedGenerator]:
    """Three generators over the photon ranges, conditioned on depth and a 3-code side."""
    from fastcalogan.models import ModelConfig, ModelShape, get_family
    from fastcalogan.preprocess import FittedCondition, PreprocessConfig, Preprocessor

    config = PreprocessConfig(
        conditions={"depth": {"transform": "standardise"}, "side": {"transform": "one_hot", "n": 3}}
    )
    network = ModelConfig(latent_dim=4, generator_hidden=(8,), critic_hidden=(8,))
    family = get_family("wgan-gp-mlp")
    models = []
    ranges = [(256.0, 4096.0), (4096.0, 2.0**18), (2.0**18, 2.0**22)]
    for k, (lo, hi) in enumerate(ranges):
        fitted = [
            FittedCondition("depth", "standardise", offset=0.1 * k, scale=0.5 + k),
            FittedCondition("side", "one_hot", n=3),
        ]
        pre = Preprocessor(config, lo, hi, binning.layer_sizes, fitted)
        shape = ModelShape(n_features=binning.n_voxels, n_conditions=pre.n_conditions)
        sampler = family.build_sampler(network, shape, seed=k).eval()
        models.append(
            TrainedGenerator(
                sampler,
                family.name,
                pre,
                network,
                binning,
                "photon",
                (0.2, 0.25),
                0,
                None,
                torch.device("cpu"),
            )
        )
    return models


def test_conditioned_split_run_routes_energies_and_conditions(
    tmp_path: Path, tiny_binning: Binning
) -> None:
    models = _conditioned_split_models(tiny_binning)
    result = export_generators(models, ExportConfig(verify_events=90), tmp_path / "c.onnx")
    assert result.max_rel_diff is not None and result.max_rel_diff < RTOL
    onnx_sim, torch_sim = OnnxSimulator(result.onnx_path, threads=1), Simulator(models)
    assert onnx_sim.condition_names == torch_sim.condition_names == ("depth", "side")
    g = np.random.default_rng(2)
    energies = np.exp(g.uniform(np.log(256.0), np.log(2.0**22), 60))
    conditions = {"depth": g.normal(size=60), "side": g.integers(0, 3, 60)}
    got = onnx_sim.simulate(energies, 4, conditions=conditions)
    ref = torch_sim.simulate(energies, 4, conditions=conditions)
    assert float(np.abs(ref).max()) > 0 and relative_difference(got, ref) < RTOL
    # the graph gives each row its range's model at the row's own conditions
    noise = torch.rand(60, 4, generator=torch.Generator().manual_seed(1))
    e32 = torch.tensor(energies, dtype=torch.float32).reshape(-1, 1)
    c32 = torch.tensor(np.stack([conditions["depth"], conditions["side"]], 1), dtype=torch.float32)
    which = torch_sim.routing.route(energies)
    assert set(which.tolist()) == {0, 1, 2}
    with torch.inference_mode():
        routed = GeneratorGraph(models)(noise, e32, c32)
        for row in range(60):
            m = models[int(which[row])]
            own = showers_from_noise(
                m.generator, m.preprocessor, noise[row : row + 1], e32[row], c32[row : row + 1]
            )
            assert relative_difference(routed[row : row + 1], own) < RTOL
    got_raw = onnx_sim.run(noise.numpy(), energies, c32.numpy())
    assert relative_difference(got_raw, routed) < RTOL
    with pytest.raises(ModelError, match="missing: side"):
        onnx_sim.simulate(energies[:2], 0, conditions={"depth": [0.0, 1.0]})
