"""The exceptions fastcalogan raises for problems a user can fix.

Every class derives from :class:`FastCaloGANError`. The command line turns any of them into
exit code 2 and a single line; ``--debug`` shows the traceback. Messages name the file or
field, what was expected and what was found.
"""

from __future__ import annotations

__all__ = [
    "BinningError",
    "CheckpointError",
    "ConfigError",
    "DataFormatError",
    "FastCaloGANError",
    "LockError",
    "ModelError",
    "OutputError",
    "SimulationError",
]


class FastCaloGANError(Exception):
    """Base class of every error a user can act on."""


class ConfigError(FastCaloGANError):
    """A configuration file or value is invalid (names the file and the dotted key)."""


class BinningError(FastCaloGANError):
    """A binning definition is malformed or does not fit the data it is used with."""


class DataFormatError(FastCaloGANError):
    """A shower or hit file does not have the expected layout or content."""


class SimulationError(FastCaloGANError):
    """The reference simulator was asked for something outside its validity range."""


class ModelError(FastCaloGANError):
    """A model, export or generation request cannot be honoured."""


class CheckpointError(FastCaloGANError):
    """A checkpoint is missing, truncated, or conflicts with the requested configuration."""


class OutputError(FastCaloGANError):
    """An output cannot be written where asked: it is one of the command's inputs, a folder
    where a file is expected (or the reverse), in a folder that cannot be written, or the
    file system has too little free space for it."""


class LockError(OutputError):
    """Another process is writing the same run or campaign folder (names its pid and host)."""
