"""A plain PyTorch WGAN-GP loop of a preset's recipe: the contrast of the training numbers.

What one writes from the paper (Gulrajani et al. 2017) with stock PyTorch: the same networks,
batch, critic steps, penalty weight and Adam settings as the preset, but two critic calls
and the penalty through ``torch.autograd.grad(create_graph=True)``, default (foreach) Adam,
a fresh graph per step. The critic is frozen during the generator step (as the common public
implementations do), which only makes the contrast faster.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ..models import ModelConfig, get_preset, gradient_penalty
from ..models.gan import build_models, noise_spec
from ..train import model_shape
from .synthetic import synthetic_generator

__all__ = ["plain_loop_supported", "plain_wgan_gp"]


def plain_loop_supported(preset: str) -> bool:
    """The contrast exists for the MLP WGAN-GP presets."""
    return get_preset(preset).family == "wgan-gp-mlp"


def plain_wgan_gp(
    preset: str, batch: int, iterations: int, chunk: int, seed: int = 0
) -> dict[str, Any]:
    """Iterations per CPU-second of the plain loop on random showers of the preset's width.

    Args:
        preset: an MLP WGAN-GP preset.
        batch: showers per batch.
        iterations: timed iterations (after one warm-up iteration).
        chunk: iterations per timed chunk (the rate is the median over chunks).
        seed: initialisation and sampling seed.

    Returns:
        ``{"iterations_per_s", "rates", "flops_per_iteration"}``: the median chunk rate in
        iterations per second of process CPU time, every chunk's rate, and the FLOPs of one
        iteration (counted as the bench counts the real loop's).
    """
    from .timing import FlopCount

    recipe = get_preset(preset)
    model = synthetic_generator(preset)
    shape = model_shape(model.preprocessor, model.binning)
    config = recipe.model
    assert isinstance(config, ModelConfig)
    settings: Any = recipe.objective
    generator, critic = build_models(
        config, shape.n_features, shape.head_layer_sizes or None, seed, shape.n_conditions
    )
    generator.train()
    critic.train()
    noise = noise_spec(config)
    g = torch.Generator().manual_seed(seed)
    n_events = 2000
    data = torch.rand(n_events, shape.n_features, generator=g)
    labels = torch.rand(n_events, shape.n_conditions, generator=g)
    betas = (settings.beta1, settings.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=recipe.lr, betas=betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=recipe.lr, betas=betas)

    def iteration() -> None:
        for _ in range(settings.n_critic):
            idx = torch.randint(n_events, (batch,), generator=g)
            real, label = data[idx], labels[idx]
            fake = generator(noise.sample(batch, g), label).detach()
            d_real = critic(real, label).mean()
            d_fake = critic(fake, label).mean()
            gp = gradient_penalty(critic, real, fake, label, settings.gp_lambda, g)
            loss_d = d_fake - d_real + gp
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        label = labels[torch.randint(n_events, (batch,), generator=g)]
        for p in critic.parameters():
            p.requires_grad_(False)
        loss_g = -critic(generator(noise.sample(batch, g), label), label).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        for p in critic.parameters():
            p.requires_grad_(True)

    with FlopCount() as counter:
        iteration()
    rates: list[float] = []
    done = 0
    while done < iterations:
        n = min(chunk, iterations - done)
        t0 = time.process_time()
        for _ in range(n):
            iteration()
        rates.append(n / max(time.process_time() - t0, 1e-9))
        done += n
    rates_sorted = sorted(rates)
    return {
        "iterations_per_s": rates_sorted[len(rates_sorted) // 2],
        "rates": rates,
        "flops_per_iteration": counter.total,
    }
