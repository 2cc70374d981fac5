"""The ``calogan`` family: CaloGAN's image GAN for multi-layer calorimeters.

M. Paganini, L. de Oliveira and B. Nachman, "CaloGAN", PRL 120 (2018) 042003 and PRD 97
(2018) 014021. Networks in :mod:`.calogan_nets`:

* generator: a latent of 1024 N(0, 1) numbers times the requested energy over 100 GeV;
  three LAGAN-style streams (a 2-D convolution, two locally connected layers, batch
  normalisation), one per calorimeter layer and sized from its image; trainable in-painting
  attention from layer to layer; leaky ReLU inside, ReLU at the outputs;
* discriminator: per-layer locally connected feature streams with (sub-differentiable)
  sparsity and minibatch discrimination on features and sparsities; the layer energies, the
  total, minibatch discrimination on the layer energies, ``|E - E_tot|`` and its indicator
  ``> 5 GeV``; outputs real/fake and the reconstructed (total) energy.

One iteration (the authors' training loop): a discriminator update on a batch of real showers
and one on a batch of generated showers (separate batches, because batch normalisation and
minibatch discrimination use batch statistics), each on ``BCE + lambda_E * |E_tot - E|``
(lambda_E = 0.05, energies in GeV), then ``generator_steps`` (2) generator updates on the same
loss with the "real" target. Adam with beta1 0.5: discriminator lr 2e-5, generator lr 2e-4
(the trainer's ``lr``), batch 256.

Preprocessing (the preset's): ``kind: fastcalogan`` with ``e_min`` = 1 GeV and ``e_max``
pinned to 100 GeV, so the label is CaloGAN's ``E / 100 GeV`` and the networks' images are in
GeV; the generator returns them over the incident energy, as the toolkit's other families.
"""

from __future__ import annotations

from collections.abc import Sequence

import pydantic
import torch
from torch import nn

from .._config import StageConfig
from ..errors import ModelError
from ..preprocess import PreprocessConfig
from .adversarial import AdversarialObjective
from .calogan_nets import CaloGanDiscriminator, CaloGanGenerator, split_layers
from .family import (
    BatchSource,
    ModelFamily,
    ModelShape,
    NoiseSpec,
    Preset,
    seeded,
)

__all__ = ["CaloGan", "CaloGanConfig", "CaloGanObjective", "CaloGanObjectiveConfig"]


class CaloGanConfig(StageConfig):
    """Architecture of the CaloGAN networks (the ``model:`` section).

    Attributes:
        latent_dim: width of the N(0, 1) latent (1024).
        generator_dense_channels: channels of each stream's dense pre-image (36).
        generator_conv_channels: channels of its 2 x 2 convolution (16).
        generator_local_channels: channels of its first locally connected layer (6).
        attention: in-paint each layer from the previous one.
        discriminator_conv_channels: channels of each feature stream's convolution (64).
        discriminator_local_channels: channels of its three locally connected layers.
        mbd_kernels, mbd_kernel_dim: minibatch-discrimination kernels and their dimension.
        leaky_slope: negative slope of the leaky ReLUs (0.3, Keras's default that CaloGAN
            used).
        energy_scale_gev: the incident energy (GeV) of a label of 1, i.e. ``preprocess.e_max``
            (the preset pins it to 100 GeV): sets the GeV unit of the networks' images.
        energy_well_threshold_gev: threshold of the ``|E - E_tot|`` indicator (5 GeV).
        sparsity_scale_mev: cell energy (MeV) from which a cell counts fully in the
            discriminator's soft sparsity.
    """

    latent_dim: int = pydantic.Field(default=1024, ge=1, le=8192)
    generator_dense_channels: int = pydantic.Field(default=36, ge=1, le=512)
    generator_conv_channels: int = pydantic.Field(default=16, ge=1, le=512)
    generator_local_channels: int = pydantic.Field(default=6, ge=1, le=512)
    attention: bool = True
    discriminator_conv_channels: int = pydantic.Field(default=64, ge=1, le=512)
    discriminator_local_channels: tuple[
        pydantic.PositiveInt, pydantic.PositiveInt, pydantic.PositiveInt
    ] = (16, 8, 8)
    mbd_kernels: int = pydantic.Field(default=10, ge=1, le=256)
    mbd_kernel_dim: int = pydantic.Field(default=10, ge=1, le=256)
    leaky_slope: float = pydantic.Field(default=0.3, ge=0.0, lt=1.0)
    energy_scale_gev: float = pydantic.Field(default=100.0, gt=0.0)
    energy_well_threshold_gev: float = pydantic.Field(default=5.0, gt=0.0)
    sparsity_scale_mev: float = pydantic.Field(default=1.0, gt=0.0)


