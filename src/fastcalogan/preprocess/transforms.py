"""Invertible transforms between voxel energies (MeV) and network inputs.

Two recipes:

* FastCaloGAN (ATLAS, Comput. Softw. Big Sci. 6 (2022) 7): every voxel energy is divided by the
  incident kinetic energy; the condition label is ``E / E_max`` in (0, 1].
* CaloShowerGAN (Faucci Giannelli and Zhang, 2023): the label is
  ``log(E / E_min) / log(E_max / E_min)`` in [0, 1]. With layer-energy normalisation the
  inputs are, per event, the voxel energies divided by their layer's energy (``n_voxels``),
  the layer energies divided by the total (``n_layers``) and the total divided by the
  incident energy (1): ``n_voxels + n_layers + 1`` features.

The fitted state (energy range and layer sizes) is a small JSON document saved next to the
model and inside every checkpoint.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from .._fileio import write_json
from ..errors import DataFormatError, ModelError
from ..geometry import Geometry
from .config import PreprocessConfig

__all__ = ["Preprocessor", "build_preprocessor"]

_STATE_VERSION = 1


class Preprocessor:
    """A fitted, invertible map between showers (MeV) and network inputs.

    Build with :func:`build_preprocessor` and :meth:`fit`, or restore with :meth:`from_dict`.
    """

    def __init__(
        self,
        config: PreprocessConfig,
        e_min: float | None = None,
        e_max: float | None = None,
        layer_sizes: tuple[int, ...] = (),
    ) -> None:
        self.config = config
        self.e_min = e_min
        self.e_max = e_max
        self.layer_sizes = tuple(int(n) for n in layer_sizes)

    # ----- shape information -----------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``fastcalogan`` or ``caloshowergan``."""
        return self.config.kind

    @property
    def layer_norm(self) -> bool:
        """Whether the layer-energy normalisation is used."""
        return self.config.layer_norm

    @property
    def fitted(self) -> bool:
        """True once the energy range and layer sizes are known."""
        return self.e_min is not None and self.e_max is not None and bool(self.layer_sizes)

    @property
    def n_voxels(self) -> int:
        """Voxels per shower."""
        return sum(self.layer_sizes)

    @property
    def n_layers(self) -> int:
        """Layers of the binning."""
        return len(self.layer_sizes)

    @property
    def n_conditions(self) -> int:
        """Width of the condition label (1: the incident energy)."""
        return 1

    @property
    def n_features(self) -> int:
        """Width of a network input row: ``n_voxels`` (+ ``n_layers + 1`` with layer_norm)."""
        return self.n_voxels + (self.n_layers + 1 if self.layer_norm else 0)

    @property
    def energy_range(self) -> tuple[float, float]:
        """``(E_min, E_max)`` of the label in MeV."""
        self._require_fitted()
        assert self.e_min is not None and self.e_max is not None
        return (self.e_min, self.e_max)

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise ModelError("preprocessor is not fitted; call fit() or load a saved state")

    # ----- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        incident_energies: npt.ArrayLike,
        showers: npt.ArrayLike,
        binning: Geometry,
    ) -> Preprocessor:
        """Take the energy range (unless the config fixes it) and layer sizes from the data.

        Args:
            incident_energies: shape ``(n_events,)`` or ``(n_events, 1)``, MeV.
            showers: shape ``(n_events, n_voxels)``, MeV.
            binning: the geometry of ``showers`` (any kind).

        Returns:
            ``self``, fitted.
        """
        inc = _energies(incident_energies)
        s = np.asarray(showers)
        if s.ndim != 2 or s.shape[1] != binning.n_voxels:
            raise DataFormatError(
                f"showers of shape {s.shape} do not fit binning {binning.name} "
                f"({binning.n_voxels} voxels)"
            )
        if inc.size == 0:
            raise DataFormatError("cannot fit preprocessing on zero events")
        self.e_min = float(self.config.e_min) if self.config.e_min else float(inc.min())
        self.e_max = float(self.config.e_max) if self.config.e_max else float(inc.max())
        self.layer_sizes = binning.layer_sizes
        return self

    # ----- forward ---------------------------------------------------------------------------
    def label(self, incident_energies: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Condition label of each incident energy, shape ``(n_events, 1)``, float32.

        >>> p = Preprocessor(PreprocessConfig(), e_min=256.0, e_max=1024.0, layer_sizes=(2,))
        >>> p.label([512.0, 1024.0]).ravel().tolist()
        [0.5, 1.0]
        """
        self._require_fitted()
        assert self.e_min is not None and self.e_max is not None
        inc = _energies(incident_energies)
        if self.kind == "fastcalogan":
            lab = inc / self.e_max
        elif self.e_max > self.e_min:
            lab = np.log(inc / self.e_min) / np.log(self.e_max / self.e_min)
        else:
            lab = np.zeros_like(inc)
        return lab.astype(np.float32).reshape(-1, 1)

    def label_torch(self, incident_energies: torch.Tensor) -> torch.Tensor:
        """:meth:`label` on tensors (any device, exportable): the one label of generation.

        Computed in float64, like :meth:`label`, and returned as float32.

        Args:
            incident_energies: shape ``(batch,)`` or ``(batch, 1)``, MeV.

        Returns:
            The condition label, shape ``(batch, n_conditions)``, float32.

        >>> p = Preprocessor(PreprocessConfig(), e_min=256.0, e_max=1024.0, layer_sizes=(2,))
        >>> p.label_torch(torch.tensor([512.0, 1024.0])).ravel().tolist()
        [0.5, 1.0]
        """
        self._require_fitted()
        assert self.e_min is not None and self.e_max is not None
        inc = incident_energies.reshape(-1, 1).to(torch.float64)
        if self.kind == "fastcalogan":
            lab = inc / self.e_max
        elif self.e_max > self.e_min:
            lab = torch.log(inc / self.e_min) / float(np.log(self.e_max / self.e_min))
        else:
            lab = torch.zeros_like(inc)
        return lab.to(torch.float32)

    def transform(
        self, incident_energies: npt.ArrayLike, showers: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Showers -> network inputs.

        Args:
            incident_energies: shape ``(n_events,)``, MeV.
            showers: shape ``(n_events, n_voxels)``, MeV.

        Returns:
            ``(x, label)``: ``x`` of shape ``(n_events, n_features)`` and ``label`` of shape
            ``(n_events, 1)``, both float32.
        """
        self._require_fitted()
        inc = _energies(incident_energies)
        s = np.asarray(showers, dtype=np.float64)
        if s.ndim != 2 or s.shape[1] != self.n_voxels or s.shape[0] != inc.size:
            raise DataFormatError(
                f"showers of shape {s.shape} with {inc.size} energies do not fit "
                f"({inc.size}, {self.n_voxels})"
            )
        if not self.layer_norm:
            x = s / inc[:, None]
        else:
            offsets = np.concatenate([[0], np.cumsum(self.layer_sizes)])
            layer_e = (
                np.add.reduceat(s, offsets[:-1], axis=1)
                if s.shape[0]
                else np.zeros((0, self.n_layers))
            )
            total = layer_e.sum(axis=1, keepdims=True)
            per_voxel = np.repeat(layer_e, self.layer_sizes, axis=1)
            voxel_frac = np.divide(s, per_voxel, out=np.zeros_like(s), where=per_voxel > 0)
            layer_frac = np.divide(layer_e, total, out=np.zeros_like(layer_e), where=total > 0)
            x = np.concatenate([voxel_frac, layer_frac, total / inc[:, None]], axis=1)
        return x.astype(np.float32), self.label(inc)

    # ----- inverse ---------------------------------------------------------------------------
    def inverse(
        self, x: npt.ArrayLike, incident_energies: npt.ArrayLike
    ) -> npt.NDArray[np.float32]:
        """Network outputs -> voxel energies in MeV.

        Args:
            x: shape ``(n_events, n_features)``.
            incident_energies: shape ``(n_events,)``, MeV.

        Returns:
            Showers of shape ``(n_events, n_voxels)``, MeV, float32.
        """
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
        inc = torch.as_tensor(_energies(incident_energies).astype(np.float32))
        return self.inverse_torch(xt, inc).numpy()

    def inverse_torch(self, x: torch.Tensor, incident_energies: torch.Tensor) -> torch.Tensor:
        """:meth:`inverse` on tensors (any device, differentiable, exportable).

        Args:
            x: shape ``(batch, n_features)``.
            incident_energies: shape ``(batch,)`` or ``(batch, 1)``, MeV.

        Returns:
            Voxel energies, shape ``(batch, n_voxels)``, MeV.
        """
        self._require_fitted()
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ModelError(
                f"network output of shape {tuple(x.shape)} does not fit (batch, {self.n_features})"
            )
        inc = incident_energies.reshape(-1, 1).to(x.dtype)
        if not self.layer_norm:
            return x * inc
        nv, nl = self.n_voxels, self.n_layers
        total = x[:, nv + nl : nv + nl + 1] * inc
        layer_e = x[:, nv : nv + nl] * total
        index = torch.repeat_interleave(
            torch.arange(nl, device=x.device), torch.tensor(self.layer_sizes, device=x.device)
        )
        return x[:, :nv] * layer_e.index_select(1, index)

    # ----- state -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state, enough for :meth:`from_dict`."""
        self._require_fitted()
        return {
            "state_version": _STATE_VERSION,
            "config": self.config.model_dump(mode="json"),
            "e_min": self.e_min,
            "e_max": self.e_max,
            "layer_sizes": list(self.layer_sizes),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any], source: str = "<state>") -> Preprocessor:
        """Restore a fitted preprocessor; :class:`ModelError` naming ``source`` if malformed."""
        try:
            config = PreprocessConfig.model_validate(state["config"])
            out = cls(
                config,
                e_min=float(state["e_min"]),
                e_max=float(state["e_max"]),
                layer_sizes=tuple(int(n) for n in state["layer_sizes"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ModelError(
                f"{source}: not a preprocessing state (needs config, e_min, e_max, "
                f"layer_sizes): {err}"
            ) from err
        if not out.fitted:
            raise ModelError(f"{source}: preprocessing state has no layers")
        return out

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the state as JSON, atomically."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Preprocessor:
        """Read a state written by :meth:`save`."""
        path = Path(path)
        try:
            state = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ModelError(f"{path}: cannot read preprocessing state ({err})") from err
        return cls.from_dict(state, str(path))

    def __repr__(self) -> str:
        return (
            f"Preprocessor(kind={self.kind!r}, layer_norm={self.layer_norm}, "
            f"e_min={self.e_min}, e_max={self.e_max}, n_features={self.n_features})"
        )


def _energies(incident_energies: npt.ArrayLike) -> npt.NDArray[np.float64]:
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
    if inc.size and (not np.all(np.isfinite(inc)) or inc.min() <= 0):
        raise DataFormatError("incident energies must be finite and > 0 MeV")
    return inc


def build_preprocessor(config: PreprocessConfig) -> Preprocessor:
    """An unfitted preprocessor for ``config``; call :meth:`Preprocessor.fit` next."""
    return Preprocessor(config)
