"""The LHCb ECAL GAN: a regressor-conditioned convolutional WGAN-GP, and its regressor.

Chekalina et al., "Generative Models for Fast Calorimeter Simulation: the LHCb case", EPJ
Web Conf. 214 (2019) 02034 (arXiv:1812.01319): 30 x 30 ECAL cell images of electrons,
conditioned on five parameters (momentum px, py, pz and impact point x, y). Two families:

* ``lhcb-regressor``: the regressor (the critic's architecture, :class:`RegressorNet`),
  trained first on the reference images to predict the five conditions (mean squared error
  in the label's standardised units). A run of it is a step of its own; its checkpoint is
  what the GAN's ``objective.regressor`` names. It has no generator: selection, generation
  and export refuse its runs in one line.
* ``lhcb-wgan-gp``: generator and critic (:class:`GeneratorNet`, :class:`CriticNet`)
  trained as a WGAN-GP (Gulrajani et al. 2017), the frozen regressor conditioning the
  generator: its view of every generated image is compared with the requested conditions
  and the comparison enters the generator's loss

      L_G = -E[D(G(z, c), c)] + condition_weight * L_cond,

  with ``L_cond`` either ``mse``, the regressor's prediction against the requested
  conditions, mean over the batch and the five parameters of (R(G(z, c)) - c)^2, or
  ``perceptual``, the regressor's features (its trunk's output) of the generated image
  against those of the reference image that carries the same conditions, mean of
  (phi_R(G(z, c)) - phi_R(x))^2 (Johnson et al., ECCV 2016). The critic's loss is the
  plain WGAN-GP ``D(fake) - D(real) + lambda GP`` (the frozen regressor has no parameter
  to train there). ``docs/lhcb.md`` starts from the paper's wording. An optional
  total-energy term (``energy_weight``, not in the paper) adds
  ``energy_weight * E[(log E_gen - log E_ref)^2]``, the images' summed MeV, each
  generated image against the reference image drawn with its conditions.

The regressor is never given to an optimiser; the GAN's objective keeps it (weights, network
config, shape and the preprocessing it was trained with) in its state, so checkpoints carry
it and a resumed run uses the same one; the trainer hands the objective the run's
preprocessing (:meth:`~fastcalogan.models.Objective.check_preprocessing`) and a regressor
trained on other inputs is refused.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic
import torch
from torch import nn

from .._config import StageConfig
from ..errors import ModelError
from ..preprocess import ConditionTransform, FittedBoxCox, PreprocessConfig
from .adversarial import WassersteinObjective
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
from .lhcb_networks import CriticNet, GeneratorNet, RegressorNet, image_shape

__all__ = [
    "LHCB_CONDITIONS",
    "LHCB_PREPROCESS",
    "LhcbGanConfig",
    "LhcbGanObjective",
    "LhcbGanObjectiveConfig",
    "LhcbRegressor",
    "LhcbRegressorConfig",
    "LhcbRegressorObjective",
    "LhcbRegressorObjectiveConfig",
    "LhcbWganGp",
    "LoadedRegressor",
    "load_regressor",
]

#: The five conditions of the study, in label order.
LHCB_CONDITIONS = ("px", "py", "pz", "x", "y")
#: Both presets' preprocessing: cells in MeV (the image keeps the energy, which the regressor
#: measures) through Box-Cox, the conditions standardised, and the energy label on the
#: simulator's |p| range of 2-100 GeV (fixed, so that a test file's momenta just outside the
#: training sample's extremes can be generated).
LHCB_PREPROCESS = PreprocessConfig(
    kind="fastcalogan",
    e_min=2_000.0,
    e_max=100_000.0,
    voxel_unit="mev",
    voxel_transform="box_cox",
    conditions={name: ConditionTransform(transform="standardise") for name in LHCB_CONDITIONS},
)
#: The paper's widths: dense to 256 x 4 x 4, then 128 x 8 x 8, 64 x 16 x 16, 32 x 32 x 32.
PAPER_CHANNELS = (256, 128, 64, 32)


class LhcbGanConfig(StageConfig):
    """Architecture of the generator and critic (the ``model:`` section of ``lhcb-wgan-gp``).

    Attributes:
        latent_dim: Gaussian noise width (the paper: 512).
        channels: the generator's widths from the dense layer's map up (the paper:
            256, 128, 64, 32); the critic runs through them backwards.
        generator_batch_norm: batch normalisation after the transposed convolutions.
        leaky_slope: negative slope of the critic's leaky ReLUs.
        critic_condition: ``projection`` (the critic sees the label through a projection
            term) or ``none`` (an unconditional critic: the conditions reach the losses only
            through the regressor).
    """

    latent_dim: int = pydantic.Field(default=512, ge=1, le=4096)
    channels: tuple[pydantic.PositiveInt, ...] = pydantic.Field(
        default=PAPER_CHANNELS, min_length=2, max_length=6
    )
    generator_batch_norm: bool = False
    leaky_slope: float = pydantic.Field(default=0.2, ge=0, lt=1)
    critic_condition: Literal["projection", "none"] = "projection"


class LhcbGanObjectiveConfig(StageConfig):
    """The ``objective:`` settings of ``lhcb-wgan-gp``.

    Attributes:
        n_critic: critic steps per generator step.
        gp_lambda: weight of the gradient penalty.
        beta1, beta2: Adam's betas (both networks).
        regressor: checkpoint of an ``lhcb-regressor`` run (or of an ``lhcb-wgan-gp`` run,
            whose regressor is reused), trained on the same data with the same
            preprocessing; ``None``: no conditioning term (a plain conditional WGAN-GP).
        condition_loss: ``perceptual`` (regressor features of the generated image against
            those of the reference image with the same conditions) or ``mse`` (regressor
            prediction against the requested conditions).
        condition_weight: weight of the conditioning term in the generator's loss.
        energy_weight: weight of the total-energy term: the squared difference of the
            logarithms of a generated image's summed energy (MeV, through the Box-Cox
            inverse) and that of the reference image drawn with the same conditions; 0: none
            (the paper has none; see :class:`LhcbGanObjective`).
        energy_weight_end: where the energy term's weight ends: it falls geometrically
            from ``energy_weight`` to this over ``energy_decay_iterations`` generator steps
            and stays there; ``None``: constant. A strong term sets the energy scale in a
            few hundred steps, but kept strong it outweighs the critic (whose judgement of
            one cell is bounded by the gradient penalty) and the generator keeps part of
            the energy in one fixed cell; weakened, the critic takes that cell back.
        energy_decay_iterations: generator steps of the fall.
    """

    n_critic: int = pydantic.Field(default=5, ge=1)
    gp_lambda: float = pydantic.Field(default=10.0, ge=0)
    beta1: float = pydantic.Field(default=0.0, ge=0, lt=1)
    beta2: float = pydantic.Field(default=0.9, ge=0, lt=1)
    regressor: str | None = None
    condition_loss: Literal["perceptual", "mse"] = "perceptual"
    condition_weight: float = pydantic.Field(default=1.0, ge=0, allow_inf_nan=False)
    energy_weight: float = pydantic.Field(default=0.0, ge=0, allow_inf_nan=False)
    energy_weight_end: float | None = pydantic.Field(default=None, gt=0, allow_inf_nan=False)
    energy_decay_iterations: int = pydantic.Field(default=1000, ge=1)


class LhcbRegressorConfig(StageConfig):
    """Architecture of the regressor (the ``model:`` section of ``lhcb-regressor``): the
    critic's trunk with a dense head.

    Attributes:
        channels: the widths, as the GAN's ``channels``.
        leaky_slope: negative slope of the leaky ReLUs.
    """

    channels: tuple[pydantic.PositiveInt, ...] = pydantic.Field(
        default=PAPER_CHANNELS, min_length=2, max_length=6
    )
    leaky_slope: float = pydantic.Field(default=0.2, ge=0, lt=1)


class LhcbRegressorObjectiveConfig(StageConfig):
    """The ``objective:`` settings of ``lhcb-regressor``.

    Attributes:
        beta1, beta2: Adam's betas.
        weight_decay: L2 weight decay of Adam.
    """

    beta1: float = pydantic.Field(default=0.9, ge=0, lt=1)
    beta2: float = pydantic.Field(default=0.999, ge=0, lt=1)
    weight_decay: float = pydantic.Field(default=0.0, ge=0)


def _build_regressor(config: LhcbRegressorConfig, shape: ModelShape, seed: int = 0) -> RegressorNet:
    """A regressor initialised from ``seed`` (the global torch RNG is left alone)."""
    with seeded(seed):
        return RegressorNet(
            image_shape(shape), shape.n_conditions - 1, config.channels, config.leaky_slope
        )


# ----- the regressor, saved and loaded --------------------------------------------------------
@dataclass
class LoadedRegressor:
    """A trained regressor with what it was trained on.

    Attributes:
        network: the regressor, frozen (no gradients to its parameters), eval mode, CPU.
        config: its architecture.
        shape: the shape it was built for.
        preprocess: the preprocessing state of its training run (its input space).
        source: the checkpoint it was read from.
        iteration: its training iteration.
    """

    network: RegressorNet
    config: LhcbRegressorConfig
    shape: ModelShape
    preprocess: dict[str, Any]
    source: str
    iteration: int

    def to_state(self) -> dict[str, Any]:
        """What a GAN checkpoint stores (plain values and CPU tensors)."""
        return {
            "weights": cpu_state(self.network),
            "model_config": self.config.model_dump(mode="json"),
            "model_shape": self.shape.to_dict(),
            "preprocess": self.preprocess,
            "source": self.source,
            "iteration": self.iteration,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], source: str) -> LoadedRegressor:
        """Rebuild from :meth:`to_state`'s output; :class:`ModelError` naming ``source``."""
        try:
            config = LhcbRegressorConfig.model_validate(state["model_config"])
            shape = ModelShape.from_dict(state["model_shape"])
            network = _build_regressor(config, shape)
            network.load_state_dict(state["weights"])
            preprocess = dict(state["preprocess"])
            iteration = int(state["iteration"])
        except (KeyError, TypeError, ValueError, RuntimeError, pydantic.ValidationError) as err:
            raise ModelError(f"{source}: unreadable regressor ({err})") from err
        network.requires_grad_(False).eval()
        return cls(network, config, shape, preprocess, str(state.get("source", source)), iteration)