class CaloGanObjectiveConfig(StageConfig):
    """The ``objective:`` settings of CaloGAN's training.

    Attributes:
        discriminator_lr: Adam learning rate of the discriminator (2e-5; the trainer's ``lr``
            is the generator's, 2e-4).
        beta1, beta2: Adam's betas of both networks.
        energy_weight: lambda_E, weight of the mean absolute error (GeV) between the
            reconstructed and the incident energy (0.05).
        generator_steps: generator updates per iteration (2, as the authors' loop).
    """

    discriminator_lr: float = pydantic.Field(default=2e-5, gt=0, allow_inf_nan=False)
    beta1: float = pydantic.Field(default=0.5, ge=0, lt=1)
    beta2: float = pydantic.Field(default=0.999, ge=0, lt=1)
    energy_weight: float = pydantic.Field(default=0.05, ge=0)
    generator_steps: int = pydantic.Field(default=2, ge=1, le=16)


def _check_shape(shape: ModelShape) -> None:
    if shape.head_layer_sizes:
        raise ModelError(
            "model family calogan generates cell energies over the incident energy; use "
            "preprocess kind fastcalogan without layer_norm"
        )
    if not shape.layer_shapes:
        raise ModelError("model family calogan needs each layer's image shape (layer_shapes)")
    n_voxels = sum(a * b for a, b in shape.layer_shapes)
    if n_voxels != shape.n_features:
        raise ModelError(
            f"model family calogan: layers of {n_voxels} cells, preprocessed showers of "
            f"{shape.n_features} columns"
        )


