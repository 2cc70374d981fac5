"""The exported function of a trained run, and the contract of its ONNX file.

:class:`GeneratorGraph` is the pure generation function of
:func:`fastcalogan.train.showers_from_noise` with everything folded in: the condition label
computed from the incident energy (and the conditions beyond it, in physical units, with
their fitted transforms), the model family's sampling network as it exports it
(the MLP WGAN-GP folds batch normalisation into its linear layers) and the preprocessing
inversion back to MeV. A
photon run split in three momentum ranges becomes one graph that routes every row to the
generator of its range (gather, run, scatter: each row costs one generator pass). See
``docs/onnx.md`` for the input/output contract; :mod:`.export` writes the file and
:mod:`.onnx_runtime` runs it, both through the names defined here.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._fileio import json_safe
from ..errors import ModelError
from ..models import get_family
from ..preprocess import Preprocessor
from ..train import EnergyRouting, TrainedGenerator

__all__ = [
    "CONDITIONS_INPUT",
    "INPUT_NAMES",
    "ONNX_FORMAT",
    "OUTPUT_NAME",
    "SIDECAR_CHECKSUM",
    "GeneratorGraph",
    "file_sha256",
    "relative_difference",
    "sidecar_path",
    "verify_sidecar",
    "with_checksum",
]

#: Marker in every sidecar; readers refuse other values.
ONNX_FORMAT = "fastcalogan-onnx-1"
INPUT_NAMES = ("noise", "incident_energy")
#: The third input of a model conditioned on more than the energy: ``(batch, k)``.
CONDITIONS_INPUT = "conditions"
OUTPUT_NAME = "showers"


def sidecar_path(onnx_path: str | os.PathLike[str]) -> Path:
    """The sidecar of a model: ``gen.onnx`` -> ``gen.json``."""
    return Path(onnx_path).with_suffix(".json")


#: The sidecar's checksum of its own contents (every other key).
SIDECAR_CHECKSUM = "checksum"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """``sha256:<hex>`` of a file's bytes (the ONNX model, recorded in its sidecar)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def _sidecar_text(sidecar: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in sidecar.items() if k != SIDECAR_CHECKSUM}
    return json.dumps(json_safe(body), sort_keys=True, separators=(",", ":")).encode()


def with_checksum(sidecar: Mapping[str, Any]) -> dict[str, Any]:
    """The sidecar with ``checksum``: ``sha256:<hex>`` of its other keys as canonical JSON.

    >>> side = with_checksum({"a": 1})
    >>> verify_sidecar(side, "gen.json"), verify_sidecar({**side, "a": 2}, "gen.json")
    (True, False)
    """
    digest = hashlib.sha256(_sidecar_text(sidecar)).hexdigest()
    return {**sidecar, SIDECAR_CHECKSUM: "sha256:" + digest}


def verify_sidecar(sidecar: Mapping[str, Any], source: str) -> bool:
    """Whether a sidecar's contents match its checksum (``False`` also without one)."""
    stored = sidecar.get(SIDECAR_CHECKSUM)
    found = "sha256:" + hashlib.sha256(_sidecar_text(sidecar)).hexdigest()
    return stored == found


class _Part(nn.Module):
    """One model: energy (and conditions) -> label, the family's export module, inversion."""

    def __init__(self, model: TrainedGenerator) -> None:
        super().__init__()
        self.sampler = get_family(model.family).export_module(model.generator)
        self.preprocessor: Preprocessor = model.preprocessor

    def forward(
        self, noise: torch.Tensor, energy: torch.Tensor, conditions: torch.Tensor | None = None
    ) -> torch.Tensor:
        label = self.preprocessor.label_torch(energy, conditions)
        return self.preprocessor.inverse_torch(self.sampler(noise, label), energy)


