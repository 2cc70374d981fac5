"""Fitted transforms of the conditions beyond the incident energy, in numpy and torch.

Each condition (a column of a shower file's ``conditions`` dataset, named in
``PreprocessConfig.conditions``) becomes one block of the label:

* ``standardise``: ``(x - mean) / std`` with the training data's mean and standard deviation;
* ``min_max``: ``(x - min) / (max - min)`` with the training data's range;
* ``none``: ``x``;
* ``one_hot``: an integer code ``c`` in ``0 .. n-1`` as ``n`` columns, column ``c`` 1.

The three affine ones are ``(x - offset) / scale``. Both forms compute in float64 with the
same elementwise operations, so the numpy label of training and the torch label of
generation and export agree to the last bit (a test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from ..errors import DataFormatError, FastCaloGANError, ModelError
from .config import ConditionTransform

__all__ = ["ConditionsLike", "FittedCondition", "condition_matrix"]

#: Conditions as callers give them: a mapping name -> values ``(n,)`` (extra names are
#: ignored), or an array ``(n, k)`` with the model's conditions in order.
ConditionsLike = Mapping[str, npt.ArrayLike] | npt.ArrayLike


@dataclass(frozen=True)
class FittedCondition:
    """One condition's label block, fitted on training data.

    Attributes:
        name: column name in shower files.
        transform: ``standardise``, ``min_max``, ``one_hot`` or ``none``.
        offset, scale: of the affine transforms, ``(x - offset) / scale``.
        n: codes of a ``one_hot`` condition (0 otherwise).
    """

    name: str
    transform: str
    offset: float = 0.0
    scale: float = 1.0
    n: int = 0

    @classmethod
    def fit(
        cls, name: str, spec: ConditionTransform, values: npt.NDArray[np.float64], source: str
    ) -> FittedCondition:
        """Fit ``spec`` on the training values ``(n_events,)`` of condition ``name``."""
        if spec.transform == "one_hot":
            fitted = cls(name, "one_hot", n=spec.width)
            fitted.check(values, source, DataFormatError)
            return fitted
        if spec.transform == "standardise":
            offset, scale = float(np.mean(values)), float(np.std(values))
        elif spec.transform == "min_max":
            offset, scale = float(np.min(values)), float(np.max(values) - np.min(values))
        else:
            offset, scale = 0.0, 1.0
        # a constant condition carries no information: keep it finite, centred
        return cls(name, spec.transform, offset, scale if scale > 0 else 1.0)

    @classmethod
    def unit(cls, name: str, spec: ConditionTransform) -> FittedCondition:
        """``spec`` with offset 0 and scale 1 (untrained models for benchmarks and tests).

        >>> FittedCondition.unit("side", ConditionTransform(transform="one_hot", n=4)).width
        4
        """
        return cls(name, spec.transform, n=spec.width if spec.transform == "one_hot" else 0)

    @property
    def width(self) -> int:
        """Columns of the block."""
        return self.n if self.transform == "one_hot" else 1

    def check(
        self,
        values: npt.NDArray[np.float64],
        source: str,
        error: type[FastCaloGANError] = ModelError,
    ) -> None:
        """Finite values, and integer codes ``0 .. n-1`` for ``one_hot``; else one ``error``."""
        bad = ~np.isfinite(values)
        if self.transform == "one_hot":
            bad |= (values != np.round(values)) | (values < 0) | (values >= self.n)
        if bad.any():
            row = int(np.argmax(bad))
            expected = (
                f"an integer code 0..{self.n - 1}" if self.transform == "one_hot" else "finite"
            )
            raise error(
                f"{source}: condition '{self.name}' is {float(values[row])!r} in event {row}; "
                f"expected {expected}"
            )

    def apply(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The block of ``values (n,)``: shape ``(n, width)``, float64."""
        x = values.reshape(-1, 1)
        if self.transform == "one_hot":
            return (np.abs(x - np.arange(self.n, dtype=np.float64)) < 0.5).astype(np.float64)
        return (x - self.offset) / self.scale

    def apply_torch(self, values: torch.Tensor) -> torch.Tensor:
        """:meth:`apply` on a float64 tensor ``(batch,)`` (exportable): ``(batch, width)``."""
        x = values.reshape(-1, 1)
        if self.transform == "one_hot":
            codes = torch.arange(self.n, dtype=torch.float64, device=values.device)
            return (torch.abs(x - codes) < 0.5).to(torch.float64)
        return (x - self.offset) / self.scale

    def to_dict(self) -> dict[str, Any]:
        """The preprocessing state's entry."""
        if self.transform == "one_hot":
            return {"name": self.name, "transform": self.transform, "n": self.n}
        return {
            "name": self.name,
            "transform": self.transform,
            "offset": self.offset,
            "scale": self.scale,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FittedCondition:
        """Read :meth:`to_dict` back (KeyError, TypeError or ValueError if malformed)."""
        transform = str(data["transform"])
        if transform == "one_hot":
            return cls(str(data["name"]), transform, n=int(data["n"]))
        if transform not in ("standardise", "min_max", "none"):
            raise ValueError(f"unknown condition transform {transform!r}")
        return cls(str(data["name"]), transform, float(data["offset"]), float(data["scale"]))


def condition_matrix(
    conditions: ConditionsLike | None,
    names: Sequence[str],
    n_events: int,
    source: str,
    error: type[FastCaloGANError] = ModelError,
) -> npt.NDArray[np.float64]:
    """The conditions ``names`` as an array ``(n_events, len(names))``, float64.

    Args:
        conditions: a mapping name -> values ``(n_events,)`` (names not asked for are
            ignored), an array ``(n_events, len(names))`` in the order of ``names``, or
            ``None`` when ``names`` is empty.
        names: the conditions wanted, in label order.
        n_events: rows expected.
        source: what the values come from, for messages.
        error: the error class raised (``DataFormatError`` for files).

    Raises:
        error: missing names (listed), or a wrong shape.

    >>> condition_matrix({"y": [1.0, 2.0], "x": [3.0, 4.0]}, ["x"], 2, "<test>").tolist()
    [[3.0], [4.0]]
    """
    k = len(names)
    if conditions is None:
        if k:
            raise error(
                f"{source}: the model is conditioned on {', '.join(names)} beyond the incident "
                f"energy; give their values (missing: {', '.join(names)})"
            )
        return np.zeros((n_events, 0))
    if isinstance(conditions, Mapping):
        missing = [name for name in names if name not in conditions]
        if missing:
            raise error(
                f"{source}: the model is conditioned on {', '.join(names)}; missing: "
                f"{', '.join(missing)} (given: {', '.join(map(str, conditions)) or 'none'})"
            )
        columns = [np.asarray(conditions[name], dtype=np.float64).reshape(-1) for name in names]
        for name, column in zip(names, columns, strict=True):
            if column.size != n_events:
                raise error(
                    f"{source}: condition '{name}' has {column.size} values for {n_events} events"
                )
        return np.stack(columns, axis=1) if columns else np.zeros((n_events, 0))
    values = np.asarray(conditions, dtype=np.float64)
    if values.ndim == 1 and k == 1:
        values = values.reshape(-1, 1)
    if values.shape != (n_events, k):
        raise error(
            f"{source}: conditions of shape {values.shape} do not fit ({n_events}, {k}) "
            f"[{', '.join(names)}]"
        )
    return values
