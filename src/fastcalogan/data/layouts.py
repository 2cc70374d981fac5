"""One entry to every shower-file layout: recognise, read and open a writer by layout name.

``read_showers``, ``iter_showers`` and ``read_shower_attrs`` call :func:`iter_layout` and
:func:`layout_attrs` for any file that is not in the CaloChallenge layout, so every stage reads
CaloGAN, LHCb and ATLAS-cells files unchanged: flat showers in the geometry's voxel order, MeV,
with the layout's per-event conditions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import DataFormatError
from ..geometry import Geometry
from ._detect import LAYOUT_NAMES, detect_layout
from ._layout_io import LayoutBlock, LayoutWriter
from .atlas_cells import AtlasCellsWriter, atlas_cells_attrs, iter_atlas_cells
from .calogan import CaloGANWriter, calogan_attrs, iter_calogan
from .lhcb import LHCbWriter, iter_lhcb, lhcb_attrs, read_lhcb_npz
from .showers import ShowerData, ShowerWriter

__all__ = [
    "LAYOUT_NAMES",
    "LayoutWriter",
    "detect_layout",
    "iter_layout",
    "layout_attrs",
    "open_layout_writer",
]


def layout_attrs(layout: str, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Attributes, ``n_events``, ``n_voxels`` and ``layout`` of a file in a non-CaloChallenge
    layout."""
    if layout == "calogan":
        return calogan_attrs(path)
    if layout in ("lhcb", "lhcb-npz"):
        return lhcb_attrs(path)
    if layout == "atlas-cells":
        return atlas_cells_attrs(path)
    raise DataFormatError(f"{path}: layout '{layout}' is not one of {list(LAYOUT_NAMES)}")


def iter_layout(
    layout: str,
    path: str | os.PathLike[str],
    chunk_events: int,
    binning: Geometry | None,
    max_deposit_ratio: float | None,
) -> Iterator[ShowerData]:
    """Blocks of a file in a non-CaloChallenge layout (at least one, possibly empty)."""
    if layout == "calogan":
        yield from iter_calogan(path, chunk_events, binning, max_deposit_ratio)
    elif layout == "lhcb":
        yield from iter_lhcb(path, chunk_events, binning, max_deposit_ratio)
    elif layout == "atlas-cells":
        yield from iter_atlas_cells(path, chunk_events, binning, max_deposit_ratio)
    elif layout == "lhcb-npz":
        data = read_lhcb_npz(path, max_deposit_ratio=max_deposit_ratio, binning=binning)
        for start in range(0, max(data.n_events, 1), chunk_events):
            mask = np.zeros(data.n_events, dtype=bool)
            mask[start : start + chunk_events] = True
            yield data.select(mask)
    else:
        raise DataFormatError(f"{path}: layout '{layout}' is not one of {list(LAYOUT_NAMES)}")


class _CaloChallengeWriter(LayoutWriter, ShowerWriter):
    """The CaloChallenge writer, taking (and not storing) the overflow."""

    def _append_block(self, block: LayoutBlock) -> None:
        ShowerWriter.append(self, block.incident_energies, block.showers, block.conditions)


class _CaloGANWriter(LayoutWriter, CaloGANWriter):  # type: ignore[misc]
    """The CaloGAN writer, refusing conditions (the layout has none)."""

    def _append_block(self, block: LayoutBlock) -> None:
        if block.conditions is not None and np.asarray(block.conditions).size:
            raise DataFormatError(f"{self.path}: the CaloGAN layout stores no conditions")
        CaloGANWriter.append(self, block.incident_energies, block.showers, block.overflow)


def open_layout_writer(
    layout: str,
    path: str | os.PathLike[str],
    geometry: Geometry,
    attrs: Mapping[str, Any] | None = None,
    condition_names: tuple[str, ...] = (),
) -> LayoutWriter:
    """A writer of ``layout`` (``calochallenge``, ``calogan``, ``lhcb``, ``atlas-cells``)."""
    if layout == "calochallenge":
        return _CaloChallengeWriter(
            path, geometry.n_voxels, attrs, geometry=geometry, condition_names=condition_names
        )
    if layout == "calogan":
        return _CaloGANWriter(path, geometry, attrs)
    if layout == "lhcb":
        return LHCbWriter(path, geometry, attrs)
    if layout == "atlas-cells":
        return AtlasCellsWriter(path, geometry, attrs)
    raise DataFormatError(
        f"{path}: cannot write layout '{layout}' (known: calochallenge, calogan, lhcb, atlas-cells)"
    )
