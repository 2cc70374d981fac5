"""JSON Schemas of every stage configuration, kept in ``schemas/`` and checked by a test.

Run ``python -m fastcalogan._schemas schemas/`` to regenerate them after changing a config.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

from ._config import StageConfig
from ._fileio import write_text

__all__ = ["all_stage_configs", "schema_text", "write_schemas"]


def all_stage_configs() -> dict[str, type[StageConfig]]:
    """Every :class:`StageConfig` subclass defined in the package's stages."""
    import fastcalogan

    for info in pkgutil.iter_modules(fastcalogan.__path__):
        if info.ispkg and info.name != "cli":
            importlib.import_module(f"fastcalogan.{info.name}")
    found: dict[str, type[StageConfig]] = {}
    stack: list[type[Any]] = [StageConfig]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("fastcalogan."):
                found[sub.__name__] = sub
    return dict(sorted(found.items()))


def schema_text(model: type[StageConfig]) -> str:
    """The model's JSON Schema as stable, indented text."""
    return json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write ``<ConfigName>.json`` for every stage config into ``folder``."""
    return [
        write_text(folder / f"{name}.json", schema_text(model))
        for name, model in all_stage_configs().items()
    ]


if __name__ == "__main__":  # pragma: no cover
    for path in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "schemas")):
        print(path)
