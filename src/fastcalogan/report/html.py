"""The HTML report: one self-contained page, PNG plots embedded as base64 data URIs.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg canvas chosen
here, so the report never touches pyplot's global backend or ``rcParams``.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import QuadMesh
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from .._fileio import write_text
from ..geometry import Binning, Geometry, geometry_from_mapping
from .plots import (
    plot_histograms,
    plot_polar_layer,
    plot_ratio,
    plot_ratio_vs_energy,
    plot_vs_energy,
)

__all__ = ["write_report"]

_DPI = 72

_LABELS = {
    "e_tot": "E_tot [MeV]",
    "response": "E_tot / E_inc",
    "e_layer": "E_layer [MeV]",
    "fraction": "E_layer / E_tot",
    "centroid_eta": "centroid eta [mm]",
    "centroid_phi": "centroid phi [mm]",
    "width_eta": "width eta [mm]",
    "width_phi": "width phi [mm]",
    "centroid_r": "mean r [mm]",
    "width_r": "width r [mm]",
    "sparsity": "fraction of voxels hit",
    "e_ratio_hottest": "E_ratio (two hottest)",
    "lateral_width": "lateral width [mm]",
    "deepest_layer": "deepest layer (position)",
    "depth_weighted_energy": "sum_i i E_i [MeV]",
    "shower_depth": "shower depth (layer position)",
    "shower_depth_width": "shower depth width",
}


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=_DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "–"
        return f"{v:.{digits}g}"
    return html.escape(str(v))


def _label(name: str) -> str:
    for prefix, label in sorted(_LABELS.items(), key=lambda kv: -len(kv[0])):
        if name == prefix or name.startswith(prefix + "_"):
            suffix = name[len(prefix) + 1 :]
            return f"{label} {suffix}".strip()
    return name


def _has(h: Mapping[str, npt.NDArray[Any]], key: str) -> bool:
    return f"{key}/edges" in h


def _comparison_figure(
    h: Mapping[str, npt.NDArray[Any]],
    keys: Sequence[str],
    titles: Sequence[str],
    annotations: Sequence[str | None],
    ncols: int = 5,
    log_x: Sequence[bool] | None = None,
) -> Figure:
    n = len(keys)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(3.4 * ncols, 3.4 * nrows + 0.3))
    outer = fig.add_gridspec(
        nrows,
        ncols,
        left=0.6 / (3.4 * ncols),
        right=0.98,
        bottom=0.5 / (3.4 * nrows),
        top=1 - 0.35 / (3.4 * nrows),
        wspace=0.35,
        hspace=0.45,
    )
    for i, key in enumerate(keys):
        row, col = divmod(i, ncols)
        inner = outer[row, col].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.06)
        ax = fig.add_subplot(inner[0])
        rax = fig.add_subplot(inner[1], sharex=ax)
        lx = bool(log_x[i]) if log_x is not None else False
        e, r, g = h[f"{key}/edges"], h[f"{key}/reference"], h[f"{key}/generated"]
        plot_histograms(ax, e, r, g, log_x=lx, annotation=annotations[i], legend=i == 0)
        ax.set_title(titles[i], fontsize="small")
        ax.tick_params(labelbottom=False, labelsize="x-small")
        plot_ratio(rax, e, r, g, log_x=lx)
        rax.tick_params(labelsize="x-small")
        _sparse_ticks(ax, rax)
    return fig


def _sparse_ticks(*axes: Axes) -> None:
    """Few ticks, no minor ones: tick creation dominates the drawing time of many panels."""
    for ax in axes:
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_minor_locator(NullLocator())
        if ax.get_xscale() == "log":
            ax.xaxis.set_major_locator(LogLocator(numticks=4))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.xaxis.set_minor_locator(NullLocator())


def _chi2_label(metrics: Mapping[str, Any], name: str, point: int | None = None) -> str | None:
    obs = (metrics.get("observables") or {}).get(name)
    if not obs:
        return None
    if point is None:
        v, s = obs.get("chi2_ndf"), obs.get("separation")
        return f"χ²/NDF {_fmt(v, 3)}\nsep {_fmt(s, 2)}"
    v = obs["per_energy"]["chi2_ndf"][point]
    return f"χ²/NDF = {_fmt(v, 3)}"


def _energy_label(e: float) -> str:
    return f"{e / 1000:.3g} GeV" if e >= 1000 else f"{e:.3g} MeV"


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if isinstance(c, str) else _fmt(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _binning(metrics: Mapping[str, Any]) -> Geometry:
    return geometry_from_mapping(metrics["binning"], "metrics: binning")


def _headline_table(metrics: Mapping[str, Any]) -> str:
    hl = metrics.get("headline") or {}
    rows = [
        ("χ²/NDF of E_tot (all energy points)", hl.get("chi2_ndf_e_tot"), ""),
        ("mean χ²/NDF over observables", hl.get("chi2_ndf_mean"), ""),
        ("mean separation power", hl.get("separation_mean"), ""),
        ("max |response ratio − 1|", hl.get("response_ratio_max_deviation"), ""),
        ("max |resolution ratio − 1|", hl.get("resolution_ratio_max_deviation"), ""),
        ("FPD", hl.get("fpd"), f"± {_fmt(hl.get('fpd_error'), 2)}"),
        ("KPD", hl.get("kpd"), f"± {_fmt(hl.get('kpd_error'), 2)}"),
        ("classifier AUC (voxels)", hl.get("auc_voxels"), "0.5 = indistinguishable"),
        ("classifier AUC (high-level features)", hl.get("auc_features"), ""),
        ("NN memorisation ratio", hl.get("nn_memorisation_ratio"), "≪ 1: copies training"),
        ("NN collapse ratio", hl.get("nn_collapse_ratio"), "≪ 1: mode collapse"),
    ]
    return _table([(a, b, c) for a, b, c in rows], ("metric", "value", "note"))


def _observable_table(metrics: Mapping[str, Any]) -> str:
    obs = metrics.get("observables") or {}
    rows = sorted(
        ((k, v.get("chi2_ndf"), v.get("separation")) for k, v in obs.items()),
        key=lambda t: -(t[1] if t[1] is not None else -1.0),
    )
    spec = metrics.get("voxel_spectrum") or {}
    rows.append(("voxel_spectrum (log10 E)", spec.get("chi2_ndf"), spec.get("separation")))
    return _table(rows, ("observable", "χ²/NDF (sum over E points)", "separation (mean)"))


def write_report(
    metrics: Mapping[str, Any],
    histograms: Mapping[str, npt.NDArray[Any]],
    out_dir: str | os.PathLike[str],
    title: str | None = None,
) -> Path:
    """Write ``index.html`` into ``out_dir`` and return its path.

    One self-contained page: PNG plots are embedded as base64 data URIs (no side files).
    Sections: headline metrics, E_tot per energy point with chi2/NDF, response and
    resolution vs energy, per-layer energies, centroids and widths, CaloGAN shower shapes,
    the mean shower per layer as polar images, the voxel spectrum, nearest-neighbour
    distances and the table of every observable.

    Args:
        metrics: the content of ``metrics.json`` (see :func:`fastcalogan.evaluate.evaluate`).
        histograms: the content of ``histograms.npz``.
        out_dir: output folder.
        title: page title (default: particle and the two file names).
    """
    h = histograms
    binning = _binning(metrics)
    names = list(binning.layer_names)
    alpha = [binning.layer(i).name for i in binning.transverse_layer_ids]
    inputs = metrics.get("inputs") or {}
    if title is None:
        title = (
            f"{inputs.get('particle', '')}: {Path(str(inputs.get('generated', ''))).name} vs "
            f"{Path(str(inputs.get('reference', ''))).name}"
        )
    sections: list[tuple[str, str]] = []

    def figure(heading: str, fig: Figure, note: str = "") -> None:
        text = f"<p>{html.escape(note)}</p>" if note else ""
        img = f'<img alt="{html.escape(heading)}" src="data:image/png;base64,{_png(fig)}">'
        sections.append((heading, text + img))

    sections.append(("Headline metrics", _headline_table(metrics)))

    energies = [float(e) for e in np.asarray(h.get("energies", []))]
    keys = [f"e_tot/{i}" for i in range(len(energies)) if _has(h, f"e_tot/{i}")]
    if keys:
        idx = [int(k.split("/")[1]) for k in keys]
        figure(
            "Total energy per incident energy",
            _comparison_figure(
                h,
                keys,
                [f"E_inc = {_energy_label(energies[i])}" for i in idx],
                [_chi2_label(metrics, "e_tot", i) for i in idx],
            ),
            "E_tot per energy point, normalised; χ²/NDF on 0.1-99.9 % reference-quantile bins.",
        )

    resp, reso = metrics.get("response"), metrics.get("resolution")
    if resp and reso:
        fig = Figure(figsize=(10, 4.5))
        grid = fig.add_gridspec(
            2,
            2,
            height_ratios=[3, 1],
            hspace=0.06,
            wspace=0.25,
            left=0.08,
            right=0.98,
            bottom=0.12,
            top=0.96,
        )
        for col, (d, label) in enumerate(((resp, "<E_tot/E_inc>"), (reso, "RMS/mean of E_tot"))):
            ax = fig.add_subplot(grid[0, col])
            rax = fig.add_subplot(grid[1, col], sharex=ax)
            plot_vs_energy(
                ax,
                d["energy"],
                d["reference"],
                d["generated"],
                d["reference_error"],
                d["generated_error"],
                ylabel=label,
            )
            ax.tick_params(labelbottom=False)
            plot_ratio_vs_energy(rax, d["energy"], d["ratio"], d["ratio_error"])
        figure("Response and resolution", fig)

    def pooled(prefix: str, cols: Sequence[str], heading: str) -> None:
        keys = [f"pooled/{prefix}_{c}" for c in cols if _has(h, f"pooled/{prefix}_{c}")]
        if not keys:
            return
        obs_names = [k.split("/", 1)[1] for k in keys]
        figure(
            heading,
            _comparison_figure(
                h,
                keys,
                [_label(n) for n in obs_names],
                [_chi2_label(metrics, n) for n in obs_names],
                log_x=[prefix in ("e_layer",) for _ in keys],
            ),
        )

    pooled("e_layer", names, "Energy per layer")
    pooled("fraction", names, "Energy fraction per layer")
    for prefix in ("centroid_eta", "centroid_phi", "width_eta", "width_phi"):
        pooled(prefix, alpha, f"{_LABELS[prefix]} per layer")
    pooled("centroid_r", names, "Radial centroid per layer")
    pooled("width_r", names, "Radial width per layer")
    pooled("sparsity", names, "Sparsity per layer")
    pooled("e_ratio_hottest", names, "E_ratio of the two hottest voxels per layer")
    pooled("lateral_width", names, "Lateral width per layer")
    shape_keys = [
        f"pooled/{n}"
        for n in (
            "response",
            "deepest_layer",
            "depth_weighted_energy",
            "shower_depth",
            "shower_depth_width",
        )
        if _has(h, f"pooled/{n}")
    ]
    if shape_keys:
        obs_names = [k.split("/", 1)[1] for k in shape_keys]
        figure(
            "Response and longitudinal shower shapes (all energies)",
            _comparison_figure(
                h,
                shape_keys,
                [_label(n) for n in obs_names],
                [_chi2_label(metrics, n) for n in obs_names],
                log_x=[n == "depth_weighted_energy" for n in obs_names],
            ),
        )

    # the mean-shower images are drawn in (r, alpha): polar binnings only
    has_mean = "mean_shower/reference" in h and "mean_shower/generated" in h
    if isinstance(binning, Binning) and has_mean:
        mr, mg = np.asarray(h["mean_shower/reference"]), np.asarray(h["mean_shower/generated"])
        n_lay = binning.n_layers
        fig = Figure(figsize=(2.8 * n_lay, 6.0))
        fig.subplots_adjust(left=0.03, right=0.97, bottom=0.1, top=0.93, wspace=0.35, hspace=0.3)
        for j, lay in enumerate(binning.layers):
            sl = binning.layer_slice(lay.layer_id)
            both = np.concatenate([mr[sl], mg[sl]])
            pos = both[both > 0]
            norm = LogNorm(pos.min(), pos.max()) if pos.size and pos.max() > pos.min() else None
            pair = []
            mesh = None
            for row, (vals, who) in enumerate(((mr, "reference"), (mg, "generated"))):
                ax = fig.add_subplot(2, n_lay, row * n_lay + j + 1, projection="polar")
                items = plot_polar_layer(
                    ax,
                    lay.r_edges,
                    lay.n_alpha,
                    vals[sl],
                    norm=norm,
                    title=f"{lay.name} {who}",
                )
                pair.append(ax)
                mesh = items[0]
            if isinstance(mesh, QuadMesh):
                fig.colorbar(
                    mesh,
                    ax=pair,
                    orientation="horizontal",
                    fraction=0.05,
                    pad=0.06,
                    label="<E_voxel/E_inc>",
                )
        figure(
            "Mean shower per layer",
            fig,
            "Mean E_voxel / E_inc over all events; radial axis in r bins (labels: outer edge "
            "in mm).",
        )

    if _has(h, "voxel_spectrum"):
        spec = metrics.get("voxel_spectrum") or {}
        figure(
            "Voxel energy spectrum",
            _comparison_figure(
                h,
                ["voxel_spectrum"],
                ["log10(E_voxel / MeV), filled voxels"],
                [f"χ²/NDF {_fmt(spec.get('chi2_ndf'), 3)}"],
                ncols=1,
            ),
        )

    if "nn/edges" in h:
        fig = Figure(figsize=(9, 3.5))
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.95, wspace=0.25)
        e = np.asarray(h["nn/edges"])
        for col, (a, b, what) in enumerate(
            (
                ("ref_to_memory", "gen_to_memory", "to nearest memory-set shower"),
                ("ref_to_ref", "gen_to_gen", "to nearest shower of the same sample"),
            )
        ):
            ax = fig.add_subplot(1, 2, col + 1)
            plot_histograms(
                ax,
                e,
                h[f"nn/{a}"],
                h[f"nn/{b}"],
                log_x=True,
                xlabel=f"distance {what}",
                legend=col == 0,
            )
        figure(
            "Nearest-neighbour distances",
            fig,
            "Euclidean distance of E_voxel/E_inc vectors (scipy cKDTree).",
        )

    sections.append(("All observables", _observable_table(metrics)))
    config = metrics.get("config") or {}
    prov = _table(
        [
            ("reference", _fmt(inputs.get("reference"))),
            ("generated", _fmt(inputs.get("generated"))),
            ("events (ref / gen)", f"{inputs.get('n_reference')} / {inputs.get('n_generated')}"),
            ("binning", _fmt(metrics["binning"].get("name"))),
            ("fastcalogan", f"{metrics.get('fastcalogan_version')} ({metrics.get('git_commit')})"),
            ("seed", _fmt(config.get("seed"))),
        ],
        ("", ""),
    )
    sections.append(("Inputs", prov))

    toc = "".join(
        f'<li><a href="#s{i}">{html.escape(s)}</a></li>' for i, (s, _) in enumerate(sections)
    )
    body = "".join(
        f'<section id="s{i}"><h2>{html.escape(s)}</h2>{content}</section>'
        for i, (s, content) in enumerate(sections)
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1700px; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
img {{ max-width: 100%; }}
</style></head>
<body><h1>{html.escape(title)}</h1><ul>{toc}</ul>{body}</body></html>
"""
    return write_text(Path(out_dir) / "index.html", page)
