"""Configuration of voxelisation (hits -> voxels) and of its inverse (voxels -> hits)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .._config import StageConfig

__all__ = ["InvertConfig", "VoxeliseConfig"]

#: The "1 TeV" point of dataset 1: 2^20 MeV = 1.049 TeV (DS1 energies are 2^8..2^22 MeV).
DS1_TEV_POINT_MEV = float(2**20)


class VoxeliseConfig(StageConfig):
    """How hit showers are turned into CaloChallenge voxels.

    Attributes:
        binning: built-in binning name (``ds1-photons``, ``ds1-pions``) or a .xml/.yaml file;
            ``null`` takes the built-in binning of the particle (ds1-photons for e.m.
            particles, ds1-pions for hadrons).
        particle: particle label of the output (default: the hit file's, else the binning's);
            for XML files with several particles it also picks the binning.
        eta: |eta| slice ``[eta_min, eta_max]`` of the output (default: the hit file's, else
            the binning's).
        allow_geometry_mismatch: voxelise with a ``binning`` made for another kind of shower
            or another |eta| range than the hits' (refused by default).
        chunk_events: showers read, voxelised and written per block.
        dtype: storage dtype of ``showers`` (CaloChallenge files use float32).
        relevant_layers: keep only the FastCaloGAN relevant layers (a layer holding at least
            ``relevant_threshold`` of the energy of the ``relevant_energy_mev`` sample, and every
            layer in front of such a layer). Needs a second pass over the hits.
        relevant_threshold: energy fraction that makes a layer relevant (0.1 % in FastCaloGAN).
        relevant_energy_mev: incident energy of the sample the rule is evaluated on (events
            within 1 % of it; when the file has none, its nearest energy point, with a
            warning); ``null`` uses every event of the file.
    """

    binning: str | None = None
    particle: str | None = None
    eta: tuple[float, float] | None = None
    allow_geometry_mismatch: bool = False
    chunk_events: int = Field(default=10_000, ge=1, le=10_000_000)
    dtype: Literal["float32", "float64"] = "float32"
    relevant_layers: bool = False
    relevant_threshold: float = Field(default=1e-3, gt=0.0, lt=1.0)
    relevant_energy_mev: float | None = Field(default=DS1_TEV_POINT_MEV, gt=0.0)

    @field_validator("eta")
    @classmethod
    def _eta_ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (0.0 <= value[0] < value[1]):
            raise ValueError(f"need 0 <= eta_min < eta_max, found {list(value)}")
        return value


class InvertConfig(StageConfig):
    """How voxel energies are spread back onto hits (FastCaloGAN's Athena step).

    Each voxel's energy is shared equally between the centres of a sub-grid of cells of about
    ``step_mm`` along r and along the arc ``r * delta_alpha`` (``step_mm_fine`` in the
    ``fine_layers``), with at most ``max_points_per_axis`` cells per axis.

    Attributes:
        step_mm_fine: grid step (mm) in the fine layers (EMB1 and EME1 strips).
        step_mm: grid step (mm) in every other layer.
        max_points_per_axis: cap on the cells along r and along alpha of one voxel.
        fine_layers: sampling ids that use ``step_mm_fine`` (1 EMB1, 5 EME1).
        chunk_events: showers read and inverted per block when inverting a file.
    """

    step_mm_fine: float = Field(default=1.0, gt=0.0)
    step_mm: float = Field(default=5.0, gt=0.0)
    max_points_per_axis: int = Field(default=10, ge=1, le=1000)
    fine_layers: tuple[int, ...] = (1, 5)
    chunk_events: int = Field(default=1_000, ge=1, le=1_000_000)
