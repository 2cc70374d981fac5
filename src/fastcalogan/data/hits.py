"""Hit-level showers: (event id, r, alpha, layer, energy) per energy deposit.

On disk (HDF5, written atomically)::

    incident_energies   (N, 1) float64  MeV
    hits/event_offsets  (N + 1,) int64  hits of event i are rows offsets[i]:offsets[i+1]
    hits/r              (M,) float32    mm from the particle direction in the layer
    hits/alpha          (M,) float32    rad in (-pi, pi]
    hits/layer          (M,) int16      ATLAS sampling id
    hits/energy         (M,) float64    MeV
    attrs: format="fastcalogan-hits", particle, eta_min, eta_max, ...

Event ids are implicit in the offsets, so events can be streamed in blocks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from ..errors import DataFormatError
from ._h5 import AtomicH5Writer, open_h5

__all__ = ["HIT_FIELDS", "HitShowers", "HitWriter", "iter_hits", "read_hits", "write_hits"]

HIT_FORMAT = "fastcalogan-hits"
HIT_FIELDS: dict[str, Any] = {
    "r": np.float32,
    "alpha": np.float32,
    "layer": np.int16,
    "energy": np.float64,
}


@dataclass(frozen=True)
class HitShowers:
    """Hits of ``n_events`` showers, sorted by event.

    Attributes:
        incident_energies: shape ``(n_events,)``, MeV.
        event_offsets: shape ``(n_events + 1,)``; hits of event i are ``offsets[i]:offsets[i+1]``.
        r: shape ``(n_hits,)``, mm. alpha: ``(n_hits,)``, rad. layer: ``(n_hits,)`` sampling id.
        energy: shape ``(n_hits,)``, MeV.
        attrs: particle, eta slice and provenance.
    """

    incident_energies: npt.NDArray[np.float64]
    event_offsets: npt.NDArray[np.int64]
    r: npt.NDArray[np.floating[Any]]
    alpha: npt.NDArray[np.floating[Any]]
    layer: npt.NDArray[np.integer[Any]]
    energy: npt.NDArray[np.float64]
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_hits(self, "<hits>")

    @property
    def n_events(self) -> int:
        """Number of showers."""
        return int(self.incident_energies.shape[0])

    @property
    def n_hits(self) -> int:
        """Number of hits over all showers."""
        return int(self.energy.shape[0])

    @property
    def event_id(self) -> npt.NDArray[np.int64]:
        """Event index of each hit, shape ``(n_hits,)``."""
        return np.repeat(np.arange(self.n_events), np.diff(self.event_offsets))

    def total_energy(self) -> npt.NDArray[np.float64]:
        """Deposited energy per shower, shape ``(n_events,)``, MeV."""
        return np.bincount(self.event_id, weights=self.energy, minlength=self.n_events).astype(
            np.float64
        )

    @staticmethod
    def from_event_ids(
        incident_energies: npt.ArrayLike,
        event_id: npt.ArrayLike,
        r: npt.ArrayLike,
        alpha: npt.ArrayLike,
        layer: npt.ArrayLike,
        energy: npt.ArrayLike,
        attrs: Mapping[str, Any] | None = None,
    ) -> HitShowers:
        """Build from per-hit event ids (any order); hits are sorted by event, stably."""
        inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
        ev = np.asarray(event_id, dtype=np.int64)
        if ev.size and (ev.min() < 0 or ev.max() >= inc.size):
            raise DataFormatError(
                f"hits: event_id must lie in [0, {inc.size}), found {ev.min()}..{ev.max()}"
            )
        order = np.argsort(ev, kind="stable")
        offsets = np.concatenate([[0], np.cumsum(np.bincount(ev, minlength=inc.size))])
        return HitShowers(
            inc,
            offsets.astype(np.int64),
            np.asarray(r)[order],
            np.asarray(alpha)[order],
            np.asarray(layer)[order],
            np.asarray(energy, dtype=np.float64)[order],
            dict(attrs or {}),
        )

    def events(self, start: int, stop: int) -> HitShowers:
        """The showers ``start:stop`` as a new object (offsets re-based to 0)."""
        a, b = int(self.event_offsets[start]), int(self.event_offsets[stop])
        return HitShowers(
            self.incident_energies[start:stop],
            self.event_offsets[start : stop + 1] - a,
            self.r[a:b],
            self.alpha[a:b],
            self.layer[a:b],
            self.energy[a:b],
            self.attrs,
        )


#: Slack on alpha's range (-pi, pi]: alpha is stored in float32, whose pi is 8.7e-8 above pi.
_ALPHA_SLACK = 1e-6


def _check_offsets(off: npt.NDArray[Any], n_hits: int, source: str, first_event: int = 0) -> None:
    """Offsets rise from 0 to the number of hits, never decreasing; else say where they fail."""
    name = f"{source}: field 'hits/event_offsets'"
    if off[0] != 0:
        raise DataFormatError(f"{name} must start at 0, found {off[0]}")
    steps = np.diff(off)
    if np.any(steps < 0):
        i = int(np.argmax(steps < 0))
        raise DataFormatError(
            f"{name} must not decrease, found {off[i]} then {off[i + 1]} (events "
            f"{first_event + i} and {first_event + i + 1})"
        )
    if off[-1] != n_hits:
        raise DataFormatError(f"{name} must end at the number of hits, {n_hits}, found {off[-1]}")


def validate_hits(hits: HitShowers, source: str) -> None:
    """Check shapes, types, offsets and values of hit arrays; raise :class:`DataFormatError`.

    r, alpha and energy must be finite numbers (r >= 0 mm, alpha in (-pi, pi] rad, energy
    >= 0 MeV), layer ids integers >= 0.
    """
    for name in ("r", "alpha", "layer", "energy"):
        arr = getattr(hits, name)
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise DataFormatError(
                f"{source}: field 'hits/{name}' must be numeric, found dtype {arr.dtype}"
            )
    for name in ("incident_energies", "event_offsets"):
        arr = getattr(hits, name)
        if not np.issubdtype(arr.dtype, np.number):
            raise DataFormatError(
                f"{source}: field '{'hits/' if name == 'event_offsets' else ''}{name}' must "
                f"be numeric, found dtype {arr.dtype}"
            )
    n_hits = hits.energy.shape[0]
    for name in ("r", "alpha", "layer"):
        arr = getattr(hits, name)
        if arr.ndim != 1 or arr.shape[0] != n_hits:
            raise DataFormatError(
                f"{source}: field 'hits/{name}' has shape {arr.shape}; expected ({n_hits},) "
                "like 'hits/energy'"
            )
    off = hits.event_offsets
    if off.ndim != 1 or off.shape[0] != hits.incident_energies.shape[0] + 1:
        raise DataFormatError(
            f"{source}: field 'hits/event_offsets' has shape {off.shape}; expected "
            f"({hits.incident_energies.shape[0] + 1},) for {hits.incident_energies.shape[0]} events"
        )
    _check_offsets(off, n_hits, source)
    for name in ("r", "alpha", "energy"):
        arr = getattr(hits, name)
        if not np.all(np.isfinite(arr)):
            i = int(np.argmax(~np.isfinite(arr)))
            raise DataFormatError(f"{source}: field 'hits/{name}' holds NaN or inf (hit {i})")
    if n_hits and hits.r.min() < 0:
        i = int(np.argmin(hits.r))
        raise DataFormatError(
            f"{source}: field 'hits/r' must be >= 0 mm, found {hits.r[i]} (hit {i})"
        )
    if n_hits:
        alpha = np.asarray(hits.alpha, dtype=np.float64)
        bad = (alpha < -np.pi - _ALPHA_SLACK) | (alpha > np.pi + _ALPHA_SLACK)
        if bad.any():
            i = int(np.argmax(bad))
            hint = "; are the angles in degrees?" if np.abs(alpha).max() <= 360 else ""
            raise DataFormatError(
                f"{source}: field 'hits/alpha' must lie in (-pi, pi] rad, found {alpha[i]:.6g} "
                f"(hit {i}){hint}"
            )
        layer = np.asarray(hits.layer)
        if not np.issubdtype(layer.dtype, np.integer):
            frac = layer != np.round(layer)
            if frac.any():
                i = int(np.argmax(frac))
                raise DataFormatError(
                    f"{source}: field 'hits/layer' must hold integer layer ids, found "
                    f"{layer[i]:g} (hit {i})"
                )
        if layer.min() < 0:
            i = int(np.argmin(layer))
            raise DataFormatError(
                f"{source}: field 'hits/layer' must hold layer ids >= 0, found {layer[i]:g} "
                f"(hit {i})"
            )
    if n_hits and hits.energy.min() < 0:
        raise DataFormatError(
            f"{source}: field 'hits/energy' must be >= 0 MeV, found {hits.energy.min()}"
        )
    if not np.all(np.isfinite(hits.incident_energies)) or np.any(hits.incident_energies <= 0):
        raise DataFormatError(f"{source}: field 'incident_energies' must be finite and > 0 MeV")


def _check_layout(f: h5py.File, path: Path) -> None:
    needed = ["incident_energies", "hits/event_offsets"] + [f"hits/{k}" for k in HIT_FIELDS]
    missing = [k for k in needed if k not in f]
    if missing:
        raise DataFormatError(f"{path}: missing dataset(s) {missing}; a hit file has {needed}")
    for key in needed:
        ds = f[key]
        dtype = getattr(ds, "dtype", None)
        if dtype is None or dtype.kind not in "iuf":
            raise DataFormatError(
                f"{path}: field '{key}' must be numeric, found "
                f"{'a group' if dtype is None else f'dtype {dtype}'}"
            )
    n_hits = f["hits/energy"].shape[0]
    for k in HIT_FIELDS:
        if f[f"hits/{k}"].shape != (n_hits,):
            raise DataFormatError(
                f"{path}: field 'hits/{k}' has shape {f[f'hits/{k}'].shape}; expected "
                f"({n_hits},) like 'hits/energy'"
            )


def iter_hits(path: str | os.PathLike[str], chunk_events: int = 10_000) -> Iterator[HitShowers]:
    """Stream a hit file in blocks of ``chunk_events`` showers (each validated)."""
    path = Path(path)
    with open_h5(path) as f:
        _check_layout(f, path)
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        try:
            offsets = np.asarray(f["hits/event_offsets"][:], dtype=np.int64)
            n = int(f["incident_energies"].shape[0])
            if offsets.shape != (n + 1,):
                raise DataFormatError(
                    f"{path}: field 'hits/event_offsets' has shape {offsets.shape}; "
                    f"expected ({n + 1},) for {n} events"
                )
            _check_offsets(offsets, int(f["hits/energy"].shape[0]), str(path))
            for start in range(0, n, chunk_events):
                stop = min(n, start + chunk_events)
                a, b = int(offsets[start]), int(offsets[stop])
                cols = {k: np.asarray(f[f"hits/{k}"][a:b]) for k in HIT_FIELDS}
                inc = np.asarray(f["incident_energies"][start:stop], dtype=np.float64).reshape(-1)
                try:
                    yield HitShowers(inc, offsets[start : stop + 1] - a, attrs=attrs, **cols)
                except DataFormatError as err:
                    raise DataFormatError(str(err).replace("<hits>", str(path))) from err
        except (OSError, RuntimeError) as err:
            raise DataFormatError(
                f"{path}: cannot read hits (truncated or corrupt: {err})"
            ) from err


def read_hits(path: str | os.PathLike[str]) -> HitShowers:
    """Read a whole hit file into memory (validated)."""
    blocks = list(iter_hits(path, chunk_events=1 << 62))
    if not blocks:
        raise DataFormatError(f"{path}: holds no events")
    return blocks[0]


class HitWriter(AtomicH5Writer):
    """Append hit showers block by block; the file appears atomically on close."""

    def __init__(self, path: str | os.PathLike[str], attrs: Mapping[str, Any] | None = None):
        super().__init__(path)
        self._file.attrs["format"] = HIT_FORMAT
        for key, value in (attrs or {}).items():
            self._file.attrs[key] = value
        kw: dict[str, Any] = {"compression": "gzip", "compression_opts": 4}
        self._inc = self._file.create_dataset(
            "incident_energies",
            (0, 1),
            maxshape=(None, 1),
            dtype=np.float64,
            chunks=(4096, 1),
            **kw,
        )
        self._off = self._file.create_dataset(
            "hits/event_offsets", (1,), maxshape=(None,), dtype=np.int64, chunks=(4096,), **kw
        )
        self._off[0] = 0
        self._cols = {
            k: self._file.create_dataset(
                f"hits/{k}", (0,), maxshape=(None,), dtype=dt, chunks=(65536,), **kw
            )
            for k, dt in HIT_FIELDS.items()
        }
        self.n_events = 0
        self.n_hits = 0

    def append(self, hits: HitShowers) -> None:
        """Append the showers of ``hits`` after those already written."""
        e0, e1 = self.n_events, self.n_events + hits.n_events
        h0, h1 = self.n_hits, self.n_hits + hits.n_hits
        self._inc.resize((e1, 1))
        self._inc[e0:e1] = hits.incident_energies.reshape(-1, 1)
        self._off.resize((e1 + 1,))
        self._off[e0 + 1 : e1 + 1] = hits.event_offsets[1:] + h0
        for k, ds in self._cols.items():
            ds.resize((h1,))
            ds[h0:h1] = getattr(hits, k)
        self.n_events, self.n_hits = e1, h1
        self.check_io()


def write_hits(path: str | os.PathLike[str], hits: HitShowers) -> Path:
    """Write hit showers to ``path`` atomically."""
    with HitWriter(path, hits.attrs) as w:
        w.append(hits)
    return Path(path)
