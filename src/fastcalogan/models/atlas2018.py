"""The ATLAS 2018 photon study (ATL-SOFT-PUB-2018-001): a conditional VAE and a WGAN on cells.

ATLAS's first study of deep generative models for its calorimeter models photons in the
central EM barrel as the energies of 266 cells around the impact cell (the ``atlas-cells``
geometry), every cell energy divided by the photon energy, and compares two models.

``atlas18-vae`` (:class:`AtlasVae`), the conditional variational autoencoder: encoder and
decoder MLPs of four hidden layers each (200-150-100-50 and back), conditioned on the
energy label, a Gaussian latent of 10, RMSProp. Its loss adds the note's domain terms to the
reconstruction and KL terms::

    loss = reconstruction + beta_kl KL + w_total_energy |sum x - sum x'|
           + sum_l w_layers[l] |f_l(x) - f_l(x')|,    f_l = E_layer l / E_tot

with ``x`` the input cells (E_cell / E_photon), ``x'`` the reconstruction (a sigmoid output,
so every cell lies in [0, 1]) and the reconstruction the binary cross-entropy summed over
cells (or the squared error). The weights of the note's grid: E_tot 1e-2, layers 8e-2,
6e-1, 2e-1, 1e-1 (presampler, strips, middle, back), KL up to 1. After training only the
decoder generates, from standard normal noise.

``atlas18-wgan`` (:class:`AtlasWgan`), the Wasserstein GAN with the two-sided gradient
penalty ``lambda E[(||grad D|| - 1)^2]`` (Gulrajani et al. 2017), conditioned on the energy
label and the multi-hot code of the cell alignments (``preprocess.conditions``), trained with
Adam. The note's grid of cell-energy preprocessings is :attr:`AtlasWganConfig.cell_transform`:
the critic sees, and the generator produces, ``E`` (``linear``), ``log10 E`` (``log10``) or
``log10(E x 1e10)`` (``log10_scaled``), E being the cell energy over the photon energy; the
generator's output is mapped back to E inside the sampling network, so generation, export and
every other stage see cell energies over the photon energy whatever the transform. The
generator's output is bounded to the space between an empty cell and a cell holding the whole
photon energy (a scaled sigmoid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import pydantic
import torch
import torch.nn.functional as F
from torch import nn

from .._config import StageConfig
from ..errors import ModelError
from ..preprocess import ConditionTransform, PreprocessConfig
from .adversarial import WassersteinObjective
from .config import ModelConfig
from .family import (
    BatchSource,
    ModelFamily,
    ModelShape,
    NoiseSpec,
    Preset,
    seeded,
)
from .gan import Critic, build_generator, build_models, critic_terms, noise_spec
from .vae_mlp import Encoder, EncoderObjective, mlp
from .wgan_gp_mlp import fold_batch_norm

__all__ = [
    "ALIGNMENT_CONDITIONS",
    "CELL_TRANSFORMS",
    "AtlasVae",
    "AtlasVaeConfig",
    "AtlasVaeObjective",
    "AtlasVaeObjectiveConfig",
    "AtlasWgan",
    "AtlasWganConfig",
    "AtlasWganObjective",
    "AtlasWganObjectiveConfig",
    "CellDecoder",
    "CellEncoder",
    "CellGenerator",
    "cell_space_bounds",
    "cell_transform_forward",
    "cell_transform_inverse",
    "kl_term",
    "layer_fraction_terms",
    "layer_sizes_of",
    "reconstruction_term",
    "total_energy_term",
]

#: The WGAN's conditions beyond the energy: the multi-hot code of the two cell alignments.
ALIGNMENT_CONDITIONS: dict[str, ConditionTransform] = {
    "phi_alignment": ConditionTransform(transform="one_hot", n=4),
    "eta_alignment": ConditionTransform(transform="one_hot", n=2),
}

#: The note's cell-energy preprocessings (E = cell energy over photon energy).
CELL_TRANSFORMS = ("linear", "log10", "log10_scaled")
CellTransformName = Literal["linear", "log10", "log10_scaled"]

#: Offset that keeps the logarithm of an empty cell finite: 1e-10 of the photon energy,
#: far below the readout threshold of any cell (0.1 meV at 1 TeV).
_FLOOR = 1e-10


# ----- the terms of the losses --------------------------------------------------------------


def layer_sizes_of(shape: ModelShape, family: str) -> tuple[int, ...]:
    """Cells per layer of a model working on plain cell energies (no layer normalisation).

    Raises:
        ModelError: the preprocessing normalises by layer (``layer_norm``), or the layer
            images do not add up to ``n_features``.
    """
    if shape.head_layer_sizes:
        raise ModelError(
            f"model family {family} works on cell energies over the photon energy; found the "
            "layer-energy normalisation (set preprocess.layer_norm: false)"
        )
    sizes = tuple(int(a) * int(b) for a, b in shape.layer_shapes)
    if not sizes or sum(sizes) != shape.n_features:
        raise ModelError(
            f"model family {family} needs the layers of the geometry: layer images "
            f"{list(shape.layer_shapes)} hold {sum(sizes)} cells, the showers "
            f"{shape.n_features}"
        )
    return sizes


def reconstruction_term(
    x: torch.Tensor, logits: torch.Tensor, x_hat: torch.Tensor, kind: str
) -> torch.Tensor:
    """Reconstruction error per shower, summed over cells, ``(B,)``.

    Args:
        x: the input cells ``(B, n)`` (targets; clipped to [0, 1] for ``bce``).
        logits: the decoder's output before the sigmoid ``(B, n)`` (used by ``bce``).
        x_hat: the reconstruction ``(B, n)`` (used by ``mse``).
        kind: ``bce`` (binary cross-entropy, computed from the logits for stability) or
            ``mse`` (squared error).

    >>> x = torch.tensor([[0.5, 0.0]])
    >>> round(reconstruction_term(x, torch.zeros(1, 2), torch.full((1, 2), 0.5), "bce").item(), 4)
    1.3863
    """
    if kind == "bce":
        cells = F.binary_cross_entropy_with_logits(logits, x.clamp(0.0, 1.0), reduction="none")
    elif kind == "mse":
        cells = (x_hat - x) ** 2
    else:
        raise ModelError(f"reconstruction must be bce or mse, found {kind}")
    return cells.sum(dim=1)


def kl_term(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL divergence of N(mean, exp(log_var)) from N(0, 1), summed over the latent, ``(B,)``.

    >>> kl_term(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2)).tolist()
    [0.5]
    """
    return -0.5 * (1.0 + log_var - mean**2 - log_var.exp()).sum(dim=1)


