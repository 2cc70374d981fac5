"""The ``wgan-gp-mlp`` family: conditional MLP Wasserstein GANs with gradient penalty.

FastCaloGAN (ATLAS, Comput. Softw. Big Sci. 6 (2022) 7) and CaloShowerGAN (M. Faucci
Giannelli and R. Zhang, arXiv:2309.06515): a generator and a critic, both MLPs taking the
condition label as extra input columns (networks in :mod:`.gan`, architecture in
:class:`~fastcalogan.models.ModelConfig`). One iteration is ``n_critic`` critic steps on
``d_fake - d_real + penalty`` followed by one generator step on ``-d_fake`` (Gulrajani et al.
2017), each network with its own Adam optimiser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pydantic
import torch
from torch import nn

from .._config import StageConfig
from ..errors import ModelError
from ..preprocess import PreprocessConfig
from .adversarial import WassersteinObjective
from .config import PRESETS, ModelConfig
from .family import BatchSource, ModelFamily, ModelShape, NoiseSpec, Preset
from .fused import critic_backward, critic_input_gradient
from .gan import Critic, Generator, build_generator, build_models, critic_terms, noise_spec

__all__ = [
    "WganGpMlp",
    "WganGpObjective",
    "WganGpObjectiveConfig",
    "fold_batch_norm",
    "fused_critic_supported",
]


class WganGpObjectiveConfig(StageConfig):
    """The ``objective:`` settings of the MLP WGAN-GP.

    Attributes:
        n_critic: critic steps per generator step.
        gp_lambda: weight of the gradient penalty.
        beta1, beta2: Adam's betas, the same for both networks.
        critic_step: how the critic's loss and gradients are computed. ``fused``: forward
            and backward written out (:mod:`.fused`), about a sixth fewer FLOPs, for
            critics with ReLUs and no spectral normalisation; ``autograd``:
            :func:`~fastcalogan.models.critic_terms` and a backward pass (the reference,
            whose numbers ``tests/train/test_train_pinned.py`` pins); ``auto``: ``fused``
            where the critic allows it. Both give the same losses and gradients up to float
            rounding (the products sum in another order), so a run's numbers depend on it.
    """

    n_critic: int = pydantic.Field(default=5, ge=1)
    gp_lambda: float = pydantic.Field(default=10.0, ge=0)
    beta1: float = pydantic.Field(default=0.5, ge=0, lt=1)
    beta2: float = pydantic.Field(default=0.999, ge=0, lt=1)
    critic_step: Literal["auto", "fused", "autograd"] = "auto"


def fused_critic_supported(config: ModelConfig) -> bool:
    """Whether the written-out critic step (:mod:`.fused`) applies: ReLUs, no spectral norm."""
    return config.critic_activation == "relu" and not config.critic_spectral_norm


class WganGpObjective(WassersteinObjective[WganGpObjectiveConfig]):
    """Critic and generator updates of one WGAN-GP iteration.

    Args:
        generator, critic: the networks, in training mode on ``device``.
        noise: the generator's noise input.
        settings: critic steps, penalty weight, Adam betas.
        lr: learning rate of both Adam optimisers.
        device: where the networks are.
    """

    critic: Critic

    def __init__(
        self,
        generator: Generator,
        critic: Critic,
        noise: NoiseSpec,
        settings: WganGpObjectiveConfig,
        lr: float,
        device: torch.device,
    ) -> None:
        # the fused (single-kernel) Adam update: about 10 % more iterations/s on CPU for the
        # FastCaloGAN preset, and still bit-identical across kill and resume
        super().__init__(generator, critic, noise, settings, lr, device, fused=True)
        supported = fused_critic_supported(critic.config)
        if settings.critic_step == "fused" and not supported:
            raise ModelError(
                "objective.critic_step: fused needs a critic with relu activations and no "
                "spectral normalisation; use auto or autograd"
            )
        self.fused = settings.critic_step == "fused" or (
            settings.critic_step == "auto" and supported
        )
        self._linears = [m for m in critic.net if isinstance(m, nn.Linear)]

    def step(self, batches: BatchSource, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """``n_critic`` critic steps, then one generator step.

        Returns:
            ``(critic loss, generator loss, gradient penalty, Wasserstein estimate)`` of the
            last critic step and the generator step.
        """
        if self.fused:
            return self._fused_step(batches, generator)
        return self._autograd_step(batches, generator)

    def _fused_step(
        self, batches: BatchSource, generator: torch.Generator
    ) -> tuple[torch.Tensor, ...]:
        """:meth:`step` with the written-out critic (:mod:`.fused`), as a one-member stack."""
        n = batches.batch_size
        weights = [m.weight.detach().unsqueeze(0) for m in self._linears]
        biases = [m.bias.detach().unsqueeze(0) for m in self._linears]
        for m in self._linears:
            if m.weight.grad is None or m.bias.grad is None:
                m.weight.grad = torch.empty_like(m.weight)
                m.bias.grad = torch.empty_like(m.bias)
        weight_grads = [m.weight.grad.unsqueeze(0) for m in self._linears]  # type: ignore[union-attr]
        bias_grads = [m.bias.grad.unsqueeze(0) for m in self._linears]  # type: ignore[union-attr]
        for _ in range(self.settings.n_critic):
            real, label = batches.draw()
            noise = self.noise.sample(n, generator, self.device)
            with torch.no_grad():
                fake = self.sampler(noise, label)
                eps = torch.rand((n, 1), generator=generator).to(real.device, real.dtype)
                terms = critic_backward(
                    weights,
                    biases,
                    real.unsqueeze(0),
                    fake.unsqueeze(0),
                    label.unsqueeze(0),
                    eps.unsqueeze(0),
                    self.settings.gp_lambda,
                    weight_grads,
                    bias_grads,
                )
            self.opt_d.step()
        d_real, d_fake, gp = terms.d_real[0], terms.d_fake[0], terms.penalty[0]
        label = batches.draw_conditions()
        noise = self.noise.sample(n, generator, self.device)
        fake = self.sampler(noise, label)
        with torch.no_grad():
            score, d_score = critic_input_gradient(
                weights, biases, fake.detach().unsqueeze(0), label.unsqueeze(0)
            )
        self.opt_g.zero_grad(set_to_none=True)
        fake.backward(d_score[0] * (-1.0 / n))
        self.opt_g.step()
        return (d_fake - d_real + gp, -score[0], gp, d_real - d_fake)

    def _autograd_step(
        self, batches: BatchSource, generator: torch.Generator
    ) -> tuple[torch.Tensor, ...]:
        """:meth:`step` with :func:`critic_terms` and autograd (the reference)."""
        loss_d, d_real, d_fake, gp = self.critic_updates(batches, generator, self._critic_terms)
        loss_g = self.generator_update(batches, generator)
        return (loss_d, loss_g, gp, d_real - d_fake)

    def _critic_terms(
        self, real: torch.Tensor, fake: torch.Tensor, label: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return critic_terms(self.critic, real, fake, label, self.settings.gp_lambda, gen)


def fold_batch_norm(net: nn.Sequential) -> nn.Sequential:
    """A copy of an MLP with every eval-mode BatchNorm1d folded into the Linear before it.

    ``BN(Wx + b) = s * (Wx + b - mean) + beta`` with ``s = gamma / sqrt(var + eps)``, so the
    folded layer is ``W' = s W``, ``b' = s (b - mean) + beta`` (computed in float64).
    """
    layers: list[nn.Module] = []
    modules = list(net)
    i = 0
    while i < len(modules):
        m = modules[i]
        if isinstance(m, nn.Linear):
            weight = m.weight.detach().double()
            bias = m.bias.detach().double()
            nxt = modules[i + 1] if i + 1 < len(modules) else None
            if isinstance(nxt, nn.BatchNorm1d):
                assert nxt.running_mean is not None and nxt.running_var is not None
                scale = nxt.weight.detach().double() / torch.sqrt(
                    nxt.running_var.double() + nxt.eps
                )
                weight = weight * scale[:, None]
                bias = (bias - nxt.running_mean.double()) * scale + nxt.bias.detach().double()
                i += 1
            linear = nn.Linear(m.in_features, m.out_features)
            with torch.no_grad():
                linear.weight.copy_(weight.float())
                linear.bias.copy_(bias.float())
            layers.append(linear)
        elif isinstance(m, nn.BatchNorm1d):  # pragma: no cover - BN always follows a Linear
            raise ModelError("batch norm without a preceding linear layer cannot be folded")
        else:
            layers.append(m)
        i += 1
    return nn.Sequential(*layers).eval()


class _FoldedGenerator(nn.Module):
    """A generator for export: batch norm folded, same ``forward(noise, label)``."""

    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.net = fold_batch_norm(generator.net)
        self.head = generator.head

    def forward(self, noise: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(torch.cat([noise, label], dim=1)))


def _preset(name: str, summary: str, objective: WganGpObjectiveConfig, **fields: Any) -> Preset:
    return Preset(
        name=name,
        family="wgan-gp-mlp",
        summary=summary,
        model=PRESETS[name],
        objective=objective,
        lr=1e-4,
        **fields,
    )


class WganGpMlp(ModelFamily[ModelConfig, WganGpObjectiveConfig]):
    """The conditional MLP WGAN-GP of FastCaloGAN and CaloShowerGAN."""

    name = "wgan-gp-mlp"
    summary = "conditional MLP WGAN-GP (FastCaloGAN, CaloShowerGAN)"
    network_config = ModelConfig
    objective_config = WganGpObjectiveConfig
    loss_columns = ("critic_loss", "generator_loss", "gradient_penalty", "wasserstein")
    #: FastCaloGAN: lambda 10, 5 critic steps, batch 128, sequential energy injection.
    #: CaloShowerGAN: lambda 3 / 20 and 8 / 5 critic steps (photons / pions), batch 1024.
    presets = (
        _preset(
            "fastcalogan",
            "FastCaloGAN, ATLAS Comput. Softw. Big Sci. 6 (2022) 7",
            WganGpObjectiveConfig(n_critic=5, gp_lambda=10.0),
            preprocess=PreprocessConfig(kind="fastcalogan"),
            batch_size=128,
            injection=True,
        ),
        _preset(
            "caloshowergan-photon",
            "CaloShowerGAN photons, arXiv:2309.06515",
            WganGpObjectiveConfig(n_critic=8, gp_lambda=3.0),
            preprocess=PreprocessConfig(kind="caloshowergan", layer_norm=True),
            batch_size=1024,
        ),
        _preset(
            "caloshowergan-pion",
            "CaloShowerGAN pions, arXiv:2309.06515",
            WganGpObjectiveConfig(n_critic=5, gp_lambda=20.0),
            preprocess=PreprocessConfig(kind="caloshowergan", layer_norm=True),
            batch_size=1024,
            particle="pion",
        ),
    )

    def noise(self, config: ModelConfig, shape: ModelShape | None = None) -> NoiseSpec:
        """Uniform or normal noise of ``latent_dim``."""
        return noise_spec(config)

    def build_sampler(self, config: ModelConfig, shape: ModelShape, seed: int = 0) -> nn.Module:
        """The generator."""
        return build_generator(
            config, shape.n_features, shape.head_layer_sizes or None, seed, shape.n_conditions
        )

    def build_objective(
        self,
        config: ModelConfig,
        settings: WganGpObjectiveConfig,
        shape: ModelShape,
        lr: float,
        seed: int,
        device: torch.device,
    ) -> WganGpObjective:
        """Generator and critic (initialised together from ``seed``) and their updates."""
        generator, critic = build_models(
            config, shape.n_features, shape.head_layer_sizes or None, seed, shape.n_conditions
        )
        generator.to(device).train()
        critic.to(device).train()
        return WganGpObjective(generator, critic, noise_spec(config), settings, lr, device)

    def export_module(self, sampler: nn.Module) -> nn.Module:
        """The generator with batch normalisation folded into its linear layers."""
        if not isinstance(sampler, Generator):
            raise ModelError(f"expected a wgan-gp-mlp Generator, found {type(sampler).__name__}")
        return _FoldedGenerator(sampler.cpu()).eval()

    def status(self, values: Sequence[float]) -> str:
        """``D <critic loss> G <generator loss>``."""
        return f"D {values[0]:.3g} G {values[1]:.3g}"
