"""The generation API: load a trained run once, then simulate showers at any energy.

A :class:`Simulator` wraps one generator, or three for a photon run split in momentum
ranges, and routes every requested energy to the generator whose training range holds it.
Showers are a pure function of (generator weights, preprocessing state, noise, energy,
conditions); the noise comes from a CPU ``torch.Generator`` seeded from the caller's ``rng``.
A model conditioned on more than the energy (``Simulator.condition_names``) takes the
conditions of every event too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from ..errors import ModelError
from ..geometry import Geometry, get_particle
from ..preprocess import ConditionsLike
from ..train import PRECISIONS, EnergyRouting, RunFolder, TrainedGenerator

__all__ = ["Simulator"]


def prepare_request(
    energies_mev: npt.ArrayLike,
    rng: np.random.Generator | int,
    particle: str | None,
    trained_particle: str,
) -> tuple[npt.NDArray[np.float64], float, torch.Generator]:
    """Validate a generation request: ``(energies (n,), rest-mass offset MeV, noise generator)``.

    The noise generator is seeded from ``rng``, so torch and onnxruntime generation draw the
    same noise for the same seed.
    """
    energies = np.asarray(energies_mev, dtype=np.float64).reshape(-1)
    if energies.size and (not np.all(np.isfinite(energies)) or energies.min() <= 0):
        raise ModelError("energies must be finite and > 0 MeV")
    offset = 0.0
    if particle is not None:
        asked, trained = get_particle(particle), get_particle(trained_particle)
        if asked.shower != trained.shower:
            raise ModelError(
                f"cannot simulate {asked.name} ({asked.shower} shower) with a generator "
                f"trained on {trained.name} ({trained.shower} shower)"
            )
        offset = asked.deposit_offset
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    seed = int(generator.integers(0, 2**63 - 1))
    return energies, offset, torch.Generator().manual_seed(seed)


def add_rest_mass(showers: npt.NDArray[np.float32], offset: float) -> npt.NDArray[np.float32]:
    """Spread ``offset`` MeV over each shower in proportion to its voxel energies (in place)."""
    if offset > 0:
        etot = showers.sum(axis=1, dtype=np.float64)
        scale = np.divide(etot + offset, etot, out=np.ones_like(etot), where=etot > 0)
        showers *= scale[:, None].astype(np.float32)
    return showers


class Simulator:
    """Fast shower simulation from trained generators.

    Args:
        models: one generator per energy range, ranges in increasing energy.
        source: the run folder or checkpoint the models came from.
        precision: the networks' arithmetic, ``fp32`` or ``bf16`` (see
            :func:`~fastcalogan.train.showers_from_noise`).
    """

    def __init__(
        self,
        models: Sequence[TrainedGenerator],
        source: Path | None = None,
        precision: str = "fp32",
    ) -> None:
        if precision not in PRECISIONS:
            raise ModelError(f"precision must be one of {list(PRECISIONS)}, found {precision!r}")
        self.precision = precision
        if not models:
            raise ModelError("a simulator needs at least one generator")
        first = models[0]
        for m in models[1:]:
            if not m.binning.same_voxels(first.binning) or m.particle != first.particle:
                raise ModelError("the generators of one simulator must share binning and particle")
            if m.condition_names != first.condition_names:
                raise ModelError(
                    "the generators of one simulator must share their conditions, found "
                    f"{list(first.condition_names)} and {list(m.condition_names)}"
                )
        self.models = tuple(sorted(models, key=lambda m: m.energy_range[0]))
        self.routing = EnergyRouting([m.energy_range for m in self.models])
        self.source = source

    @classmethod
    def load(
        cls,
        source: str | os.PathLike[str],
        device: str | torch.device = "auto",
        precision: str = "fp32",
    ) -> Simulator:
        """Load a run folder (its selected checkpoint, else the latest) or a checkpoint file.

        Split runs (``range-k`` sub-folders) load one generator per range.
        """
        path = Path(source)
        if path.is_file():
            return cls([TrainedGenerator.from_checkpoint(path, device)], path, precision)
        run = RunFolder.open(path, or_checkpoint=True)
        return cls(
            [
                TrainedGenerator.from_checkpoint(part.checkpoint_to_use()[0], device)
                for part in run.parts()
            ],
            path,
            precision,
        )

    # ----- description -----------------------------------------------------------------------
    @property
    def binning(self) -> Geometry:
        """Voxel binning of the showers."""
        return self.models[0].binning

    @property
    def particle(self) -> str:
        """The particle the generators were trained on."""
        return self.models[0].particle

    @property
    def eta(self) -> tuple[float, float]:
        """The |eta| slice."""
        return self.models[0].eta

    @property
    def energy_range(self) -> tuple[float, float]:
        """Lowest and highest incident energy (MeV) the generators were trained on."""
        return self.routing.energy_range

    @property
    def condition_names(self) -> tuple[str, ...]:
        """Conditions beyond the incident energy that :meth:`simulate` needs, in order."""
        return self.models[0].condition_names

    @property
    def checkpoints(self) -> tuple[Path | None, ...]:
        """The checkpoint file of each generator."""
        return tuple(m.checkpoint for m in self.models)

    # ----- simulation ------------------------------------------------------------------------
    def simulate(
        self,
        energies_mev: npt.ArrayLike,
        rng: np.random.Generator | int,
        batch_size: int = 10_000,
        particle: str | None = None,
        conditions: ConditionsLike | None = None,
    ) -> npt.NDArray[np.float32]:
        """Showers at the given incident energies (and conditions).

        Args:
            energies_mev: shape ``(n,)``, MeV; kinetic energy for hadrons.
            rng: seed or generator; the same seed gives the same showers.
            batch_size: showers per generator pass (results at different batch sizes may
                differ in the last bits).
            particle: particle to simulate (default the trained one); it must have the same
                shower type. Antiprotons (and antineutrons) add their rest mass to the
                deposit, spread in proportion to the generated voxel energies.
            conditions: each event's conditions in physical units, required when the model
                has any (:attr:`condition_names`): a mapping name -> values ``(n,)`` (other
                names are ignored, so a shower file's conditions can be passed whole) or an
                array ``(n, k)`` in the order of :attr:`condition_names`.

        Returns:
            Voxel energies, shape ``(n, n_voxels)``, MeV, float32, in the order asked for.

        Raises:
            ModelError: an energy outside the trained range, an incompatible particle, or
                conditions missing (named), malformed or out of range.
        """
        energies, offset, noise_gen = prepare_request(energies_mev, rng, particle, self.particle)
        values = self.models[0].preprocessor.condition_values(conditions, energies.size)
        which = self.routing.route(energies)
        out = np.zeros((energies.size, self.binning.n_voxels), dtype=np.float32)
        for k, model in enumerate(self.models):
            idx = np.flatnonzero(which == k)
            if idx.size:
                given = values[idx] if values.shape[1] else None
                out[idx] = model.sample(energies[idx], noise_gen, batch_size, given, self.precision)
        return add_rest_mass(out, offset)

    def __repr__(self) -> str:
        lo, hi = self.energy_range
        return (
            f"Simulator({self.particle}, |eta| {self.eta[0]:.2f}-{self.eta[1]:.2f}, "
            f"{self.binning.n_voxels} voxels, {lo:g}-{hi:g} MeV, {len(self.models)} generator(s))"
        )
