"""Plot functions: each draws on a given matplotlib ``Axes`` and returns the artists.

They compute no metrics and write no files; the numbers they show (histogram counts,
ratios of precomputed values, chi2/NDF labels) come from the evaluation's outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import Normalize
from matplotlib.container import Container

__all__ = [
    "GENERATED_STYLE",
    "REFERENCE_STYLE",
    "plot_histograms",
    "plot_polar_layer",
    "plot_ratio",
    "plot_ratio_vs_energy",
    "plot_vs_energy",
]

#: What plot functions return: artists, or containers of artists (error bars).
PlotItem = Artist | Container

REFERENCE_STYLE: dict[str, Any] = {"color": "0.25", "label": "reference"}
GENERATED_STYLE: dict[str, Any] = {"color": "tab:red", "label": "generated"}


def _normalised(counts: npt.ArrayLike, edges: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    return c / (total * np.diff(edges)) if total > 0 else c


def plot_histograms(
    ax: Axes,
    edges: npt.ArrayLike,
    reference: npt.ArrayLike,
    generated: npt.ArrayLike,
    *,
    xlabel: str = "",
    log_x: bool = False,
    log_y: bool = False,
    density: bool = True,
    annotation: str | None = None,
    legend: bool = False,
) -> list[PlotItem]:
    """Draw the reference (filled) and generated (line) histograms on common ``edges``.

    Args:
        ax: target axes.
        edges: bin edges, ``(n_bins + 1,)``.
        reference, generated: counts, ``(n_bins,)``.
        xlabel: x-axis label.
        log_x, log_y: logarithmic axes.
        density: normalise each histogram to unit area.
        annotation: text written in the upper right corner (e.g. ``chi2/NDF = 1.2``).
        legend: draw a legend.
    """
    e = np.asarray(edges, dtype=np.float64)
    r = _normalised(reference, e) if density else np.asarray(reference, dtype=np.float64)
    g = _normalised(generated, e) if density else np.asarray(generated, dtype=np.float64)
    artists: list[PlotItem] = []
    artists.append(
        ax.stairs(
            r,
            e,
            fill=True,
            alpha=0.35,
            color=REFERENCE_STYLE["color"],
            label=REFERENCE_STYLE["label"],
        )
    )
    artists.append(ax.stairs(g, e, lw=1.5, **GENERATED_STYLE))
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    if xlabel:
        ax.set_xlabel(xlabel)
    if annotation:
        artists.append(
            ax.text(
                0.97,
                0.95,
                annotation,
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize="small",
            )
        )
    if legend:
        leg = ax.legend(fontsize="small", frameon=False)
        artists.append(leg)
    return artists


def plot_ratio(
    ax: Axes,
    edges: npt.ArrayLike,
    reference: npt.ArrayLike,
    generated: npt.ArrayLike,
    *,
    ylim: tuple[float, float] = (0.5, 1.5),
    log_x: bool = False,
    xlabel: str = "",
) -> list[PlotItem]:
    """Draw generated / reference of the normalised histograms with Poisson error bars."""
    e = np.asarray(edges, dtype=np.float64)
    n = np.asarray(reference, dtype=np.float64)
    m = np.asarray(generated, dtype=np.float64)
    rn, gn = _normalised(n, e), _normalised(m, e)
    ok = (n > 0) & (m > 0)
    ratio = np.full(n.shape, np.nan)
    err = np.full(n.shape, np.nan)
    ratio[ok] = gn[ok] / rn[ok]
    err[ok] = ratio[ok] * np.sqrt(1.0 / n[ok] + 1.0 / m[ok])
    centres = np.sqrt(e[1:] * e[:-1]) if log_x and e[0] > 0 else 0.5 * (e[1:] + e[:-1])
    artists: list[PlotItem] = [ax.axhline(1.0, color="0.5", lw=0.8)]
    artists.append(
        ax.errorbar(
            centres[ok],
            ratio[ok],
            yerr=err[ok],
            fmt=".",
            ms=3,
            lw=0.8,
            color=GENERATED_STYLE["color"],
        )
    )
    ax.set_ylim(*ylim)
    ax.set_ylabel("gen/ref", fontsize="small")
    if log_x:
        ax.set_xscale("log")
    if xlabel:
        ax.set_xlabel(xlabel)
    return artists


def plot_vs_energy(
    ax: Axes,
    energies: npt.ArrayLike,
    reference: Sequence[float | None],
    generated: Sequence[float | None],
    reference_error: Sequence[float | None] | None = None,
    generated_error: Sequence[float | None] | None = None,
    *,
    ylabel: str = "",
    legend: bool = True,
) -> list[PlotItem]:
    """Draw a quantity (response, resolution) against incident energy in GeV (log x)."""
    e = np.asarray(energies, dtype=np.float64) / 1000.0

    def arr(v: Sequence[float | None]) -> npt.NDArray[np.float64]:
        return np.array([np.nan if x is None else x for x in v], dtype=np.float64)

    artists: list[PlotItem] = []
    for vals, errs, style, marker in (
        (reference, reference_error, REFERENCE_STYLE, "o"),
        (generated, generated_error, GENERATED_STYLE, "s"),
    ):
        artists.append(
            ax.errorbar(
                e,
                arr(vals),
                yerr=None if errs is None else arr(errs),
                fmt=marker,
                ms=4,
                lw=1.0,
                capsize=2,
                mfc="none" if marker == "s" else None,
                **style,
            )
        )
    ax.set_xscale("log")
    ax.set_ylabel(ylabel)
    if legend:
        artists.append(ax.legend(fontsize="small", frameon=False))
    return artists


def plot_ratio_vs_energy(
    ax: Axes,
    energies: npt.ArrayLike,
    ratio: Sequence[float | None],
    ratio_error: Sequence[float | None] | None = None,
    *,
    ylim: tuple[float, float] | None = None,
) -> list[PlotItem]:
    """Draw a precomputed generated/reference ratio against incident energy in GeV."""
    e = np.asarray(energies, dtype=np.float64) / 1000.0
    r = np.array([np.nan if x is None else x for x in ratio], dtype=np.float64)
    err = (
        None
        if ratio_error is None
        else np.array([np.nan if x is None else x for x in ratio_error], dtype=np.float64)
    )
    artists: list[PlotItem] = [ax.axhline(1.0, color="0.5", lw=0.8)]
    artists.append(
        ax.errorbar(e, r, yerr=err, fmt="s", ms=3, capsize=2, color=GENERATED_STYLE["color"])
    )
    ax.set_xscale("log")
    ax.set_xlabel("E_inc [GeV]")
    ax.set_ylabel("gen/ref", fontsize="small")
    if ylim is not None:
        ax.set_ylim(*ylim)
    return artists


def plot_polar_layer(
    ax: Axes,
    r_edges: npt.ArrayLike,
    n_alpha: int,
    values: npt.ArrayLike,
    *,
    norm: Normalize | None = None,
    cmap: str = "viridis",
    title: str = "",
) -> list[PlotItem]:
    """Draw one layer's voxel values on a polar axes (``projection="polar"``).

    The radial axis shows the r-bin number (bins have very different widths in mm); the
    outer edge of every other bin is labelled in mm.

    Args:
        ax: a polar axes.
        r_edges: radial edges in mm, ``(n_r + 1,)``.
        n_alpha: alpha bins over (-pi, pi].
        values: per-voxel values in CaloChallenge order (alpha outer, r inner),
            ``(n_alpha * n_r,)``.
        norm: colour normalisation (share one between reference and generated).
        cmap: colour map name.
        title: axes title.
    """
    edges = np.asarray(r_edges, dtype=np.float64)
    n_r = len(edges) - 1
    v = np.asarray(values, dtype=np.float64).reshape(n_alpha, n_r)
    # split each alpha bin into straight segments so that rings look round (and a layer
    # without alpha binning, a single bin spanning 2 pi, is drawn at all)
    n_sub = max(1, -(-64 // n_alpha))
    theta = np.linspace(-np.pi, np.pi, n_alpha * n_sub + 1)
    v = np.repeat(v, n_sub, axis=0)
    radius = np.arange(n_r + 1, dtype=np.float64)
    masked = np.ma.masked_less_equal(v.T, 0.0)
    mesh: QuadMesh = ax.pcolormesh(theta, radius, masked, norm=norm, cmap=cmap, shading="flat")
    ticks = radius[2::2]
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"{edges[int(t)]:g}" for t in ticks], fontsize="x-small")
    ax.set_xticks([])
    ax.grid(False)
    artists: list[PlotItem] = [mesh]
    if title:
        artists.append(ax.set_title(title, fontsize="small"))
    return artists
