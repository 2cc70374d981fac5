"""The LHCb ECAL families: the paper's shapes through generator, critic and regressor, the
regressor's conditioning term, reading the regressor back, and training, resume and export
on a tiny simulated sample."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from fastcalogan.data import write_lhcb
from fastcalogan.errors import ModelError
from fastcalogan.generate import ExportConfig, export_onnx
from fastcalogan.models import (
    LhcbGanConfig,
    LhcbGanObjectiveConfig,
    LhcbRegressorConfig,
    LoadedRegressor,
    ModelShape,
    get_family,
    load_regressor,
)
from fastcalogan.models.family import Batch
from fastcalogan.models.lhcb import LhcbGanObjective
from fastcalogan.models.lhcb_networks import CriticNet, GeneratorNet, RegressorNet, image_shape
from fastcalogan.preprocess import FittedBoxCox
from fastcalogan.simulate import simulate_showers
from fastcalogan.train import TrainConfig, load_checkpoint, train

LHCB = ModelShape(n_features=900, n_conditions=6, layer_shapes=((30, 30),))
PAPER = (256, 128, 64, 32)
#: Tiny settings: two widths (one up-sampling from 15 x 15), a 4-dim noise.
TINY_CHANNELS = [4, 2]


def _recorded_shapes(
    module: nn.Module, kinds: tuple[type[nn.Module], ...]
) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    for m in module.modules():
        if isinstance(m, kinds):
            m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape)))
    return shapes


def test_generator_has_the_papers_shapes() -> None:
    g = GeneratorNet((30, 30), 512, 6, PAPER)
    shapes = _recorded_shapes(g, (nn.Linear, nn.ConvTranspose2d, nn.Conv2d))
    out = g(torch.randn(2, 512), torch.randn(2, 6))
    assert shapes == [
        (2, 256 * 4 * 4),
        (2, 128, 8, 8),
        (2, 64, 16, 16),
        (2, 32, 32, 32),
        (2, 1, 32, 32),
    ]
    assert out.shape == (2, 900)
    assert g.dense.in_features == 512 + 6


def test_critic_and_regressor_mirror_it() -> None:
    critic = CriticNet((30, 30), 6, PAPER)
    shapes = _recorded_shapes(critic.trunk, (nn.Conv2d,))
    assert critic(torch.randn(2, 900), torch.randn(2, 6)).shape == (2, 1)
    assert shapes == [(2, 32, 32, 32), (2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4)]
    regressor = RegressorNet((30, 30), 5, PAPER)
    assert regressor(torch.randn(3, 900)).shape == (3, 5)
    assert regressor.features(torch.randn(3, 900)).shape == (3, 256 * 4 * 4)
    # the regressor is the critic's architecture with a five-parameter head
    assert [tuple(p.shape) for p in regressor.trunk.parameters()] == [
        tuple(p.shape) for p in critic.trunk.parameters()
    ]


def test_any_single_image_fits() -> None:
    g = GeneratorNet((7, 13), 3, 2, (8, 4, 2))
    assert g(torch.randn(4, 3), torch.randn(4, 2)).shape == (4, 91)
    assert CriticNet((7, 13), 2, (8, 4, 2))(torch.randn(4, 91), torch.randn(4, 2)).shape == (4, 1)
    assert image_shape(ModelShape(14, 5)) == (1, 14)


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        (
            ModelShape(12, 2, layer_shapes=((2, 3), (2, 3))),
            "one image of cells; the geometry has 2",
        ),
        (ModelShape(14, 2, head_layer_sizes=(3, 5, 2)), "not the layer-normalised features"),
        (ModelShape(10, 2, layer_shapes=((2, 3),)), "needs 6 features, not 10"),
    ],
)
def test_shapes_the_networks_cannot_take(shape: ModelShape, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        image_shape(shape)


def test_projection_critic_judges_image_and_label_together() -> None:
    x = torch.randn(5, 900)
    a, b = torch.randn(5, 6), torch.randn(5, 6)
    projected = CriticNet((30, 30), 6, (8, 4))
    assert not torch.allclose(projected(x, a), projected(x, b))
    blind = CriticNet((30, 30), 6, (8, 4), projection=False)
    assert torch.equal(blind(x, a), blind(x, b))


# ----- the conditioning term ------------------------------------------------------------------
class _FixedBatches:
    """Always the same batch (so the test can redo a step by hand)."""

    def __init__(self, x: torch.Tensor, label: torch.Tensor) -> None:
        self.x, self.label = x, label

    @property
    def batch_size(self) -> int:
        return self.x.shape[0]

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def draw(self) -> Batch:
        return Batch(self.x, self.label)

    def draw_conditions(self) -> torch.Tensor:
        return self.label


def _objective(loss: str, weight: float = 2.0) -> LhcbGanObjective:
    family = get_family("lhcb-wgan-gp")
    config = LhcbGanConfig(latent_dim=4, channels=(4, 2))
    settings = LhcbGanObjectiveConfig(n_critic=1, condition_loss=loss, condition_weight=weight)
    objective = family.build_objective(config, settings, LHCB, 1e-3, 3, torch.device("cpu"))
    net = RegressorNet((30, 30), 5, (4, 2))
    objective.regressor = LoadedRegressor(
        net.requires_grad_(False).eval(), LhcbRegressorConfig(channels=(4, 2)), LHCB, {}, "r", 0
    )
    return objective


@pytest.mark.parametrize("loss", ["mse", "perceptual"])
def test_the_regressor_term_is_what_the_generator_step_adds(loss: str) -> None:
    objective = _objective(loss)
    g = torch.Generator().manual_seed(11)
    x, label = torch.randn(6, 900), torch.randn(6, 6)
    batches = _FixedBatches(x, label)
    # redo the generator step's inputs by hand: the critic step draws noise and eps first
    replay = torch.Generator().manual_seed(11)
    objective.noise.sample(6, replay)
    torch.rand((6, 1), generator=replay)
    noise = objective.noise.sample(6, replay)
    values = objective.step(batches, g)
    assert len(values) == len(get_family("lhcb-wgan-gp").loss_columns) == 8
    term, mse_gen, mse_ref = (v.item() for v in values[4:7])
    assert np.isnan(values[7].item())  # no energy term asked for
    # recompute with the generator as it was before its update: rebuild from the seed
    before = _objective(loss)
    net = objective.regressor.network  # type: ignore[union-attr]
    with torch.no_grad():
        fake = before.sampler(noise, label)
        expected_mse = float(((net(fake) - label[:, 1:]) ** 2).mean())
        expected_perceptual = float(((net.features(fake) - net.features(x)) ** 2).mean())
        expected_ref = float(((net(x) - label[:, 1:]) ** 2).mean())
    # the critic's first update does not touch the generator: same fake images
    assert mse_gen == pytest.approx(expected_mse, rel=1e-5)
    assert mse_ref == pytest.approx(expected_ref, rel=1e-5)
    assert term == pytest.approx(expected_mse if loss == "mse" else expected_perceptual, rel=1e-5)


def test_the_regressor_stays_frozen_and_the_term_moves_the_generator() -> None:
    batches = _FixedBatches(torch.randn(6, 900), torch.randn(6, 6))
    weighted, unweighted = _objective("mse", 5.0), _objective("mse", 0.0)
    frozen = {k: v.clone() for k, v in weighted.regressor.network.state_dict().items()}  # type: ignore[union-attr]
    for objective in (weighted, unweighted):
        for _ in range(2):
            objective.step(batches, torch.Generator().manual_seed(2))
    assert all(
        torch.equal(frozen[k], v)
        for k, v in weighted.regressor.network.state_dict().items()  # type: ignore[union-attr]
    )
    in_optimisers = {
        id(p)
        for o in (weighted.opt_g, weighted.opt_d)
        for grp in o.param_groups
        for p in grp["params"]
    }
    assert not any(id(p) in in_optimisers for p in weighted.regressor.network.parameters())  # type: ignore[union-attr]
    # the same seeds and data: only the weighted term differs, and it changes the generator
    wg, ug = weighted.sampler.state_dict(), unweighted.sampler.state_dict()
    assert any(not torch.equal(wg[k], ug[k]) for k in wg)


def test_without_a_regressor_the_terms_are_nan() -> None:
    family = get_family("lhcb-wgan-gp")
    objective = family.build_objective(
        LhcbGanConfig(latent_dim=4, channels=(4, 2)),
        LhcbGanObjectiveConfig(n_critic=1),
        LHCB,
        1e-3,
        0,
        torch.device("cpu"),
    )
    values = objective.step(
        _FixedBatches(torch.randn(4, 900), torch.randn(4, 6)), torch.Generator()
    )
    assert all(np.isfinite(v.item()) for v in values[:4])
    assert all(np.isnan(v.item()) for v in values[4:])
    assert objective.state_dict()["regressor"] is None
    objective.check_preprocessing({"anything": 1})  # nothing to check


def _energy_objective(weight: float) -> LhcbGanObjective:
    objective = get_family("lhcb-wgan-gp").build_objective(
        LhcbGanConfig(latent_dim=4, channels=(4, 2)),
        LhcbGanObjectiveConfig(n_critic=1, energy_weight=weight),
        LHCB,
        1e-2,
        5,
        torch.device("cpu"),
    )
    # ln(MeV) standardised: mean 2.3, std 1.5 (the 50k sample's fit), cells up to 10 GeV
    box_cox = FittedBoxCox(0.0, 0.075, 2.3, 1.5, -3.2, 4.6)
    objective.check_preprocessing({"box_cox": box_cox.to_dict()})
    return objective


def test_the_energy_term_compares_summed_mev_with_the_paired_reference() -> None:
    objective = _energy_objective(1.0)
    box_cox = objective.box_cox
    assert box_cox is not None
    fake = torch.full((2, 900), -3.0)  # every cell just above the readout: a few MeV in all
    real = torch.full((2, 900), -3.2)
    real[:, 435] = 4.0  # one hot cell
    # summed MeV + offset per cell, no readout threshold (lambda = 0: exp(y std + mean))
    e_fake, e_real = (np.exp(v.numpy() * 1.5 + 2.3).sum(axis=1) for v in (fake, real))
    expected = np.mean((np.log(e_fake) - np.log(e_real)) ** 2)
    assert objective._energy_term(fake, real).item() == pytest.approx(expected, rel=1e-6)
    assert objective._energy_term(real, real).item() == 0.0
    # its gradient lifts a too-faint image, even one whose every cell reads zero
    faint = (fake - 0.5).requires_grad_(True)
    assert box_cox.inverse(faint.detach().numpy()).sum() == 0.0
    objective._energy_term(faint, real).backward()
    assert faint.grad is not None and bool((faint.grad < 0).all())


def test_the_energy_term_raises_the_generated_energy() -> None:
    real = torch.full((8, 900), -3.2)
    real[:, 400:410] = 3.0  # ten hot cells: far more than the fresh generator's images
    batches = _FixedBatches(real, torch.zeros(8, 6))
    box_cox = FittedBoxCox(0.0, 0.075, 2.3, 1.5, -3.2, 4.6)

    def energy_after(weight: float) -> float:
        objective = _energy_objective(weight)
        for _ in range(30):
            values = objective.step(batches, torch.Generator().manual_seed(1))
        assert np.isfinite(values[7].item()) == (weight > 0)
        with torch.no_grad():
            fake = objective.sampler(torch.randn(8, 4), torch.zeros(8, 6))
        return float(box_cox.inverse(fake.numpy()).sum(axis=1).mean())

    target = float(box_cox.inverse(real.numpy()).sum(axis=1).mean())
    with_term, without = energy_after(20.0), energy_after(0.0)
    assert abs(np.log(with_term / target)) < 0.5 * abs(np.log(without / target))


def test_the_energy_weight_falls_geometrically_over_the_generator_steps() -> None:
    objective = get_family("lhcb-wgan-gp").build_objective(
        LhcbGanConfig(latent_dim=4, channels=(4, 2)),
        LhcbGanObjectiveConfig(
            n_critic=1, energy_weight=30.0, energy_weight_end=3.0, energy_decay_iterations=4
        ),
        LHCB,
        1e-3,
        0,
        torch.device("cpu"),
    )
    objective.check_preprocessing(
        {"box_cox": FittedBoxCox(0.0, 0.075, 2.3, 1.5, -3.2, 4.6).to_dict()}
    )
    batches = _FixedBatches(torch.randn(4, 900), torch.randn(4, 6))
    weights = []
    for _ in range(6):
        weights.append(objective.energy_weight())
        objective.step(batches, torch.Generator().manual_seed(0))
    expected = [30.0 * 0.1 ** min(1.0, n / 4) for n in range(6)]
    assert weights == pytest.approx(expected)  # 30, 16.9, 9.5, 5.3, then 3 from step 4 on
    constant = _energy_objective(7.0)
    constant.step(batches, torch.Generator())
    assert constant.energy_weight() == 7.0


def test_the_energy_term_needs_box_cox_cells() -> None:
    objective = get_family("lhcb-wgan-gp").build_objective(
        LhcbGanConfig(latent_dim=4, channels=(4, 2)),
        LhcbGanObjectiveConfig(energy_weight=1.0),
        LHCB,
        1e-3,
        0,
        torch.device("cpu"),
    )
    with pytest.raises(ModelError, match=r"energy_weight.*Box-Cox"):
        objective.check_preprocessing({"conditions": []})


# ----- training runs ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lhcb_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two small simulated samples (96 and 64 electrons, 2-100 GeV) in the LHCb layout."""
    folder = tmp_path_factory.mktemp("lhcb")
    paths = []
    for name, n, seed in (("train", 96, 1), ("other", 64, 2)):
        e = np.random.default_rng(seed).uniform(2000.0, 100_000.0, n)
        s = simulate_showers("lhcb-ecal", "electron", e, seed=seed)
        assert s.conditions is not None
        path = write_lhcb(folder / f"{name}.h5", s.showers, s.conditions, {"particle": "electron"})
        paths.append(path)
    return paths[0], paths[1]


