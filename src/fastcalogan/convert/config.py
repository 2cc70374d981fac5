"""Configuration of format conversion."""

from __future__ import annotations

import pydantic

from .._config import StageConfig

__all__ = ["ConvertConfig"]


class ConvertConfig(StageConfig):
    """How input files are turned into another layout.

    Attributes:
        to: the output format (``calochallenge``: a CaloChallenge shower file that carries
            its geometry; ``hits``: a hit file, voxels spread back onto hits; or any format
            registered with a writer, see :func:`~fastcalogan.convert.formats`).
        input_format: the input format; ``None`` recognises it from the files.
        binning: the voxel geometry (built-in name or .xml/.yaml file); ``None``: the one the
            input carries or names, else, for files that carry none (ATLAS CSV, foreign
            CaloChallenge files), the built-in geometry of the particle or with the file's
            voxel count.
        particle: particle label of the output (default: the input's; for ATLAS CSV files the
            ``pidNN`` in the file name, else the geometry's).
        eta: |eta| slice ``[eta_min, eta_max]`` of the output (default: the input's; for ATLAS
            CSV files ``eta_AA_BB`` in the file name, in units of 0.01, else the geometry's).
        energy_mev: the energy point of an ATLAS CSV file whose name does not carry it
            (``_E65536_``); only with a single CSV file.
        csv_leading_columns: non-voxel columns at the start of each ATLAS CSV row (phi-mod
            and eta of the particle).
        relevant_layers: hits -> showers: keep only FastCaloGAN's relevant layers.
        chunk_events: showers per block when streaming.
    """

    to: str = "calochallenge"
    input_format: str | None = None
    binning: str | None = None
    particle: str | None = None
    eta: tuple[float, float] | None = None
    energy_mev: float | None = pydantic.Field(default=None, gt=0)
    csv_leading_columns: int = pydantic.Field(default=2, ge=0, le=100)
    relevant_layers: bool = False
    chunk_events: int = pydantic.Field(default=50_000, ge=1, le=10_000_000)

    @pydantic.field_validator("eta")
    @classmethod
    def _eta_ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (0.0 <= value[0] < value[1]):
            raise ValueError(f"need 0 <= eta_min < eta_max, found {list(value)}")
        return value
