"""Plot functions: each draws on a given matplotlib ``Axes`` and returns the artists.

They compute no metrics and write no files; the numbers they show (histogram counts,
ratios of precomputed values, chi2/NDF labels) come from the evaluation's outputs.
Histograms are drawn with mplhep (imported when a function runs: mplhep imports pyplot,
which importing this module must not). Densities are per unit of the x axis: per unit of x
on a linear axis, per unit of log10(x) on a logarithmic one, and normalised to all entries,
under- and overflow included, so that the drawn area is the fraction inside the axis; the
entries outside are written in the panel, never folded into the edge bins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import Normalize
from matplotlib.container import Container
from matplotlib.projections.polar import PolarAxes

__all__ = [
    "GENERATED_STYLE",
    "REFERENCE_STYLE",
    "density",
    "flow_text",
    "plot_chi2_vs_iteration",
    "plot_histograms",
    "plot_losses",
    "plot_polar_layer",
    "plot_ratio",
    "plot_ratio_vs_energy",
    "plot_vs_energy",
]

#: What plot functions return: artists, or containers of artists (error bars).
PlotItem = Artist | Container

REFERENCE_STYLE: dict[str, Any] = {"color": "0.35", "label": "reference"}
GENERATED_STYLE: dict[str, Any] = {"color": "#d62728", "label": "generated"}


def density(
    counts: npt.ArrayLike, edges: npt.ArrayLike, total: float | None = None, log_x: bool = False
) -> npt.NDArray[np.float64]:
    """Counts per entry and per unit of x (or of log10 x with ``log_x``), ``(n_bins,)``.

    Args:
        counts: ``(n_bins,)``.
        edges: ``(n_bins + 1,)``; positive with ``log_x``.
        total: entries to normalise to (default: the counts' sum; pass the sum with the
            under- and overflow so that the area is the fraction inside the edges).
        log_x: divide by the widths in log10(x), as a log axis shows them.

    >>> density([1, 3], [1.0, 10.0, 100.0], log_x=True).tolist()
    [0.25, 0.75]
    """
    c = np.asarray(counts, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    n = float(c.sum()) if total is None else float(total)
    widths = np.diff(np.log10(e)) if log_x else np.diff(e)
    if n <= 0:
        return np.zeros_like(c)
    return c / (n * widths)


def flow_text(
    reference_flow: npt.ArrayLike | None,
    generated_flow: npt.ArrayLike | None,
    n_reference: float,
    n_generated: float,
) -> str | None:
    """One line on the entries outside the edges, or ``None`` when there are none.

    >>> flow_text([1, 0], [0, 30], 100, 100)
    'outside (below / above): ref 1 / 0 %, gen 0 / 30 %'
    """
    if reference_flow is None or generated_flow is None:
        return None
    rf = np.asarray(reference_flow, dtype=np.float64)
    gf = np.asarray(generated_flow, dtype=np.float64)
    if not (rf.any() or gf.any()):
        return None
    r = 100 * rf / n_reference if n_reference else np.zeros(2)
    g = 100 * gf / n_generated if n_generated else np.zeros(2)
    return f"outside (below / above): ref {r[0]:.2g} / {r[1]:.2g} %, gen {g[0]:.2g} / {g[1]:.2g} %"


def plot_histograms(
    ax: Axes,
    edges: npt.ArrayLike,
    reference: npt.ArrayLike,
    generated: npt.ArrayLike,
    *,
    reference_flow: npt.ArrayLike | None = None,
    generated_flow: npt.ArrayLike | None = None,
    xlabel: str = "",
    log_x: bool = False,
    log_y: bool = False,
    annotation: str | None = None,
    legend: bool = False,
    show_flow: bool = True,
) -> list[PlotItem]:
    """Reference (filled) and generated (line with Poisson errors) densities on ``edges``.

    Args:
        ax: target axes.
        edges: bin edges, ``(n_bins + 1,)``.
        reference, generated: counts inside the edges, ``(n_bins,)``.
        reference_flow, generated_flow: entries below / above the edges, ``(2,)``; they
            count in the normalisation and are written in the panel.
        xlabel: x-axis label with its unit.
        log_x, log_y: logarithmic axes (with ``log_x`` the density is per log10 x).
        annotation: text in the upper right corner (e.g. chi2/NDF and separation power).
        legend: draw a legend.
        show_flow: write the entries outside the edges under the annotation (callers that
            write it elsewhere, see :func:`flow_text`, pass False).
    """
    import mplhep

    e = np.asarray(edges, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    g = np.asarray(generated, dtype=np.float64)
    rf = np.zeros(2) if reference_flow is None else np.asarray(reference_flow, dtype=np.float64)
    gf = np.zeros(2) if generated_flow is None else np.asarray(generated_flow, dtype=np.float64)
    n_r, n_g = r.sum() + rf.sum(), g.sum() + gf.sum()
    log_edges = log_x and e[0] > 0
    dr = density(r, e, n_r, log_edges)
    dg = density(g, e, n_g, log_edges)
    scale_g = np.divide(dg, g, out=np.zeros_like(dg), where=g > 0)
    artists: list[PlotItem] = []
    artists += _flat(
        mplhep.histplot(
            dr,
            e,
            ax=ax,
            histtype="fill",
            alpha=0.4,
            color=REFERENCE_STYLE["color"],
            label=REFERENCE_STYLE["label"],
            flow="none",
        )
    )
    artists += _flat(
        mplhep.histplot(
            dg,
            e,
            ax=ax,
            yerr=np.sqrt(g) * scale_g,
            histtype="step",
            lw=1.8,
            color=GENERATED_STYLE["color"],
            label=GENERATED_STYLE["label"],
            flow="none",
        )
    )
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlim(e[0], e[-1])
    flow = flow_text(rf, gf, n_r, n_g) if show_flow else None
    texts = [t for t in (annotation, flow) if t]
    n_lines = sum(t.count("\n") + 1 for t in texts)
    headroom = 1.15 + 0.09 * n_lines + (0.2 if legend else 0.0)
    ax.set_ylim(bottom=None if log_y else 0.0, top=_top(dr, dg, log_y, headroom))
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$1/N\;dN/d\log_{10}x$" if log_edges else r"$1/N\;dN/dx$")
    if texts:
        artists.append(
            ax.text(
                0.97,
                0.96,
                "\n".join(texts),
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize="small",
                linespacing=1.3,
            )
        )
    if legend:
        artists.append(ax.legend(loc="upper left", frameon=False, fontsize="small"))
    return artists


def _flat(items: Any) -> list[PlotItem]:
    """The drawn artists of mplhep's named tuples (step patch, error bars)."""
    out: list[PlotItem] = []
    for item in items:
        for a in (getattr(item, "stairs", None), getattr(item, "errorbar", None)):
            if isinstance(a, Artist | Container) and not any(a is b for b in out):
                out.append(a)
    return out


