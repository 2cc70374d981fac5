"""Configuration of shower generation from a trained run."""

from __future__ import annotations

from typing import Literal

import pydantic

from .._config import StageConfig

__all__ = ["GenerateConfig"]


class GenerateConfig(StageConfig):
    """What to generate.

    Attributes:
        energies: incident (kinetic, for hadrons) energies in MeV.
        n_events: showers per energy.
        seed: noise seed; the same seed gives the same showers.
        batch_size: showers per generator pass.
        device: ``auto``, ``cpu`` or ``cuda``.
        particle: particle to simulate; default the trained one. Another particle of the
            same shower type may be asked for (hadrons share the pion model; antiprotons add
            their rest mass to the deposit).
        checkpoint: a checkpoint file to use instead of the selected (or latest) one.
        chunk_events: showers generated and written per block (bounds memory).
    """

    energies: tuple[float, ...] = pydantic.Field(min_length=1)
    n_events: int = pydantic.Field(default=1000, ge=1)
    seed: int = pydantic.Field(default=0, ge=0)
    batch_size: int = pydantic.Field(default=10_000, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    particle: str | None = None
    checkpoint: str | None = None
    chunk_events: int = pydantic.Field(default=100_000, ge=1)

    @pydantic.field_validator("energies")
    @classmethod
    def _positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not e > 0 for e in value):
            raise ValueError(f"energies must be > 0 MeV, found {list(value)}")
        return value
