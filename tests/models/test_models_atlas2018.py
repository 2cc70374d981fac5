"""The ATLAS 2018 families: every VAE loss term on hand-made inputs, the WGAN's cell spaces and
two-sided penalty, presets, and the conditioned WGAN's export."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcalogan.errors import ModelError
from fastcalogan.generate import ExportConfig, OnnxSimulator, export_generators
from fastcalogan.generate.graph import relative_difference
from fastcalogan.geometry import load_geometry
from fastcalogan.models import (
    AtlasVaeObjectiveConfig,
    AtlasWganConfig,
    ModelShape,
    get_family,
    get_preset,
)
from fastcalogan.models.atlas2018 import (
    CELL_TRANSFORMS,
    AtlasVaeObjective,
    CellDecoder,
    CellEncoder,
    CellGenerator,
    cell_space_bounds,
    cell_transform_forward,
    cell_transform_inverse,
    kl_term,
    layer_fraction_terms,
    reconstruction_term,
    total_energy_term,
)
from fastcalogan.models.gan import critic_terms
from fastcalogan.train import TrainedGenerator, showers_from_noise

ATLAS = ModelShape(266, 1, (), ((7, 3), (56, 3), (7, 7), (4, 7)))


# ----- the VAE's loss terms -----------------------------------------------------------------


def test_reconstruction_terms_on_hand_made_cells() -> None:
    x = torch.tensor([[0.5, 0.0, 1.0]])
    logits = torch.tensor([[0.0, 0.0, 0.0]])  # sigmoid: 0.5 everywhere
    # - [0.5 ln 0.5 + 0.5 ln 0.5] - ln 0.5 - ln 0.5 = 3 ln 2
    bce = reconstruction_term(x, logits, torch.sigmoid(logits), "bce")
    assert bce.tolist() == pytest.approx([3 * math.log(2)])
    mse = reconstruction_term(x, logits, torch.tensor([[0.25, 0.5, 1.0]]), "mse")
    assert mse.tolist() == pytest.approx([0.0625 + 0.25])
    # a target above 1 (E_cell > E_photon cannot be, but a float may) is clipped for the BCE
    over = reconstruction_term(torch.tensor([[1.2]]), torch.tensor([[0.0]]), None, "bce")  # type: ignore[arg-type]
    assert over.item() == pytest.approx(math.log(2))
    with pytest.raises(ModelError, match="bce or mse"):
        reconstruction_term(x, logits, logits, "l1")


def test_kl_term_on_hand_made_posteriors() -> None:
    mean = torch.tensor([[0.0, 0.0], [1.0, -2.0], [0.0, 0.0]])
    log_var = torch.tensor([[0.0, 0.0], [0.0, 0.0], [math.log(4.0), 0.0]])
    # KL(N(m, s^2) || N(0, 1)) = (s^2 + m^2 - 1 - ln s^2) / 2
    assert kl_term(mean, log_var).tolist() == pytest.approx([0.0, 2.5, (4 - 1 - math.log(4)) / 2])


def test_total_energy_term_is_the_difference_of_sums() -> None:
    x = torch.tensor([[0.2, 0.3, 0.5], [0.1, 0.0, 0.0]])
    x_hat = torch.tensor([[0.2, 0.3, 0.4], [0.0, 0.2, 0.1]])
    assert total_energy_term(x, x_hat).tolist() == pytest.approx([0.1, 0.2])
    assert total_energy_term(x, x).tolist() == [0.0, 0.0]


def test_layer_fraction_terms_on_hand_made_layers() -> None:
    sizes = (1, 2, 1)
    # layers 0.2 | 0.3 + 0.3 | 0.2 of 1.0, and 0.1 | 0.1 + 0.0 | 0.3 of 0.5
    x = torch.tensor([[0.2, 0.3, 0.3, 0.2]])
    x_hat = torch.tensor([[0.1, 0.1, 0.0, 0.3]])
    got = layer_fraction_terms(x, x_hat, sizes)
    assert got.tolist()[0] == pytest.approx([0.0, 0.4, 0.4])
    # only the fractions count: a scaled shower has none, an empty one has fractions 0
    assert layer_fraction_terms(x, 3.0 * x, sizes).abs().max().item() < 1e-6
    assert layer_fraction_terms(x, torch.zeros_like(x), sizes).tolist()[0] == pytest.approx(
        [0.2, 0.6, 0.2]
    )


def _objective(settings: AtlasVaeObjectiveConfig, sizes: tuple[int, ...] = (1, 2, 1)) -> Any:
    family = get_family("atlas18-vae")
    config = family.network_config(latent_dim=2, encoder_hidden=(4,), decoder_hidden=(4,))
    shape = ModelShape(sum(sizes), 1, (), tuple((1, n) for n in sizes))
    return family.build_objective(config, settings, shape, 1e-3, 0, torch.device("cpu"))


def test_the_vae_loss_adds_each_term_with_its_weight() -> None:
    x = torch.tensor([[0.2, 0.3, 0.3, 0.2], [0.0, 0.5, 0.1, 0.3]])
    label = torch.tensor([[0.5], [1.0]])
    eps = torch.tensor([[0.3, -1.0], [0.0, 2.0]])
    weights = {"w_total_energy": 0.5, "w_layers": (1.0, 2.0, 3.0), "beta_kl": 0.25}
    obj: AtlasVaeObjective = _objective(AtlasVaeObjectiveConfig(**weights))
    loss, reco, kl, e_tot, layers = obj.losses(x, label, eps)
    mean, log_var = obj.encoder(x, label)
    logits = obj.sampler.logits(mean + torch.exp(0.5 * log_var) * eps, label)
    x_hat = torch.sigmoid(logits)
    assert reco.item() == pytest.approx(
        torch.nn.functional.binary_cross_entropy(x_hat, x, reduction="sum").item() / 2, rel=1e-5
    )
    assert kl.item() == pytest.approx(kl_term(mean, log_var).mean().item())
    assert e_tot.item() == pytest.approx(0.5 * total_energy_term(x, x_hat).mean().item())
    fractions = layer_fraction_terms(x, x_hat, (1, 2, 1))
    expected = (fractions * torch.tensor([1.0, 2.0, 3.0])).sum(1).mean()
    assert layers.item() == pytest.approx(expected.item())
    assert loss.item() == pytest.approx((reco + 0.25 * kl + e_tot + layers).item())


def test_vae_settings_must_fit_the_geometry_and_the_output() -> None:
    with pytest.raises(ModelError, match="w_layers has 4 weights; the geometry has 3 layers"):
        _objective(AtlasVaeObjectiveConfig())
    family = get_family("atlas18-vae")
    relu = family.network_config(output="relu", encoder_hidden=(4,), decoder_hidden=(4,))
    shape = ModelShape(4, 1, (), ((1, 1), (1, 2), (1, 1)))
    settings = AtlasVaeObjectiveConfig(w_layers=(1.0, 1.0, 1.0))
    with pytest.raises(ModelError, match=r"bce needs model\.output sigmoid"):
        family.build_objective(relu, settings, shape, 1e-3, 0, torch.device("cpu"))
    layer_norm = ModelShape(8, 1, (1, 2, 1), ((1, 1), (1, 2), (1, 1)))
    with pytest.raises(ModelError, match="layer-energy normalisation"):
        family.build_sampler(family.network_config(), layer_norm)


def test_vae_preset_is_the_notes_recipe() -> None:
    preset = get_preset("atlas18-vae")
    model, objective = preset.model, preset.objective
    assert model.encoder_hidden == (200, 150, 100, 50)  # type: ignore[attr-defined]
    assert model.decoder_hidden == (50, 100, 150, 200)  # type: ignore[attr-defined]
    assert model.latent_dim == 10  # type: ignore[attr-defined]
    assert objective.w_total_energy == 1e-2  # type: ignore[attr-defined]
    assert objective.w_layers == (8e-2, 6e-1, 2e-1, 1e-1)  # type: ignore[attr-defined]
    assert 0 < objective.beta_kl <= 1  # type: ignore[attr-defined]
    assert not preset.preprocess.conditions and not preset.preprocess.layer_norm
    obj = get_family("atlas18-vae").build_objective(
        model, objective, ATLAS, preset.lr, 0, torch.device("cpu")
    )
    assert isinstance(obj.optimizer, torch.optim.RMSprop)
    assert isinstance(obj.encoder, CellEncoder) and isinstance(obj.sampler, CellDecoder)
    # only the decoder generates: the sampler maps (noise, label) to cells in [0, 1]
    sampler = get_family("atlas18-vae").build_sampler(model, ATLAS)
    with torch.no_grad():
        out = sampler(torch.randn(5, 10), torch.rand(5, 1))
    assert out.shape == (5, 266) and float(out.min()) >= 0 and float(out.max()) <= 1


# ----- the WGAN -----------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0, allow_subnormal=False), min_size=1, max_size=20),
    st.sampled_from(CELL_TRANSFORMS),
)
def test_cell_transforms_invert(values: list[float], transform: str) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    back = cell_transform_inverse(cell_transform_forward(x, transform), transform)
    assert torch.allclose(back, x, rtol=1e-9, atol=1e-15)


def test_cell_spaces_are_the_notes_grid() -> None:
    x = torch.tensor([0.0, 1e-6, 1e-2, 1.0])
    assert cell_transform_forward(x, "linear").tolist() == x.tolist()
    assert cell_transform_forward(x, "log10").tolist() == pytest.approx(
        [-10.0, -6.0, -2.0, 0.0], abs=1e-4
    )
    # log10(E x 1e10), 0 for an empty cell
    assert cell_transform_forward(x, "log10_scaled").tolist() == pytest.approx(
        [0.0, 4.0, 8.0, 10.0], abs=1e-4
    )
    # the generator's output is clipped to empty cells, never negative energies
    assert cell_transform_inverse(torch.tensor([-3.0]), "linear").item() == 0.0
    assert cell_transform_inverse(torch.tensor([-12.0]), "log10").item() == 0.0
    with pytest.raises(ModelError, match="cell_transform must be one of"):
        cell_transform_forward(x, "sqrt")


def test_generator_maps_its_cell_space_back() -> None:
    family = get_family("atlas18-wgan")
    for transform in CELL_TRANSFORMS:
        config = AtlasWganConfig(
            latent_dim=3, generator_hidden=(8,), critic_hidden=(8,), cell_transform=transform
        )
        gen = family.build_sampler(config, ATLAS, seed=1)
        assert isinstance(gen, CellGenerator)
        noise, label = torch.randn(4, 3), torch.rand(4, 1)
        gen.requires_grad_(False)
        raw = gen.raw(noise, label)
        assert torch.allclose(gen(noise, label), cell_transform_inverse(raw, transform))
        cells = gen(noise, label)
        assert float(cells.min()) >= 0.0 and float(cells.max()) <= 1.0
        # between an empty cell and the whole photon energy in one cell, whatever the net says
        lo, hi = cell_space_bounds(transform)
        assert (lo, hi) == pytest.approx(
            {"linear": (0, 1), "log10": (-10, 0), "log10_scaled": (0, 10)}[transform], abs=1e-6
        )
        with torch.no_grad():
            gen.net[-1].bias.fill_(1e4)
        assert gen.raw(noise, label).max().item() == pytest.approx(hi, abs=1e-5)
        assert gen(noise, label).max().item() == pytest.approx(1.0, rel=1e-5)


def test_penalty_is_two_sided() -> None:
    """A critic with input gradient of norm 0.5 is penalised: (0.5 - 1)^2 lambda."""
    family = get_family("atlas18-wgan")
    config = AtlasWganConfig(latent_dim=2, generator_hidden=(4,), critic_hidden=())
    obj = family.build_objective(
        config,
        family.objective_config(),
        ModelShape(2, 1, (), ((1, 1), (1, 1))),
        1e-4,
        0,
        torch.device("cpu"),
    )
    linear = obj.critic.net[0]
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[0.3, 0.4, 7.0]]))  # gradient in x: (0.3, 0.4)
    real, fake, label = torch.rand(6, 2), torch.rand(6, 2), torch.rand(6, 1)
    _, _, penalty = critic_terms(obj.critic, real, fake, label, 10.0, torch.Generator())
    assert penalty.item() == pytest.approx(10.0 * 0.25)


def test_critic_judges_showers_in_the_cell_space(monkeypatch: pytest.MonkeyPatch) -> None:
    import fastcalogan.models.atlas2018 as module

    seen: list[torch.Tensor] = []

    def spy(critic: Any, real: torch.Tensor, fake: torch.Tensor, *args: Any) -> Any:
        seen.append(real)
        return critic_terms(critic, real, fake, *args)

    monkeypatch.setattr(module, "critic_terms", spy)
    family = get_family("atlas18-wgan")
    config = AtlasWganConfig(latent_dim=2, generator_hidden=(4,), critic_hidden=(4,))
    shape = ModelShape(3, 1, (), ((1, 1), (1, 2)))
    obj = family.build_objective(
        config, family.objective_config(n_critic=2), shape, 1e-4, 0, torch.device("cpu")
    )
    x = torch.tensor([[0.0, 1e-3, 0.5]]).repeat(4, 1)

    class Batches:
        batch_size = 4
        device = torch.device("cpu")

        def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
            return x, torch.ones(4, 1)

        def draw_conditions(self) -> torch.Tensor:
            return torch.ones(4, 1)

    losses = obj.step(Batches(), torch.Generator().manual_seed(0))
    assert len(losses) == 4 and len(seen) == 2
    assert torch.allclose(seen[0], cell_transform_forward(x, "log10_scaled"))
    assert seen[0][0].tolist() == pytest.approx([0.0, 7.0, math.log10(5e9 + 1)])


def test_wgan_preset_conditions_on_energy_and_multi_hot_alignment() -> None:
    preset = get_preset("atlas18-wgan")
    conditions = preset.preprocess.conditions
    assert list(conditions) == ["phi_alignment", "eta_alignment"]
    assert [(c.transform, c.n) for c in conditions.values()] == [("one_hot", 4), ("one_hot", 2)]
    assert preset.model.cell_transform in CELL_TRANSFORMS  # type: ignore[attr-defined]
    obj = get_family("atlas18-wgan").build_objective(
        preset.model,
        preset.objective,
        ModelShape(266, 7, (), ATLAS.layer_shapes),
        preset.lr,
        0,
        torch.device("cpu"),
    )
    assert isinstance(obj.opt_g, torch.optim.Adam) and isinstance(obj.opt_d, torch.optim.Adam)


def test_conditioned_wgan_exports_with_its_alignments(tmp_path: Path) -> None:
    geometry = load_geometry("atlas-cells")
    model = TrainedGenerator.untrained("atlas18-wgan", geometry, (1000.0, 256000.0), seed=2)
    assert model.condition_names == ("phi_alignment", "eta_alignment")
    onnx = export_generators([model], ExportConfig(verify=False), tmp_path / "wgan.onnx")
    g = torch.Generator().manual_seed(0)
    n = 32
    noise = model.noise.sample(n, g)
    energies = torch.tensor(np.repeat([1000.0, 64000.0], n // 2), dtype=torch.float32)
    conditions = torch.stack([torch.arange(n) % 4, torch.arange(n) // 16], 1).float()
    with torch.inference_mode():
        ref = showers_from_noise(
            model.generator, model.preprocessor, noise, energies, conditions=conditions
        )
    got = OnnxSimulator(onnx.onnx_path, threads=1).run(
        noise.numpy(), energies.numpy(), conditions.numpy()
    )
    assert float(ref.abs().max()) > 0
    assert relative_difference(got, ref) < 1e-5
