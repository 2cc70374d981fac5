"""LHCb ECAL layouts: the toolkit's HDF5 layout and the public LHCb calorimeter GAN npz.

HDF5 (written by ``fastcalogan simulate --detector lhcb-ecal``), for N electrons:

* ``showers`` (N, 30, 30): cell energies summed over depth (the scintillator's signal), MeV;
* ``conditions`` (N, 5): ``px, py, pz`` (MeV) and the impact point ``x, y`` (mm) on the
  front face, in the cell frame (the grid's centre at 0); attribute ``names``;
* ``incident_energies`` (N, 1) = ``|p|``, MeV;
* optionally ``overflow`` (N, 1): signal outside the 30 x 30 cells, MeV.

npz (the public data of the LHCb calorimeter GAN studies; Chekalina et al., EPJ Web Conf. 214
(2019) 02034): arrays ``EnergyDeposit`` (N, 30, 30), ``ParticleMomentum`` (N, 3) and
``ParticlePoint`` (N, 2). No copy of those files was at hand when this reader was written, so
their units are arguments: by default momenta in GeV, points in mm and deposits in MeV.
:func:`read_lhcb_npz` refuses a file whose deposits are more than ``max_deposit_ratio`` times
|p| or whose median deposit is below ``1e-3 |p|`` (a unit mix-up), naming the unit to check.

Inside the toolkit showers are flat (N, 900) in row-major cell order (the built-in geometry
``lhcb-ecal``) with the five conditions named :data:`LHCB_CONDITION_NAMES`.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from ..errors import DataFormatError
from ..geometry import Geometry
from ._h5 import require_dataset
from ._layout_io import (
    BlockRequest,
    EventBlock,
    EventFields,
    GeometryFileWriter,
    LayoutBlock,
    LayoutReader,
    LayoutWriter,
    names_attr,
    optional_dataset,
)
from .showers import (
    CONDITIONS_DATASET,
    DEFAULT_MAX_DEPOSIT_RATIO,
    ShowerData,
    validate_showers,
)

__all__ = [
    "LHCB_CONDITION_NAMES",
    "LHCB_GEOMETRY",
    "LHCbWriter",
    "iter_lhcb",
    "lhcb_attrs",
    "read_lhcb_npz",
    "write_lhcb",
]

#: per-event conditions: momentum (MeV) and impact point on the front face (mm)
LHCB_CONDITION_NAMES = ("px", "py", "pz", "x", "y")
#: the built-in geometry of the layouts
LHCB_GEOMETRY = "lhcb-ecal"
#: |p| and incident_energies may differ by this much (relative) from rounding
_P_TOLERANCE = 1e-5
#: a calorimeter records at least this share of |p| (sampling fractions are >= 1 %)
_DEPOSIT_FLOOR = 1e-3
_UNITS = {"MeV": 1.0, "GeV": 1000.0, "keV": 1e-3, "mm": 1.0, "cm": 10.0, "m": 1000.0}


def _fields(f: h5py.File, path: Path) -> EventFields:
    """``showers``, ``conditions`` and ``incident_energies``; the overflow is checked only."""
    showers = require_dataset(f, path, "showers", 3)
    cond = require_dataset(f, path, CONDITIONS_DATASET, 2)
    inc = require_dataset(f, path, "incident_energies", (1, 2))
    n = showers.shape[0]
    if cond.shape != (n, len(LHCB_CONDITION_NAMES)):
        raise DataFormatError(
            f"{path}: field 'conditions' must have shape ({n}, 5) (px, py, pz MeV, x, y mm), "
            f"found {cond.shape}"
        )
    if inc.shape[0] != n or (inc.ndim == 2 and inc.shape[1] != 1):
        raise DataFormatError(
            f"{path}: field 'incident_energies' must have shape ({n}, 1), found {inc.shape}"
        )
    optional_dataset(f, path, "overflow", 2, n)
    found = names_attr(cond)
    if found and found != LHCB_CONDITION_NAMES:
        raise DataFormatError(
            f"{path}: field 'conditions' names its columns {list(found)}; the LHCb layout has "
            f"{list(LHCB_CONDITION_NAMES)}"
        )
    return EventFields(
        {"showers": showers, CONDITIONS_DATASET: cond, "incident_energies": inc},
        n,
        showers.shape[1] * showers.shape[2],
    )


def _showers(read: BlockRequest, block: EventBlock) -> ShowerData:
    """Showers flattened, |p| of the conditions equal to the energies, pz > 0, all checked."""
    s = block.rows["showers"]
    c = np.asarray(block.rows[CONDITIONS_DATASET], dtype=np.float64)
    e = np.asarray(block.rows["incident_energies"], dtype=np.float64).reshape(-1)
    flat = s.reshape(s.shape[0], -1)
    _check_momentum(read.path, CONDITIONS_DATASET, c, e, block.start)
    validate_showers(
        e, flat, str(read.path), read.binning, read.max_deposit_ratio, first_event=block.start
    )
    if c.size and np.any(c[:, 2] <= 0):
        row = int(np.argmax(c[:, 2] <= 0)) + block.start
        raise DataFormatError(
            f"{read.path}: field 'conditions': pz must be > 0 (into the calorimeter), event {row}"
        )
    return ShowerData(e, flat, read.attrs, c, LHCB_CONDITION_NAMES)


_READER = LayoutReader("lhcb", LHCB_GEOMETRY, _fields, _showers)


def lhcb_attrs(path: str | os.PathLike[str]) -> dict[str, Any]:
    """File attributes plus ``n_events``, ``n_voxels`` and ``layout`` (HDF5 or npz)."""
    path = Path(path)
    if path.suffix.lower() == ".npz" or zipfile.is_zipfile(path):
        data = read_lhcb_npz(path, max_deposit_ratio=None)
        return {**data.attrs, "n_events": data.n_events, "n_voxels": data.n_voxels}
    return _READER.attrs(path)


def _check_momentum(
    path: Path, field: str, p: npt.NDArray[np.float64], inc: npt.NDArray[np.float64], first: int
) -> None:
    if not np.all(np.isfinite(p)):
        row = int(np.argwhere(~np.isfinite(p))[0][0]) + first
        raise DataFormatError(f"{path}: field '{field}' holds NaN or inf (event {row})")
    p_abs = np.linalg.norm(p[:, :3], axis=1)
    bad = np.abs(p_abs - inc) > _P_TOLERANCE * np.maximum(inc, 1e-12)
    if np.any(bad):
        row = int(np.argmax(bad))
        raise DataFormatError(
            f"{path}: event {row + first}: incident_energies {inc[row]:.6g} MeV is not |p| = "
            f"{p_abs[row]:.6g} MeV of field '{field}'"
        )


def iter_lhcb(
    path: str | os.PathLike[str],
    chunk_events: int = 50_000,
    binning: Geometry | None = None,
    max_deposit_ratio: float | None = DEFAULT_MAX_DEPOSIT_RATIO,
) -> Iterator[ShowerData]:
    """Stream an LHCb HDF5 file as flat showers with the five conditions.

    Each block is checked: ``incident_energies`` must be |p| of the conditions and pz > 0.
    Yields at least one block (empty for a file without events).
    """
    return _READER.blocks(path, chunk_events, binning, max_deposit_ratio)


def read_lhcb_npz(
    path: str | os.PathLike[str],
    momentum_unit: str = "GeV",
    point_unit: str = "mm",
    deposit_unit: str = "MeV",
    max_deposit_ratio: float | None = DEFAULT_MAX_DEPOSIT_RATIO,
    binning: Geometry | None = None,
) -> ShowerData:
    """Read the public LHCb calorimeter GAN npz: showers (N, 900) MeV and the five conditions.

    Args:
        path: the ``.npz`` file.
        momentum_unit, deposit_unit: ``MeV``, ``GeV`` or ``keV`` of ``ParticleMomentum`` and
            ``EnergyDeposit``.
        point_unit: ``mm``, ``cm`` or ``m`` of ``ParticlePoint``.
        max_deposit_ratio: ceiling of deposit / |p| (``None`` disables it and the floor).
        binning: the geometry; if given, the cell count must match.

    Raises:
        DataFormatError: missing arrays, wrong shapes, NaN/inf, negative deposits, or deposits
            out of proportion with |p| (check the units).
    """
    path = Path(path)
    for key, unit in (("momentum_unit", momentum_unit), ("point_unit", point_unit)):
        if unit not in _UNITS:
            raise DataFormatError(f"{path}: {key} '{unit}' is not one of {sorted(_UNITS)}")
    if deposit_unit not in ("MeV", "GeV", "keV"):
        raise DataFormatError(f"{path}: deposit_unit '{deposit_unit}' is not MeV, GeV or keV")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k]) for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DataFormatError(f"{path}: cannot read as an npz file ({err})") from err
    want = {"EnergyDeposit": 3, "ParticleMomentum": 2, "ParticlePoint": 2}
    missing = [k for k in want if k not in arrays]
    if missing:
        raise DataFormatError(
            f"{path}: missing array(s) {missing}; the LHCb npz layout has EnergyDeposit "
            f"(N, 30, 30), ParticleMomentum (N, 3), ParticlePoint (N, 2); found {sorted(arrays)}"
        )
    deposit, mom, point = (arrays[k] for k in want)
    n = deposit.shape[0] if deposit.ndim else -1
    for key, ndim in want.items():
        a = arrays[key]
        if a.ndim != ndim or a.shape[0] != n or not np.issubdtype(a.dtype, np.number):
            raise DataFormatError(
                f"{path}: array '{key}' must be numeric with {ndim} dimensions and {n} events, "
                f"found shape {a.shape} dtype {a.dtype}"
            )
    if mom.shape[1] != 3 or point.shape[1] != 2:
        raise DataFormatError(
            f"{path}: ParticleMomentum must be (N, 3) and ParticlePoint (N, 2), found "
            f"{mom.shape} and {point.shape}"
        )
    p = mom.astype(np.float64) * _UNITS[momentum_unit]
    xy = point.astype(np.float64) * _UNITS[point_unit]
    flat = deposit.reshape(n, -1).astype(np.float64) * _UNITS[deposit_unit]
    p_abs = np.linalg.norm(p, axis=1) if n else np.zeros(0)
    if not np.all(np.isfinite(p)) or not np.all(np.isfinite(xy)):
        raise DataFormatError(f"{path}: ParticleMomentum or ParticlePoint holds NaN or inf")
    if np.any(p_abs <= 0):
        raise DataFormatError(f"{path}: array 'ParticleMomentum' has an event with |p| = 0")
    validate_showers(
        p_abs,
        flat,
        f"{path} (EnergyDeposit as 'showers', |ParticleMomentum| as 'incident_energies')",
        binning,
        max_deposit_ratio,
    )
    if max_deposit_ratio is not None and n:
        median = float(np.median(flat.sum(axis=1) / p_abs))
        if median < _DEPOSIT_FLOOR:
            raise DataFormatError(
                f"{path}: EnergyDeposit sums to a median {median:.2g} x |p|; expected a few "
                f"per cent or more (check deposit_unit='{deposit_unit}' and "
                f"momentum_unit='{momentum_unit}')"
            )
    attrs = {
        "layout": "lhcb-npz",
        "binning": LHCB_GEOMETRY,
        "particle": "electron",
        "units": f"momentum {momentum_unit}, point {point_unit}, deposit {deposit_unit}",
    }
    return ShowerData(p_abs, flat, attrs, np.concatenate([p, xy], axis=1), LHCB_CONDITION_NAMES)


class LHCbWriter(LayoutWriter, GeometryFileWriter):
    """Append showers to an LHCb HDF5 file, published atomically on close.

    :meth:`append` takes ``showers`` (n, 900) or (n, 30, 30) MeV, the ``conditions`` (n, 5)
    and ``incident_energies`` (n,) MeV, which must be |p| of the conditions.

    Args:
        path: output file.
        geometry: one Cartesian layer (default: the built-in ``lhcb-ecal``, 30 x 30 cells).
        attrs: file attributes (the file carries its geometry too).
        dtype: storage dtype of the cells and the overflow.
        chunk_events: events per HDF5 chunk of the showers.
    """

    default_geometry = LHCB_GEOMETRY

    def _check_geometry(self, path: str | os.PathLike[str]) -> None:
        if self.geometry.n_layers != 1:
            raise DataFormatError(
                f"{path}: the LHCb layout holds one layer of cells; geometry "
                f"{self.geometry.name} has {self.geometry.n_layers}"
            )

    def _create_datasets(self, dtype: npt.DTypeLike, chunk_events: int) -> None:
        shape = self.geometry.layer_shapes[0]
        self._showers = self._extendable("showers", shape, dtype, chunk_events)
        self._cond = self._extendable(CONDITIONS_DATASET, (5,), np.float64, 4096)
        self._cond.attrs["names"] = ",".join(LHCB_CONDITION_NAMES)
        self._inc = self._extendable("incident_energies", (1,), np.float64, 4096)
        self._overflow = self._extendable("overflow", (1,), dtype, 4096)

    def _append_block(self, block: LayoutBlock) -> None:
        e, showers, conditions, overflow = block
        n = e.shape[0]
        s = showers.reshape(n, *self.geometry.layer_shapes[0])
        if conditions is None:
            raise DataFormatError(f"{self.path}: the LHCb layout needs the conditions (n, 5)")
        c = np.asarray(conditions, dtype=np.float64)
        if c.shape != (n, 5):
            raise DataFormatError(f"{self.path}: conditions of shape {c.shape}; expected ({n}, 5)")
        _check_momentum(self.path, "conditions", c, e, self.n_events)
        o = np.zeros((n, 1)) if overflow is None else np.asarray(overflow).reshape(n, 1)
        self._grow(self._showers, s)
        self._grow(self._cond, c)
        self._grow(self._inc, e[:, None])
        self._grow(self._overflow, o)
        self.n_events += n


def write_lhcb(
    path: str | os.PathLike[str],
    showers: npt.ArrayLike,
    conditions: npt.ArrayLike,
    attrs: Mapping[str, Any] | None = None,
    geometry: Geometry | None = None,
    overflow: npt.ArrayLike | None = None,
) -> Path:
    """Write showers (n, 900) MeV with their conditions (n, 5); incident energies are |p|."""
    c = np.asarray(conditions, dtype=np.float64)
    with LHCbWriter(path, geometry, attrs) as w:
        w.append(np.linalg.norm(c[:, :3], axis=1), showers, c, overflow)
    return Path(path)
