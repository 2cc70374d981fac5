from __future__ import annotations

import pytest
import torch
from torch import nn

from fastcalogan._config import parse
from fastcalogan.errors import ConfigError, ModelError
from fastcalogan.models import (
    PRESETS,
    Critic,
    Generator,
    ModelConfig,
    build_models,
    critic_terms,
    gan,
    gradient_penalty,
    sample_noise,
)


def _linears(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def test_fastcalogan_preset_architecture() -> None:
    g, d = build_models(PRESETS["fastcalogan"], 368)
    assert [(m.in_features, m.out_features) for m in _linears(g)] == [
        (51, 50),
        (50, 100),
        (100, 200),
        (200, 368),
    ]
    assert [(m.in_features, m.out_features) for m in _linears(d)] == [
        (369, 368),
        (368, 368),
        (368, 368),
        (368, 1),
    ]
    assert not any(isinstance(m, nn.BatchNorm1d) for m in g.modules())
    assert all(isinstance(m, nn.ReLU) for m in g.net if not isinstance(m, nn.Linear))


def test_caloshowergan_presets_architecture() -> None:
    sizes = [8, 160, 190, 5, 5]
    n_feat = 368 + 5 + 1
    g, d = build_models(PRESETS["caloshowergan-photon"], n_feat, sizes)
    assert [m.out_features for m in _linears(g)] == [100, 200, 400, n_feat]
    assert _linears(g)[0].in_features == 101
    assert sum(isinstance(m, nn.BatchNorm1d) for m in g.modules()) == 3
    assert sum(isinstance(m, nn.SiLU) for m in g.modules()) == 3
    assert [m.out_features for m in _linears(d)] == [n_feat, n_feat, n_feat, 1]
    assert all(nn.utils.parametrize.is_parametrized(m, "weight") for m in _linears(d))

    g, d = build_models(PRESETS["caloshowergan-pion"], 533)
    assert _linears(g)[0].in_features == 201
    assert [m.out_features for m in _linears(g)] == [200, 400, 800, 533]
    assert [m.out_features for m in _linears(d)] == [800, 400, 200, 1]
    assert PRESETS["caloshowergan-pion"].generator_activation == "relu"
    assert PRESETS["caloshowergan-pion"].init == "he_uniform"
    assert PRESETS["caloshowergan-photon"].init == "glorot_normal"


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_forward_shapes(preset: str) -> None:
    cfg = PRESETS[preset]
    g, d = build_models(cfg, 20)
    noise = sample_noise(cfg, 7, torch.Generator().manual_seed(0))
    label = torch.rand(7, 1)
    out = g(noise, label)
    assert out.shape == (7, 20) and (out >= 0).all()
    assert d(out, label).shape == (7, 1)


def test_layer_norm_head_ends_in_softmaxes() -> None:
    sizes = [3, 5, 2]
    g, _ = build_models(PRESETS["caloshowergan-photon"], 10 + 3 + 1, sizes)
    g.eval()
    out = g(sample_noise(PRESETS["caloshowergan-photon"], 6), torch.rand(6, 1))
    for sl in (slice(0, 3), slice(3, 8), slice(8, 10), slice(10, 13)):
        torch.testing.assert_close(out[:, sl].sum(dim=1), torch.ones(6))
    assert (out[:, 13] >= 0).all()
    with pytest.raises(ModelError, match=r"need n_features = n_voxels \+ n_layers \+ 1 = 14"):
        build_models(PRESETS["caloshowergan-photon"], 10, sizes)


def test_noise_distributions() -> None:
    gen = torch.Generator().manual_seed(1)
    u = sample_noise(PRESETS["fastcalogan"], 20000, gen)
    assert u.shape == (20000, 50) and u.min() >= 0 and u.max() < 1
    n = sample_noise(PRESETS["caloshowergan-photon"], 20000, gen)
    assert n.shape == (20000, 100)
    assert n.mean().item() == pytest.approx(0.5, abs=0.01)
    assert n.std().item() == pytest.approx(0.5, abs=0.01)


def test_build_is_seeded_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    g1, d1 = build_models(PRESETS["caloshowergan-pion"], 12, seed=4)
    g2, d2 = build_models(PRESETS["caloshowergan-pion"], 12, seed=4)
    g3, _ = build_models(PRESETS["caloshowergan-pion"], 12, seed=5)
    assert torch.equal(torch.get_rng_state(), before)
    for a, b in zip(g1.state_dict().values(), g2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(d1.state_dict().values(), d2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(g1.net[0].weight, g3.net[0].weight)


def test_gradient_penalty_of_a_linear_critic() -> None:
    """A linear critic D(x) = w.x + c has gradient w everywhere: GP = lambda (||w|| - 1)^2."""
    cfg = ModelConfig(critic_hidden=())
    critic = Critic(cfg, 4)
    with torch.no_grad():
        critic.net[0].weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0, 7.0]]))  # last: label
        critic.net[0].bias.fill_(0.3)
    real, fake, label = torch.rand(16, 4), torch.rand(16, 4), torch.rand(16, 1)
    gp = gradient_penalty(critic, real, fake, label, 10.0, torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx(10.0 * (5.0 - 1.0) ** 2)
    gp.backward()  # the penalty keeps its graph for the critic update
    assert critic.net[0].weight.grad is not None


def test_gradient_penalty_vanishes_for_unit_gradient() -> None:
    critic = Critic(ModelConfig(critic_hidden=()), 2)
    with torch.no_grad():
        critic.net[0].weight.copy_(torch.tensor([[0.6, 0.8, -2.0]]))
    gp = gradient_penalty(critic, torch.rand(8, 2), torch.rand(8, 2), torch.rand(8, 1), 3.0)
    assert gp.item() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize(
    "config",
    [
        PRESETS["fastcalogan"],
        PRESETS["caloshowergan-photon"],
        PRESETS["caloshowergan-pion"].model_copy(update={"critic_hidden": (24, 16, 8)}),
        ModelConfig(critic_hidden=(0, 9), critic_activation="swish"),
        ModelConfig(critic_hidden=()),
    ],
    ids=["fastcalogan", "caloshowergan-photon", "caloshowergan-pion", "swish", "linear"],
)
@pytest.mark.parametrize("stack_rows", [1536, 1], ids=["one-batch", "three-batches"])
def test_critic_terms_equal_two_calls_and_the_autograd_penalty(
    config: ModelConfig, stack_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-pass terms and their parameter gradients match the plain computation."""
    monkeypatch.setattr(gan, "STACK_ROWS", stack_rows)
    _, critic = build_models(config, 11, seed=3)
    # float64 for a tight comparison; eval mode freezes the spectral-norm power iteration,
    # which would otherwise run once per call (three times in the plain computation)
    critic = critic.double().eval()
    gen = torch.Generator().manual_seed(0)
    real, fake = (
        torch.rand(6, 11, generator=gen).double(),
        torch.rand(6, 11, generator=gen).double(),
    )
    label = torch.rand(6, 1, generator=gen).double()

    def grads(loss: torch.Tensor) -> list[torch.Tensor]:
        critic.zero_grad(set_to_none=True)
        loss.backward()
        return [p.grad.clone() for p in critic.parameters() if p.grad is not None]

    terms = critic_terms(critic, real, fake, label, 10.0, torch.Generator().manual_seed(1))
    plain = (
        critic(real, label).mean(),
        critic(fake, label).mean(),
        gradient_penalty(critic, real, fake, label, 10.0, torch.Generator().manual_seed(1)),
    )
    assert terms.penalty.item() > 1e-3  # a real penalty, not a vanishing one
    for got, want in zip(terms, plain, strict=True):
        assert got.item() == pytest.approx(want.item(), rel=1e-12, abs=1e-12)
    got_grads = grads(terms.d_fake - terms.d_real + terms.penalty)
    want_grads = grads(plain[1] - plain[0] + plain[2])
    assert len(got_grads) == len(want_grads) == len(list(critic.parameters()))
    for got, want in zip(got_grads, want_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_generator_is_a_plain_module() -> None:
    g = Generator(PRESETS["fastcalogan"], 5)
    assert isinstance(g, nn.Module) and g.n_features == 5


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match=r"m\.yaml: noise"):
        parse({"noise": "gaussian"}, ModelConfig, "m.yaml")
    with pytest.raises(ConfigError, match="layer widths must be >= 0"):
        parse({"generator_hidden": [4, -1]}, ModelConfig, "m.yaml")
