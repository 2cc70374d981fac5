"""ATLAS EM barrel cells around the impact cell (ATL-SOFT-PUB-2018-001), as an incidence.

The photon enters at (eta, phi) from the interaction point; the *impact cell* is the middle
(EMB2) cell that contains it. Each layer reads a window of cells around it (eta x phi):
presampler 7 x 3, strips 56 x 3, middle 7 x 7, back 4 x 7 (266 cells). Granularities
(eta x phi): presampler 0.025 x 2pi/64, strips 0.025/8 x 2pi/64, middle 0.025 x 2pi/256, back
0.05 x 2pi/256 (the note's 0.1 and 0.0245 are these phi widths rounded).

Cell boundaries are aligned across layers in eta (8 strips and 1 presampler cell per middle
cell, 2 middle cells per back cell) and in phi (4 middle cells per presampler or strip cell),
so windows are placed as follows, with ``i`` and ``j`` the impact cell's eta and phi indices:

* middle: eta cells ``i-3 .. i+3``, phi cells ``j-3 .. j+3``;
* presampler and strips: in eta the seven middle cells' span, in phi the three cells of width
  2pi/64 centred on the one containing the impact cell; *phi alignment* ``j mod 4`` (0-3) says
  which quarter of it the impact cell is;
* back: in phi as the middle; in eta the four cells of width 0.05 whose span is centred closest
  to the impact cell: cells ``k-2+e .. k+1+e`` with ``k = i // 2`` and *eta alignment*
  ``e = i mod 2`` (0-1).

Cells are projective, so the shower axis crosses every layer at the photon's (eta, phi): no
depth dependence. At radius r a transverse distance d (mm, perpendicular to the track)
corresponds to ``d / r`` in eta and in phi, so each layer's window is a Cartesian grid of cells
of ``(d_eta r, d_phi r)`` mm at its representative radius (built-in geometry ``atlas-cells``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..data import ALIGNMENT_NAMES
from .detector import Beam, EtaRange, Tracks

__all__ = [
    "ALIGNMENT_NAMES",
    "CELL_WINDOWS",
    "LAYER_RADIUS_MM",
    "AtlasCellsIncidence",
    "CellWindow",
    "window_centres",
    "window_position",
]

F64 = npt.NDArray[np.float64]

MIDDLE_DETA = 0.025
MIDDLE_DPHI = 2.0 * math.pi / 256.0
STRIP_DPHI = 2.0 * math.pi / 64.0

#: Representative radius of each layer (mm): EMB1-3 mid-depth radii of the design note
#: (section 3, [ML-geo]); the presampler in the middle of its 1410-1460 mm [E].
LAYER_RADIUS_MM: dict[int, float] = {0: 1435.0, 1: 1532.0, 2: 1724.0, 3: 1923.0}


@dataclass(frozen=True)
class CellWindow:
    """One layer's window: cells and their size in (eta, phi) units.

    Attributes:
        layer_id: ATLAS sampling id.
        name: the sampling name.
        cells: ``(n_eta, n_phi)``.
        d_eta, d_phi: cell size.
    """

    layer_id: int
    name: str
    cells: tuple[int, int]
    d_eta: float
    d_phi: float

    @property
    def cell_size_mm(self) -> tuple[float, float]:
        """The cell size in mm at the layer's representative radius."""
        r = LAYER_RADIUS_MM[self.layer_id]
        return (self.d_eta * r, self.d_phi * r)


CELL_WINDOWS: tuple[CellWindow, ...] = (
    CellWindow(0, "PreSamplerB", (7, 3), MIDDLE_DETA, STRIP_DPHI),
    CellWindow(1, "EMB1", (56, 3), MIDDLE_DETA / 8.0, STRIP_DPHI),
    CellWindow(2, "EMB2", (7, 7), MIDDLE_DETA, MIDDLE_DPHI),
    CellWindow(3, "EMB3", (4, 7), 2.0 * MIDDLE_DETA, MIDDLE_DPHI),
)