def _config(preset: str, **fields: Any) -> TrainConfig:
    base: dict[str, Any] = {
        "preset": preset,
        "model": {"channels": TINY_CHANNELS}
        | ({"latent_dim": 4} if preset == "lhcb-wgan-gp" else {}),
        "eta": [2.8, 3.2],
        "iterations": 2,
        "batch_size": 8,
        "checkpoint_every": 2,
        "log_every": 1,
        "device": "cpu",
        "seed": 4,
    }
    if preset == "lhcb-wgan-gp":
        base["n_critic"] = 2
    return TrainConfig.model_validate({**base, **fields})


@pytest.fixture(scope="module")
def regressor_checkpoint(
    lhcb_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    run = tmp_path_factory.mktemp("regressor") / "run"
    result = train(_config("lhcb-regressor", iterations=3, checkpoint_every=3), lhcb_files[0], run)
    return result.checkpoints[-1]


def test_regressor_run_trains_and_reads_back(regressor_checkpoint: Path) -> None:
    state = load_checkpoint(regressor_checkpoint)
    assert state["family"] == "lhcb-regressor"
    assert state["preprocess"]["config"]["voxel_transform"] == "box_cox"
    loaded = load_regressor(regressor_checkpoint)
    assert loaded.shape == LHCB and loaded.iteration == 3
    assert not any(p.requires_grad for p in loaded.network.parameters())
    rows = (regressor_checkpoint.parents[1] / "losses.csv").read_text().splitlines()
    assert rows[0] == "iteration,mse,max_condition_mse,active_points" and len(rows) == 4


def test_regressor_runs_generate_nothing(regressor_checkpoint: Path) -> None:
    with pytest.raises(ModelError, match="holds a regressor, not a generator"):
        get_family("lhcb-regressor").build_sampler(LhcbRegressorConfig(), LHCB)


def test_gan_carries_its_regressor_and_resumes_bit_identical(
    lhcb_files: tuple[Path, Path], regressor_checkpoint: Path, tmp_path: Path
) -> None:
    objective = {"regressor": str(regressor_checkpoint), "condition_loss": "mse"}
    # the resumed run gets its Box-Cox transform back, and the energy weight's fall goes on
    # from where it was (2 of 3 steps)
    objective |= {"energy_weight": 5.0, "energy_weight_end": 0.5, "energy_decay_iterations": 3}
    whole = train(
        _config("lhcb-wgan-gp", iterations=4, objective=objective), lhcb_files[0], tmp_path / "a"
    )
    train(_config("lhcb-wgan-gp", iterations=2, objective=objective), lhcb_files[0], tmp_path / "b")
    resumed = train(
        _config("lhcb-wgan-gp", iterations=4, objective=objective), lhcb_files[0], tmp_path / "b"
    )
    sa, sb = load_checkpoint(whole.checkpoints[-1]), load_checkpoint(resumed.checkpoints[-1])
    for key in sa["generator"]:
        assert torch.equal(sa["generator"][key], sb["generator"][key])
    for key in sa["objective"]["critic"]:
        assert torch.equal(sa["objective"]["critic"][key], sb["objective"]["critic"][key])
    stored = sa["objective"]["regressor"]
    assert stored["source"] == str(regressor_checkpoint) and stored["iteration"] == 3
    # the GAN's checkpoint gives its regressor back, the same weights
    again = load_regressor(whole.checkpoints[-1])
    original = load_regressor(regressor_checkpoint)
    for key, value in original.network.state_dict().items():
        assert torch.equal(again.network.state_dict()[key], value)
    losses = (tmp_path / "a" / "losses.csv").read_text().splitlines()
    assert losses[0].split(",")[5:9] == [
        "condition_term",
        "regressor_mse_generated",
        "regressor_mse_reference",
        "energy_term",
    ]
    assert all(v != "nan" for v in losses[-1].split(",")[5:9])


def test_a_regressor_of_other_inputs_is_refused(
    lhcb_files: tuple[Path, Path], regressor_checkpoint: Path, tmp_path: Path
) -> None:
    # the same settings on another sample fit other Box-Cox and condition parameters
    config = _config("lhcb-wgan-gp", objective={"regressor": str(regressor_checkpoint)})
    with pytest.raises(
        ModelError, match=r"trained with other preprocessing than this run \(differing: box_cox"
    ):
        train(config, lhcb_files[1], tmp_path / "gan")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p.parents[1], "is a folder; give the regressor's checkpoint file"),
        (lambda p: p.parent / "nothing.pt", "no such regressor checkpoint"),
        (lambda p: p.parents[1] / "losses.csv", "not a readable checkpoint"),
    ],
)
def test_unusable_regressor_paths_are_one_line(
    regressor_checkpoint: Path, make: Callable[[Path], Path], match: str
) -> None:
    with pytest.raises(ModelError, match=match):
        load_regressor(make(regressor_checkpoint))


