"""Self-describing checkpoints that carry their checksum, written atomically (where they lie:
:mod:`.run_folder`).

A checkpoint is a ``torch.save`` dictionary holding the model family's name, the weights of
its sampling network (``generator``), the rest of its training state (``objective``: other
networks and optimiser states, opaque to the trainer), the preprocessing state, the resolved
training config, the family's network config and the model shape, the binning, particle,
|eta| slice and energy range, the iteration, the RNG states and the package version. It holds
only tensors and plain Python values, so it is read with ``torch.load(weights_only=True)``.

Format ``fastcalogan-checkpoint-3`` adds ``checksum``: the SHA-256 of the contents
(:func:`content_digest`: every key and value, tensors by dtype, shape and bytes), verified on
every load, so a flipped byte in the weights or a truncated file is named instead of being
used. Weights that are not finite are refused on load. The file is serialised in memory and
written through :func:`~fastcalogan._fileio.atomic_path` (flushed to disk, then renamed), so a
full disk leaves the previous checkpoint in place and is reported naming the checkpoint.

Older checkpoints still load, without the checksum (a note is logged once per folder):
format 2 (model families, no checksum) as it is, and format 1 (before model families: the
MLP WGAN-GP's ``critic`` and optimiser states at the top level, no family) converted to the
current layout.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._fileio import atomic_path
from ..errors import CheckpointError

__all__ = ["CHECKPOINT_FORMAT", "content_digest", "load_checkpoint", "save_checkpoint"]

log = logging.getLogger(__name__)

#: Marker stored in every checkpoint; files without it are foreign.
CHECKPOINT_FORMAT = "fastcalogan-checkpoint-3"
#: Model families, no checksum (read as it is, with a note).
_FORMAT_2 = "fastcalogan-checkpoint-2"
#: The format before model families (read and converted on loading).
_FORMAT_1 = "fastcalogan-checkpoint-1"
#: What a format-1 checkpoint was: the MLP WGAN-GP.
_FORMAT_1_FAMILY = "wgan-gp-mlp"
#: The MLP WGAN-GP's training state, at the top level of a format-1 checkpoint.
_FORMAT_1_OBJECTIVE = ("critic", "optimizer_generator", "optimizer_critic")
#: The key of the content checksum.
CHECKSUM_KEY = "checksum"

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

#: Folders whose old checkpoints were already noted (one note per folder and process).
_NOTED: set[Path] = set()


def _feed(h: Any, obj: Any) -> None:
    """Hash ``obj`` into ``h``: a canonical walk that does not depend on the torch version."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}:".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"A{a.dtype.str}{a.shape}:".encode())
        h.update(a.tobytes())
    elif isinstance(obj, Mapping):
        h.update(f"D{len(obj)}:".encode())
        for key in sorted(obj, key=lambda k: (type(k).__name__, repr(k))):
            _feed(h, key)
            _feed(h, obj[key])
    elif isinstance(obj, list | tuple):
        h.update(f"L{len(obj)}:".encode())
        for item in obj:
            _feed(h, item)
    elif isinstance(obj, bool) or obj is None:
        h.update(f"C{obj};".encode())
    elif isinstance(obj, int | np.integer):
        h.update(f"I{int(obj)};".encode())
    elif isinstance(obj, float | np.floating):
        h.update(f"F{float(obj).hex()};".encode())
    elif isinstance(obj, str):
        data = obj.encode()
        h.update(f"S{len(data)}:".encode() + data)
    elif isinstance(obj, bytes | bytearray):
        h.update(f"B{len(obj)}:".encode() + bytes(obj))
    else:
        h.update(f"R{obj!r};".encode())


def content_digest(state: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of a checkpoint's contents (the ``checksum`` key left out).

    Every key and value goes in: tensors by dtype, shape and bytes, numbers exactly, in a
    fixed key order, so a checkpoint read back gives the digest it was written with.

    >>> content_digest({"a": 1}) == content_digest({"a": 1, "checksum": "x"})
    True
    >>> content_digest({"w": torch.zeros(2)}) == content_digest({"w": torch.tensor([0.0, 1e-45])})
    False
    """
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in state.items() if k != CHECKSUM_KEY})
    return "sha256:" + h.hexdigest()


def _tensors(obj: Any, prefix: str) -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from _tensors(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            yield from _tensors(value, f"{prefix}[{i}]")


def nonfinite_weight(state: Mapping[str, Any]) -> str | None:
    """The first weight (``generator.net.0.weight``, ...) holding NaN or inf, else ``None``.

    The sampling network and the objective's networks and optimiser states are looked at.
    """
    for name, t in _tensors({k: state.get(k) for k in ("generator", "objective")}, ""):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return name
    return None


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
    """Write ``state`` with its checksum to ``path`` atomically (a crash or a full disk
    leaves the previous file intact).

    Args:
        path: destination ``.pt`` file.
        state: the checkpoint dictionary; it must hold :data:`REQUIRED_KEYS`.

    Raises:
        CheckpointError: ``state`` lacks required keys.
        OSError: the file system refused the write (the message names ``path``).
    """
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: checkpoint state lacks {missing}")
    body = {k: v for k, v in state.items() if k != CHECKSUM_KEY}
    body["format"] = CHECKPOINT_FORMAT
    body[CHECKSUM_KEY] = content_digest(body)
    buffer = io.BytesIO()
    torch.save(body, buffer)
    with atomic_path(path) as tmp:
        _write_file(tmp, buffer.getbuffer())
    return Path(path)


def _write_file(path: Path, data: Any) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _note_old(path: Path, fmt: str) -> None:
    folder = path.parent
    if folder not in _NOTED:
        _NOTED.add(folder)
        log.warning(
            "%s: checkpoints of format %s carry no checksum; they are read unverified "
            "(checkpoints written from now on carry one)",
            folder,
            fmt,
        )


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read and verify a checkpoint written by :func:`save_checkpoint` (or by an older
    version: format 2 as it is, format 1 converted; both unverified, with a note).

    Raises:
        CheckpointError: the file is missing, truncated, corrupt (its checksum does not match
            its contents), not a torch file, not a fastcalogan checkpoint, or holds weights
            that are not finite (the message names the file).
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
            f"{path}: cannot read checkpoint (truncated, corrupt or not a torch file: {first})"
        ) from err
    fmt = state.get("format") if isinstance(state, dict) else None
    if fmt == CHECKPOINT_FORMAT:
        stored = state.pop(CHECKSUM_KEY, None)
        if stored is None:
            raise CheckpointError(
                f"{path}: corrupt checkpoint (format {CHECKPOINT_FORMAT} without its checksum)"
            )
        found = content_digest(state)
        if found != stored:
            raise CheckpointError(
                f"{path}: corrupt checkpoint: its contents do not match its checksum "
                f"(stored {str(stored)[:19]}..., found {found[:19]}...); the file was damaged "
                "after it was written"
            )
    elif fmt in (_FORMAT_2, _FORMAT_1):
        _note_old(path, fmt.rsplit("-", 1)[-1])
        state = _from_format_1(state) if fmt == _FORMAT_1 else state
    else:
        found_fmt = fmt if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(
            f"{path}: not a fastcalogan checkpoint (expected format {CHECKPOINT_FORMAT!r}, "
            f"{_FORMAT_2!r} or {_FORMAT_1!r}, found {found_fmt!r})"
        )
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {missing}")
    bad = nonfinite_weight(state)
    if bad is not None:
        raise CheckpointError(
            f"{path}: the weights hold NaN or inf (first in {bad}); the training had diverged "
            "when it was written"
        )
    return state