class GeneratorGraph(nn.Module):
    """The exported function: ``noise (B, latent)``, ``incident_energy (B, 1)`` MeV [and
    ``conditions (B, k)``] -> showers MeV.

    Each model is its family's export module (:meth:`~fastcalogan.models.ModelFamily.export_module`)
    between the preprocessing's label (:meth:`~fastcalogan.preprocess.Preprocessor.label_torch`)
    and its inversion to MeV, whatever the family.

    A model conditioned on more than the energy (:attr:`condition_names`) takes a third
    input, the conditions in physical units in that order; their transforms are folded in.

    Several generators (energy ranges in increasing order) are routed by energy with the rule
    of :class:`~fastcalogan.train.EnergyRouting` (its traceable form); energies outside all
    ranges go to the nearest end range (callers check the range, as :class:`OnnxSimulator`
    does).

    Args:
        models: one model per range, sorted by energy, same binning and noise.
    """

    def __init__(self, models: Sequence[TrainedGenerator]) -> None:
        super().__init__()
        if not models:
            raise ModelError("nothing to export: no generator")
        noise = {m.noise for m in models}
        if len(noise) != 1:
            raise ModelError(f"the models of one export must share their noise, found {noise}")
        self.noise = noise.pop()
        names = {m.condition_names for m in models}
        if len(names) != 1:
            raise ModelError(f"the models of one export must share their conditions, found {names}")
        self.condition_names: tuple[str, ...] = names.pop()
        self.latent_dim = self.noise.width
        self.n_voxels = models[0].binning.n_voxels
        self.parts = nn.ModuleList(_Part(m) for m in models)
        self.routing = EnergyRouting([m.energy_range for m in models])
        self.eval()

    @property
    def input_names(self) -> tuple[str, ...]:
        """The graph's inputs: ``noise``, ``incident_energy`` [, ``conditions``]."""
        return INPUT_NAMES + ((CONDITIONS_INPUT,) if self.condition_names else ())

    def forward(
        self, noise: torch.Tensor, energy: torch.Tensor, conditions: torch.Tensor | None = None
    ) -> torch.Tensor:
        if len(self.parts) == 1:
            return self.parts[0](noise, energy, conditions)
        which = self.routing.route_torch(energy.reshape(-1))
        out = torch.zeros(noise.shape[0], self.n_voxels, dtype=noise.dtype)
        for k, part in enumerate(self.parts):
            idx = torch.nonzero(which == k).reshape(-1)
            given = None if conditions is None else conditions[idx]
            out = out.index_put((idx,), part(noise[idx], energy[idx], given))
        return out

    def generate(
        self,
        noise: torch.Tensor,
        energy: torch.Tensor,
        block_rows: int = 1024,
        conditions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """:meth:`forward` block by block (activations of a block stay in the CPU caches).

        Args:
            noise: ``(batch, latent_dim)``.
            energy: ``(batch, 1)``, MeV.
            block_rows: rows per forward pass.
            conditions: ``(batch, k)`` for a conditioned model, else ``None``.

        Returns:
            Voxel energies ``(batch, n_voxels)``, MeV.
        """
        n = noise.shape[0]
        if n <= block_rows:
            return self(noise, energy, conditions)
        out = torch.empty(n, self.n_voxels, dtype=noise.dtype, device=noise.device)
        for start in range(0, n, block_rows):
            sl = slice(start, start + block_rows)
            out[sl] = self(noise[sl], energy[sl], None if conditions is None else conditions[sl])
        return out


def relative_difference(test: torch.Tensor | Any, reference: torch.Tensor | Any) -> float:
    """Largest ``|test - ref|`` of a shower relative to its largest voxel ``max_j |ref_j|``.

    Voxels far below a shower's maximum carry the rounding of the whole sum that produced
    them (the GEMM's accumulation order differs between torch and onnxruntime), so the
    comparison is made on the shower's scale.

    >>> relative_difference([[1.0, 2e-6]], [[1.0, 0.0]])
    2e-06
    """
    t = torch.as_tensor(test, dtype=torch.float64)
    r = torch.as_tensor(reference, dtype=torch.float64)
    if r.numel() == 0:
        return 0.0
    scale = r.abs().amax(dim=-1, keepdim=True).clamp_min(1e-30)
    return float(((t - r).abs() / scale).max())
