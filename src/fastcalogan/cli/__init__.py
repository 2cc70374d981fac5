"""Command line: a click group with one thin module per stage."""

from . import inspect as _inspect  # noqa: F401  (registers the command)
from ._app import cli, main

__all__ = ["cli", "main"]
