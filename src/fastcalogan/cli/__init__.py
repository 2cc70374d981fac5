"""Command line: a click group with one thin module per stage.

Importing it is cheap (click, rich's console and the modules here): each command imports
the stages it calls when it runs, so ``fastcalogan --help`` starts in a fraction of a second
(``tests/cli/test_cli_startup.py`` checks that torch, scipy, matplotlib and dask stay out).
"""

from . import bench as _bench  # noqa: F401  (registers the command)
from . import campaign as _campaign  # noqa: F401  (registers campaign run/status/report)
from . import convert as _convert  # noqa: F401  (registers the command)
from . import demo as _demo  # noqa: F401  (registers the command)
from . import evaluate as _evaluate  # noqa: F401  (registers the command)
from . import export as _export  # noqa: F401  (registers the command)
from . import generate as _generate  # noqa: F401  (registers the command)
from . import inspect as _inspect  # noqa: F401  (registers the command)
from . import models as _models  # noqa: F401  (registers the command)
from . import select as _select  # noqa: F401  (registers the command)
from . import simulate as _simulate  # noqa: F401  (registers the command)
from . import train as _train  # noqa: F401  (registers the command)
from . import voxelise as _voxelise  # noqa: F401  (registers voxelise and invert)
from ._app import cli, main

__all__ = ["cli", "main"]
