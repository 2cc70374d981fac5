"""Load a sampling network and its preprocessing from a checkpoint and produce showers.

This sits in ``train`` so that both checkpoint selection and the generation API use it.
Generation is a pure function of (generator weights, preprocessing state, noise, incident
energy, conditions): :func:`showers_from_noise`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from ..errors import CheckpointError, ModelError
from ..geometry import Geometry, geometry_from_mapping
from ..models import ModelShape, NoiseSpec, get_family, get_preset
from ..preprocess import ConditionsLike, FittedBoxCox, FittedCondition, Preprocessor
from .checkpoint import load_checkpoint

__all__ = [
    "PRECISIONS",
    "TrainedGenerator",
    "deterministic_cublas",
    "model_shape",
    "resolve_device",
    "showers_from_noise",
]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a ModelError."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device '{device}' requested but no CUDA device is available")
    return torch.device(device)


#: Arithmetic of the sampling network: ``fp32``, or ``bf16`` (bfloat16 matrix products
#: under ``torch.autocast``: AVX-512 BF16 on CPUs that have it, tensor cores on GPUs).
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")


def deterministic_cublas(device: torch.device, deterministic: bool) -> None:
    """Let cuBLAS run deterministically when deterministic algorithms are asked for on CUDA.

    PyTorch refuses (or warns about) cuBLAS products under
    ``torch.use_deterministic_algorithms(True)`` unless ``CUBLAS_WORKSPACE_CONFIG`` is set
    before cuBLAS starts; this sets the documented value ``:4096:8`` when it is unset.
    """
    if deterministic and device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def showers_from_noise(
    generator: nn.Module,
    preprocessor: Preprocessor,
    noise: torch.Tensor,
    incident_energies: torch.Tensor,
    conditions: torch.Tensor | None = None,
    precision: str = "fp32",
) -> torch.Tensor:
    """Sampling-network output for ``noise`` at ``incident_energies``, back in MeV voxels.

    Args:
        generator: a family's sampling network, in eval mode, on the device of ``noise``.
        preprocessor: the fitted preprocessing of the training run.
        noise: shape ``(batch, latent_dim)``.
        incident_energies: shape ``(batch,)``, MeV (kinetic energy for hadrons).
        conditions: shape ``(batch, k)``, the preprocessing's conditions
            (``preprocessor.condition_names``) in physical units; ``None`` without.
        precision: ``fp32``, or ``bf16``: the network's matrix products in bfloat16
            (autocast); the label and the inversion to MeV stay in float32.

    Returns:
        Voxel energies, shape ``(batch, n_voxels)``, MeV, float32.
    """
    energies = incident_energies.to(noise.device)
    label = preprocessor.label_torch(energies, conditions)
    if precision == "bf16":
        with torch.autocast(noise.device.type, dtype=torch.bfloat16):
            out = generator(noise, label)
        return preprocessor.inverse_torch(out.float(), energies)
    if precision != "fp32":
        raise ModelError(f"precision must be one of {list(PRECISIONS)}, found {precision!r}")
    return preprocessor.inverse_torch(generator(noise, label), energies)


def model_shape(preprocessor: Preprocessor, binning: Geometry) -> ModelShape:
    """The shape a family's networks are built for, from the fitted preprocessing and binning."""
    return ModelShape(
        n_features=preprocessor.n_features,
        n_conditions=preprocessor.n_conditions,
        head_layer_sizes=preprocessor.layer_sizes if preprocessor.layer_norm else (),
        layer_shapes=binning.layer_shapes,
    )


