"""``convert``: files of one layout -> another, through a CaloChallenge shower file."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._fileio import refuse_overwrite
from .._logging import ProgressCallback
from ..errors import ConfigError
from .config import ConvertConfig
from .registry import HUB_FORMAT, detect_format, expand_inputs, formats, get_format

__all__ = ["ConvertResult", "convert"]


@dataclass(frozen=True)
class ConvertResult:
    """What :func:`convert` wrote.

    Attributes:
        out_path: the file written.
        input_format, output_format: the formats converted between.
        inputs: the files read (a folder's CSV files, in order).
        n_events: showers written.
        seconds: wall time.
    """

    out_path: Path
    input_format: str
    output_format: str
    inputs: tuple[Path, ...]
    n_events: int
    seconds: float


def convert(
    config: ConvertConfig,
    inputs: Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    progress: ProgressCallback | None = None,
) -> ConvertResult:
    """Convert ``inputs`` into ``config.to`` at ``out_path`` (written atomically).

    Args:
        config: output format, input format (else recognised), geometry and labels.
        inputs: one shower or hit file, or ATLAS CSV files (or a folder of them).
        out_path: the file to write.
        progress: ``progress(done, total)`` in events, where the format reports it.

    Returns:
        :class:`ConvertResult`.

    Raises:
        DataFormatError: missing or unrecognised inputs, malformed files.
        ConfigError: a format that cannot be read or written, an output that is an input.
        BinningError: no geometry fits the inputs.
    """
    t0 = time.perf_counter()
    paths = expand_inputs([Path(p) for p in inputs])
    out = Path(out_path)
    source = get_format(config.input_format) if config.input_format else detect_format(paths)
    assert source is not None  # strict detection raises instead
    target = get_format(config.to)
    writable = [f.name for f in formats() if f.from_showers is not None or f.name == HUB_FORMAT]
    if target.name != HUB_FORMAT and target.from_showers is None:
        raise ConfigError(f"to: {target.name} is read-only; convert writes {', '.join(writable)}")
    if source.to_showers is None:
        raise ConfigError(f"{paths[0]}: format {source.name} is write-only; convert cannot read it")
    if source.name == target.name != HUB_FORMAT:
        raise ConfigError(f"{paths[0]}: already {source.description}; choose another --to")
    refuse_overwrite(out, paths, "input file")
    out.parent.mkdir(parents=True, exist_ok=True)
    if target.name == HUB_FORMAT:
        n = source.to_showers(paths, out, config, progress)
    elif source.name == HUB_FORMAT:
        assert target.from_showers is not None
        n = target.from_showers(paths[0], out, config, progress)
    else:
        assert target.from_showers is not None
        # through a CaloChallenge file next to the output (same file system, removed after)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".convert-") as tmp:
            hub = Path(tmp) / "showers.h5"
            source.to_showers(paths, hub, config, None)
            n = target.from_showers(hub, out, config, progress)
    return ConvertResult(
        out_path=out,
        input_format=source.name,
        output_format=target.name,
        inputs=tuple(paths),
        n_events=n,
        seconds=time.perf_counter() - t0,
    )