def total_energy_term(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """``|sum_cells x - sum_cells x_hat|`` per shower, ``(B,)``.

    With cells divided by the photon energy this is the difference of the responses.

    >>> total_energy_term(torch.tensor([[0.5, 0.25]]), torch.tensor([[0.5, 0.5]])).tolist()
    [0.25]
    """
    return (x.sum(dim=1) - x_hat.sum(dim=1)).abs()


def _layer_fractions(x: torch.Tensor, layer_sizes: Sequence[int]) -> torch.Tensor:
    layers = torch.stack([part.sum(dim=1) for part in torch.split(x, list(layer_sizes), 1)], 1)
    # an empty shower has no fractions: 0 for every layer (no division by zero)
    return layers / layers.sum(dim=1, keepdim=True).clamp_min(1e-12)


def layer_fraction_terms(
    x: torch.Tensor, x_hat: torch.Tensor, layer_sizes: Sequence[int]
) -> torch.Tensor:
    """``|E_l(x)/E_tot(x) - E_l(x_hat)/E_tot(x_hat)|`` per shower and layer, ``(B, n_layers)``.

    Args:
        x, x_hat: ``(B, sum(layer_sizes))`` cell energies, layers in order.
        layer_sizes: cells per layer.

    >>> layer_fraction_terms(torch.tensor([[1.0, 1.0, 2.0]]), torch.tensor([[1.0, 3.0, 0.0]]),
    ...                      (1, 2)).tolist()
    [[0.0, 0.0]]
    """
    return (_layer_fractions(x, layer_sizes) - _layer_fractions(x_hat, layer_sizes)).abs()


def cell_transform_forward(x: torch.Tensor, transform: str) -> torch.Tensor:
    """Cell energies over the photon energy -> the network space of ``transform``.

    ``linear``: ``x``; ``log10``: ``log10(x + 1e-10)`` (an empty cell at -10);
    ``log10_scaled``: ``log10(x 1e10 + 1)`` (an empty cell at 0, the note's
    ``log10(E x 1e10)`` kept finite for empty cells). Negative inputs count as empty.

    >>> cell_transform_forward(torch.tensor([0.0, 1e-3]), "log10_scaled").tolist()
    [0.0, 7.0]
    """
    if transform == "linear":
        return x
    x = x.clamp_min(0.0)
    if transform == "log10":
        return torch.log10(x + _FLOOR)
    if transform == "log10_scaled":
        return torch.log10(x / _FLOOR + 1.0)
    raise ModelError(
        f"cell_transform must be one of {', '.join(CELL_TRANSFORMS)}, found {transform}"
    )


def cell_transform_inverse(y: torch.Tensor, transform: str) -> torch.Tensor:
    """The inverse of :func:`cell_transform_forward`, clipped at 0 (``(B, n)`` -> ``(B, n)``).

    >>> y = cell_transform_inverse(torch.tensor([0.0, 7.0]), "log10_scaled")
    >>> [round(v, 9) for v in y.tolist()]
    [0.0, 0.001]
    """
    if transform == "linear":
        return torch.relu(y)
    if transform == "log10":
        return torch.relu(torch.pow(10.0, y) - _FLOOR)
    if transform == "log10_scaled":
        return torch.relu(torch.pow(10.0, y) - 1.0) * _FLOOR
    raise ModelError(
        f"cell_transform must be one of {', '.join(CELL_TRANSFORMS)}, found {transform}"
    )


def cell_space_bounds(transform: str) -> tuple[float, float]:
    """The cell space's values of an empty cell and of the whole photon energy in one cell.

    >>> [round(v, 6) for v in cell_space_bounds("log10_scaled")]
    [0.0, 10.0]
    """
    ends = cell_transform_forward(torch.tensor([0.0, 1.0], dtype=torch.float64), transform)
    return float(ends[0]), float(ends[1])


# ----- the conditional VAE ------------------------------------------------------------------


class AtlasVaeConfig(StageConfig):
    """Architecture of the ATLAS 2018 conditional VAE (the ``model:`` section).

    Attributes:
        latent_dim: dimension of the Gaussian latent (the note: about 10).
        encoder_hidden: widths of the encoder's hidden layers (decreasing).
        decoder_hidden: widths of the decoder's hidden layers (increasing).
        activation: ``relu`` or ``swish`` after each hidden layer.
        output: ``sigmoid`` (cells in [0, 1], the binary cross-entropy's range) or ``relu``.
    """

    latent_dim: int = pydantic.Field(default=10, ge=1, le=4096)
    encoder_hidden: tuple[pydantic.PositiveInt, ...] = (200, 150, 100, 50)
    decoder_hidden: tuple[pydantic.PositiveInt, ...] = (50, 100, 150, 200)
    activation: Literal["relu", "swish"] = "relu"
    output: Literal["sigmoid", "relu"] = "sigmoid"


class AtlasVaeObjectiveConfig(StageConfig):
    """The ``objective:`` settings of the ATLAS 2018 VAE: loss weights and RMSProp.

    Attributes:
        reconstruction: ``bce`` (binary cross-entropy of the cells, summed over cells; needs
            the sigmoid output) or ``mse`` (summed squared error).
        beta_kl: weight of the KL divergence (the note's grid: up to 1).
        w_total_energy: weight of ``|E_tot - E_tot'|`` (in units of the photon energy).
        w_layers: weight of ``|f_l - f_l'|`` per layer, in layer order (presampler, strips,
            middle, back); as many as the geometry has layers.
        rmsprop_alpha: RMSProp's smoothing constant (0.9: Keras's ``rho``).
    """

    reconstruction: Literal["bce", "mse"] = "bce"
    beta_kl: float = pydantic.Field(default=1.0, ge=0)
    w_total_energy: float = pydantic.Field(default=1e-2, ge=0)
    w_layers: tuple[pydantic.NonNegativeFloat, ...] = (8e-2, 6e-1, 2e-1, 1e-1)
    rmsprop_alpha: float = pydantic.Field(default=0.9, gt=0, lt=1)


class CellEncoder(Encoder):
    """Cells ``x`` (B, n_features) and label (B, n_conditions) -> latent mean, log-variance
    (the conditional VAE's encoder, on cells)."""


class CellDecoder(nn.Module):
    """Latent ``z`` (B, latent_dim) and label (B, n_conditions) -> cells (B, n_features).

    The family's sampling network; :meth:`logits` is the output before the sigmoid (or
    ReLU), used by the binary cross-entropy.
    """

    def __init__(self, config: AtlasVaeConfig, n_features: int, n_conditions: int) -> None:
        super().__init__()
        self.output = config.output
        self.net = mlp(
            config.latent_dim + n_conditions, config.decoder_hidden, n_features, config.activation
        )
        if config.output == "sigmoid":
            # start at 1 / n_features of the photon energy per cell (the showers' mean), not
            # at sigmoid(0) = 0.5 per cell, i.e. n_features / 2 times the photon energy
            last = self.net[-1]
            assert isinstance(last, nn.Linear)
            with torch.no_grad():
                last.bias.fill_(-math.log(max(n_features - 1, 1)))

    def logits(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """The last layer's output before its activation, ``(B, n_features)``."""
        return self.net(torch.cat([z, label], dim=1))

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        """Cells from :meth:`logits`."""
        return torch.sigmoid(logits) if self.output == "sigmoid" else torch.relu(logits)

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Cell energies over the photon energy."""
        return self.activate(self.logits(z, label))


class AtlasVaeObjective(EncoderObjective):
    """One step of the ATLAS VAE: reconstruction, KL and the energy terms; one RMSProp update.

    Args:
        encoder, decoder: the networks, in training mode on ``device``.
        settings: loss weights and RMSProp's constant.
        layer_sizes: cells per layer (one weight of ``settings.w_layers`` each).
        lr: learning rate.
        device: where the networks are.
    """

    sampler: CellDecoder
    encoder: CellEncoder

    def __init__(
        self,
        encoder: CellEncoder,
        decoder: CellDecoder,
        settings: AtlasVaeObjectiveConfig,
        layer_sizes: Sequence[int],
        lr: float,
        device: torch.device,
    ) -> None:
        if len(settings.w_layers) != len(layer_sizes):
            raise ModelError(
                f"objective.w_layers has {len(settings.w_layers)} weights; the geometry has "
                f"{len(layer_sizes)} layers (give one weight per layer)"
            )
        if settings.reconstruction == "bce" and decoder.output != "sigmoid":
            raise ModelError(
                "objective.reconstruction bce needs model.output sigmoid (cells in [0, 1]); "
                f"found {decoder.output} (use reconstruction: mse)"
            )
        self.encoder = encoder
        self.sampler = decoder
        self.settings = settings
        self.layer_sizes = tuple(layer_sizes)
        self.device = device
        self.w_layers = torch.tensor(settings.w_layers, dtype=torch.float32, device=device)
        params = [*encoder.parameters(), *decoder.parameters()]
        self.optimizer = torch.optim.RMSprop(params, lr=lr, alpha=settings.rmsprop_alpha)

    def losses(
        self, x: torch.Tensor, label: torch.Tensor, eps: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """The loss and its terms for a batch and the reparametrisation noise ``eps``.

        Returns:
            ``(loss, reconstruction, kl, total_energy, layer_fractions)``, batch means of
            per-shower values; the last two are already weighted.
        """
        mean, log_var = self.encoder(x, label)
        z = mean + torch.exp(0.5 * log_var) * eps
        logits = self.sampler.logits(z, label)
        x_hat = self.sampler.activate(logits)
        settings = self.settings
        reconstruction = reconstruction_term(x, logits, x_hat, settings.reconstruction).mean()
        kl = kl_term(mean, log_var).mean()
        e_tot = settings.w_total_energy * total_energy_term(x, x_hat).mean()
        layers = (layer_fraction_terms(x, x_hat, self.layer_sizes) * self.w_layers).sum(1).mean()
        loss = reconstruction + settings.beta_kl * kl + e_tot + layers
        return (loss, reconstruction, kl, e_tot, layers)

    def step(self, batches: BatchSource, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Returns ``(loss, reconstruction, kl, total_energy, layer_fractions)``."""
        x, label = batches.draw()
        eps = torch.randn((x.shape[0], self.encoder.latent_dim), generator=generator)
        terms = self.losses(x, label, eps.to(self.device))
        self.optimizer.zero_grad(set_to_none=True)
        terms[0].backward()
        self.optimizer.step()
        return terms


class AtlasVae(ModelFamily[AtlasVaeConfig, AtlasVaeObjectiveConfig]):
    """The conditional VAE of ATL-SOFT-PUB-2018-001."""

    name = "atlas18-vae"
    summary = (
        "ATLAS 2018 conditional VAE on cells (4+4 hidden layers, latent 10, RMSProp; "
        "reconstruction + KL + total-energy and layer-fraction terms)"
    )
    network_config = AtlasVaeConfig
    objective_config = AtlasVaeObjectiveConfig
    loss_columns = ("loss", "reconstruction", "kl", "total_energy", "layer_fractions")
    presets = (
        Preset(
            name="atlas18-vae",
            family="atlas18-vae",
            summary="ATLAS 2018 photon VAE, ATL-SOFT-PUB-2018-001",
            model=AtlasVaeConfig(),
            objective=AtlasVaeObjectiveConfig(),
            # cells over the photon energy; the label log(E/E_min)/log(E_max/E_min)
            preprocess=PreprocessConfig(kind="caloshowergan"),
            batch_size=100,
            lr=1e-3,
            geometry="atlas-cells",
        ),
    )

    def noise(self, config: AtlasVaeConfig, shape: ModelShape | None = None) -> NoiseSpec:
        """Standard normal noise of ``latent_dim`` (the prior)."""
        return NoiseSpec("normal", config.latent_dim, 0.0, 1.0)

    def build_sampler(self, config: AtlasVaeConfig, shape: ModelShape, seed: int = 0) -> nn.Module:
        """The decoder."""
        layer_sizes_of(shape, self.name)
        with seeded(seed):
            return CellDecoder(config, shape.n_features, shape.n_conditions)

    def build_objective(
        self,
        config: AtlasVaeConfig,
        settings: AtlasVaeObjectiveConfig,
        shape: ModelShape,
        lr: float,
        seed: int,
        device: torch.device,
    ) -> AtlasVaeObjective:
        """Encoder and decoder (initialised together from ``seed``) and their update."""
        sizes = layer_sizes_of(shape, self.name)
        with seeded(seed):
            decoder = CellDecoder(config, shape.n_features, shape.n_conditions)
            encoder = CellEncoder(config, shape.n_features, shape.n_conditions)
        decoder.to(device).train()
        encoder.to(device).train()
        return AtlasVaeObjective(encoder, decoder, settings, sizes, lr, device)

    def status(self, values: Sequence[float]) -> str:
        """``loss <loss> KL <kl>``."""
        return f"loss {values[0]:.3g} KL {values[2]:.3g}"


# ----- the WGAN -----------------------------------------------------------------------------


class AtlasWganConfig(ModelConfig):
    """Architecture of the ATLAS 2018 WGAN: the MLP generator and critic, and the cell space.

    The fields of :class:`~fastcalogan.models.ModelConfig` (widths, activations, noise,
    initialisation) plus the cell-energy preprocessing the networks work in.

    Attributes:
        cell_transform: ``linear`` (E), ``log10`` (log10 E) or ``log10_scaled``
            (log10(E x 1e10)), with E the cell energy over the photon energy
            (:func:`cell_transform_forward`).
    """

    latent_dim: int = pydantic.Field(default=64, ge=1, le=4096)
    noise: Literal["uniform", "normal"] = "normal"
    noise_mean: float = 0.0
    noise_std: float = pydantic.Field(default=1.0, gt=0)
    generator_hidden: tuple[int, ...] = (128, 256, 512)
    critic_hidden: tuple[int, ...] = (512, 256, 128)
    cell_transform: CellTransformName = "log10_scaled"


class AtlasWganObjectiveConfig(StageConfig):
    """The ``objective:`` settings of the ATLAS 2018 WGAN.

    Attributes:
        n_critic: critic steps per generator step (the training ratio).
        gp_lambda: weight of the two-sided gradient penalty.
        beta1, beta2: Adam's betas, the same for both networks.
    """

    n_critic: int = pydantic.Field(default=5, ge=1)
    gp_lambda: float = pydantic.Field(default=10.0, ge=0)
    beta1: float = pydantic.Field(default=0.5, ge=0, lt=1)
    beta2: float = pydantic.Field(default=0.9, ge=0, lt=1)


class CellGenerator(nn.Module):
    """Noise and label -> cells over the photon energy, through the cell space of the critic.

    Args:
        net: the MLP (``Linear``/activation blocks) from ``[noise, label]`` to
            ``n_features`` values in the cell space.
        transform: the cell space (:data:`CELL_TRANSFORMS`).
    """

    def __init__(self, net: nn.Sequential, transform: str) -> None:
        super().__init__()
        if transform not in CELL_TRANSFORMS:
            raise ModelError(
                f"cell_transform must be one of {', '.join(CELL_TRANSFORMS)}, found {transform}"
            )
        self.net = net
        self.transform = transform

    def raw(self, noise: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """The shower in the cell space (what the critic judges), ``(B, n_features)``.

        Bounded by the images of an empty cell and of a cell holding the whole photon
        energy (:func:`cell_space_bounds`), through a scaled sigmoid: in a logarithmic space
        an unbounded output turns an overshoot of a few units into cells 10^k times the
        photon energy (a first 2,500-iteration run with a ReLU output generated E_tot up to
        1e23 E_photon; docs/atlas2018.md).
        """
        lo, hi = cell_space_bounds(self.transform)
        return lo + (hi - lo) * torch.sigmoid(self.net(torch.cat([noise, label], dim=1)))

    def forward(self, noise: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Cell energies over the photon energy, ``(B, n_features)``."""
        return cell_transform_inverse(self.raw(noise, label), self.transform)


class AtlasWganObjective(WassersteinObjective[AtlasWganObjectiveConfig]):
    """Critic and generator updates of one WGAN iteration in the cell space.

    Real showers are mapped into the cell space (:func:`cell_transform_forward`); the
    generator's showers are taken there directly (:meth:`CellGenerator.raw`).

    Args:
        generator, critic: the networks, in training mode on ``device``.
        noise: the generator's noise input.
        settings: training ratio, penalty weight, Adam betas.
        lr: learning rate of both Adam optimisers.
        device: where the networks are.
    """

    sampler: CellGenerator
    critic: Critic

    def __init__(
        self,
        generator: CellGenerator,
        critic: Critic,
        noise: NoiseSpec,
        settings: AtlasWganObjectiveConfig,
        lr: float,
        device: torch.device,
    ) -> None:
        super().__init__(generator, critic, noise, settings, lr, device)

    def step(self, batches: BatchSource, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """``n_critic`` critic steps on ``D(fake) - D(real) + penalty``, one generator step.

        Returns:
            ``(critic loss, generator loss, gradient penalty, Wasserstein estimate)``.
        """
        transform = self.sampler.transform
        loss_d, d_real, d_fake, gp = self.critic_updates(
            batches,
            generator,
            self._critic_terms,
            real_view=lambda x: cell_transform_forward(x, transform),
            generate=self.sampler.raw,
        )
        loss_g = self.generator_update(batches, generator, self.sampler.raw)
        return (loss_d, loss_g, gp, d_real - d_fake)

    def _critic_terms(
        self, real: torch.Tensor, fake: torch.Tensor, label: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return critic_terms(self.critic, real, fake, label, self.settings.gp_lambda, gen)


class AtlasWgan(ModelFamily[AtlasWganConfig, AtlasWganObjectiveConfig]):
    """The WGAN with two-sided gradient penalty of ATL-SOFT-PUB-2018-001."""

    name = "atlas18-wgan"
    summary = (
        "ATLAS 2018 WGAN on cells (two-sided gradient penalty, Adam; energy + multi-hot "
        "alignment label; cells as E, log10 E or log10(E x 1e10))"
    )
    network_config = AtlasWganConfig
    objective_config = AtlasWganObjectiveConfig
    loss_columns = ("critic_loss", "generator_loss", "gradient_penalty", "wasserstein")
    presets = (
        Preset(
            name="atlas18-wgan",
            family="atlas18-wgan",
            summary="ATLAS 2018 photon WGAN-GP with alignment conditions, ATL-SOFT-PUB-2018-001",
            model=AtlasWganConfig(),
            objective=AtlasWganObjectiveConfig(),
            preprocess=PreprocessConfig(kind="caloshowergan", conditions=ALIGNMENT_CONDITIONS),
            batch_size=128,
            lr=1e-4,
            geometry="atlas-cells",
        ),
    )

    def noise(self, config: AtlasWganConfig, shape: ModelShape | None = None) -> NoiseSpec:
        """The generator's noise (normal of ``latent_dim`` in the preset)."""
        return noise_spec(config)

    def build_sampler(self, config: AtlasWganConfig, shape: ModelShape, seed: int = 0) -> nn.Module:
        """The generator, mapping back from the cell space."""
        layer_sizes_of(shape, self.name)
        net = build_generator(config, shape.n_features, None, seed, shape.n_conditions).net
        return CellGenerator(net, config.cell_transform)

    def build_objective(
        self,
        config: AtlasWganConfig,
        settings: AtlasWganObjectiveConfig,
        shape: ModelShape,
        lr: float,
        seed: int,
        device: torch.device,
    ) -> AtlasWganObjective:
        """Generator and critic (initialised together from ``seed``) and their updates."""
        layer_sizes_of(shape, self.name)
        gen, critic = build_models(config, shape.n_features, None, seed, shape.n_conditions)
        generator = CellGenerator(gen.net, config.cell_transform)
        generator.to(device).train()
        critic.to(device).train()
        return AtlasWganObjective(generator, critic, noise_spec(config), settings, lr, device)

    def export_module(self, sampler: nn.Module) -> nn.Module:
        """The generator with any batch normalisation folded into its linear layers."""
        if not isinstance(sampler, CellGenerator):
            raise ModelError(
                f"expected an atlas18-wgan CellGenerator, found {type(sampler).__name__}"
            )
        net = fold_batch_norm(sampler.cpu().eval().net)
        return CellGenerator(net, sampler.transform).eval()

    def status(self, values: Sequence[float]) -> str:
        """``D <critic loss> G <generator loss>``."""
        return f"D {values[0]:.3g} G {values[1]:.3g}"