@dataclass
class TrainedGenerator:
    """The sampling network of a trained model, with everything needed to use it.

    Attributes:
        generator: the family's sampling network (a GAN's generator, a VAE's decoder), in
            eval mode, on ``device``.
        family: the model family's name.
        preprocessor: its fitted preprocessing.
        model_config: the family's network config.
        binning: the voxel binning of its showers.
        particle: the particle it was trained on.
        eta: the |eta| slice ``(eta_min, eta_max)``.
        iteration: the training iteration of the checkpoint.
        checkpoint: the file it came from (``None`` if built from a state in memory).
        device: where it runs.
    """

    generator: nn.Module
    family: str
    preprocessor: Preprocessor
    model_config: Any
    binning: Geometry
    particle: str
    eta: tuple[float, float]
    iteration: int
    checkpoint: Path | None
    device: torch.device

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: str | os.PathLike[str] | dict[str, Any],
        device: str | torch.device = "auto",
    ) -> TrainedGenerator:
        """Restore from a checkpoint file (or its loaded dictionary), of any family."""
        dev = resolve_device(device)
        path = None if isinstance(checkpoint, dict) else Path(checkpoint)
        state = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint)
        source = str(path) if path else "<checkpoint>"
        try:
            family = get_family(str(state["family"]))
        except ModelError as err:
            raise CheckpointError(f"{source}: {err}; a newer fastcalogan may read it") from err
        try:
            preprocessor = Preprocessor.from_dict(state["preprocess"], source)
            config = family.network_config.model_validate(state["model_config"])
            shape = ModelShape.from_dict(state["model_shape"])
            generator = family.build_sampler(config, shape)
            generator.load_state_dict(state["generator"])
            binning = geometry_from_mapping(state["binning"], source)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise CheckpointError(f"{source}: inconsistent checkpoint ({err})") from err
        generator.to(dev).eval()
        return cls(
            generator=generator,
            family=family.name,
            preprocessor=preprocessor,
            model_config=config,
            binning=binning,
            particle=str(state["particle"]),
            eta=(float(state["eta"][0]), float(state["eta"][1])),
            iteration=int(state["iteration"]),
            checkpoint=path,
            device=dev,
        )

    @classmethod
    def untrained(
        cls,
        preset: str,
        binning: Geometry,
        energy_range: tuple[float, float],
        particle: str | None = None,
        eta: tuple[float, float] = (0.2, 0.25),
        seed: int = 0,
    ) -> TrainedGenerator:
        """A preset's sampling network with its seeded initial weights, on the CPU, eval mode.

        For benchmarks and tests: speed and export do not depend on the weights' values. A
        preset's conditions get offset 0 and scale 1
        (:meth:`~fastcalogan.preprocess.FittedCondition.unit`), a Box-Cox voxel transform
        the logarithm (:meth:`~fastcalogan.preprocess.FittedBoxCox.unit`).
        """
        recipe = get_preset(preset)
        family = get_family(recipe.family)
        pre = Preprocessor(
            recipe.preprocess,
            float(energy_range[0]),
            float(energy_range[1]),
            binning.layer_sizes,
            [FittedCondition.unit(n, s) for n, s in recipe.preprocess.conditions.items()],
            FittedBoxCox.unit() if recipe.preprocess.voxel_transform == "box_cox" else None,
        )
        sampler = family.build_sampler(recipe.model, model_shape(pre, binning), seed)
        return cls(
            generator=sampler.eval(),
            family=family.name,
            preprocessor=pre,
            model_config=recipe.model,
            binning=binning,
            particle=particle or recipe.particle,
            eta=eta,
            iteration=0,
            checkpoint=None,
            device=torch.device("cpu"),
        )

    @property
    def noise(self) -> NoiseSpec:
        """The sampling network's noise input."""
        shape = model_shape(self.preprocessor, self.binning)
        return get_family(self.family).noise(self.model_config, shape)

    @property
    def energy_range(self) -> tuple[float, float]:
        """Incident-energy range of the training data, MeV."""
        return self.preprocessor.energy_range

    @property
    def condition_names(self) -> tuple[str, ...]:
        """Conditions beyond the incident energy the model needs (empty: the energy alone)."""
        return self.preprocessor.condition_names

    def sample(
        self,
        incident_energies: npt.ArrayLike,
        generator: torch.Generator,
        batch_size: int = 10_000,
        conditions: ConditionsLike | None = None,
        precision: str = "fp32",
    ) -> npt.NDArray[np.float32]:
        """Showers at the given energies, noise drawn from ``generator`` batch by batch.

        Args:
            incident_energies: shape ``(n,)``, MeV, inside :attr:`energy_range`.
            generator: CPU torch generator the noise comes from.
            batch_size: events per forward pass.
            conditions: the events' conditions in physical units, required when the model
                has any (:attr:`condition_names`): a mapping name -> ``(n,)`` (other names
                are ignored) or an array ``(n, k)`` in the order of :attr:`condition_names`.
            precision: the network's arithmetic (:data:`PRECISIONS`, see
                :func:`showers_from_noise`).

        Returns:
            Voxel energies, shape ``(n, n_voxels)``, MeV, float32.

        Raises:
            ModelError: conditions missing (named) or malformed.
        """
        energies = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
        values = self.preprocessor.condition_values(conditions, energies.size)
        out = np.empty((energies.size, self.binning.n_voxels), dtype=np.float32)
        step = max(1, int(batch_size))
        noise = self.noise
        with torch.inference_mode():
            for start in range(0, energies.size, step):
                e = torch.as_tensor(energies[start : start + step], dtype=torch.float32)
                z = noise.sample(e.shape[0], generator, self.device)
                c = (
                    torch.as_tensor(values[start : start + step], dtype=torch.float32).to(
                        self.device
                    )
                    if values.shape[1]
                    else None
                )
                showers = showers_from_noise(
                    self.generator, self.preprocessor, z, e.to(self.device), c, precision
                )
                out[start : start + e.shape[0]] = showers.cpu().numpy()
        return out
