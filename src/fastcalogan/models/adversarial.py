"""What the GAN families' objectives share: the generator and the network judging it, their
Adam optimisers and checkpoint state (:class:`AdversarialObjective`), and the Wasserstein
GAN's critic and generator updates (:class:`WassersteinObjective`, Gulrajani et al. 2017).

A family's objective inherits one of them and adds its own terms: the MLP WGAN-GP its
written-out critic step, the ATLAS 2018 WGAN its cell space, the LHCb GAN its regressor,
CaloGAN its discriminator's energy loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import torch
from torch import nn

from .family import BatchSource, NoiseSpec, Objective, cpu_state

__all__ = [
    "AdamBetas",
    "AdversarialObjective",
    "CriticScores",
    "WassersteinObjective",
    "WassersteinSettings",
]

#: ``(real, fake, label, generator) -> (mean D(real), mean D(fake), penalty)``: the critic's
#: terms on one batch (``generator``: the interpolation coefficients' source).
CriticScores = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator],
    tuple[torch.Tensor, torch.Tensor, torch.Tensor],
]
#: ``(noise, label) -> showers`` in the critic's input space.
Generate = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class AdamBetas(Protocol):
    """Objective settings with Adam's betas (shared by the generator and the critic)."""

    @property
    def beta1(self) -> float: ...
    @property
    def beta2(self) -> float: ...


SettingsT = TypeVar("SettingsT", bound=AdamBetas)


class AdversarialObjective(Objective, Generic[SettingsT]):
    """The state every GAN objective shares: the generator (:attr:`sampler`), the network that
    judges it (:attr:`critic`; CaloGAN's discriminator), the noise, the settings and one Adam
    optimiser per network (:attr:`opt_g`, :attr:`opt_d`) with the settings' betas.

    :meth:`state_dict` holds the critic's weights under :attr:`critic_key` and the two
    optimisers' states under ``optimizer_generator`` and ``optimizer_<critic_key>``; a family
    with more state (the LHCb GAN's regressor) extends both methods.

    Args:
        generator, critic: the networks, in training mode on ``device``.
        noise: the generator's noise input.
        settings: the objective's settings (``beta1``, ``beta2`` and the family's own).
        lr: the generator's learning rate (and the critic's unless ``critic_lr``).
        device: where the networks are.
        critic_lr: the critic's learning rate when it differs.
        fused: passed to both Adams (``True``: the single-kernel update; ``None``: torch's
            default).
    """

    #: The critic's name in :meth:`state_dict` (and so in checkpoints).
    critic_key: ClassVar[str] = "critic"

    critic: nn.Module
    noise: NoiseSpec
    settings: SettingsT
    device: torch.device
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        noise: NoiseSpec,
        settings: SettingsT,
        lr: float,
        device: torch.device,
        *,
        critic_lr: float | None = None,
        fused: bool | None = None,
    ) -> None:
        self.sampler = generator
        self.critic = critic
        self.noise = noise
        self.settings = settings
        self.device = device
        betas = (settings.beta1, settings.beta2)
        self.opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas, fused=fused)
        self.opt_d = torch.optim.Adam(
            critic.parameters(), lr=lr if critic_lr is None else critic_lr, betas=betas, fused=fused
        )

    def state_dict(self) -> dict[str, Any]:
        """The critic's weights and both optimisers' states."""
        return {
            self.critic_key: cpu_state(self.critic),
            "optimizer_generator": self.opt_g.state_dict(),
            f"optimizer_{self.critic_key}": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        self.critic.load_state_dict(state[self.critic_key])
        self.opt_g.load_state_dict(state["optimizer_generator"])
        self.opt_d.load_state_dict(state[f"optimizer_{self.critic_key}"])


class WassersteinSettings(AdamBetas, Protocol):
    """Objective settings of a Wasserstein GAN: Adam's betas and the training ratio."""

    @property
    def n_critic(self) -> int: ...


WassersteinSettingsT = TypeVar("WassersteinSettingsT", bound=WassersteinSettings)


class WassersteinObjective(AdversarialObjective[WassersteinSettingsT]):
    """An :class:`AdversarialObjective` trained as a Wasserstein GAN: ``n_critic`` critic
    updates on ``D(fake) - D(real) + penalty``, then a generator update on ``-D(fake)``.

    Both updates draw their batches and noise in the same order in every family, so a
    family's numbers depend only on its networks, its penalty and its critic space.
    """

    def critic_updates(
        self,
        batches: BatchSource,
        generator: torch.Generator,
        terms: CriticScores,
        real_view: Callable[[torch.Tensor], torch.Tensor] | None = None,
        generate: Generate | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``settings.n_critic`` critic updates, each on a new batch and new noise.

        Args:
            batches, generator: as :meth:`~fastcalogan.models.Objective.step`.
            terms: the critic's scores and penalty on a batch (:data:`CriticScores`).
            real_view: maps the batch's showers into the critic's input space (default: as
                they are).
            generate: the generated showers in that space (default: the sampler's output).

        Returns:
            ``(critic loss, mean D(real), mean D(fake), penalty)`` of the last update.
        """
        n = batches.batch_size
        make = self.sampler if generate is None else generate
        for _ in range(self.settings.n_critic):
            real, label = batches.draw()
            if real_view is not None:
                real = real_view(real)
            noise = self.noise.sample(n, generator, self.device)
            with torch.no_grad():
                fake = make(noise, label)
            d_real, d_fake, penalty = terms(real, fake, label, generator)
            loss_d = d_fake - d_real + penalty
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
        return loss_d, d_real, d_fake, penalty

    def generator_update(
        self,
        batches: BatchSource,
        generator: torch.Generator,
        generate: Generate | None = None,
    ) -> torch.Tensor:
        """One generator update on ``-mean D(G(noise, label))`` with new conditions and new
        noise, the critic frozen (no gradients to its parameters); returns that loss.

        Args:
            batches, generator: as :meth:`critic_updates`.
            generate: the generated showers in the critic's input space (default: the
                sampler's output).
        """
        label = batches.draw_conditions()
        noise = self.noise.sample(batches.batch_size, generator, self.device)
        make = self.sampler if generate is None else generate
        self.critic.requires_grad_(False)
        loss_g = -self.critic(make(noise, label), label).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.critic.requires_grad_(True)
        return loss_g
