"""Configuration of shower generation from a trained run."""

from __future__ import annotations

from typing import Literal

import pydantic

from .._config import StageConfig

__all__ = ["GenerateConfig"]


class GenerateConfig(StageConfig):
    """What to generate: energies (and conditions) given, or those of a reference file.

    Attributes:
        energies: incident (kinetic, for hadrons) energies in MeV, ``n_events`` each, or
            ``ds1``: the 15 dataset-1 points 2^8..2^22 MeV with the dataset-1 counts (10k up
            to 2^18 MeV, then 5k, 3k, 2k, 1k) scaled by ``n_events / 10000``, as
            ``simulate`` does. Give ``energies`` or ``like``.
        like: a reference shower file: generate one shower per reference event with its
            incident energy and conditions, in the file's order (so evaluators that need
            equal samples can compare them event by event).
        conditions: with ``energies``, one value per condition of a conditioned model
            (``{px: 0.0, phi_alignment: 2}``), the same for every event; with ``like`` the
            reference's conditions are used.
        n_events: showers per energy (the dataset-1 scale with ``ds1``); unused with ``like``.
        seed: noise seed; the same seed gives the same showers.
        batch_size: showers per generator pass.
        device: ``auto``, ``cpu`` or ``cuda``.
        particle: particle to simulate; default the trained one. Another particle of the
            same shower type may be asked for (hadrons share the pion model; antiprotons add
            their rest mass to the deposit).
        checkpoint: a checkpoint file to use instead of the selected (or latest) one.
        chunk_events: showers generated and written per block (bounds memory).
        precision: the network's arithmetic with torch: ``fp32``, or ``bf16`` (bfloat16
            matrix products: about 1.9x the fp32 throughput at batch 10k on an AVX-512 BF16
            CPU; the label and the inversion to MeV stay float32). An exported model's
            precision is chosen at export (``export --precision int8``).
    """

    energies: Literal["ds1"] | tuple[float, ...] | None = None
    like: str | None = None
    conditions: dict[str, float] = pydantic.Field(default_factory=dict)
    n_events: int = pydantic.Field(default=1000, ge=1)
    seed: int = pydantic.Field(default=0, ge=0)
    batch_size: int = pydantic.Field(default=10_000, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    particle: str | None = None
    checkpoint: str | None = None
    chunk_events: int = pydantic.Field(default=100_000, ge=1)
    precision: Literal["fp32", "bf16"] = "fp32"

    @pydantic.field_validator("energies")
    @classmethod
    def _positive(cls, value: str | tuple[float, ...] | None) -> str | tuple[float, ...] | None:
        if isinstance(value, tuple):
            if not value:
                raise ValueError("energies must list at least one energy")
            if any(not e > 0 for e in value):
                raise ValueError(f"energies must be > 0 MeV, found {list(value)}")
        return value

    @pydantic.model_validator(mode="after")
    def _one_source(self) -> GenerateConfig:
        if (self.energies is None) == (self.like is None):
            raise ValueError("give energies or like (a reference file), exactly one")
        if self.like is not None and self.conditions:
            raise ValueError("like takes the reference's conditions; conditions apply to energies")
        return self
