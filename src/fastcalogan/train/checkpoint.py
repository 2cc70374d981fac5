"""Self-describing checkpoints, written atomically (where they lie: :mod:`.run_folder`).

A checkpoint is a ``torch.save`` dictionary holding the generator and critic weights, both
optimiser states, the preprocessing state, the resolved training config, the model
architecture, the binning, particle, |eta| slice and energy range, the iteration, the RNG
states and the package version. It holds only tensors and plain Python values, so it is read
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .._fileio import atomic_path
from ..errors import CheckpointError

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "save_checkpoint"]

#: Marker stored in every checkpoint; files without it are foreign.
CHECKPOINT_FORMAT = "fastcalogan-checkpoint-1"

#: Keys every checkpoint holds.
REQUIRED_KEYS: tuple[str, ...] = (
    "format",
    "iteration",
    "generator",
    "critic",
    "optimizer_generator",
    "optimizer_critic",
    "preprocess",
    "train_config",
    "model_config",
    "model_shape",
    "binning",
    "binning_name",
    "particle",
    "eta",
    "energy_range",
    "rng",
    "fastcalogan_version",
)


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (a crash leaves the previous file intact).

    Args:
        path: destination ``.pt`` file.
        state: the checkpoint dictionary; it must hold :data:`REQUIRED_KEYS`.

    Raises:
        CheckpointError: ``state`` lacks required keys.
    """
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: checkpoint state lacks {missing}")
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        CheckpointError: the file is missing, truncated, not a torch file, or not a
            fastcalogan checkpoint (the message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # any failure to unpickle means a truncated or foreign file
        if isinstance(err, MemoryError):  # pragma: no cover
            raise
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(
            f"{path}: cannot read checkpoint (truncated or not a torch file: {first})"
        ) from err
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path}: not a fastcalogan checkpoint (expected format {CHECKPOINT_FORMAT!r})"
        )
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {missing}")
    return state
