"""The ``flow-gan`` family: a normalising flow for the energies, a GAN for the shapes.

A shower in the layer-normalised layout (``kind: caloshowergan, layer_norm: true``) splits
into an energy block (E_tot / E_inc and the layer fractions: ``n_layers`` numbers) and the
per-layer voxel fractions. The energy block, mapped to unbounded standardised features
(``preprocess.energy_features``), is learned by maximum likelihood with a conditional
neural-spline flow (zuko), which reaches the reference's E_tot and layer-energy
distributions within CPU-minutes; a WGAN-GP learns only the normalised shapes, conditioned
on the label and on the energy features (the real showers' during training, the flow's when
sampling). The recipe, what research tried and the measured numbers: ``docs/fast-recipe.md``.

Training (:class:`FlowGanObjective`): the first iteration fits the data-dependent parts from
``fit_events`` drawn showers (the features' standardisation polynomials, the generator's
start at the mean shower, the critic's shape-feature scales). Each of the first
``flow_steps`` iterations takes one flow step (cosine learning rate to zero, batch
``flow_batches x batch_size``, then the flow is frozen); with ``flow_first`` the GAN waits for
the flow, else it trains from the start. A GAN iteration is ``n_critic`` critic steps on
``d_fake - d_real + lambda GP`` (the penalty on the critic's input features) and one
generator step; the sampled generator is an EMA of the trained one.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
import torch
from torch import nn

from .._config import StageConfig
from ..errors import ModelError
from ..preprocess import PreprocessConfig
from ..preprocess.energy_features import (
    EnergyDecoder,
    dequantise,
    energy_parts,
    fit_standardisation,
)
from .family import (
    BatchSource,
    ModelFamily,
    ModelShape,
    NoiseSpec,
    Objective,
    Preset,
    cpu_state,
    seeded,
)
from .flow_gan_nets import FlowGanSampler, ShapeCritic, ShapeGenerator, build_energy_flow

__all__ = ["FlowGan", "FlowGanConfig", "FlowGanObjective", "FlowGanObjectiveConfig"]

log = logging.getLogger(__name__)

_NAN = float("nan")


class FlowGanConfig(StageConfig):
    """Architecture of the flow + shape GAN (the ``model:`` section).

    Attributes:
        flow_transforms, flow_hidden, flow_depth, flow_bins, flow_bound: the energy flow's
            autoregressive transforms, hidden width and depth of their networks, spline bins
            and the spline interval ``[-bound, bound]``.
        energy_degree: degree of the energy features' standardisation polynomials.
        delta, zero_band: layer fractions below ``delta`` (shares above ``1 - delta``) are
            exact zeros (ones), dequantised into a logit band of width ``zero_band``.
        latent: noise width of the shape generator.
        generator_hidden, critic_hidden: hidden widths of the shape generator and critic.
        sparse: the generator's sparse softmax head (exact zero voxels).
        threshold_init, out_scale: the head's initial thresholds and output-weight scale.
        critic_log_inputs: the critic also sees ``log(f + 1e-5)``.
        critic_shape_features: the critic also sees per-layer shape features.
    """

    flow_transforms: int = pydantic.Field(default=4, ge=1, le=32)
    flow_hidden: int = pydantic.Field(default=128, ge=1, le=4096)
    flow_depth: int = pydantic.Field(default=2, ge=1, le=8)
    flow_bins: int = pydantic.Field(default=12, ge=2, le=128)
    flow_bound: float = pydantic.Field(default=10.0, gt=0)
    energy_degree: int = pydantic.Field(default=6, ge=0, le=12)
    delta: float = pydantic.Field(default=1e-8, gt=0, lt=0.01)
    zero_band: float = pydantic.Field(default=1.0, gt=0)
    latent: int = pydantic.Field(default=64, ge=1, le=4096)
    generator_hidden: tuple[pydantic.PositiveInt, ...] = (256, 256, 512)
    critic_hidden: tuple[pydantic.PositiveInt, ...] = (256, 256)
    sparse: bool = True
    threshold_init: float = -3.0
    out_scale: float = pydantic.Field(default=0.1, gt=0)
    critic_log_inputs: bool = True
    critic_shape_features: bool = True


class FlowGanObjectiveConfig(StageConfig):
    """The ``objective:`` settings of the flow + shape GAN.

    Attributes:
        flow_steps: flow updates (one per iteration from the first), then the flow is frozen.
        flow_lr: the flow's initial learning rate (cosine to 0 over ``flow_steps``).
        flow_batches: the flow's batch is this many trainer batches.
        flow_first: the GAN waits until the flow is trained (else both train from the start).
        n_critic: critic steps per GAN iteration.
        gp_lambda: gradient-penalty weight.
        beta1, beta2: Adam betas of the GAN (its learning rate is the trainer's ``lr``).
        ema: decay of the averaged generator that samples.
        gan_decay_iterations: GAN iterations of the cosine learning-rate decay (0: constant).
        gan_lr_floor: the decay's end, a fraction of ``lr``.
        y_clip: the generator's and critic's energy features are clipped to ``[-y_clip,
            y_clip]`` in training.
        fit_events: showers drawn at the first iteration to fit the data-dependent parts.
    """

    flow_steps: int = pydantic.Field(default=6000, ge=0)
    flow_lr: float = pydantic.Field(default=1e-3, gt=0)
    flow_batches: int = pydantic.Field(default=4, ge=1, le=1024)
    flow_first: bool = False
    n_critic: int = pydantic.Field(default=3, ge=1)
    gp_lambda: float = pydantic.Field(default=10.0, ge=0)
    beta1: float = pydantic.Field(default=0.5, ge=0, lt=1)
    beta2: float = pydantic.Field(default=0.9, ge=0, lt=1)
    ema: float = pydantic.Field(default=0.999, ge=0, lt=1)
    gan_decay_iterations: int = pydantic.Field(default=12_000, ge=0)
    gan_lr_floor: float = pydantic.Field(default=0.1, ge=0, le=1)
    y_clip: float = pydantic.Field(default=10.0, gt=0)
    fit_events: int = pydantic.Field(default=20_000, ge=2)


def _layer_shapes(shape: ModelShape) -> tuple[tuple[int, int], ...]:
    """The layers' image shapes, checked against the layer-normalised feature layout."""
    sizes = shape.head_layer_sizes
    if not sizes:
        raise ModelError(
            "flow-gan needs the layer-energy normalisation (preprocess: {kind: caloshowergan, "
            "layer_norm: true}); found a preprocessing without it"
        )
    if shape.n_features != sum(sizes) + len(sizes) + 1:
        raise ModelError(
            f"flow-gan: {shape.n_features} features do not fit layers {list(sizes)} "
            f"(expected {sum(sizes) + len(sizes) + 1})"
        )
    if tuple(a * r for a, r in shape.layer_shapes) == tuple(sizes):
        return shape.layer_shapes
    return tuple((1, int(n)) for n in sizes)  # no image shapes: one radial row per layer


def _networks(
    config: FlowGanConfig, shape: ModelShape
) -> tuple[FlowGanSampler, ShapeGenerator, ShapeCritic]:
    """Sampler, trained generator and critic, in this order of initialisation."""
    layer_shapes = _layer_shapes(shape)
    sizes = shape.head_layer_sizes
    n_layers = len(sizes)
    flow = build_energy_flow(
        n_layers,
        shape.n_conditions,
        config.flow_transforms,
        config.flow_hidden,
        config.flow_depth,
        config.flow_bins,
        config.flow_bound,
    )
    generator = ShapeGenerator(
        sizes,
        shape.n_conditions,
        config.latent,
        config.generator_hidden,
        config.sparse,
        config.threshold_init,
        config.out_scale,
    )
    critic = ShapeCritic(
        layer_shapes,
        shape.n_conditions,
        config.critic_hidden,
        config.critic_log_inputs,
        config.critic_shape_features,
    )
    decoder = EnergyDecoder(n_layers, config.energy_degree, config.delta)
    sampler = FlowGanSampler(flow, copy.deepcopy(generator).requires_grad_(False), decoder)
    return sampler, generator, critic


class FlowGanObjective(Objective):
    """Flow steps, then (or alongside) WGAN-GP iterations on the shapes (module docstring).

    Args:
        sampler: the sampling network (its flow is trained, its generator is the EMA).
        generator, critic: the trained shape generator and the critic.
        config: the architecture (thresholds of the energy features).
        settings: the objective settings.
        lr: learning rate of the GAN's Adams.
        device: where the networks are.
    """

    sampler: FlowGanSampler

    def __init__(
        self,
        sampler: FlowGanSampler,
        generator: ShapeGenerator,
        critic: ShapeCritic,
        config: FlowGanConfig,
        settings: FlowGanObjectiveConfig,
        lr: float,
        device: torch.device,
    ) -> None:
        self.sampler = sampler
        self.generator = generator
        self.critic = critic
        self.config = config
        self.settings = settings
        self.lr = lr
        self.device = device
        self.n_voxels = sum(critic.layer_sizes)
        self.n_layers = len(critic.layer_sizes)
        betas = (settings.beta1, settings.beta2)
        self.opt_flow = torch.optim.Adam(sampler.flow.parameters(), lr=settings.flow_lr)
        self.opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(critic.parameters(), lr=lr, betas=betas)
        self.fitted = False
        self.flow_step = 0
        self.gan_step = 0

    # ----- data ------------------------------------------------------------------------------
    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Voxel fractions, layer fractions and the response of layer-normalised showers."""
        nv, nl = self.n_voxels, self.n_layers
        return x[:, :nv], x[:, nv : nv + nl], x[:, nv + nl]

    def _features(
        self, x: torch.Tensor, label: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Standardised, dequantised energy features of showers ``x`` (float32)."""
        _, fractions, response = self._split(x)
        cfg = self.config
        parts = energy_parts(fractions, response, cfg.delta)
        raw = dequantise(parts, generator, cfg.delta, cfg.zero_band)
        return self.sampler.decoder.standardise(raw, label)

    def _fit(self, batches: BatchSource, generator: torch.Generator) -> None:
        """The data-dependent parts, from ``fit_events`` drawn showers."""
        n_batches = max(1, math.ceil(self.settings.fit_events / batches.batch_size))
        drawn = [batches.draw() for _ in range(n_batches)]
        x = torch.cat([b.x for b in drawn])
        label = torch.cat([b.condition for b in drawn])
        shapes, fractions, response = self._split(x)
        cfg = self.config
        raw = dequantise(
            energy_parts(fractions, response, cfg.delta), generator, cfg.delta, cfg.zero_band
        )
        mean_coef, logstd_coef = fit_standardisation(
            label[:, 0].cpu().numpy(), raw.cpu().numpy(), cfg.energy_degree
        )
        self.sampler.decoder.set_standardisation(mean_coef, logstd_coef)
        self.generator.start_from(shapes.mean(0))
        self.sampler.shapes.load_state_dict(self.generator.state_dict())
        self.critic.fit_domain(shapes)
        self.fitted = True
        log.info("flow-gan: energy standardisation and shape start fitted on %d showers", len(x))

    # ----- updates ---------------------------------------------------------------------------
    def _flow_update(self, batches: BatchSource, generator: torch.Generator) -> torch.Tensor:
        s = self.settings
        lr = 0.5 * s.flow_lr * (1.0 + math.cos(math.pi * self.flow_step / max(s.flow_steps, 1)))
        for group in self.opt_flow.param_groups:
            group["lr"] = lr
        drawn = [batches.draw() for _ in range(s.flow_batches)]
        x = torch.cat([b.x for b in drawn])
        label = torch.cat([b.condition for b in drawn])
        y = self._features(x, label, generator)
        loss = -self.sampler.flow(label).log_prob(y).mean()
        self.opt_flow.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.sampler.flow.parameters(), 5.0)
        self.opt_flow.step()
        self.flow_step += 1
        return loss.detach()

    def _penalty(
        self,
        real: torch.Tensor,
        fake: torch.Tensor,
        label: torch.Tensor,
        y: torch.Tensor,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """Gradient penalty on the critic's input features (fractions, logs, shapes)."""
        eps = torch.rand((real.shape[0], 1), generator=generator).to(self.device)
        h_real, h_fake = self.critic.features(real), self.critic.features(fake)
        h_hat = (eps * h_real + (1 - eps) * h_fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(
            self.critic.score(h_hat, label, y).sum(), h_hat, create_graph=True
        )
        return ((grad.norm(2, dim=1) - 1.0) ** 2).mean()

    def _conditioned(
        self, batches: BatchSource, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Real shapes, labels and clipped energy features of a new batch."""
        x, label = batches.draw()
        y = self._features(x, label, generator).clamp(-self.settings.y_clip, self.settings.y_clip)
        return x[:, : self.n_voxels], label, y

    def _noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn((n, self.generator.latent), generator=generator).to(self.device)

    def _gan_update(
        self, batches: BatchSource, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        s = self.settings
        if s.gan_decay_iterations:
            t = min(self.gan_step / s.gan_decay_iterations, 1.0)
            scale = s.gan_lr_floor + (1 - s.gan_lr_floor) * 0.5 * (1 + math.cos(math.pi * t))
            for opt in (self.opt_g, self.opt_d):
                for group in opt.param_groups:
                    group["lr"] = self.lr * scale
        self.gan_step += 1
        loss_d = gp = w = torch.zeros(())
        for _ in range(s.n_critic):
            real, label, y = self._conditioned(batches, generator)
            with torch.no_grad():
                fake = self.generator(self._noise(real.shape[0], generator), label, y)
            d_real = self.critic(real, label, y).mean()
            d_fake = self.critic(fake, label, y).mean()
            gp = self._penalty(real, fake, label, y, generator)
            loss_d = d_fake - d_real + s.gp_lambda * gp
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            w = (d_real - d_fake).detach()
        _, label, y = self._conditioned(batches, generator)
        self.critic.requires_grad_(False)
        loss_g = -self.critic(
            self.generator(self._noise(label.shape[0], generator), label, y), label, y
        ).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.critic.requires_grad_(True)
        with torch.no_grad():
            for averaged, trained in zip(
                self.sampler.shapes.parameters(), self.generator.parameters(), strict=True
            ):
                averaged.lerp_(trained, 1.0 - s.ema)
        return loss_d.detach(), loss_g.detach(), gp.detach(), w

    def step(self, batches: BatchSource, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """``(flow_nll, critic_loss, generator_loss, gradient_penalty, wasserstein)``; the
        columns of a phase that did not run this iteration are NaN."""
        if not self.fitted:
            self._fit(batches, generator)
        nan = torch.tensor(_NAN)
        flow_active = self.flow_step < self.settings.flow_steps
        nll = self._flow_update(batches, generator) if flow_active else nan
        if flow_active and self.settings.flow_first:
            return (nll, nan, nan, nan, nan)
        return (nll, *self._gan_update(batches, generator))

    def state_dict(self) -> dict[str, Any]:
        """The trained generator, the critic, the optimisers and the phase counters."""
        return {
            "generator": cpu_state(self.generator),
            "critic": cpu_state(self.critic),
            "optimizer_flow": self.opt_flow.state_dict(),
            "optimizer_generator": self.opt_g.state_dict(),
            "optimizer_critic": self.opt_d.state_dict(),
            "fitted": self.fitted,
            "flow_step": self.flow_step,
            "gan_step": self.gan_step,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.opt_flow.load_state_dict(state["optimizer_flow"])
        self.opt_g.load_state_dict(state["optimizer_generator"])
        self.opt_d.load_state_dict(state["optimizer_critic"])
        self.fitted = bool(state["fitted"])
        self.flow_step = int(state["flow_step"])
        self.gan_step = int(state["gan_step"])


def _preset(name: str, summary: str, particle: str) -> Preset:
    return Preset(
        name=name,
        family="flow-gan",
        summary=summary,
        model=FlowGanConfig(),
        objective=FlowGanObjectiveConfig(),
        preprocess=PreprocessConfig(kind="caloshowergan", layer_norm=True),
        batch_size=256,
        lr=5e-4,
        particle=particle,
    )


class FlowGan(ModelFamily[FlowGanConfig, FlowGanObjectiveConfig]):
    """Energy flow + shape WGAN-GP (``docs/fast-recipe.md``)."""

    name = "flow-gan"
    summary = "zuko spline flow for E_tot and layer energies + WGAN-GP for layer shapes (fast)"
    network_config = FlowGanConfig
    objective_config = FlowGanObjectiveConfig
    loss_columns = ("flow_nll", "critic_loss", "generator_loss", "gradient_penalty", "wasserstein")
    presets = (
        _preset(
            "fast-photon", "flow + shape GAN, photons: CPU-minutes (docs/fast-recipe.md)", "photon"
        ),
        _preset("fast-pion", "flow + shape GAN, pions (docs/fast-recipe.md)", "pion"),
    )

    def noise(self, config: FlowGanConfig, shape: ModelShape | None = None) -> NoiseSpec:
        """Standard normal: one flow base column per layer of ``shape``, then ``latent``.

        Raises:
            ModelError: no ``shape`` (the width depends on the data's layers).
        """
        if shape is None or not shape.head_layer_sizes:
            raise ModelError("flow-gan: the noise width needs the data's layers (a ModelShape)")
        return NoiseSpec("normal", len(shape.head_layer_sizes) + config.latent, 0.0, 1.0)

    def build_sampler(self, config: FlowGanConfig, shape: ModelShape, seed: int = 0) -> nn.Module:
        """The flow, the averaged shape generator and the energy decoder."""
        with seeded(seed):
            sampler, _, _ = _networks(config, shape)
        return sampler

    def build_objective(
        self,
        config: FlowGanConfig,
        settings: FlowGanObjectiveConfig,
        shape: ModelShape,
        lr: float,
        seed: int,
        device: torch.device,
    ) -> FlowGanObjective:
        """All networks from one seed, and their updates."""
        with seeded(seed):
            sampler, generator, critic = _networks(config, shape)
        for net in (sampler, generator, critic):
            net.to(device).train()
        return FlowGanObjective(sampler, generator, critic, config, settings, lr, device)

    def status(self, values: Sequence[float]) -> str:
        """``NLL <flow nll>`` during the flow phase, then ``D <critic> G <generator>``."""
        nll, loss_d, loss_g = values[0], values[1], values[2]
        text = [f"NLL {nll:.3g}"] if math.isfinite(nll) else []
        if math.isfinite(loss_d):
            text.append(f"D {loss_d:.3g} G {loss_g:.3g}")
        return " ".join(text)
