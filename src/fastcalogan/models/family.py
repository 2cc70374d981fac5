"""The model-family seam: what a family of generative models gives the rest of the toolkit.

A *family* (``wgan-gp-mlp``, ``vae-mlp``, ...) owns

* its **networks** (plain ``nn.Module``\\ s), built from its network config (the ``model:``
  section of a training config) and the :class:`ModelShape` of the data;
* its **objective** (:class:`Objective`): the losses and parameter updates of one training
  iteration, with the optimisers it needs and any frozen auxiliary networks, configured by
  its objective config (the ``objective:`` section);
* how its **sampling network** is rebuilt from a checkpoint: the module that maps
  ``(noise (B, latent), condition (B, n_conditions))`` to a preprocessed shower
  ``(B, n_features)`` (a GAN's generator, a VAE's decoder).

The trainer (``train/loop.py``: data, batches, energy injection, checkpoints, resume, loss
log), selection, generation, ONNX export and the benchmarks only use this interface. A
family registers itself with :func:`~fastcalogan.models.register_family`, with its
:class:`Preset`\\ s (the published recipes). ``docs/architecture.md`` walks through adding one.
"""

from __future__ import annotations

import abc
import contextlib
import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, NamedTuple, Protocol, TypeVar

import torch
from torch import nn

from .._config import StageConfig
from ..errors import ModelError
from ..preprocess import PreprocessConfig

__all__ = [
    "Batch",
    "BatchSource",
    "ModelFamily",
    "ModelShape",
    "NoiseSpec",
    "Objective",
    "Preset",
    "cpu_state",
    "seeded",
]


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Networks built inside are initialised from ``seed``; the global torch RNG (CPU) is as
    it was afterwards. How every family builds its networks (:meth:`ModelFamily.build_sampler`,
    :meth:`ModelFamily.build_objective`).

    >>> with seeded(1):
    ...     a = torch.rand(2)
    >>> with seeded(1):
    ...     b = torch.rand(2)
    >>> torch.equal(a, b)
    True
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """``module``'s state (weights and buffers) as detached CPU tensors, what a checkpoint
    stores."""
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


