"""The CaloGAN family: attention, resizing, energy features, sparsity, minibatch
discrimination, the generator's output convention and one training step."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from fastcalogan.errors import ModelError
from fastcalogan.models import CaloGanConfig, ModelShape, get_family, get_preset
from fastcalogan.models.calogan_nets import (
    AreaResize,
    CaloGanDiscriminator,
    InpaintingAttention,
    MinibatchDiscrimination,
    energy_features,
    soft_sparsity,
    split_layers,
)

CALOGAN_SHAPES = ((3, 96), (12, 12), (12, 6))
#: A CaloGAN small enough for milliseconds per step (the tests' tiny settings).
TINY: dict[str, Any] = {
    "latent_dim": 8,
    "generator_dense_channels": 2,
    "generator_conv_channels": 2,
    "generator_local_channels": 2,
    "discriminator_conv_channels": 2,
    "discriminator_local_channels": (2, 2, 2),
    "mbd_kernels": 2,
    "mbd_kernel_dim": 2,
}


def test_area_resize_is_calogans_upsampling_and_pooling() -> None:
    x = torch.rand(2, 1, 3, 96)
    expected = torch.nn.functional.avg_pool2d(
        torch.nn.functional.interpolate(x, scale_factor=(4, 1), mode="nearest"), (1, 8)
    )
    torch.testing.assert_close(AreaResize((3, 96), (12, 12))(x), expected)
    y = torch.rand(2, 1, 12, 12)
    torch.testing.assert_close(
        AreaResize((12, 12), (12, 6))(y), torch.nn.functional.avg_pool2d(y, (1, 2))
    )
    # the mean is kept whatever the shapes
    z = torch.rand(3, 1, 5, 7)
    torch.testing.assert_close(AreaResize((5, 7), (3, 4))(z).mean((2, 3)), z.mean((2, 3)))


def test_attention_starts_with_the_layers_own_image_and_mixes_with_its_weight() -> None:
    torch.manual_seed(0)
    attention = InpaintingAttention((4, 5))
    primary, carried = torch.rand(3, 1, 4, 5), torch.rand(3, 1, 4, 5)
    # carried channel biased to -10 at initialisation: W close to 1
    torch.testing.assert_close(attention(primary, carried), primary, atol=2e-3, rtol=0)
    with torch.no_grad():
        assert attention.weights_layer.bias is not None
        attention.weights_layer.weight.zero_()
        attention.weights_layer.bias[0].fill_(0.0)
        attention.weights_layer.bias[1].fill_(torch.log(torch.tensor(3.0)).item())
    # W = softmax(0, log 3)[0] = 1/4 everywhere
    w = attention.weight(primary, carried)
    torch.testing.assert_close(w, torch.full_like(w, 0.25))
    torch.testing.assert_close(attention(primary, carried), 0.25 * primary + 0.75 * carried)


def test_energy_features_and_indicator() -> None:
    images = [torch.tensor([[[[1.0, 2.0]]], [[[0.0, 0.0]]]]), torch.tensor([[[[3.0]]], [[[4.0]]]])]
    layers, total, well, far = energy_features(images, torch.tensor([[10.0], [4.0]]), 5.0)
    assert layers.tolist() == [[3.0, 3.0], [0.0, 4.0]]
    assert total.flatten().tolist() == [6.0, 4.0]
    assert well.flatten().tolist() == [4.0, 0.0]
    assert far.flatten().tolist() == [0.0, 0.0]
    _, _, _, far = energy_features(images, torch.tensor([[11.5], [-1.5]]), 5.0)
    assert far.flatten().tolist() == [1.0, 1.0]


def test_soft_sparsity_counts_filled_cells_and_has_a_subgradient() -> None:
    image = torch.tensor([[[[0.0, 0.0005, 0.002, 0.5]]]], requires_grad=True)  # GeV
    s = soft_sparsity(image, 0.001)
    assert s.item() == pytest.approx((0 + 0.5 + 1 + 1) / 4)
    (grad,) = torch.autograd.grad(s.sum(), image)
    # cells in [0, scale) move the sparsity (an empty cell has the one-sided subgradient);
    # filled ones do not
    assert grad.flatten().tolist() == pytest.approx([250.0, 250.0, 0.0, 0.0])


def test_minibatch_discrimination_sees_identical_events() -> None:
    torch.manual_seed(0)
    mbd = MinibatchDiscrimination(4, kernels=3, dim=2)
    same = mbd(torch.ones(5, 4))
    spread = mbd(torch.randn(5, 4) * 100.0)
    # five identical events: each kernel sums exp(0) five times
    torch.testing.assert_close(same, torch.full((5, 3), torch.tanh(torch.tensor(5.0)).item()))
    assert (spread < same).all()


def test_discriminator_outputs_a_logit_and_the_total_energy() -> None:
    torch.manual_seed(0)
    disc = CaloGanDiscriminator(CaloGanConfig(**TINY), CALOGAN_SHAPES)
    flat = torch.rand(6, 504)
    logit, total = disc(split_layers(flat, CALOGAN_SHAPES), torch.full((6, 1), 50.0))
    assert logit.shape == (6,) and torch.isfinite(logit).all()
    torch.testing.assert_close(total, flat.sum(1))


def _shape() -> ModelShape:
    return ModelShape(n_features=504, n_conditions=1, layer_shapes=CALOGAN_SHAPES)


def test_generator_returns_nonnegative_cells_over_the_incident_energy() -> None:
    family = get_family("calogan")
    config = CaloGanConfig(**TINY)
    gen = family.build_sampler(config, _shape(), seed=1).eval()
    z = family.noise(config).sample(4, torch.Generator().manual_seed(0))
    label = torch.tensor([[0.01], [0.1], [0.5], [1.0]])  # E / 100 GeV
    with torch.no_grad():
        x = gen(z, label)
        images = gen.images(z, label)
    assert x.shape == (4, 504) and (x >= 0).all()
    # the networks' images are GeV: x * E_inc[GeV] gives them back
    flat = torch.cat([im.flatten(1) for im in images], dim=1)
    torch.testing.assert_close(x * label * 100.0, flat)
    # built from the seed alone, identically
    again = family.build_sampler(config, _shape(), seed=1).eval()
    with torch.no_grad():
        torch.testing.assert_close(again(z, label), x)


def test_family_refuses_shapes_it_cannot_serve() -> None:
    family = get_family("calogan")
    config = CaloGanConfig(**TINY)
    with pytest.raises(ModelError, match="without layer_norm"):
        family.build_sampler(config, ModelShape(508, 1, (288, 144, 72), CALOGAN_SHAPES))
    with pytest.raises(ModelError, match="layers of 504 cells, preprocessed showers of 500"):
        family.build_sampler(config, ModelShape(500, 1, (), CALOGAN_SHAPES))


class _Batches:
    batch_size = 8
    device = torch.device("cpu")

    def __init__(self) -> None:
        self.g = torch.Generator().manual_seed(3)

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.rand(8, 504, generator=self.g) * (torch.rand(8, 504, generator=self.g) < 0.3)
        return x / x.sum(1, keepdim=True), self.draw_conditions()

    def draw_conditions(self) -> torch.Tensor:
        return torch.rand(8, 1, generator=self.g) * 0.99 + 0.01


def test_one_training_step_updates_both_networks_with_the_papers_optimisers() -> None:
    family = get_family("calogan")
    preset = get_preset("calogan")
    settings = family.objective_config()
    objective = family.build_objective(
        CaloGanConfig(**TINY), settings, _shape(), preset.lr, 0, torch.device("cpu")
    )
    assert objective.opt_g.param_groups[0]["lr"] == 2e-4
    assert objective.opt_d.param_groups[0]["lr"] == 2e-5
    assert objective.opt_d.param_groups[0]["betas"] == (0.5, 0.999)
    before_g = [p.detach().clone() for p in objective.sampler.parameters()]
    before_d = [p.detach().clone() for p in objective.discriminator.parameters()]
    values = objective.step(_Batches(), torch.Generator().manual_seed(0))  # type: ignore[arg-type]
    assert len(values) == len(family.loss_columns) and all(torch.isfinite(v) for v in values)
    assert 0 < values[2].item() < 1 and 0 < values[3].item() < 1  # D(real), D(generated)
    moved_g = [
        not torch.equal(a, b)
        for a, b in zip(before_g, objective.sampler.parameters(), strict=False)
    ]
    moved_d = [
        not torch.equal(a, b)
        for a, b in zip(before_d, objective.discriminator.parameters(), strict=False)
    ]
    assert any(moved_g) and any(moved_d)
    # two real/generated discriminator updates and two generator updates per iteration
    assert objective.opt_d.state[next(objective.discriminator.parameters())]["step"] == 2
    assert objective.opt_g.state[next(objective.sampler.parameters())]["step"] == 2


def test_preset_is_the_papers_recipe() -> None:
    preset = get_preset("calogan")
    model = preset.model
    assert isinstance(model, CaloGanConfig)
    assert (model.latent_dim, model.energy_well_threshold_gev) == (1024, 5.0)
    assert preset.batch_size == 256 and preset.lr == 2e-4 and preset.geometry == "calogan"
    assert preset.objective.model_dump(exclude={"schema_version"}) == {
        "discriminator_lr": 2e-5,
        "beta1": 0.5,
        "beta2": 0.999,
        "energy_weight": 0.05,
        "generator_steps": 2,
    }
    assert (preset.preprocess.kind, preset.preprocess.e_max) == ("fastcalogan", 100_000.0)
