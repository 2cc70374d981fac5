"""Load a generator and its preprocessing from a checkpoint and produce showers.

This sits in ``train`` so that both checkpoint selection and the generation API use it.
Generation is a pure function of (generator weights, preprocessing state, noise, condition):
:func:`showers_from_noise`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from ..errors import CheckpointError, ModelError
from ..geometry import Binning, binning_from_mapping
from ..models import Generator, ModelConfig, build_models, sample_noise
from ..preprocess import Preprocessor
from .checkpoint import load_checkpoint

__all__ = [
    "TrainedGenerator",
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


def showers_from_noise(
    generator: Generator,
    preprocessor: Preprocessor,
    noise: torch.Tensor,
    incident_energies: torch.Tensor,
) -> torch.Tensor:
    """Generator output for ``noise`` at ``incident_energies``, mapped back to MeV voxels.

    Args:
        generator: in eval mode, on the device of ``noise``.
        preprocessor: the fitted preprocessing of the training run.
        noise: shape ``(batch, latent_dim)``.
        incident_energies: shape ``(batch,)``, MeV (kinetic energy for hadrons).

    Returns:
        Voxel energies, shape ``(batch, n_voxels)``, MeV.
    """
    energies = incident_energies.to(noise.device)
    label = preprocessor.label_torch(energies)
    return preprocessor.inverse_torch(generator(noise, label), energies)


@dataclass
class TrainedGenerator:
    """A generator restored from a checkpoint, with everything needed to use it.

    Attributes:
        generator: the network, in eval mode, on ``device``.
        preprocessor: its fitted preprocessing.
        model_config: its architecture.
        binning: the voxel binning of its showers.
        particle: the particle it was trained on.
        eta: the |eta| slice ``(eta_min, eta_max)``.
        iteration: the training iteration of the checkpoint.
        checkpoint: the file it came from (``None`` if built from a state in memory).
        device: where it runs.
    """

    generator: Generator
    preprocessor: Preprocessor
    model_config: ModelConfig
    binning: Binning
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
        """Restore from a checkpoint file (or its loaded dictionary)."""
        dev = resolve_device(device)
        path = None if isinstance(checkpoint, dict) else Path(checkpoint)
        state = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint)
        source = str(path) if path else "<checkpoint>"
        try:
            preprocessor = Preprocessor.from_dict(state["preprocess"], source)
            config = ModelConfig.model_validate(state["model_config"])
            shape = state["model_shape"]
            generator, _ = build_models(
                config, int(shape["n_features"]), shape["layer_sizes"] or None
            )
            generator.load_state_dict(state["generator"])
            binning = binning_from_mapping(state["binning"], source)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise CheckpointError(f"{source}: inconsistent checkpoint ({err})") from err
        generator.to(dev).eval()
        return cls(
            generator=generator,
            preprocessor=preprocessor,
            model_config=config,
            binning=binning,
            particle=str(state["particle"]),
            eta=(float(state["eta"][0]), float(state["eta"][1])),
            iteration=int(state["iteration"]),
            checkpoint=path,
            device=dev,
        )

    @property
    def energy_range(self) -> tuple[float, float]:
        """Incident-energy range of the training data, MeV."""
        return self.preprocessor.energy_range

    def sample(
        self,
        incident_energies: npt.ArrayLike,
        generator: torch.Generator,
        batch_size: int = 10_000,
    ) -> npt.NDArray[np.float32]:
        """Showers at the given energies, noise drawn from ``generator`` batch by batch.

        Args:
            incident_energies: shape ``(n,)``, MeV, inside :attr:`energy_range`.
            generator: CPU torch generator the noise comes from.
            batch_size: events per forward pass.

        Returns:
            Voxel energies, shape ``(n, n_voxels)``, MeV, float32.
        """
        energies = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
        out = np.empty((energies.size, self.binning.n_voxels), dtype=np.float32)
        step = max(1, int(batch_size))
        with torch.inference_mode():
            for start in range(0, energies.size, step):
                e = torch.as_tensor(energies[start : start + step], dtype=torch.float32)
                z = sample_noise(self.model_config, e.shape[0], generator, self.device)
                showers = showers_from_noise(
                    self.generator, self.preprocessor, z, e.to(self.device)
                )
                out[start : start + e.shape[0]] = showers.cpu().numpy()
        return out
