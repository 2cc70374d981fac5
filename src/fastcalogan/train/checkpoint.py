"""Self-describing checkpoints, written atomically (where they lie: :mod:`.run_folder`).

A checkpoint is a ``torch.save`` dictionary holding the model family's name, the weights of
its sampling network (``generator``), the rest of its training state (``objective``: other
networks and optimiser states, opaque to the trainer), the preprocessing state, the resolved
training config, the family's network config and the model shape, the binning, particle,
|eta| slice and energy range, the iteration, the RNG states and the package version. It holds
only tensors and plain Python values, so it is read with ``torch.load(weights_only=True)``.

Checkpoints of format ``fastcalogan-checkpoint-1`` (before model families: the MLP WGAN-GP's
``critic`` and optimiser states at the top level, no family) are read as ``wgan-gp-mlp``
checkpoints of the current format.
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
CHECKPOINT_FORMAT = "fastcalogan-checkpoint-2"
#: The format before model families (read and converted on loading).
_FORMAT_1 = "fastcalogan-checkpoint-1"
#: What a format-1 checkpoint was: the MLP WGAN-GP.
_FORMAT_1_FAMILY = "wgan-gp-mlp"
#: The MLP WGAN-GP's training state, at the top level of a format-1 checkpoint.
_FORMAT_1_OBJECTIVE = ("critic", "optimizer_generator", "optimizer_critic")

#: Keys every checkpoint holds.
REQUIRED_KEYS: tuple[str, ...] = (
    "format",
    "family",
    "iteration",
    "generator",
    "objective",
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


def _from_format_1(state: dict[str, Any]) -> dict[str, Any]:
    """A format-1 checkpoint as the current format (the MLP WGAN-GP's state moved)."""
    out = {k: v for k, v in state.items() if k not in _FORMAT_1_OBJECTIVE}
    out["objective"] = {k: state[k] for k in _FORMAT_1_OBJECTIVE if k in state}
    out["format"] = CHECKPOINT_FORMAT
    out["family"] = _FORMAT_1_FAMILY
    if isinstance(state.get("train_config"), dict):
        out["train_config"] = {"family": _FORMAT_1_FAMILY, **state["train_config"]}
    return out


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
    """Read a checkpoint written by :func:`save_checkpoint` (or by a version before model
    families, converted).

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
    if isinstance(state, dict) and state.get("format") == _FORMAT_1:
        state = _from_format_1(state)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(
            f"{path}: not a fastcalogan checkpoint (expected format {CHECKPOINT_FORMAT!r} "
            f"or {_FORMAT_1!r}, found {found!r})"
        )
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {missing}")
    return state