def load_regressor(
    source: str | Path | Mapping[str, Any], name: str = "<checkpoint>"
) -> LoadedRegressor:
    """The regressor of a checkpoint: an ``lhcb-regressor`` run's, or the one an
    ``lhcb-wgan-gp`` run was conditioned with.

    Args:
        source: a checkpoint file, or its loaded dictionary.
        name: the dictionary's origin, for messages.

    Raises:
        ModelError: no such file, not a checkpoint, or a checkpoint without a regressor.
    """
    if isinstance(source, Mapping):
        state: Mapping[str, Any] = source
    else:
        path = Path(source)
        name = str(path)
        if path.is_dir():
            raise ModelError(
                f"{path} is a folder; give the regressor's checkpoint file "
                f"({path}/checkpoints/ckpt-NNNNNNNN.pt)"
            )
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError as err:
            raise ModelError(f"{path}: no such regressor checkpoint") from err
        except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ModelError(f"{path}: not a readable checkpoint ({reason})") from err
        if not isinstance(state, Mapping):
            raise ModelError(f"{path}: not a fastcalogan checkpoint")
    family = state.get("family")
    if family == LhcbRegressor.name:
        return LoadedRegressor.from_state(
            {
                "weights": state.get("generator"),
                "model_config": state.get("model_config"),
                "model_shape": state.get("model_shape"),
                "preprocess": state.get("preprocess"),
                "source": name,
                "iteration": state.get("iteration"),
            },
            name,
        )
    stored = (state.get("objective") or {}).get("regressor") if family == LhcbWganGp.name else None
    if stored is None:
        raise ModelError(
            f"{name}: expected a checkpoint of an lhcb-regressor run (or of an lhcb-wgan-gp run "
            f"conditioned by one), found family {family!r} without a regressor"
        )
    return LoadedRegressor.from_state(stored, name)


