"""Conversion between the file layouts the toolkit reads, through a CaloChallenge file.

- :func:`convert`: inputs (one shower or hit file, or ATLAS CSV files) -> ``config.to``.
- :func:`formats`, :func:`get_format`, :func:`detect_format`: the registry of layouts;
  :func:`register_format` adds one (a :class:`ShowerFormat` with a reader to and/or a writer
  from a CaloChallenge file; :func:`writer_format` builds the format of a layout the shower
  readers already read from its block writer).
"""

from .config import ConvertConfig
from .conversion import ConvertResult, convert
from .registry import (
    HUB_FORMAT,
    ShowerFormat,
    detect_format,
    expand_inputs,
    formats,
    get_format,
    register_format,
    writer_format,
)

__all__ = [
    "HUB_FORMAT",
    "ConvertConfig",
    "ConvertResult",
    "ShowerFormat",
    "convert",
    "detect_format",
    "expand_inputs",
    "formats",
    "get_format",
    "register_format",
    "writer_format",
]