def test_a_checkpoint_without_a_regressor_is_refused(
    lhcb_files: tuple[Path, Path], tmp_path: Path
) -> None:
    plain = train(_config("lhcb-wgan-gp"), lhcb_files[0], tmp_path / "plain")
    with pytest.raises(ModelError, match="found family 'lhcb-wgan-gp' without a regressor"):
        load_regressor(plain.checkpoints[-1])


def test_a_regressor_of_another_shape_is_refused(tmp_path: Path) -> None:
    net = RegressorNet((30, 30), 5, (4, 2))
    state = LoadedRegressor(net, LhcbRegressorConfig(channels=(4, 2)), LHCB, {}, "r", 0).to_state()
    torch.save({"family": "lhcb-wgan-gp", "objective": {"regressor": state}}, tmp_path / "r.pt")
    with pytest.raises(ModelError, match=r"was built for .* this run needs"):
        get_family("lhcb-wgan-gp").build_objective(
            LhcbGanConfig(latent_dim=4, channels=(4, 2)),
            LhcbGanObjectiveConfig(regressor=str(tmp_path / "r.pt")),
            ModelShape(900, 4, layer_shapes=((30, 30),)),
            1e-3,
            0,
            torch.device("cpu"),
        )


def test_gan_exports_with_its_box_cox_inverse(
    lhcb_files: tuple[Path, Path], regressor_checkpoint: Path, tmp_path: Path
) -> None:
    run = tmp_path / "gan"
    train(
        _config("lhcb-wgan-gp", objective={"regressor": str(regressor_checkpoint)}),
        lhcb_files[0],
        run,
    )
    result = export_onnx(ExportConfig(verify=True, rtol=1e-5), run, tmp_path / "gan.onnx")
    assert result.max_rel_diff is not None and result.max_rel_diff < 1e-5