def _differing_keys(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _preset(
    family: str,
    summary: str,
    model: StageConfig,
    objective: StageConfig,
    batch_size: int,
    lr: float,
) -> Preset:
    """A preset of the study (named after its family): electrons in the ``lhcb-ecal``
    geometry, with :data:`LHCB_PREPROCESS`."""
    return Preset(
        name=family,
        family=family,
        summary=summary,
        model=model,
        objective=objective,
        preprocess=LHCB_PREPROCESS,
        batch_size=batch_size,
        lr=lr,
        particle="electron",
        geometry="lhcb-ecal",
    )


# ----- the GAN --------------------------------------------------------------------------------
def _nan(device: torch.device) -> torch.Tensor:
    return torch.full((), math.nan, device=device)


class LhcbGanObjective(WassersteinObjective[LhcbGanObjectiveConfig]):
    """One WGAN-GP iteration with the regressor's conditioning term.

    Args:
        generator, critic: the networks, training mode, on ``device``.
        regressor: the frozen regressor, or ``None`` (no conditioning term).
        noise: the generator's noise.
        settings: the objective settings.
        lr: both Adam learning rates.
        device: where the networks are.
    """

    critic: CriticNet

    def __init__(
        self,
        generator: GeneratorNet,
        critic: CriticNet,
        regressor: LoadedRegressor | None,
        noise: NoiseSpec,
        settings: LhcbGanObjectiveConfig,
        lr: float,
        device: torch.device,
    ) -> None:
        # fused (single-kernel) updates, as the MLP WGAN-GP
        super().__init__(generator, critic, noise, settings, lr, device, fused=True)
        self.regressor = regressor
        #: the run's Box-Cox transform (from :meth:`check_preprocessing`): the energy term
        #: sums the cells in MeV
        self.box_cox: FittedBoxCox | None = None
        if regressor is not None:
            regressor.network.to(device)

    def check_preprocessing(self, state: Mapping[str, Any]) -> None:
        """Refuse a regressor trained on other inputs than this run's; keep the run's Box-Cox
        transform for the energy term.

        Raises:
            ModelError: the run's fitted preprocessing differs from the regressor's (the
                keys that differ are named), or the energy term is asked for without a
                Box-Cox transform of the cells.
        """
        if self.settings.energy_weight > 0:
            if "box_cox" not in state:
                raise ModelError(
                    "objective.energy_weight sums the cells through the Box-Cox inverse; this "
                    "run's preprocessing has no Box-Cox transform (preprocess.voxel_transform: "
                    "box_cox)"
                )
            self.box_cox = FittedBoxCox.from_dict(state["box_cox"])
        if self.regressor is None:
            return
        differ = _differing_keys(dict(state), self.regressor.preprocess)
        if differ:
            raise ModelError(
                f"objective.regressor {self.regressor.source} was trained with other "
                f"preprocessing than this run (differing: {', '.join(differ)}); train the "
                "regressor on the same file with the same preprocess settings"
            )

    def _critic_terms(
        self, real: torch.Tensor, fake: torch.Tensor, label: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mean D(real), mean D(fake) and the gradient penalty (Gulrajani et al. 2017).

        The interpolates get their own critic pass: the penalty's double backward then runs
        through B rows, not through a stacked batch of 3B (twice as slow on the CPU).
        """
        n = real.shape[0]
        eps = torch.rand((n, 1), generator=gen).to(real.device, real.dtype)
        x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.critic(x_hat, label).sum(), x_hat, create_graph=True)
        penalty = self.settings.gp_lambda * ((grad.norm(2, dim=1) - 1.0) ** 2).mean()
        scores = self.critic(torch.cat([real, fake]), label.repeat(2, 1))
        return scores[:n].mean(), scores[n:].mean(), penalty

    def step(self, batches: BatchSource, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """``n_critic`` critic steps, then one generator step with the conditioning term.

        Returns:
            ``(critic loss, generator loss, gradient penalty, Wasserstein estimate,
            conditioning term, regressor MSE on the generated images, regressor MSE on the
            reference images, energy term)``; the three regressor values are NaN without a
            regressor, the energy term without ``energy_weight``.
        """
        loss_d, d_real, d_fake, gp = self.critic_updates(batches, generator, self._critic_terms)
        # the generator step draws a whole batch: the perceptual term compares with its images
        real, label = batches.draw()
        noise = self.noise.sample(batches.batch_size, generator, self.device)
        self.critic.requires_grad_(False)
        fake = self.sampler(noise, label)
        loss_g = -self.critic(fake, label).mean()
        term = mse_gen = mse_real = energy = _nan(self.device)
        if self.regressor is not None:
            net = self.regressor.network
            target = label[:, 1:]
            f_fake = net.features(fake)
            mse_gen = ((net.head(f_fake) - target) ** 2).mean()
            with torch.no_grad():
                f_real = net.features(real)
                mse_real = ((net.head(f_real) - target) ** 2).mean()
            if self.settings.condition_loss == "perceptual":
                term = ((f_fake - f_real) ** 2).mean()
            else:
                term = mse_gen
            loss_g = loss_g + self.settings.condition_weight * term
        if self.settings.energy_weight > 0:
            energy = self._energy_term(fake, real)
            loss_g = loss_g + self.energy_weight() * energy
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.critic.requires_grad_(True)
        return (loss_d, loss_g, gp, d_real - d_fake, term, mse_gen, mse_real, energy)

    def energy_weight(self) -> float:
        """The energy term's weight at this generator step (``energy_weight`` falling
        geometrically to ``energy_weight_end``; the step count is the generator optimiser's,
        so a resumed run continues the schedule)."""
        start, end = self.settings.energy_weight, self.settings.energy_weight_end
        if end is None or start <= 0:
            return start
        done = min(1.0, self._generator_steps() / self.settings.energy_decay_iterations)
        return float(start * (end / start) ** done)

    def _generator_steps(self) -> int:
        """Generator updates so far (Adam's step count; 0 before the first)."""
        first = next(iter(self.opt_g.param_groups[0]["params"]))
        step = self.opt_g.state.get(first, {}).get("step", 0)
        return int(step.item() if isinstance(step, torch.Tensor) else step)

    def _energy_term(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of ``(log E_fake - log E_real)^2``, E the image's summed
        cells in MeV (each plus the Box-Cox offset), each generated image against the
        reference image with its conditions.

        The gradient of the logarithm of a sum reaches each cell in proportion to its share
        of the sum, so it lifts (or lowers) the whole image's energy scale at once, however
        far from it the generator starts; the critic and the regressor see to the shape.
        (A total-energy term of this kind is how the 3DGAN of Khattak et al., Eur. Phys. J.
        C 82 (2022) 386, ties its images to the primary's energy.)
        """
        if self.box_cox is None:
            raise ModelError(
                "the energy term needs the run's Box-Cox transform: the trainer hands it over "
                "through check_preprocessing before the first step"
            )
        # the smooth inverse: an image whose cells all read zero still has a gradient
        e_fake = self.box_cox.smooth_inverse_torch(fake).sum(dim=1)
        with torch.no_grad():
            e_real = self.box_cox.smooth_inverse_torch(real).sum(dim=1)
        return ((torch.log(e_fake) - torch.log(e_real)) ** 2).mean()

    def state_dict(self) -> dict[str, Any]:
        """The critic, both optimisers and the regressor (weights and what it was trained on)."""
        return {
            **super().state_dict(),
            "regressor": None if self.regressor is None else self.regressor.to_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (a stored regressor replaces the loaded one)."""
        super().load_state_dict(state)
        stored = state.get("regressor")
        if stored is not None:
            self.regressor = LoadedRegressor.from_state(stored, "the checkpoint's regressor")
            self.regressor.network.to(self.device)


class LhcbWganGp(ModelFamily[LhcbGanConfig, LhcbGanObjectiveConfig]):
    """The LHCb ECAL convolutional WGAN-GP conditioned through a frozen regressor."""

    name = "lhcb-wgan-gp"
    summary = "LHCb ECAL convolutional WGAN-GP conditioned through a frozen regressor"
    network_config = LhcbGanConfig
    objective_config = LhcbGanObjectiveConfig
    loss_columns = (
        "critic_loss",
        "generator_loss",
        "gradient_penalty",
        "wasserstein",
        "condition_term",
        "regressor_mse_generated",
        "regressor_mse_reference",
        "energy_term",
    )
    #: Chekalina et al. 2019 (architecture, 512-dim noise, WGAN-GP); the optimiser settings
    #: are those of the WGAN-GP paper (Gulrajani et al. 2017: Adam 1e-4, betas 0 and 0.9,
    #: 5 critic steps, lambda 10), which the LHCb paper does not state otherwise.
    presets = (
        _preset(
            "lhcb-wgan-gp",
            "LHCb ECAL GAN, Chekalina et al., EPJ Web Conf. 214 (2019) 02034",
            LhcbGanConfig(),
            LhcbGanObjectiveConfig(),
            batch_size=64,
            lr=1e-4,
        ),
    )

    def noise(self, config: LhcbGanConfig, shape: ModelShape | None = None) -> NoiseSpec:
        """Standard normal noise of ``latent_dim``."""
        return NoiseSpec("normal", config.latent_dim, 0.0, 1.0)

    def _generator(self, config: LhcbGanConfig, shape: ModelShape) -> GeneratorNet:
        return GeneratorNet(
            image_shape(shape),
            config.latent_dim,
            shape.n_conditions,
            config.channels,
            config.generator_batch_norm,
        )

    def build_sampler(self, config: LhcbGanConfig, shape: ModelShape, seed: int = 0) -> nn.Module:
        """The generator."""
        with seeded(seed):
            return self._generator(config, shape)

    def build_objective(
        self,
        config: LhcbGanConfig,
        settings: LhcbGanObjectiveConfig,
        shape: ModelShape,
        lr: float,
        seed: int,
        device: torch.device,
    ) -> LhcbGanObjective:
        """Generator and critic (from ``seed``), the regressor read from
        ``settings.regressor``, and their updates.

        Raises:
            ModelError: the regressor cannot be read or was built for another shape.
        """
        with seeded(seed):
            generator = self._generator(config, shape)
            critic = CriticNet(
                image_shape(shape),
                shape.n_conditions,
                config.channels,
                config.leaky_slope,
                projection=config.critic_condition == "projection",
            )
        regressor = None
        if settings.regressor is not None:
            regressor = load_regressor(settings.regressor)
            if regressor.shape != shape:
                raise ModelError(
                    f"objective.regressor {settings.regressor} was built for {regressor.shape}, "
                    f"this run needs {shape} (the same geometry and conditions)"
                )
        generator.to(device).train()
        critic.to(device).train()
        return LhcbGanObjective(
            generator, critic, regressor, self.noise(config), settings, lr, device
        )

    def status(self, values: Sequence[float]) -> str:
        """``D <critic loss> G <generator loss> R <regressor MSE on generated images>``."""
        return f"D {values[0]:.3g} G {values[1]:.3g} R {values[5]:.3g}"


# ----- the regressor --------------------------------------------------------------------------
class LhcbRegressorObjective(Objective):
    """One regression step: predict the label's conditions from the reference images.

    The regressor is what :attr:`sampler` holds (what the trainer saves as the run's
    network), though it samples nothing.

    Args:
        regressor: the network, training mode, on ``device``.
        settings: Adam's settings.
        lr: learning rate.
        device: where it is.
    """

    def __init__(
        self,
        regressor: RegressorNet,
        settings: LhcbRegressorObjectiveConfig,
        lr: float,
        device: torch.device,
    ) -> None:
        self.sampler = regressor
        self.device = device
        self.optimizer = torch.optim.Adam(
            regressor.parameters(),
            lr=lr,
            betas=(settings.beta1, settings.beta2),
            weight_decay=settings.weight_decay,
            fused=True,
        )

    def step(self, batches: BatchSource, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Returns ``(mse, worst condition's mse)`` in standardised units."""
        x, label = batches.draw()
        per_column = ((self.sampler(x) - label[:, 1:]) ** 2).mean(dim=0)
        loss = per_column.mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return (loss, per_column.max())

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state."""
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        self.optimizer.load_state_dict(state["optimizer"])


class LhcbRegressor(ModelFamily[LhcbRegressorConfig, LhcbRegressorObjectiveConfig]):
    """The LHCb ECAL regressor: cell image -> the conditions (trained before the GAN)."""

    name = "lhcb-regressor"
    summary = "LHCb ECAL regressor of the conditions from cell images (conditions lhcb-wgan-gp)"
    network_config = LhcbRegressorConfig
    objective_config = LhcbRegressorObjectiveConfig
    loss_columns = ("mse", "max_condition_mse")
    presets = (
        _preset(
            "lhcb-regressor",
            "regressor of Chekalina et al., EPJ Web Conf. 214 (2019) 02034",
            LhcbRegressorConfig(),
            LhcbRegressorObjectiveConfig(),
            batch_size=128,
            lr=1e-3,
        ),
    )

    def noise(self, config: LhcbRegressorConfig, shape: ModelShape | None = None) -> NoiseSpec:
        """Not used: a regressor run has no generator."""
        return NoiseSpec("normal", 1)

    def build_sampler(
        self, config: LhcbRegressorConfig, shape: ModelShape, seed: int = 0
    ) -> nn.Module:
        """Always refuses: the run holds a regressor, which generates nothing.

        Raises:
            ModelError: always.
        """
        raise ModelError(
            "an lhcb-regressor run holds a regressor, not a generator: name its checkpoint in "
            "the objective.regressor of an lhcb-wgan-gp run"
        )

    def build_objective(
        self,
        config: LhcbRegressorConfig,
        settings: LhcbRegressorObjectiveConfig,
        shape: ModelShape,
        lr: float,
        seed: int,
        device: torch.device,
    ) -> LhcbRegressorObjective:
        """The regressor (from ``seed``) and its update."""
        regressor = _build_regressor(config, shape, seed)
        regressor.to(device).train()
        return LhcbRegressorObjective(regressor, settings, lr, device)

    def status(self, values: Sequence[float]) -> str:
        """``MSE <mse> worst <max>``."""
        return f"MSE {values[0]:.3g} worst {values[1]:.3g}"