def _top(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], log: bool, factor: float
) -> float | None:
    """Headroom above the highest bin (``factor`` times it) for the legend and the text."""
    top = float(max(a.max(initial=0.0), b.max(initial=0.0)))
    if top <= 0:
        return None
    return top * (factor**4 * 10.0 if log else factor)


def plot_ratio(
    ax: Axes,
    edges: npt.ArrayLike,
    reference: npt.ArrayLike,
    generated: npt.ArrayLike,
    *,
    reference_flow: npt.ArrayLike | None = None,
    generated_flow: npt.ArrayLike | None = None,
    ylim: tuple[float, float] = (0.5, 1.5),
    log_x: bool = False,
    xlabel: str = "",
) -> list[PlotItem]:
    """Generated / reference of the normalised densities, with Poisson errors of both.

    Ratios outside ``ylim`` are drawn as arrows at the edge, pointing where they went.
    """
    e = np.asarray(edges, dtype=np.float64)
    n = np.asarray(reference, dtype=np.float64)
    m = np.asarray(generated, dtype=np.float64)
    n_tot = n.sum() + (0.0 if reference_flow is None else float(np.sum(reference_flow)))
    m_tot = m.sum() + (0.0 if generated_flow is None else float(np.sum(generated_flow)))
    ok = (n > 0) & (m > 0)
    ratio = np.full(n.shape, np.nan)
    err = np.full(n.shape, np.nan)
    if n_tot > 0 and m_tot > 0:
        ratio[ok] = (m[ok] / m_tot) / (n[ok] / n_tot)
        err[ok] = ratio[ok] * np.sqrt(1.0 / n[ok] + 1.0 / m[ok])
    centres = np.sqrt(e[1:] * e[:-1]) if log_x and e[0] > 0 else 0.5 * (e[1:] + e[:-1])
    lo, hi = ylim
    inside = ok & (ratio >= lo) & (ratio <= hi)
    artists: list[PlotItem] = [ax.axhline(1.0, color="0.4", lw=1.0)]
    artists.append(
        ax.errorbar(
            centres[inside],
            ratio[inside],
            yerr=err[inside],
            fmt="o",
            ms=3.5,
            lw=1.0,
            color=GENERATED_STYLE["color"],
        )
    )
    pad = 0.06 * (hi - lo)
    for mask, y, marker in ((ok & (ratio > hi), hi - pad, "^"), (ok & (ratio < lo), lo + pad, "v")):
        if mask.any():
            artists.append(
                ax.scatter(
                    centres[mask],
                    np.full(mask.sum(), y),
                    marker=marker,
                    s=22,
                    color=GENERATED_STYLE["color"],
                    clip_on=False,
                )
            )
    ax.set_ylim(lo, hi)
    ax.set_ylabel("gen / ref")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlim(e[0], e[-1])
    if xlabel:
        ax.set_xlabel(xlabel)
    return artists


