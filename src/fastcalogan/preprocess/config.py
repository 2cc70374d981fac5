"""Configuration of the preprocessing stage."""

from __future__ import annotations

from typing import Any, Literal

import pydantic

from .._config import StageConfig

__all__ = ["ConditionTransform", "PreprocessConfig"]


class ConditionTransform(pydantic.BaseModel):
    """How one condition beyond the incident energy becomes a block of the label.

    Attributes:
        transform: ``standardise`` (``(x - mean) / std`` of the training data, one column),
            ``min_max`` (``(x - min) / (max - min)`` of the training data, one column in
            [0, 1]), ``one_hot`` (an integer code ``0 .. n-1`` as ``n`` columns, one of them
            1; the one-hot blocks of several codes form a multi-hot label) or ``none`` (the
            value as it is, one column).
        n: number of codes of a ``one_hot`` condition (required there, refused elsewhere).

    A mapping value may also be the transform's name alone: ``px: standardise``.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    transform: Literal["standardise", "min_max", "one_hot", "none"] = "standardise"
    n: int | None = pydantic.Field(default=None, ge=2, le=1024)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"transform": data} if isinstance(data, str) else data

    @pydantic.model_validator(mode="after")
    def _check(self) -> ConditionTransform:
        if self.transform == "one_hot" and self.n is None:
            raise ValueError("a one_hot condition needs n, its number of codes")
        if self.transform != "one_hot" and self.n is not None:
            raise ValueError(f"n applies to one_hot conditions only, not {self.transform}")
        return self

    @property
    def width(self) -> int:
        """Columns of the label block: ``n`` for ``one_hot``, else 1."""
        return int(self.n) if self.transform == "one_hot" and self.n is not None else 1


class PreprocessConfig(StageConfig):
    """How voxel energies, incident energies and conditions become network inputs and labels.

    Attributes:
        kind: ``fastcalogan`` (voxels / E_inc, label E / E_max in (0, 1]) or
            ``caloshowergan`` (label log(E / E_min) / log(E_max / E_min) in [0, 1]).
        layer_norm: CaloShowerGAN's layer-energy normalisation: voxels divided by their
            layer's energy, layer energies by the total, the total by E_inc
            (``n_voxels + n_layers + 1`` inputs). Only with ``kind: caloshowergan``.
        e_min, e_max: incident-energy range of the label in MeV; ``None`` takes the range of
            the training data.
        conditions: per-event conditions of the shower file (its ``conditions`` dataset)
            the model is conditioned on, by column name, each with its transform; the label
            is the incident-energy column followed by one block per condition, in this
            order. Empty (the default): the incident energy alone. Example::

                conditions:
                  px: standardise
                  phi_alignment: {transform: one_hot, n: 4}
    """

    kind: Literal["fastcalogan", "caloshowergan"] = "fastcalogan"
    layer_norm: bool = False
    e_min: float | None = pydantic.Field(default=None, gt=0)
    e_max: float | None = pydantic.Field(default=None, gt=0)
    conditions: dict[str, ConditionTransform] = pydantic.Field(default_factory=dict)

    @pydantic.model_validator(mode="after")
    def _check(self) -> PreprocessConfig:
        if self.layer_norm and self.kind != "caloshowergan":
            raise ValueError("layer_norm needs kind 'caloshowergan'")
        if self.e_min is not None and self.e_max is not None and self.e_min >= self.e_max:
            raise ValueError(f"e_min ({self.e_min}) must be below e_max ({self.e_max})")
        bad = [name for name in self.conditions if not name or "," in name]
        if bad:
            raise ValueError(f"condition names must be non-empty without commas, found {bad}")
        return self
