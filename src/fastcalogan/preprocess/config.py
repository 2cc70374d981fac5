"""Configuration of the preprocessing stage."""

from __future__ import annotations

from typing import Literal

import pydantic

from .._config import StageConfig

__all__ = ["PreprocessConfig"]


class PreprocessConfig(StageConfig):
    """How voxel energies and incident energies become network inputs and labels.

    Attributes:
        kind: ``fastcalogan`` (voxels / E_inc, label E / E_max in (0, 1]) or
            ``caloshowergan`` (label log(E / E_min) / log(E_max / E_min) in [0, 1]).
        layer_norm: CaloShowerGAN's layer-energy normalisation: voxels divided by their
            layer's energy, layer energies by the total, the total by E_inc
            (``n_voxels + n_layers + 1`` inputs). Only with ``kind: caloshowergan``.
        e_min, e_max: incident-energy range of the label in MeV; ``None`` takes the range of
            the training data.
    """

    kind: Literal["fastcalogan", "caloshowergan"] = "fastcalogan"
    layer_norm: bool = False
    e_min: float | None = pydantic.Field(default=None, gt=0)
    e_max: float | None = pydantic.Field(default=None, gt=0)

    @pydantic.model_validator(mode="after")
    def _check(self) -> PreprocessConfig:
        if self.layer_norm and self.kind != "caloshowergan":
            raise ValueError("layer_norm needs kind 'caloshowergan'")
        if self.e_min is not None and self.e_max is not None and self.e_min >= self.e_max:
            raise ValueError(f"e_min ({self.e_min}) must be below e_max ({self.e_max})")
        return self