@dataclass(frozen=True)
class NoiseSpec:
    """The random input of a sampling network: its distribution and width.

    Noise is drawn on the CPU from an explicit ``torch.Generator`` (so the same seed gives the
    same showers on any device) and then moved to the device.

    Attributes:
        distribution: ``uniform`` on [0, 1) or ``normal`` with ``mean`` and ``std``.
        width: the latent dimension.
        mean, std: of the normal distribution (ignored for ``uniform``).
    """

    distribution: Literal["uniform", "normal"]
    width: int
    mean: float = 0.0
    std: float = 1.0

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> torch.Tensor:
        """Noise of shape ``(n, width)``, float32, drawn on the CPU from ``generator``."""
        shape = (int(n), self.width)
        if self.distribution == "uniform":
            z = torch.rand(shape, generator=generator)
        else:
            z = torch.randn(shape, generator=generator) * self.std + self.mean
        return z.to(device)

    def describe(self) -> dict[str, Any]:
        """The sidecar's description of the noise input (``docs/onnx.md``).

        >>> NoiseSpec("uniform", 50).describe()
        {'distribution': 'uniform', 'latent_dim': 50, 'low': 0.0, 'high': 1.0}
        """
        out: dict[str, Any] = {"distribution": self.distribution, "latent_dim": self.width}
        if self.distribution == "uniform":
            out.update(low=0.0, high=1.0)
        else:
            out.update(mean=self.mean, std=self.std)
        return out

    @classmethod
    def from_description(cls, data: Mapping[str, Any], source: str) -> NoiseSpec:
        """Read :meth:`describe`'s output back; :class:`ModelError` naming ``source``."""
        try:
            distribution = str(data["distribution"])
            if distribution not in ("uniform", "normal"):
                raise ValueError(f"distribution {distribution!r} is not uniform or normal")
            if distribution == "uniform":
                return cls("uniform", int(data["latent_dim"]))
            return cls("normal", int(data["latent_dim"]), float(data["mean"]), float(data["std"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ModelError(
                f"{source}: unreadable noise description (expected distribution, latent_dim "
                f"and low/high or mean/std): {err}"
            ) from err


@dataclass(frozen=True)
class ModelShape:
    """What the networks are built for: sizes that come from the data, not from the config.

    Attributes:
        n_features: width of a preprocessed shower (network output / critic input).
        n_conditions: width of the condition label (1 today: the incident energy; wider for
            multi-parameter conditions).
        head_layer_sizes: voxels per layer when the preprocessing normalises by layer
            (``n_features = sum + n_layers + 1``), else empty.
        layer_shapes: each layer's image shape in voxel order (polar ``(n_alpha, n_r)``,
            Cartesian ``(n_eta, n_phi)``), for families that treat layers as images.
    """

    n_features: int
    n_conditions: int = 1
    head_layer_sizes: tuple[int, ...] = ()
    layer_shapes: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint's ``model_shape`` (``layer_sizes`` is the head's, as before)."""
        return {
            "n_features": self.n_features,
            "layer_sizes": list(self.head_layer_sizes),
            "n_conditions": self.n_conditions,
            "layer_shapes": [list(s) for s in self.layer_shapes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelShape:
        """Read :meth:`to_dict` back (older checkpoints hold only the first two keys)."""
        return cls(
            n_features=int(data["n_features"]),
            n_conditions=int(data.get("n_conditions", 1)),
            head_layer_sizes=tuple(int(n) for n in data.get("layer_sizes") or ()),
            layer_shapes=tuple((int(a), int(r)) for a, r in data.get("layer_shapes") or ()),
        )


class Batch(NamedTuple):
    """A training batch: preprocessed showers and their condition labels."""

    x: torch.Tensor
    """``(batch_size, n_features)``"""
    condition: torch.Tensor
    """``(batch_size, n_conditions)``"""


class BatchSource(Protocol):
    """What the trainer hands an objective: batches from the energy points now active.

    Every call draws new indices from the trainer's seeded generator, so an objective may
    take as many batches per iteration as it needs (a WGAN-GP takes ``n_critic + 1``).
    """

    @property
    def batch_size(self) -> int: ...

    @property
    def device(self) -> torch.device: ...

    def draw(self) -> Batch:
        """A batch of showers with their conditions."""
        ...

    def draw_conditions(self) -> torch.Tensor:
        """Conditions only, ``(batch_size, n_conditions)`` (for a generator step)."""
        ...


class Objective(abc.ABC):
    """The losses and parameter updates of one training iteration, with their optimisers.

    Built by :meth:`ModelFamily.build_objective`, in training mode on its device. The
    trainer calls :meth:`step` once per iteration and stores :attr:`sampler`'s weights and
    :meth:`state_dict` in every checkpoint; on resume it loads both back before the first
    step. All randomness must come from the ``generator`` passed to :meth:`step` (and the
    batches), so that a resumed run is bit-identical to an uninterrupted one.
    """

    #: The generating network being trained (what generation and export use).
    sampler: nn.Module

    @abc.abstractmethod
    def step(self, batches: BatchSource, generator: torch.Generator) -> Sequence[torch.Tensor]:
        """One iteration: losses, backward passes, optimiser steps.

        Args:
            batches: source of training batches.
            generator: CPU generator of every random number the step draws.

        Returns:
            Scalar tensors, one per loss column of the family (``.item()`` is called only
            for the rows that are logged).
        """

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything but the sampler's weights needed to resume: other networks (trained or
        frozen), optimiser states. Tensors and plain Python values only (CPU tensors)."""

    @abc.abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""

    def check_preprocessing(self, state: Mapping[str, Any]) -> None:  # noqa: B027
        """Called by the trainer with the run's fitted preprocessing state (its JSON form)
        before the first step. An objective holding a frozen network trained on
        preprocessed data (the LHCb regressor) checks here that it was trained on the same
        inputs; the default accepts anything.

        Raises:
            ModelError: the state does not fit the objective's frozen networks.
        """


NetworkConfigT = TypeVar("NetworkConfigT", bound=StageConfig)
ObjectiveConfigT = TypeVar("ObjectiveConfigT", bound=StageConfig)


@dataclass(frozen=True)
class Preset:
    """A published recipe: a family with its settings and the trainer's defaults.

    Attributes:
        name: the ``preset:`` value of a training config.
        family: the family's name.
        summary: one line (what it reproduces, with the reference).
        model: the family's network config.
        objective: the family's objective config.
        preprocess: default preprocessing.
        batch_size: default batch size.
        lr: default learning rate.
        injection: FastCaloGAN's sequential energy injection by default.
        particle: the particle the recipe was made for (the benchmarks' default data).
        geometry: the built-in geometry the recipe was made for (the benchmarks' data and
            the reference simulator's detector they compare with); ``None``: the dataset-1
            binning of ``particle``.
    """

    name: str
    family: str
    summary: str
    model: StageConfig
    objective: StageConfig
    preprocess: PreprocessConfig
    batch_size: int
    lr: float
    injection: bool = False
    particle: str = "photon"
    geometry: str | None = None


class ModelFamily(abc.ABC, Generic[NetworkConfigT, ObjectiveConfigT]):
    """One family of generative models behind the common seam (see the module docstring).

    Subclasses set the class attributes and implement the three builders; instances are
    registered with :func:`~fastcalogan.models.register_family`.
    """

    #: The ``family:`` value of a training config, stored in every checkpoint.
    name: ClassVar[str]
    #: One line for ``fastcalogan models``.
    summary: ClassVar[str]
    #: Validates the ``model:`` section (the architecture: a change on resume is an error).
    network_config: type[NetworkConfigT]
    #: Validates the ``objective:`` section (losses and optimisers; may change on resume).
    objective_config: type[ObjectiveConfigT]
    #: Columns of ``losses.csv`` between ``iteration`` and ``active_points``; a column of a
    #: phase or term that did not run in an iteration is NaN (the trainer's divergence guard
    #: stops on any infinite value or when every column is NaN).
    loss_columns: ClassVar[tuple[str, ...]]
    #: The family's recipes; the first is its default.
    presets: ClassVar[tuple[Preset, ...]]

    @abc.abstractmethod
    def noise(self, config: NetworkConfigT, shape: ModelShape | None = None) -> NoiseSpec:
        """The sampling network's noise input (``shape``: of the data, for families whose
        noise width depends on it, such as one base column per layer of an energy flow)."""

    @abc.abstractmethod
    def build_sampler(self, config: NetworkConfigT, shape: ModelShape, seed: int = 0) -> nn.Module:
        """The sampling network alone, on the CPU, initialised from ``seed`` (checkpoint
        weights are loaded into it; the global torch RNG is left untouched).

        Its ``forward(noise (B, width), condition (B, n_conditions))`` returns
        ``(B, n_features)`` in the preprocessed space.
        """

    @abc.abstractmethod
    def build_objective(
        self,
        config: NetworkConfigT,
        settings: ObjectiveConfigT,
        shape: ModelShape,
        lr: float,
        seed: int,
        device: torch.device,
    ) -> Objective:
        """Every network (initialised from ``seed``, global RNG untouched) and the objective
        training them, on ``device`` in training mode."""

    def export_module(self, sampler: nn.Module) -> nn.Module:
        """The sampling network as it goes into the ONNX graph: an eval-mode CPU copy with the
        same ``forward(noise, condition)``. Families override this to fold layers (the MLP
        WGAN-GP folds batch normalisation into the linear layers)."""
        return copy.deepcopy(sampler).cpu().eval()

    def status(self, values: Sequence[float]) -> str:
        """The progress bar's short status from one row of loss values."""
        return " ".join(
            f"{name} {value:.3g}" for name, value in zip(self.loss_columns, values, strict=True)
        )

    def default_preset(self) -> Preset:
        """The family's first preset."""
        return self.presets[0]

    def describe(self) -> str:
        """``name: summary (presets: a, b)``, one line."""
        names = ", ".join(p.name for p in self.presets)
        return f"{self.name}: {self.summary} (presets: {names})"