def _arr(v: Sequence[float | None]) -> npt.NDArray[np.float64]:
    return np.array([np.nan if x is None else x for x in v], dtype=np.float64)


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
    """A quantity (response, resolution) against the incident energy in GeV (log x)."""
    e = np.asarray(energies, dtype=np.float64) / 1000.0
    artists: list[PlotItem] = []
    for vals, errs, style, marker in (
        (reference, reference_error, REFERENCE_STYLE, "o"),
        (generated, generated_error, GENERATED_STYLE, "s"),
    ):
        artists.append(
            ax.errorbar(
                e,
                _arr(vals),
                yerr=None if errs is None else _arr(errs),
                fmt=marker,
                ms=6,
                lw=1.2,
                capsize=2,
                mfc="none" if marker == "s" else None,
                **style,
            )
        )
    ax.set_xscale("log")
    ax.set_ylabel(ylabel)
    if legend:
        artists.append(ax.legend(frameon=False, fontsize="small"))
    return artists


def plot_ratio_vs_energy(
    ax: Axes,
    energies: npt.ArrayLike,
    ratio: Sequence[float | None],
    ratio_error: Sequence[float | None] | None = None,
    *,
    ylim: tuple[float, float] | None = None,
) -> list[PlotItem]:
    """A precomputed generated/reference ratio against the incident energy in GeV."""
    e = np.asarray(energies, dtype=np.float64) / 1000.0
    err = None if ratio_error is None else _arr(ratio_error)
    artists: list[PlotItem] = [ax.axhline(1.0, color="0.4", lw=1.0)]
    artists.append(
        ax.errorbar(
            e, _arr(ratio), yerr=err, fmt="s", ms=5, capsize=2, color=GENERATED_STYLE["color"]
        )
    )
    ax.set_xscale("log")
    ax.set_xlabel(r"$E_\mathrm{inc}$ [GeV]")
    ax.set_ylabel("gen / ref", fontsize="small")  # fits the short ratio panel
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
    """One layer's voxel values on a polar axes (``projection="polar"``).

    The radial axis shows the r-bin number (bins have very different widths in mm); the
    outer edge of every other bin is labelled in mm. Non-positive values stay blank.

    Args:
        ax: a polar axes.
        r_edges: radial edges in mm, ``(n_r + 1,)``.
        n_alpha: alpha bins over (-pi, pi].
        values: per-voxel values in CaloChallenge order (alpha outer, r inner),
            ``(n_alpha * n_r,)``.
        norm: colour normalisation (share one between the panels compared).
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
    # two labels (the middle bin's outer edge and the layer's outer edge) stay legible
    ticks = np.unique([max(1, n_r // 2), n_r]).astype(np.float64)
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"{edges[int(t)]:g} mm" for t in ticks], fontsize="small")
    if isinstance(ax, PolarAxes):
        ax.set_rlabel_position(292.5)  # lower right, clear of the title
    ax.set_xticks([])
    ax.grid(False)
    artists: list[PlotItem] = [mesh]
    if title:
        artists.append(ax.set_title(title, fontsize="medium"))
    return artists


def plot_losses(
    ax: Axes,
    iteration: npt.ArrayLike,
    curves: Mapping[str, npt.ArrayLike],
    *,
    smooth: int = 1,
) -> list[PlotItem]:
    """Training losses against the iteration, optionally as running means over ``smooth`` logs."""
    it = np.asarray(iteration, dtype=np.float64)
    artists: list[PlotItem] = []
    for name, values in curves.items():
        v = np.asarray(values, dtype=np.float64)
        if smooth > 1 and len(v) >= smooth:
            kernel = np.ones(smooth) / smooth
            v = np.convolve(v, kernel, mode="valid")
            x = it[smooth - 1 :]
        else:
            x = it
        (line,) = ax.plot(x, v, lw=1.5, label=name.replace("_", " "))
        artists.append(line)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    artists.append(ax.legend(frameon=False, fontsize="small"))
    return artists


def plot_chi2_vs_iteration(
    ax: Axes,
    iteration: npt.ArrayLike,
    chi2_ndf: npt.ArrayLike,
    *,
    best: float | None = None,
    label: str = r"$\chi^2/\mathrm{NDF}$ of $E_\mathrm{tot}$",
) -> list[PlotItem]:
    """The selection's chi2/NDF per checkpoint (log y), the chosen one marked."""
    it = np.asarray(iteration, dtype=np.float64)
    c = np.asarray(chi2_ndf, dtype=np.float64)
    artists: list[PlotItem] = []
    (line,) = ax.plot(it, c, "o-", ms=4, lw=1.2, color="tab:blue", label="checkpoints")
    artists.append(line)
    if best is not None:
        sel = it == best
        if sel.any():
            artists.append(
                ax.scatter(
                    it[sel],
                    c[sel],
                    s=120,
                    marker="*",
                    color=GENERATED_STYLE["color"],
                    zorder=3,
                    label=f"selected ({int(best)})",
                )
            )
    if np.all(c[np.isfinite(c)] > 0) and np.isfinite(c).any():
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(label)
    artists.append(ax.legend(frameon=False, fontsize="small"))
    return artists