class CaloGanObjective(AdversarialObjective[CaloGanObjectiveConfig]):
    """CaloGAN's training iteration: two discriminator updates (real, then generated
    batch), then ``generator_steps`` generator updates; see the module docstring.

    Args:
        generator, discriminator: the networks, in training mode on ``device``.
        noise: the latent's distribution.
        settings: learning rate of the discriminator, betas, lambda_E, generator steps.
        lr: the generator's learning rate.
        energy_scale_gev: GeV of a label of 1 (:attr:`CaloGanConfig.energy_scale_gev`).
        device: where the networks are.
    """

    #: The checkpoint's keys are ``discriminator`` and ``optimizer_discriminator``.
    critic_key = "discriminator"
    critic: CaloGanDiscriminator

    def __init__(
        self,
        generator: CaloGanGenerator,
        discriminator: CaloGanDiscriminator,
        noise: NoiseSpec,
        settings: CaloGanObjectiveConfig,
        lr: float,
        energy_scale_gev: float,
        device: torch.device,
    ) -> None:
        super().__init__(
            generator,
            discriminator,
            noise,
            settings,
            lr,
            device,
            critic_lr=settings.discriminator_lr,
        )
        self.layer_shapes = generator.layer_shapes
        self.scale = float(energy_scale_gev)
        self.bce = nn.BCEWithLogitsLoss()

    @property
    def discriminator(self) -> CaloGanDiscriminator:
        """The discriminator (the shared GAN objective's :attr:`critic`)."""
        return self.critic

    def _judge(
        self, x: torch.Tensor, label: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Discriminator outputs for preprocessed showers: ``(logit, E_tot, E)`` in GeV."""
        energy = label[:, :1] * self.scale
        images = split_layers(x * energy, self.layer_shapes)
        logit, total = self.discriminator(images, energy, label[:, 1:])
        return logit, total, energy.squeeze(1)

    def _loss(
        self, x: torch.Tensor, label: torch.Tensor, real: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(BCE + lambda_E MAE, mean probability of 'real', MAE in GeV)``."""
        logit, total, energy = self._judge(x, label)
        target = torch.ones_like(logit) if real else torch.zeros_like(logit)
        mae = (total - energy).abs().mean()
        loss = self.bce(logit, target) + self.settings.energy_weight * mae
        return loss, torch.sigmoid(logit).mean().detach(), mae.detach()

    def step(self, batches: BatchSource, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Returns ``(discriminator loss, generator loss, D(real), D(generated), |E_tot - E|
        of the generated showers in GeV)``, the losses averaged over their updates."""
        n = batches.batch_size
        d_losses = []
        real, label = batches.draw()
        for x, lab, is_real in ((real, label, True), (None, batches.draw_conditions(), False)):
            if x is None:
                with torch.no_grad():
                    x = self.sampler(self.noise.sample(n, generator, self.device), lab)
            loss, prob, _ = self._loss(x, lab, is_real)
            self.opt_d.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_d.step()
            d_losses.append(loss.detach())
            if is_real:
                d_real = prob
            else:
                d_fake = prob
        g_losses, maes = [], []
        self.discriminator.requires_grad_(False)
        for _ in range(self.settings.generator_steps):
            lab = batches.draw_conditions()
            fake = self.sampler(self.noise.sample(n, generator, self.device), lab)
            loss, _, mae = self._loss(fake, lab, True)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
            g_losses.append(loss.detach())
            maes.append(mae)
        self.discriminator.requires_grad_(True)
        return (
            torch.stack(d_losses).mean(),
            torch.stack(g_losses).mean(),
            d_real,
            d_fake,
            torch.stack(maes).mean(),
        )


class CaloGan(ModelFamily[CaloGanConfig, CaloGanObjectiveConfig]):
    """CaloGAN (Paganini, de Oliveira, Nachman 2018)."""

    name = "calogan"
    summary = (
        "CaloGAN: per-layer image streams with locally connected layers and in-painting, "
        "sparsity/minibatch/energy-aware discriminator, BCE + 0.05 x energy MAE"
    )
    network_config = CaloGanConfig
    objective_config = CaloGanObjectiveConfig
    loss_columns = ("discriminator_loss", "generator_loss", "d_real", "d_fake", "energy_mae_gev")
    presets = (
        Preset(
            name="calogan",
            family="calogan",
            summary="CaloGAN, PRL 120 (2018) 042003 / PRD 97 (2018) 014021 (e+, gamma, pi+)",
            model=CaloGanConfig(),
            objective=CaloGanObjectiveConfig(),
            preprocess=PreprocessConfig(kind="fastcalogan", e_min=1_000.0, e_max=100_000.0),
            batch_size=256,
            lr=2e-4,
            particle="positron",
            geometry="calogan",
        ),
    )

    def noise(self, config: CaloGanConfig, shape: ModelShape | None = None) -> NoiseSpec:
        """N(0, 1) of ``latent_dim``."""
        return NoiseSpec("normal", config.latent_dim, 0.0, 1.0)

    def build_sampler(self, config: CaloGanConfig, shape: ModelShape, seed: int = 0) -> nn.Module:
        """The generator."""
        _check_shape(shape)
        with seeded(seed):
            return CaloGanGenerator(config, shape.layer_shapes, shape.n_conditions)

    def build_objective(
        self,
        config: CaloGanConfig,
        settings: CaloGanObjectiveConfig,
        shape: ModelShape,
        lr: float,
        seed: int,
        device: torch.device,
    ) -> CaloGanObjective:
        """Generator and discriminator (initialised together from ``seed``) and their updates."""
        _check_shape(shape)
        with seeded(seed):
            generator = CaloGanGenerator(config, shape.layer_shapes, shape.n_conditions)
            discriminator = CaloGanDiscriminator(config, shape.layer_shapes, shape.n_conditions)
        generator.to(device).train()
        discriminator.to(device).train()
        return CaloGanObjective(
            generator,
            discriminator,
            self.noise(config),
            settings,
            lr,
            config.energy_scale_gev,
            device,
        )

    def status(self, values: Sequence[float]) -> str:
        """``D <loss> G <loss> dE <MAE> GeV``."""
        return f"D {values[0]:.3g} G {values[1]:.3g} dE {values[4]:.3g} GeV"
