"""Reader of the ATLAS open-data FastCaloGAN inputs: one CSV file per energy point.

Each row is one shower: ``n_leading`` leading columns (phi-mod and eta of the particle at
the calorimeter surface by default) followed by the voxel energies in MeV, in the
CaloChallenge voxel order. A header row, if present, is skipped. The energy point is taken
from the file name (``..._E65536_...``) unless given.

:func:`convert_atlas_csv` turns a set of such files (one slice, one particle) into one
CaloChallenge shower file: the ingestion campaigns use, and the one a converter calls.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._fileio import PathPlan
from ..errors import DataFormatError
from ..geometry import Geometry
from .showers import DEFAULT_MAX_DEPOSIT_RATIO, ShowerData, validate_showers, write_showers

__all__ = [
    "AtlasCsvConversion",
    "convert_atlas_csv",
    "energy_from_filename",
    "read_atlas_csv",
    "read_atlas_csv_set",
]

_ENERGY_RE = re.compile(r"(?:^|[_\-])E(\d+(?:\.\d+)?)(?=[_\-.]|$)")


def energy_from_filename(path: str | os.PathLike[str]) -> float:
    """The energy point in MeV encoded as ``E<MeV>`` in a file name.

    >>> energy_from_filename("pid22_E65536_eta_20_25.csv")
    65536.0
    """
    m = _ENERGY_RE.search(Path(path).name)
    if not m:
        raise DataFormatError(
            f"{path}: cannot read the energy point from the file name "
            "(expected a part like '_E65536_'); pass the energy explicitly"
        )
    return float(m.group(1))


def read_atlas_csv(
    path: str | os.PathLike[str],
    binning: Geometry,
    energy_mev: float | None = None,
    n_leading: int = 2,
    max_deposit_ratio: float | None = DEFAULT_MAX_DEPOSIT_RATIO,
) -> ShowerData:
    """Read one per-energy CSV file into :class:`ShowerData`.

    Args:
        path: the CSV file.
        binning: voxel binning; each row must have ``n_leading + binning.n_voxels`` columns.
        energy_mev: the energy point; read from the file name when omitted.
        n_leading: leading non-voxel columns (phi-mod, eta).

    Returns:
        Showers with ``attrs["phi_mod"]`` and ``attrs["eta"]`` arrays when present.
    """
    path = Path(path)
    energy = energy_from_filename(path) if energy_mev is None else float(energy_mev)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    expected = n_leading + binning.n_voxels
    rows: list[list[float]] = []
    with path.open(newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            if not row or all(not c.strip() for c in row):
                continue
            try:
                values = [float(c) for c in row]
            except ValueError as err:
                if lineno == 1:
                    continue  # header
                raise DataFormatError(f"{path}:{lineno}: non-numeric value ({err})") from err
            if len(values) != expected:
                raise DataFormatError(
                    f"{path}:{lineno}: row has {len(values)} columns; expected {expected} "
                    f"({n_leading} leading + {binning.n_voxels} voxels of {binning.name})"
                )
            rows.append(values)
    if not rows:
        raise DataFormatError(f"{path}: holds no showers")
    table = np.asarray(rows, dtype=np.float64)
    showers = table[:, n_leading:]
    inc = np.full(len(table), energy)
    validate_showers(inc, showers, str(path), binning, max_deposit_ratio)
    attrs: dict[str, object] = {"source": str(path), "energy_point_mev": energy}
    if n_leading >= 1:
        attrs["phi_mod"] = table[:, 0]
    if n_leading >= 2:
        attrs["eta"] = table[:, 1]
    return ShowerData(inc, showers, attrs)


def read_atlas_csv_set(
    paths: Iterable[str | os.PathLike[str]], binning: Geometry, n_leading: int = 2
) -> ShowerData:
    """Read several per-energy CSV files and concatenate them, sorted by energy point."""
    parts = sorted(
        (read_atlas_csv(p, binning, n_leading=n_leading) for p in paths),
        key=lambda d: float(d.incident_energies[0]),
    )
    if not parts:
        raise DataFormatError("no CSV files given")
    return ShowerData(
        np.concatenate([p.incident_energies for p in parts]),
        np.concatenate([p.showers for p in parts]),
        {"sources": [str(p.attrs["source"]) for p in parts]},
    )


@dataclass(frozen=True)
class AtlasCsvConversion:
    """What :func:`convert_atlas_csv` wrote.

    Attributes:
        out_path: the CaloChallenge shower file.
        n_events: showers written.
        energies_mev: the energy points, ascending.
        sources: the CSV files read, in energy order.
    """

    out_path: Path
    n_events: int
    energies_mev: tuple[float, ...]
    sources: tuple[str, ...]


def convert_atlas_csv(
    paths: Sequence[str | os.PathLike[str]],
    binning: Geometry,
    out_path: str | os.PathLike[str],
    *,
    n_leading: int = 2,
    attrs: Mapping[str, Any] | None = None,
    dtype: npt.DTypeLike = np.float32,
) -> AtlasCsvConversion:
    """ATLAS per-energy CSV files of one particle and slice -> one CaloChallenge shower file.

    Args:
        paths: the CSV files, one per energy point (energy from ``_E<MeV>_`` in the name).
        binning: their voxel binning (each row: ``n_leading + binning.n_voxels`` columns).
        out_path: the HDF5 file to write, atomically.
        n_leading: leading non-voxel columns of each row (phi-mod, eta).
        attrs: further file attributes; they replace the defaults (``particle``,
            ``eta_min``/``eta_max`` of the binning, ``sources`` as a JSON list,
            ``fastcalogan_version``). The file carries ``binning`` (its ``geometry`` and
            ``binning`` attributes, :func:`~fastcalogan.data.geometry_attrs`).
        dtype: storage dtype of ``showers`` (CaloChallenge files use float32).

    Returns:
        :class:`AtlasCsvConversion` with the path, the event count and the energy points.

    Raises:
        DataFormatError: no file, or a file that is not such a CSV file.
        OutputError: ``out_path`` is one of the inputs, or cannot be written.
    """
    from .. import __version__

    paths = list(paths)
    plan = PathPlan().read_all(paths, "input CSV file").write(out_path, "shower file")
    plan.check()
    data = read_atlas_csv_set(paths, binning, n_leading=n_leading)
    sources = tuple(str(s) for s in data.attrs["sources"])
    file_attrs: dict[str, Any] = {
        "particle": binning.particle,
        **({"eta_min": binning.eta[0], "eta_max": binning.eta[1]} if binning.eta else {}),
        "sources": json.dumps(list(sources)),
        "fastcalogan_version": __version__,
        **(attrs or {}),
    }
    out = write_showers(
        out_path, data.incident_energies, data.showers, file_attrs, dtype=dtype, geometry=binning
    )
    return AtlasCsvConversion(
        out_path=out,
        n_events=data.n_events,
        energies_mev=tuple(float(e) for e in np.unique(data.incident_energies)),
        sources=sources,
    )