def window_centres(eta: F64, phi: F64) -> tuple[F64, npt.NDArray[np.int64]]:
    """Window centres of the four layers and the alignments, for photons at (eta, phi).

    Args:
        eta: shape ``(n,)``, the photon's eta (the barrel's eta > 0 side).
        phi: shape ``(n,)``, rad in [0, 2 pi).

    Returns:
        ``(centres, alignment)``: centres shape ``(n, 4, 2)`` (eta, phi) of each layer's
        window in ``CELL_WINDOWS`` order; alignment shape ``(n, 2)`` (phi 0-3, eta 0-1).

    >>> c, a = window_centres(np.array([0.2126]), np.array([3.5 * MIDDLE_DPHI]))
    >>> a.tolist(), round(float(c[0, 2, 0]), 4), round(float(c[0, 3, 0]), 4)
    ([[3, 0]], 0.2125, 0.2)
    """
    i = np.floor(eta / MIDDLE_DETA).astype(np.int64)
    j = np.floor(phi / MIDDLE_DPHI).astype(np.int64)
    eta_mid = (i + 0.5) * MIDDLE_DETA
    phi_mid = (j + 0.5) * MIDDLE_DPHI
    phi_strip = (j // 4 + 0.5) * STRIP_DPHI
    e = i % 2
    eta_back = (i // 2 + e) * 2.0 * MIDDLE_DETA
    centres = np.stack(
        [
            np.stack([eta_mid, phi_strip], axis=1),
            np.stack([eta_mid, phi_strip], axis=1),
            np.stack([eta_mid, phi_mid], axis=1),
            np.stack([eta_back, phi_mid], axis=1),
        ],
        axis=1,
    )
    return centres, np.stack([j % 4, e], axis=1)


def window_position(
    layer_id: int,
    eta: npt.ArrayLike,
    phi: npt.ArrayLike,
    eta_photon: npt.ArrayLike,
    phi_photon: npt.ArrayLike,
) -> tuple[F64, F64]:
    """Where points at (eta, phi) lie in layer ``layer_id``'s window frame (mm).

    The window is the one of photons at (``eta_photon``, ``phi_photon``); the frame is that of
    the ``atlas-cells`` geometry's layer (:func:`~fastcalogan.geometry.cell_slots` places the
    result in its cell).
    """
    pos = [w.layer_id for w in CELL_WINDOWS].index(layer_id)
    centres, _ = window_centres(
        np.atleast_1d(np.asarray(eta_photon, dtype=np.float64)),
        np.atleast_1d(np.asarray(phi_photon, dtype=np.float64)),
    )
    r = LAYER_RADIUS_MM[layer_id]
    d_phi = np.mod(np.asarray(phi) - centres[:, pos, 1] + math.pi, 2.0 * math.pi) - math.pi
    return (np.asarray(eta) - centres[:, pos, 0]) * r, d_phi * r


@dataclass(frozen=True)
class AtlasCellsIncidence(EtaRange):
    """Photons in an |eta| slice of the barrel, read in cell windows around the impact cell.

    Draws |eta| as :class:`~fastcalogan.simulate.EtaSlice` does, then phi uniformly; stores
    the alignments (:data:`ALIGNMENT_NAMES`) as conditions.
    """

    condition_names: tuple[str, ...] = ALIGNMENT_NAMES

    def _tracks(self, rng: np.random.Generator, beam: Beam) -> Tracks:
        """|eta| and phi per event; the shower axis in each window's frame."""
        n, layer_ids = beam.n, beam.layer_ids
        eta = self._abs_eta(rng, n)
        phi = np.asarray(rng.uniform(0.0, 2.0 * math.pi, n), dtype=np.float64)
        centres, alignment = window_centres(eta, phi)
        origin = np.zeros((n, len(layer_ids), 2))
        for pos, window in enumerate(CELL_WINDOWS):
            if window.layer_id in layer_ids:
                r = LAYER_RADIUS_MM[window.layer_id]
                li = layer_ids.index(window.layer_id)
                origin[:, li, 0] = (eta - centres[:, pos, 0]) * r
                origin[:, li, 1] = (phi - centres[:, pos, 1]) * r
        return Tracks(np.cosh(eta), origin_mm=origin, conditions=alignment.astype(np.float64))

    def describe(self) -> str:
        """``|eta| 0.20-0.25, cell windows around the impact cell``."""
        return f"{super().describe()}, cell windows around the impact cell"
