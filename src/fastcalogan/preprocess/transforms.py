"""Invertible transforms between voxel energies (MeV) and network inputs.

Two recipes:

* FastCaloGAN (ATLAS, Comput. Softw. Big Sci. 6 (2022) 7): every voxel energy is divided by the
  incident kinetic energy; the condition label is ``E / E_max`` in (0, 1].
* CaloShowerGAN (Faucci Giannelli and Zhang, 2023): the label is
  ``log(E / E_min) / log(E_max / E_min)`` in [0, 1]. With layer-energy normalisation the
  inputs are, per event, the voxel energies divided by their layer's energy (``n_voxels``),
  the layer energies divided by the total (``n_layers``) and the total divided by the
  incident energy (1): ``n_voxels + n_layers + 1`` features.

Conditions beyond the incident energy (``PreprocessConfig.conditions``: momentum components,
impact points, cell alignments, ...) add one block each to the label, after the energy
column (:mod:`.conditions`).

The fitted state (energy range, layer sizes and condition transforms) is a small JSON
document saved next to the model and inside every checkpoint.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from .._fileio import write_json
from ..data import ShowerData
from ..errors import DataFormatError, ModelError
from ..geometry import Geometry
from .conditions import ConditionsLike, FittedCondition, condition_matrix
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
        conditions: Sequence[FittedCondition] = (),
    ) -> None:
        self.config = config
        self.e_min = e_min
        self.e_max = e_max
        self.layer_sizes = tuple(int(n) for n in layer_sizes)
        self.conditions = tuple(conditions)
        if self.conditions and tuple(c.name for c in self.conditions) != self.condition_names:
            raise ModelError(
                f"fitted conditions {[c.name for c in self.conditions]} do not match the "
                f"configured {list(self.condition_names)}"
            )

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
        """True once the energy range, layer sizes and condition transforms are known."""
        return (
            self.e_min is not None
            and self.e_max is not None
            and bool(self.layer_sizes)
            and len(self.conditions) == len(self.config.conditions)
        )

    @property
    def condition_names(self) -> tuple[str, ...]:
        """Conditions beyond the incident energy, in label order (empty: the energy alone)."""
        return tuple(self.config.conditions)

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
        """Width of the condition label: 1 (the incident energy) plus each condition's block."""
        return 1 + sum(spec.width for spec in self.config.conditions.values())

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
        conditions: ConditionsLike | None = None,
    ) -> Preprocessor:
        """Take the energy range (unless the config fixes it), layer sizes and condition
        transforms from the data.

        Args:
            incident_energies: shape ``(n_events,)`` or ``(n_events, 1)``, MeV.
            showers: shape ``(n_events, n_voxels)``, MeV.
            binning: the geometry of ``showers`` (any kind).
            conditions: the configured conditions (:attr:`condition_names`), as a mapping
                name -> ``(n_events,)`` or an array ``(n_events, k)``; ``None`` without.

        Returns:
            ``self``, fitted.

        Raises:
            DataFormatError: wrong shapes, missing conditions, codes out of range.
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
        values = condition_matrix(
            conditions, self.condition_names, inc.size, "training data", DataFormatError
        )
        self.conditions = tuple(
            FittedCondition.fit(name, spec, values[:, j], "training data")
            for j, (name, spec) in enumerate(self.config.conditions.items())
        )
        return self

    def conditions_of(self, data: ShowerData, source: str) -> npt.NDArray[np.float64]:
        """The configured conditions of a shower file's events, ``(n_events, k)``, float64.

        Works before fitting (only the configured names are needed).

        Args:
            data: the file's showers (its ``conditions`` and ``condition_names``).
            source: the file, for messages.

        Raises:
            DataFormatError: a configured condition is not in the file (one line naming the
                missing and the available names).
        """
        names = self.condition_names
        missing = [name for name in names if name not in data.condition_names]
        if missing:
            found = ", ".join(data.condition_names) or "none"
            raise DataFormatError(
                f"{source}: preprocess.conditions names {', '.join(missing)}, which the file "
                f"does not have (its conditions: {found})"
            )
        assert data.conditions is not None  # ShowerData fills it in
        columns = [data.condition_names.index(name) for name in names]
        return np.asarray(data.conditions[:, columns], dtype=np.float64).reshape(
            data.n_events, len(names)
        )

    def condition_values(
        self, conditions: ConditionsLike | None, n_events: int, source: str = "conditions"
    ) -> npt.NDArray[np.float64]:
        """Conditions given by a caller, checked: ``(n_events, k)`` float64 in label order.

        Args:
            conditions: mapping name -> values ``(n_events,)`` (other names are ignored), an
                array ``(n_events, k)`` in the order of :attr:`condition_names`, or ``None``
                for a model without conditions.
            n_events: the events asked for.
            source: for messages.

        Raises:
            ModelError: missing names (listed), wrong shapes, non-finite values, codes out of
                range.
        """
        self._require_fitted()
        values = condition_matrix(conditions, self.condition_names, n_events, source)
        for j, fitted in enumerate(self.conditions):
            fitted.check(values[:, j], source)
        return values

    # ----- forward ---------------------------------------------------------------------------
    def label(
        self, incident_energies: npt.ArrayLike, conditions: ConditionsLike | None = None
    ) -> npt.NDArray[np.float32]:
        """Condition label of each event, shape ``(n_events, n_conditions)``, float32.

        The incident-energy column, then one block per condition (:attr:`condition_names`).

        Args:
            incident_energies: shape ``(n_events,)``, MeV.
            conditions: required when the preprocessing has conditions (see
                :meth:`condition_values`).

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
        if not self.conditions:
            if conditions is not None:
                self.condition_values(conditions, inc.size)  # a mapping may carry extras
            return lab.astype(np.float32).reshape(-1, 1)
        values = self.condition_values(conditions, inc.size)
        blocks = [lab.reshape(-1, 1)]
        blocks += [c.apply(values[:, j]) for j, c in enumerate(self.conditions)]
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def label_torch(
        self, incident_energies: torch.Tensor, conditions: torch.Tensor | None = None
    ) -> torch.Tensor:
        """:meth:`label` on tensors (any device, exportable): the one label of generation.

        Computed in float64, like :meth:`label`, and returned as float32. Values are not
        checked here (callers check them with :meth:`condition_values`; a code out of range
        gives an all-zero block).

        Args:
            incident_energies: shape ``(batch,)`` or ``(batch, 1)``, MeV.
            conditions: shape ``(batch, k)``, the conditions in physical units in the order
                of :attr:`condition_names`; required when there are conditions.

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
        if not self.conditions:
            return lab.to(torch.float32)
        if (
            conditions is None
            or conditions.ndim != 2
            or conditions.shape[1] != len(self.conditions)
        ):
            found = None if conditions is None else tuple(conditions.shape)
            raise ModelError(
                f"the label needs conditions of shape (batch, {len(self.conditions)}) "
                f"[{', '.join(self.condition_names)}], found {found}"
            )
        values = conditions.to(device=lab.device, dtype=torch.float64)
        blocks = [lab] + [c.apply_torch(values[:, j]) for j, c in enumerate(self.conditions)]
        return torch.cat(blocks, dim=1).to(torch.float32)

    def transform(
        self,
        incident_energies: npt.ArrayLike,
        showers: npt.ArrayLike,
        conditions: ConditionsLike | None = None,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Showers -> network inputs.

        Args:
            incident_energies: shape ``(n_events,)``, MeV.
            showers: shape ``(n_events, n_voxels)``, MeV.
            conditions: the events' conditions (see :meth:`label`).

        Returns:
            ``(x, label)``: ``x`` of shape ``(n_events, n_features)`` and ``label`` of shape
            ``(n_events, n_conditions)``, both float32.
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
        return x.astype(np.float32), self.label(inc, conditions)

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
        config = self.config.model_dump(mode="json")
        state: dict[str, Any] = {
            "state_version": _STATE_VERSION,
            "config": config,
            "e_min": self.e_min,
            "e_max": self.e_max,
            "layer_sizes": list(self.layer_sizes),
        }
        if self.conditions:
            state["conditions"] = [c.to_dict() for c in self.conditions]
        else:
            # states without conditions stay as they were before conditions existed
            del config["conditions"]
        return state

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
                conditions=tuple(
                    FittedCondition.from_dict(c) for c in state.get("conditions") or ()
                ),
            )
        except (KeyError, TypeError, ValueError, ModelError) as err:
            raise ModelError(
                f"{source}: not a preprocessing state (needs config, e_min, e_max, "
                f"layer_sizes and the fitted conditions): {err}"
            ) from err
        if not out.fitted:
            raise ModelError(
                f"{source}: preprocessing state has no layers or lacks fitted conditions"
            )
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
            f"e_min={self.e_min}, e_max={self.e_max}, n_features={self.n_features}, "
            f"conditions={list(self.condition_names)})"
        )


def _energies(incident_energies: npt.ArrayLike) -> npt.NDArray[np.float64]:
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
    if inc.size and (not np.all(np.isfinite(inc)) or inc.min() <= 0):
        raise DataFormatError("incident energies must be finite and > 0 MeV")
    return inc


def build_preprocessor(config: PreprocessConfig) -> Preprocessor:
    """An unfitted preprocessor for ``config``; call :meth:`Preprocessor.fit` next."""
    return Preprocessor(config)
