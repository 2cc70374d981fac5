"""The written-out critic step (models/fused.py) equals critic_terms + autograd."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from fastcalogan.errors import ModelError
from fastcalogan.models import ModelConfig, ModelShape, critic_terms, get_family, get_preset
from fastcalogan.models.fused import critic_backward, critic_input_gradient
from fastcalogan.models.gan import Critic, build_models
from fastcalogan.train import TrainConfig, list_checkpoints, load_checkpoint, train


def _critic(hidden: tuple[int, ...], seed: int) -> Critic:
    config = ModelConfig(latent_dim=4, generator_hidden=(8,), critic_hidden=hidden)
    return build_models(config, 12, None, seed, 2)[1].double()


def _stack(critics: list[Critic]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    layers = [[m for m in c.net if isinstance(m, nn.Linear)] for c in critics]
    weights = [torch.stack([ls[i].weight.detach() for ls in layers]) for i in range(len(layers[0]))]
    biases = [torch.stack([ls[i].bias.detach() for ls in layers]) for i in range(len(layers[0]))]
    return weights, biases


@pytest.mark.parametrize("hidden", [(0, 0, 0), (8, 5), ()])
def test_fused_step_equals_autograd_for_each_member(hidden: tuple[int, ...]) -> None:
    critics = [_critic(hidden, seed) for seed in range(3)]
    batch, g = 16, torch.Generator().manual_seed(0)
    real = torch.rand(3, batch, 12, generator=g, dtype=torch.float64)
    fake = torch.rand(3, batch, 12, generator=g, dtype=torch.float64)
    label = torch.rand(3, batch, 2, generator=g, dtype=torch.float64)
    eps = torch.empty(3, batch, 1, dtype=torch.float64)
    reference = []
    for k, critic in enumerate(critics):
        rng = torch.Generator().manual_seed(10 + k)
        terms = critic_terms(critic, real[k], fake[k], label[k], 10.0, rng)
        critic.zero_grad()
        (terms.d_fake - terms.d_real + terms.penalty).backward()
        reference.append(type(terms)(*(t.detach() for t in terms)))
        eps[k] = torch.rand((batch, 1), generator=torch.Generator().manual_seed(10 + k))
    weights, biases = _stack(critics)
    weight_grads = [torch.full_like(w, float("nan")) for w in weights]
    bias_grads = [torch.full_like(b, float("nan")) for b in biases]
    out = critic_backward(weights, biases, real, fake, label, eps, 10.0, weight_grads, bias_grads)
    for k, critic in enumerate(critics):
        assert float(out.d_real[k]) == pytest.approx(float(reference[k].d_real), abs=1e-12)
        assert float(out.d_fake[k]) == pytest.approx(float(reference[k].d_fake), abs=1e-12)
        assert float(out.penalty[k]) == pytest.approx(float(reference[k].penalty), abs=1e-12)
        linears = [m for m in critic.net if isinstance(m, nn.Linear)]
        for i, m in enumerate(linears):
            assert m.weight.grad is not None and m.bias.grad is not None
            torch.testing.assert_close(weight_grads[i][k], m.weight.grad, rtol=0, atol=1e-12)
            torch.testing.assert_close(bias_grads[i][k], m.bias.grad, rtol=0, atol=1e-12)


def test_input_gradient_equals_autograd() -> None:
    critics = [_critic((7, 0), seed) for seed in range(2)]
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 9, 12, generator=g, dtype=torch.float64)
    label = torch.rand(2, 9, 2, generator=g, dtype=torch.float64)
    weights, biases = _stack(critics)
    mean, grad = critic_input_gradient(weights, biases, x, label)
    for k, critic in enumerate(critics):
        xk = x[k].clone().requires_grad_(True)
        score = critic(xk, label[k])
        (expected,) = torch.autograd.grad(score.sum(), xk)
        torch.testing.assert_close(grad[k], expected, rtol=0, atol=1e-12)
        assert float(mean[k]) == pytest.approx(float(score.detach().mean()), abs=1e-12)


def test_fused_training_follows_the_reference(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    weights = {}
    for step in ("fused", "autograd"):
        config = tiny_config(iterations=4, objective={"critic_step": step})
        train(config, tiny_file, tmp_path / step)
        weights[step] = load_checkpoint(list_checkpoints(tmp_path / step)[-1])["generator"]
    for key, value in weights["autograd"].items():
        torch.testing.assert_close(weights["fused"][key], value, rtol=1e-4, atol=1e-5)


def test_fused_refuses_a_spectral_norm_critic() -> None:
    recipe = get_preset("caloshowergan-photon")
    family = get_family(recipe.family)
    settings = recipe.objective.model_copy(update={"critic_step": "fused"})
    with pytest.raises(ModelError, match="critic_step: fused"):
        family.build_objective(
            recipe.model, settings, ModelShape(n_features=10), 1e-4, 0, torch.device("cpu")
        )
    auto = family.build_objective(
        recipe.model, recipe.objective, ModelShape(n_features=10), 1e-4, 0, torch.device("cpu")
    )
    assert not auto.fused  # type: ignore[attr-defined]
