"""Training curves of the run a generated file came from (for the report).

A file written by ``fastcalogan generate`` names its run in the ``source`` attribute (the
run folder, or a checkpoint inside ``<run>/checkpoints/``). The run folder holds
``losses.csv`` (one row per logged iteration) and, after selection,
``selection/chi2.json`` (chi2/NDF per checkpoint); split runs hold them per energy range in
``range-k/`` and one ``selection/chi2.json`` whose rows carry the range. Both are read
generically (every numeric column), so new loss columns show up without a change here.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["run_folder", "training_curves"]

log = logging.getLogger(__name__)


def run_folder(attrs: Mapping[str, Any], relative_to: Path | None = None) -> Path | None:
    """The training run a generated file names in its ``source`` attribute, if it exists."""
    source = attrs.get("source")
    if not isinstance(source, str) or not source:
        return None
    path = Path(source)
    if not path.is_absolute() and relative_to is not None and not path.exists():
        path = relative_to / path
    if path.is_file() and path.parent.name == "checkpoints":
        path = path.parent.parent
    return path if path.is_dir() else None


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _losses(path: Path) -> dict[str, npt.NDArray[np.float64]]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "iteration" not in rows[0]:
        return {}
    out: dict[str, npt.NDArray[np.float64]] = {}
    for col in rows[0]:
        values = np.array([_float(r.get(col)) for r in rows])
        if np.isfinite(values).any():
            out[col] = values
    return out


def training_curves(
    attrs: Mapping[str, Any], relative_to: Path | None = None
) -> dict[str, npt.NDArray[np.float64]]:
    """Loss and chi2/NDF curves of the run behind a generated file, as flat arrays.

    Keys: ``training/<label>/losses/<column>`` for every numeric column of ``losses.csv``
    (``iteration`` included) and ``training/<label>/chi2/{iteration,chi2_ndf}`` from the
    selection, plus ``training/<label>/chi2/best`` (the chosen iteration, shape ``(1,)``);
    ``<label>`` is ``run`` or the energy range (``range-0``, ...). Empty when the file names
    no readable run; unreadable run files are logged and skipped.

    Args:
        attrs: the generated file's attributes.
        relative_to: folder against which a relative ``source`` is resolved.
    """
    run = run_folder(attrs, relative_to)
    if run is None:
        return {}
    out: dict[str, npt.NDArray[np.float64]] = {}
    sources = [("run", run)] + [(p.name, p) for p in sorted(run.glob("range-*")) if p.is_dir()]
    for label, folder in sources:
        path = folder / "losses.csv"
        if not path.is_file():
            continue
        try:
            for col, values in _losses(path).items():
                out[f"training/{label}/losses/{col}"] = values
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            log.warning("training curves: %s unreadable (%s); skipped", path, err)
    chi2_path = run / "selection" / "chi2.json"
    if chi2_path.is_file():
        try:
            table = json.loads(chi2_path.read_text())
            rows = table.get("rows", [])
            best = table.get("best")
            labels = sorted({str(r.get("range", "run")) for r in rows})
            for label in labels:
                mine = [r for r in rows if str(r.get("range", "run")) == label]
                it = np.array([_float(r.get("iteration")) for r in mine])
                chi2 = np.array([_float(r.get("chi2_ndf")) for r in mine])
                order = np.argsort(it)
                out[f"training/{label}/chi2/iteration"] = it[order]
                out[f"training/{label}/chi2/chi2_ndf"] = chi2[order]
                chosen = (
                    [b for b in best if b.get("range") == label]
                    if isinstance(best, list)
                    else [best]
                )
                for b in chosen:
                    if isinstance(b, dict) and "iteration" in b:
                        out[f"training/{label}/chi2/best"] = np.array([_float(b["iteration"])])
        except (OSError, ValueError, TypeError, AttributeError) as err:
            log.warning("training curves: %s unreadable (%s); skipped", chi2_path, err)
    return out
