"""The HTML report: one self-contained page for a talk, PNG plots embedded as data URIs.

Every histogram is its own PNG (150 dpi, large fonts) in a CSS grid, so the page reads at
900 px (two panels a row) and at 1400 px (three). Figures are drawn on
:class:`matplotlib.figure.Figure` objects with the Agg canvas, inside
``matplotlib.rc_context`` with mplhep's ATLAS style: the report never touches pyplot's
global backend or the global ``rcParams``. The page is a jinja2 template.
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import QuadMesh
from matplotlib.colors import LogNorm, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.ticker import (
    FormatStrFormatter,
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
)

from .._fileio import write_text
from ..geometry import Binning, Geometry, geometry_from_mapping
from .plots import (
    flow_text,
    plot_chi2_vs_iteration,
    plot_histograms,
    plot_losses,
    plot_polar_layer,
    plot_ratio,
    plot_ratio_vs_energy,
    plot_vs_energy,
)

__all__ = ["write_report"]

#: Resolution of every PNG (>= 150 so that a panel stays sharp when the page is zoomed).
DPI = 150
#: Size of one histogram panel (header, main and ratio), inches.
PANEL = (4.8, 5.3)

#: x-axis labels with units, by observable prefix (the layer name goes into the title).
_LABELS = {
    "e_tot": r"$E_\mathrm{tot}/E_\mathrm{inc}$",
    "response": r"$E_\mathrm{tot}/E_\mathrm{inc}$",
    "e_layer": r"$E_\mathrm{layer}$ [MeV]",
    "fraction": r"$E_\mathrm{layer}/E_\mathrm{tot}$",
    "centroid_eta": r"energy centroid along $\eta$ [mm]",
    "centroid_phi": r"energy centroid along $\phi$ [mm]",
    "width_eta": r"shower width along $\eta$ [mm]",
    "width_phi": r"shower width along $\phi$ [mm]",
    "centroid_r": r"energy-weighted mean $r$ [mm]",
    "width_r": r"energy-weighted width in $r$ [mm]",
    "sparsity": r"fraction of voxels with $E > 0$",
    "e_ratio_hottest": r"$(E_1 - E_2)/(E_1 + E_2)$, two hottest voxels",
    "lateral_width": r"lateral width [mm]",
    "deepest_layer": "deepest layer with energy (position)",
    "depth_weighted_energy": r"$\sum_i i\,E_i$ [MeV]",
    "shower_depth": r"shower depth $\sum_i i E_i / E_\mathrm{tot}$ (layers)",
    "shower_depth_width": "shower-depth width (layers)",
}
#: Observables drawn with a logarithmic x axis (log-spaced bins in the evaluation).
_LOG_X = ("e_layer_", "depth_weighted_energy")
#: Plain-text names for the tables.
_PLAIN = {
    "e_tot": "E_tot per energy point",
    "response": "E_tot/E_inc",
    "e_layer": "E_layer",
    "fraction": "E_layer/E_tot",
}
_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: "Helvetica Neue", Arial, sans-serif; margin: 0 auto; padding: 1em 1.2em;
       max-width: 1500px; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin: 0.2em 0; }
h2 { font-size: 1.3em; border-bottom: 2px solid #ddd; padding-bottom: 0.15em; margin-top: 1.6em; }
h3 { font-size: 1.05em; margin: 1em 0 0.3em; }
p.note { color: #444; margin: 0.3em 0 0.6em; max-width: 70em; }
.meta { color: #555; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(400px, 1fr));
        gap: 10px; }
.grid img, .wide img { width: 100%; height: auto; display: block; }
.wide { max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.95em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
th { background: #f3f3f3; text-align: left; }
.warn { background: #fff4d6; border: 1px solid #e5b94c; padding: 0.5em 0.8em; margin: 0.6em 0; }
.flag { color: #b00; font-weight: bold; }
.ok { color: #1a7f37; }
nav ul { columns: 3 14em; padding-left: 1.2em; margin: 0.3em 0; }
.scroll { overflow-x: auto; }
</style></head>
<body>
<h1>{{ title }}</h1>
<p class="meta">{{ subtitle }}</p>
{% for w in warnings %}<div class="warn">&#9888; {{ w }}</div>{% endfor %}
<nav><ul>{% for s in sections %}
<li><a href="#s{{ loop.index }}">{{ s.heading }}</a></li>{% endfor %}</ul></nav>
{% for s in sections %}
<section id="s{{ loop.index }}"><h2>{{ s.heading }}</h2>
{% if s.note %}<p class="note">{{ s.note }}</p>{% endif %}
{{ s.html | safe }}
{% for g in s.groups %}
{% if g.heading %}<h3>{{ g.heading }}</h3>{% endif %}
{% if g.note %}<p class="note">{{ g.note }}</p>{% endif %}
<div class="{{ 'wide' if g.wide else 'grid' }}">
{% for alt, png in g.images %}
<img alt="{{ alt }}" src="data:image/png;base64,{{ png }}">{% endfor %}
</div>
{% endfor %}
</section>
{% endfor %}
</body></html>
"""


@dataclass
class _Group:
    heading: str = ""
    note: str = ""
    wide: bool = False
    images: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Section:
    heading: str
    note: str = ""
    html: str = ""
    groups: list[_Group] = field(default_factory=list)


@contextmanager
def _style() -> Iterator[None]:
    """mplhep's ATLAS style (no experiment label: this is not an ATLAS result), local only."""
    import mplhep

    params = dict(mplhep.style.ATLAS)
    params.update(
        {
            "font.size": 13,
            "axes.labelsize": "large",
            "axes.titlesize": "large",
            "xtick.labelsize": "medium",
            "ytick.labelsize": "medium",
            "legend.fontsize": "medium",
            "ytick.major.size": 8,
            "ytick.minor.size": 4,
            "xtick.major.size": 8,
            "xtick.minor.size": 4,
            "savefig.dpi": DPI,
            # a fixed title height and no minor ticks: automatic title placement and tick
            # layout were 80 % of the drawing time of a panel
            "axes.titley": 1.01,
            "xtick.minor.visible": False,
            "ytick.minor.visible": False,
            # plain tick labels: mathtext layout of every tick label tripled the time again
            "axes.formatter.use_mathtext": False,
        }
    )
    with matplotlib.rc_context(params):
        yield


def _minor_log_label(value: float, _pos: int | None = None) -> str:
    """A log axis's minor tick label: ``%g`` at 2, 3 and 5 times a power of ten, else none.

    >>> [_minor_log_label(v) for v in (0.2, 0.3, 0.4, 0.05, 7.0)]
    ['0.2', '0.3', '', '0.05', '']
    """
    if value <= 0:
        return ""
    digit = round(value / 10 ** math.floor(math.log10(value)))
    return f"{value:g}" if digit in (2, 3, 5) else ""


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "–"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.{digits}e}"
        return f"{v:.{digits}g}"
    return str(v)


def _label(name: str) -> tuple[str, str]:
    """``(x label with unit, layer name or "")`` of an observable name."""
    for prefix, label in sorted(_LABELS.items(), key=lambda kv: -len(kv[0])):
        if name == prefix:
            return label, ""
        if name.startswith(prefix + "_"):
            return label, name[len(prefix) + 1 :]
    return name, ""


def _energy_label(e: float) -> str:
    """``"256 MeV"``, ``"65.54 GeV"``, ``"4.194 TeV"``."""
    if e >= 1e6:
        return f"{e / 1e6:.4g} TeV"
    return f"{e / 1000:.4g} GeV" if e >= 1000 else f"{e:.3g} MeV"


def _has(h: Mapping[str, npt.NDArray[Any]], key: str) -> bool:
    return f"{key}/edges" in h


def _chi2_text(obs: Mapping[str, Any] | None, point: int | None = None) -> str | None:
    """chi2/NDF with its ceiling (flagged when saturated), separation with its floor."""
    if not obs:
        return None
    if point is None:
        c, ceil, sat = obs.get("chi2_ndf"), obs.get("chi2_ndf_ceiling"), obs.get("saturated")
        sep, floor = obs.get("separation"), obs.get("separation_floor")
        n_r, n_g = obs.get("n_reference"), obs.get("n_generated")
    else:
        per = obs.get("per_energy") or {}
        if not per or per["chi2_ndf"][point] is None:
            return None
        c, ceil, sat = (
            per["chi2_ndf"][point],
            per["chi2_ndf_ceiling"][point],
            per["saturated"][point],
        )
        sep, floor = per["separation"][point], per["separation_floor"][point]
        n_r, n_g = per["n_reference"][point], per["n_generated"][point]
    if c is None:
        return None
    flag = "  SATURATED" if sat else ""
    lines = [rf"$\chi^2$/NDF {_fmt(c)} (max {_fmt(ceil)}){flag},  N = {n_r} / {n_g}"]
    if sep is not None:
        lines.append(f"separation {_fmt(sep, 2)} (floor {_fmt(floor, 2)})")
    return "\n".join(lines)


def _hist_panel(
    h: Mapping[str, npt.NDArray[Any]],
    key: str,
    *,
    xlabel: str,
    title: str,
    annotation: str | None,
    log_x: bool = False,
    scale: float = 1.0,
    legend: bool = True,
) -> str:
    """One histogram with its ratio panel, as a base64 PNG.

    The title sits top left; the statistics and the entries outside the x range top right,
    above the axes, where they cannot hide a bin.
    """
    fig = Figure(figsize=PANEL)
    grid = fig.add_gridspec(
        2, 1, height_ratios=(3.2, 1), hspace=0.0, left=0.18, right=0.96, top=0.765, bottom=0.115
    )
    ax = fig.add_subplot(grid[0])
    rax = fig.add_subplot(grid[1], sharex=ax)
    e = np.asarray(h[f"{key}/edges"], dtype=np.float64) * scale
    r, g = h[f"{key}/reference"], h[f"{key}/generated"]
    rf, gf = h.get(f"{key}/reference_flow"), h.get(f"{key}/generated_flow")
    log_x = log_x and e[0] > 0
    plot_histograms(ax, e, r, g, reference_flow=rf, generated_flow=gf, log_x=log_x, show_flow=False)
    if legend:  # in the header, where it cannot hide a bin
        handles, labels = ax.get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="upper right",
            bbox_to_anchor=(0.975, 0.995),
            ncol=2,
            frameon=False,
            fontsize="small",
            handlelength=1.4,
            columnspacing=1.0,
        )
    ax.yaxis.set_major_locator(MaxNLocator(5, prune="lower"))
    ax.tick_params(labelbottom=False)
    ax.set_xlabel("")
    plot_ratio(rax, e, r, g, reference_flow=rf, generated_flow=gf, log_x=log_x, xlabel=xlabel)
    rax.set_yticks([0.75, 1.0, 1.25])
    if log_x:
        rax.xaxis.set_minor_formatter(NullFormatter())
    fig.align_ylabels([ax, rax])
    fig.text(0.02, 0.985, title, ha="left", va="top", fontsize="x-large")
    n_r = float(np.sum(r)) + (0.0 if rf is None else float(np.sum(rf)))
    n_g = float(np.sum(g)) + (0.0 if gf is None else float(np.sum(gf)))
    lines = [t for t in (annotation, flow_text(rf, gf, n_r, n_g)) if t]
    if lines:
        fig.text(
            0.96, 0.895, "\n".join(lines), ha="right", va="top", fontsize="small", linespacing=1.35
        )
    return _png(fig)


def _binning(metrics: Mapping[str, Any]) -> Geometry:
    return geometry_from_mapping(metrics["binning"], "metrics.json binning")


def _table(
    rows: Sequence[Sequence[Any]],
    header: Sequence[str],
    raw: bool = False,
    numeric: Sequence[int] = (),
) -> str:
    """An HTML table; ``raw`` cells are trusted HTML, ``numeric`` columns right-aligned."""
    env = jinja2.Environment(autoescape=True)
    tpl = env.from_string(
        "<div class='scroll'><table><thead><tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}"
        "</tr></thead><tbody>{% for row in rows %}<tr>{% for c in row %}"
        "<td{% if loop.index0 in numeric %} class='num'{% endif %}>"
        "{{ c | safe if raw else c }}</td>{% endfor %}</tr>{% endfor %}</tbody></table></div>"
    )
    cells = [[c if isinstance(c, str) else _fmt(c) for c in row] for row in rows]
    return tpl.render(header=header, rows=cells, raw=raw, numeric=set(numeric))


def _esc(text: str) -> str:
    return str(jinja2.utils.markupsafe.escape(text))


def _summary(metrics: Mapping[str, Any]) -> str:
    """The headline numbers, each with what it should be compared with."""
    hl = metrics.get("headline") or {}
    obs = metrics.get("observables") or {}
    clf = metrics.get("classifier") or {}
    fpd, kpd = metrics.get("fpd") or {}, metrics.get("kpd") or {}
    nn = metrics.get("nearest_neighbour") or {}
    rows: list[tuple[str, str, str]] = []
    e_tot = obs.get("e_tot")
    if e_tot:
        sat = e_tot.get("saturated")
        flag = " <span class='flag'>saturated</span>" if sat else ""
        rows.append(
            (
                "χ²/NDF of E_tot (summed over energy points)",
                f"{_fmt(e_tot.get('chi2_ndf'))}{flag}",
                f"1 for one distribution; ceiling {_fmt(e_tot.get('chi2_ndf_ceiling'))} for "
                f"N = {e_tot.get('n_reference')} / {e_tot.get('n_generated')} events "
                f"and NDF {e_tot.get('ndf')}",
            )
        )
        rows.append(
            (
                "separation power of E_tot (mean over points)",
                _fmt(e_tot.get("separation")),
                f"0 same, 1 disjoint; statistical floor {_fmt(e_tot.get('separation_floor'))}",
            )
        )
    if hl.get("wasserstein_response") is not None:
        rows.append(
            (
                "1-D Wasserstein distance of E_tot/E_inc (mean over points)",
                _fmt(hl["wasserstein_response"]),
                "unbinned, no ceiling; falls as 1/√N for one distribution",
            )
        )
    if hl.get("chi2_ndf_mean") is not None:
        rows.append(
            (
                "mean χ²/NDF over all observables",
                _fmt(hl["chi2_ndf_mean"]),
                f"{hl.get('n_saturated', 0)} saturated (see the table at the end)",
            )
        )
        rows.append(
            (
                "mean separation power over all observables",
                _fmt(hl.get("separation_mean")),
                f"mean statistical floor {_fmt(hl.get('separation_floor_mean'))}",
            )
        )
    for key, what in (
        ("response_ratio_max_deviation", "max |response ratio − 1| over energy points"),
        ("resolution_ratio_max_deviation", "max |resolution ratio − 1| over energy points"),
    ):
        if hl.get(key) is not None:
            rows.append((what, _fmt(hl[key]), "0 for a perfect generator"))
    for name, d in (("FPD", fpd), ("KPD", kpd)):
        if d:
            rows.append(
                (
                    f"{name} ({d.get('features')} features, ×10³)",
                    f"{_fmt(1e3 * d['value'])} ± {_fmt(1e3 * d['error'], 2)}",
                    f"0 within errors for one distribution; published estimator "
                    f"{_fmt(1e3 * d['published'])} ± {_fmt(1e3 * d['published_error'], 2)} "
                    "(biased up at finite N)",
                )
            )
    for kind, what in (("voxels", "voxels"), ("features", "high-level features")):
        c = clf.get(kind)
        if c:
            rows.append(
                (
                    f"classifier AUC ({what})",
                    f"{_fmt(c['auc'], 4)} ± {_fmt(c['auc_error'], 2)}",
                    f"0.5 indistinguishable, 1 always told apart; {c['folds']}-fold, "
                    f"{c['n_events']} events per sample",
                )
            )
            rows.append(
                (
                    f"classifier JSD ({what})",
                    f"{_fmt(c['jsd'], 3)} ± {_fmt(c['jsd_error'], 2)}",
                    "1 − BCE/ln 2 of calibrated scores: 0 same, 1 disjoint",
                )
            )
    if nn:
        memory = (
            "training showers"
            if nn.get("memory") == "training"
            else "half of the reference (no training file given)"
        )
        rows.append(
            (
                "nearest-neighbour distance ratio to " + memory,
                _fmt(nn.get("memorisation_ratio")),
                "≪ 1: generated showers copy the training sample"
                if nn.get("memory") == "training"
                else "≪ 1: generated showers sit closer to the reference than reference "
                "showers do (not a memorisation test without --training)",
            )
        )
        rows.append(
            (
                "nearest-neighbour distance ratio within the sample",
                _fmt(nn.get("collapse_ratio")),
                "≪ 1: mode collapse (generated showers crowd together)",
            )
        )
    body = "".join(
        f"<tr><td>{_esc(a)}</td><td class='num'>{b}</td><td>{_esc(c)}</td></tr>" for a, b, c in rows
    )
    return (
        "<div class='scroll'><table><thead><tr><th>metric</th><th>value</th>"
        f"<th>compare with</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


def _observable_table(metrics: Mapping[str, Any]) -> str:
    obs = metrics.get("observables") or {}
    pooled = (metrics.get("config") or {}).get("histogram_binning") == "calochallenge"
    rows = []
    for name, v in sorted(obs.items(), key=lambda kv: -(kv[1].get("separation") or -1.0)):
        sat = " <span class='flag'>saturated</span>" if v.get("saturated") else ""
        row = [
            _esc(name),
            f"{_fmt(v.get('chi2_ndf'))}{sat}",
            _fmt(v.get("chi2_ndf_ceiling")),
            _fmt(v.get("ndf")),
            f"{v.get('n_reference')} / {v.get('n_generated')}",
            _fmt(v.get("separation")),
            _fmt(v.get("separation_floor")),
            _fmt(v.get("wasserstein")),
        ]
        if pooled:
            row.append(_esc(str(v.get("binning", ""))))
        rows.append(row)
    spec = metrics.get("voxel_spectrum") or {}
    if spec:
        rows.append(
            [
                "voxel spectrum (log10 E_voxel)",
                _fmt(spec.get("chi2_ndf")),
                _fmt(spec.get("chi2_ndf_ceiling")),
                _fmt(spec.get("ndf")),
                f"{spec.get('n_reference')} / {spec.get('n_generated')} voxels",
                _fmt(spec.get("separation")),
                _fmt(spec.get("separation_floor")),
                "–",
            ]
            + ([""] if pooled else [])
        )
    header = [
        "observable",
        "χ²/NDF",
        "ceiling",
        "NDF",
        "N ref / gen",
        "separation",
        "floor",
        "Wasserstein",
    ] + (["binning"] if pooled else [])
    return _table(rows, header, raw=True, numeric=range(1, 8))


def _details(metrics: Mapping[str, Any]) -> str:
    """Classifier and distance details: folds, epochs, CPU time, feature sets."""
    rows = []
    for kind, c in (metrics.get("classifier") or {}).items():
        if c:
            rows.append(
                [
                    f"classifier ({kind})",
                    f"AUC per fold {', '.join(_fmt(a, 4) for a in c['auc_folds'])}; best epochs "
                    f"{c['best_epochs']} of {c['epochs_run']}; inputs: {c.get('inputs', '')}",
                    _fmt(c.get("cpu_seconds")),
                ]
            )
    for name in ("fpd", "kpd"):
        d = metrics.get(name)
        if d:
            rows.append(
                [
                    name.upper(),
                    f"{len(d.get('feature_names', []))} {d.get('features')} features, scaled by "
                    f"the reference maximum, clipped at {d.get('clip_quantile')}; batch sizes "
                    f"{d.get('batch_sizes')}; {d.get('n_reference')} / {d.get('n_generated')} "
                    "events",
                    _fmt(d.get("cpu_seconds")),
                ]
            )
    if not rows:
        return ""
    return _table(
        [[_esc(a), _esc(b), c] for a, b, c in rows],
        ("test", "settings", "CPU s"),
        raw=True,
        numeric=(2,),
    )


def write_report(
    metrics: Mapping[str, Any],
    histograms: Mapping[str, npt.NDArray[Any]],
    out_dir: str | os.PathLike[str],
    title: str | None = None,
) -> Path:
    """Write ``index.html`` into ``out_dir`` and return its path.

    One self-contained page (PNGs embedded): summary with every number beside what to
    compare it with, input warnings, training curves (when the generated file names its
    run), E_tot/E_inc per energy point, response and resolution, mean shower per layer
    (reference, generated, ratio), example showers, per-layer observables, shower shapes,
    voxel spectrum, nearest-neighbour distances, test details, the table of every
    observable, and the inputs.

    Args:
        metrics: the content of ``metrics.json`` (see :func:`fastcalogan.evaluate.evaluate`).
        histograms: the content of ``histograms.npz``.
        out_dir: output folder.
        title: page title (default: particle, |eta| and the two file names).
    """
    with _style():
        page = _page(metrics, histograms, title)
    return write_text(Path(out_dir) / "index.html", page)


def _page(metrics: Mapping[str, Any], h: Mapping[str, npt.NDArray[Any]], title: str | None) -> str:
    binning = _binning(metrics)
    inputs = metrics.get("inputs") or {}
    obs = metrics.get("observables") or {}
    particle = inputs.get("particle", "")
    eta = inputs.get("eta")
    eta_text = f", |η| {eta[0]:g}–{eta[1]:g}" if eta else ""
    if title is None:
        title = (
            f"{particle}{eta_text}: {Path(str(inputs.get('generated', ''))).name} vs "
            f"{Path(str(inputs.get('reference', ''))).name}"
        )
    config = metrics.get("config") or {}
    mode = config.get("histogram_binning", "per_energy")
    subtitle = (
        f"{inputs.get('n_generated')} generated vs {inputs.get('n_reference')} reference showers; "
        f"binning {binning.name}; histograms: "
        + (
            "per incident-energy point on the reference's 0.1–99.9 % range"
            if mode == "per_energy"
            else "CaloChallenge fixed ranges, all energies pooled, voxels below 1 MeV zeroed"
        )
    )
    sections: list[_Section] = [_Section("Summary", html=_summary(metrics))]
    sections += _training_sections(h)
    sections += _energy_sections(metrics, h, obs, mode)
    sections += _shower_sections(binning, h)
    sections += _observable_sections(binning, h, obs)
    sections += _suite_sections(metrics, h)
    sections += _other_sections(metrics, h)
    env = jinja2.Environment(autoescape=True)
    return env.from_string(_TEMPLATE).render(
        title=title,
        subtitle=subtitle,
        warnings=metrics.get("warnings") or [],
        sections=sections,
    )


def _training_sections(h: Mapping[str, npt.NDArray[Any]]) -> list[_Section]:
    labels = sorted(
        {k.split("/")[1] for k in h if k.startswith("training/")},
        key=lambda s: (s != "run", s),
    )
    groups = []
    for label in labels:
        base = f"training/{label}"
        images = []
        it = h.get(f"{base}/losses/iteration")
        if it is not None:
            curves = {
                k.rsplit("/", 1)[1]: v
                for k, v in h.items()
                if k.startswith(f"{base}/losses/")
                and k.rsplit("/", 1)[1] not in ("iteration", "active_points")
            }
            if curves:
                fig = Figure(figsize=(6.4, 4.6), layout="constrained")
                smooth = max(1, len(it) // 60)
                plot_losses(fig.add_subplot(), it, curves, smooth=smooth)
                images.append((f"losses {label}", _png(fig)))
        chi_it = h.get(f"{base}/chi2/iteration")
        if chi_it is not None and len(chi_it):
            fig = Figure(figsize=(6.4, 4.6), layout="constrained")
            best = h.get(f"{base}/chi2/best")
            plot_chi2_vs_iteration(
                fig.add_subplot(),
                chi_it,
                h[f"{base}/chi2/chi2_ndf"],
                best=float(best[0]) if best is not None and len(best) else None,
            )
            images.append((f"chi2 vs iteration {label}", _png(fig)))
        if images:
            groups.append(_Group("" if label == "run" else label, images=images))
    if not groups:
        return []
    return [
        _Section(
            "Training",
            note="Losses of the run that produced the generated file (running means) and the "
            "checkpoint selection's χ²/NDF of E_tot against its reference; the star marks the "
            "checkpoint that was selected.",
            groups=groups,
        )
    ]


def _energy_sections(
    metrics: Mapping[str, Any],
    h: Mapping[str, npt.NDArray[Any]],
    obs: Mapping[str, Any],
    mode: str,
) -> list[_Section]:
    out = []
    energies = [float(e) for e in np.asarray(h.get("energies", []))]
    images: list[tuple[str, str]] = []
    for i, energy in enumerate(energies):
        if not _has(h, f"e_tot/{i}"):
            continue
        images.append(
            (
                f"E_tot at {_energy_label(energy)}",
                _hist_panel(
                    h,
                    f"e_tot/{i}",
                    xlabel=_LABELS["e_tot"],
                    title=rf"$E_\mathrm{{inc}}$ = {_energy_label(energy)}",
                    annotation=_chi2_text(obs.get("e_tot"), i),
                    scale=1.0 / energy,
                ),
            )
        )
    if images:
        where = (
            "the reference's 0.1–99.9 % range, with under- and overflow counted as bins"
            if mode == "per_energy"
            else "the CaloChallenge per-point ranges (entries outside left out)"
        )
        out.append(
            _Section(
                "Total energy per incident energy",
                note=f"E_tot/E_inc for each incident energy, normalised to all events; bins on "
                f"{where}. χ²/NDF with its ceiling (N+M)/NDF for these sample sizes (flagged "
                "saturated above half of it: the histograms barely overlap and χ² then "
                "measures N, not the distance); separation power with the value two samples "
                "of one distribution give at these sizes.",
                groups=[_Group(images=images)],
            )
        )
    resp, reso = metrics.get("response"), metrics.get("resolution")
    if resp and reso:
        images = []
        for d, label, name in (
            (resp, r"$\langle E_\mathrm{tot}/E_\mathrm{inc}\rangle$", "response"),
            (reso, r"RMS / mean of $E_\mathrm{tot}$", "resolution"),
        ):
            fig = Figure(figsize=PANEL)
            grid = fig.add_gridspec(
                2,
                1,
                height_ratios=(3.2, 1),
                hspace=0.06,
                left=0.2,
                right=0.96,
                top=0.95,
                bottom=0.14,
            )
            ax = fig.add_subplot(grid[0])
            rax = fig.add_subplot(grid[1], sharex=ax)
            plot_vs_energy(
                ax,
                d["energy"],
                d["reference"],
                d["generated"],
                d["reference_error"],
                d["generated_error"],
                ylabel=label,
            )
            if name == "resolution":
                ax.set_yscale("log")
                vals = np.array(
                    [v for v in (*d["reference"], *d["generated"]) if v is not None and v > 0]
                )
                if vals.size:
                    ax.set_ylim(vals.min() / 1.6, vals.max() * 1.6)
                # plain numbers (the default 4x10^-1 labels push the axis title off the
                # figure); minor ticks labelled at 2, 3 and 5 times a power of ten
                ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
                ax.yaxis.set_minor_formatter(FuncFormatter(_minor_log_label))
            ax.tick_params(labelbottom=False)
            plot_ratio_vs_energy(rax, d["energy"], d["ratio"], d["ratio_error"])
            fig.align_ylabels([ax, rax])
            images.append((name, _png(fig)))
        out.append(
            _Section(
                "Response and resolution",
                note="Mean E_tot/E_inc and RMS/mean of E_tot per incident energy, with their "
                "statistical errors; lower panels: generated / reference.",
                groups=[_Group(images=images)],
            )
        )
    return out


def _shower_sections(geometry: Geometry, h: Mapping[str, npt.NDArray[Any]]) -> list[_Section]:
    out: list[_Section] = []
    if not isinstance(geometry, Binning):
        # cell grids: the mean shower of each layer as an image in its own cells
        if "mean_shower/reference" in h and "mean_shower/generated" in h:
            mr = np.asarray(h["mean_shower/reference"], dtype=np.float64)
            mg = np.asarray(h["mean_shower/generated"], dtype=np.float64)
            images = [
                (
                    f"mean shower {name}",
                    _image_figure(
                        f"{name} (layer {lid})",
                        geometry.layer_images(mr[None], lid)[0],
                        geometry.layer_images(mg[None], lid)[0],
                        r"$\langle E_\mathrm{cell}/E_\mathrm{inc}\rangle$",
                    ),
                )
                for lid, name in zip(geometry.layer_ids, geometry.layer_names, strict=True)
            ]
            out.append(
                _Section(
                    "Mean shower per layer",
                    note="Mean E_cell/E_inc over all events: reference, generated (one colour "
                    "scale) and their ratio, in the layer's cell grid. Blank: no energy.",
                    groups=[_Group(images=images, wide=True)],
                )
            )
        return out
    binning = geometry
    if "mean_shower/reference" in h and "mean_shower/generated" in h:
        mr = np.asarray(h["mean_shower/reference"], dtype=np.float64)
        mg = np.asarray(h["mean_shower/generated"], dtype=np.float64)
        images = []
        for lay in binning.layers:
            sl = binning.layer_slice(lay.layer_id)
            images.append((f"mean shower {lay.name}", _mean_layer_figure(lay, mr[sl], mg[sl])))
        out.append(
            _Section(
                "Mean shower per layer",
                note="Mean E_voxel/E_inc over all events: reference, generated (one colour "
                "scale) and their ratio. Radial axis in r bins; labels give the bins' outer "
                "edges in mm. Blank: no energy.",
                groups=[_Group(images=images, wide=True)],
            )
        )
    if "examples/reference" in h and "examples/generated" in h:
        ex = {
            w: np.asarray(h[f"examples/{w}"], dtype=np.float64) for w in ("reference", "generated")
        }
        both = np.concatenate([ex["reference"], ex["generated"]])
        norms = [_log_norm(both[:, binning.layer_slice(lay.layer_id)]) for lay in binning.layers]
        images = [
            (f"{who} examples", _examples_figure(binning, ex[who], norms, who))
            for who in ("reference", "generated")
            if len(ex[who])
        ]
        if images:
            energy = float(np.asarray(h["examples/reference_energy"])[0])
            out.append(
                _Section(
                    "Example showers",
                    note=f"Single showers at E_inc = {_energy_label(energy)}, drawn at random; "
                    "one colour scale per layer for all of them, reference and generated. "
                    "Blank: no energy.",
                    groups=[_Group(images=images, wide=True)],
                )
            )
    return out


def _log_norm(values: npt.NDArray[np.float64]) -> LogNorm | None:
    pos = values[values > 0]
    return LogNorm(pos.min(), pos.max()) if pos.size and pos.max() > pos.min() else None


def _colorbar(fig: Figure, mesh: QuadMesh, cax: Any, label: str, log: bool) -> None:
    cb = fig.colorbar(mesh, cax=cax)
    cb.set_label(label)
    if log:
        cb.ax.yaxis.set_major_locator(LogLocator(numticks=6))
        cb.ax.yaxis.set_minor_formatter(NullFormatter())


def _mean_layer_figure(lay: Any, ref: npt.NDArray[np.float64], gen: npt.NDArray[np.float64]) -> str:
    """Reference | generated (one log scale) | ratio, with the colour bars beside them."""
    fig = Figure(figsize=(12.0, 4.4))
    grid = fig.add_gridspec(
        1,
        6,
        width_ratios=(1, 1, 0.05, 0.3, 1, 0.05),
        wspace=0.12,
        left=0.03,
        right=0.93,
        top=0.82,
        bottom=0.04,
    )
    norm = _log_norm(np.concatenate([ref, gen]))
    ratio = np.divide(gen, ref, out=np.full_like(gen, np.nan), where=ref > 0)
    finite = ratio[np.isfinite(ratio) & (ratio > 0)]
    span = float(np.clip(np.nanmax(np.abs(np.log2(finite))) if finite.size else 1.0, 0.2, 2.0))
    rnorm = TwoSlopeNorm(1.0, 2.0**-span, 2.0**span)
    meshes = []
    for col, (vals, who, n, cmap) in zip(
        (0, 1, 4),
        (
            (ref, "reference", norm, "viridis"),
            (gen, "generated", norm, "viridis"),
            (np.where(np.isfinite(ratio), ratio, 0.0), "generated / reference", rnorm, "RdBu_r"),
        ),
        strict=True,
    ):
        ax = fig.add_subplot(grid[0, col], projection="polar")
        meshes.append(
            _mesh(
                plot_polar_layer(ax, lay.r_edges, lay.n_alpha, vals, norm=n, cmap=cmap, title=who)
            )
        )
    _colorbar(
        fig,
        meshes[1],
        fig.add_subplot(grid[0, 2]),
        r"$\langle E_\mathrm{voxel}/E_\mathrm{inc}\rangle$",
        log=norm is not None,
    )
    _colorbar(fig, meshes[2], fig.add_subplot(grid[0, 5]), "generated / reference", log=False)
    fig.suptitle(f"{lay.name} (layer {lay.layer_id})", x=0.02, ha="left", fontsize="x-large")
    return _png(fig)


def _image_figure(
    title: str, ref: npt.NDArray[np.float64], gen: npt.NDArray[np.float64], label: str
) -> str:
    """Reference | generated (one log scale) | ratio of two 2-D maps, rows by columns."""
    ref, gen = np.asarray(ref, dtype=np.float64), np.asarray(gen, dtype=np.float64)
    fig = Figure(figsize=(12.0, 4.4))
    grid = fig.add_gridspec(
        1, 6, width_ratios=(1, 1, 0.05, 0.3, 1, 0.05), wspace=0.12, left=0.04, right=0.93,
        top=0.82, bottom=0.1,
    )  # fmt: skip
    norm = _log_norm(np.concatenate([ref.ravel(), gen.ravel()]))
    ratio = np.divide(gen, ref, out=np.full_like(gen, np.nan), where=ref > 0)
    finite = ratio[np.isfinite(ratio) & (ratio > 0)]
    span = float(np.clip(np.nanmax(np.abs(np.log2(finite))) if finite.size else 1.0, 0.2, 2.0))
    rnorm = TwoSlopeNorm(1.0, 2.0**-span, 2.0**span)
    meshes = []
    for col, (vals, who, n, cmap) in zip(
        (0, 1, 4),
        (
            (np.where(ref > 0, ref, np.nan), "reference", norm, "viridis"),
            (np.where(gen > 0, gen, np.nan), "generated", norm, "viridis"),
            (ratio, "generated / reference", rnorm, "RdBu_r"),
        ),
        strict=True,
    ):
        ax = fig.add_subplot(grid[0, col])
        meshes.append(ax.pcolormesh(vals, norm=n, cmap=cmap))
        ax.set_aspect("auto")
        ax.set_title(who, fontsize="medium")
        ax.tick_params(labelsize="small")
    _colorbar(fig, meshes[1], fig.add_subplot(grid[0, 2]), label, log=norm is not None)
    _colorbar(fig, meshes[2], fig.add_subplot(grid[0, 5]), "generated / reference", log=False)
    fig.suptitle(title, x=0.02, ha="left", fontsize="x-large")
    return _png(fig)


def _suite_sections(
    metrics: Mapping[str, Any], h: Mapping[str, npt.NDArray[Any]]
) -> list[_Section]:
    """One section per observable suite: its histograms, its images and its table."""
    out = []
    for name, suite in (metrics.get("suites") or {}).items():
        prefix = f"suite/{name}/"
        keys = sorted({k[len(prefix) :].rsplit("/", 1)[0] for k in h if k.startswith(prefix)})
        labels = suite.get("labels") or {}
        panels: list[tuple[str, str]] = []
        maps: list[tuple[str, str]] = []
        for key in keys:
            full = prefix + key
            label = labels.get(key, key)
            if f"{full}/edges" in h:
                panels.append((key, _hist_panel(h, full, xlabel=label, title=key, annotation=None)))
            elif f"{full}/reference_image" in h:
                ref, gen = h[f"{full}/reference_image"], h[f"{full}/generated_image"]
                maps.append((key, _image_figure(key, ref, gen, label)))
        table = suite.get("table")
        groups = [_Group(images=panels)] if panels else []
        groups += [_Group(images=maps, wide=True)] if maps else []
        out.append(
            _Section(
                str(suite.get("title") or name),
                note=str(suite.get("note") or ""),
                html=_table(table["rows"], table["header"]) if table else "",
                groups=groups,
            )
        )
    return out


def _mesh(items: Sequence[Any]) -> QuadMesh:
    mesh = items[0]
    if not isinstance(mesh, QuadMesh):
        raise TypeError(f"plot_polar_layer returned {type(mesh).__name__} first")
    return mesh


def _examples_figure(
    binning: Binning,
    showers: npt.NDArray[np.float64],
    norms: Sequence[LogNorm | None],
    who: str,
) -> str:
    """``k`` showers in rows, one polar panel per layer, colour scales given per layer."""
    n_lay = binning.n_layers
    k = len(showers)
    height = 2.7 * k + 1.4
    fig = Figure(figsize=(2.8 * n_lay + 0.8, height))
    grid = fig.add_gridspec(
        k + 1,
        n_lay,
        height_ratios=(*([1.0] * k), 0.06),
        left=0.06,
        right=0.98,
        top=1 - 0.75 / height,
        bottom=0.55 / height,
        wspace=0.3,
        hspace=0.25,
    )
    for j, lay in enumerate(binning.layers):
        sl = binning.layer_slice(lay.layer_id)
        mesh: QuadMesh | None = None
        for i in range(k):
            ax = fig.add_subplot(grid[i, j], projection="polar")
            title = lay.name if i == 0 else ""
            mesh = _mesh(
                plot_polar_layer(
                    ax,
                    lay.r_edges,
                    lay.n_alpha,
                    showers[i, sl],
                    norm=norms[j],
                    cmap="viridis",
                    title=title,
                )
            )
            ax.set_yticklabels([])
            if j == 0:
                ax.text(
                    -0.25,
                    0.5,
                    f"#{i + 1}",
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    fontsize="large",
                )
        if mesh is not None:
            cb = fig.colorbar(mesh, cax=fig.add_subplot(grid[k, j]), orientation="horizontal")
            if norms[j] is not None:
                cb.ax.xaxis.set_major_locator(LogLocator(numticks=4))
                cb.ax.xaxis.set_minor_formatter(NullFormatter())
            cb.ax.tick_params(labelsize="small")
    fig.suptitle(
        f"{who} showers: E_voxel [MeV]",
        x=0.02,
        y=1 - 0.1 / height,
        ha="left",
        va="top",
        fontsize="x-large",
    )
    return _png(fig)


def _observable_sections(
    binning: Geometry, h: Mapping[str, npt.NDArray[Any]], obs: Mapping[str, Any]
) -> list[_Section]:
    names = list(binning.layer_names)
    alpha = [binning.layer(i).name for i in binning.transverse_layer_ids]

    def panels(keys: Sequence[str]) -> list[tuple[str, str]]:
        images = []
        for name in keys:
            if not _has(h, f"pooled/{name}"):
                continue
            xlabel, layer = _label(name)
            images.append(
                (
                    name,
                    _hist_panel(
                        h,
                        f"pooled/{name}",
                        xlabel=xlabel,
                        title=layer or "all energies",
                        annotation=_chi2_text(obs.get(name)),
                        log_x=name.startswith(_LOG_X),
                    ),
                )
            )
        return images

    families: list[tuple[str, list[str]]] = [
        ("Energy per layer", [f"e_layer_{n}" for n in names]),
        ("Energy fraction per layer", [f"fraction_{n}" for n in names]),
        ("Energy centroid along η", [f"centroid_eta_{n}" for n in alpha]),
        ("Energy centroid along φ", [f"centroid_phi_{n}" for n in alpha]),
        ("Shower width along η", [f"width_eta_{n}" for n in alpha]),
        ("Shower width along φ", [f"width_phi_{n}" for n in alpha]),
        ("Mean radius per layer", [f"centroid_r_{n}" for n in names]),
        ("Radial width per layer", [f"width_r_{n}" for n in names]),
        ("Sparsity per layer", [f"sparsity_{n}" for n in names]),
        ("Two hottest voxels per layer", [f"e_ratio_hottest_{n}" for n in names]),
        ("Lateral width per layer", [f"lateral_width_{n}" for n in names]),
        (
            "Response and longitudinal shower shapes",
            [
                "response",
                "deepest_layer",
                "depth_weighted_energy",
                "shower_depth",
                "shower_depth_width",
            ],
        ),
    ]
    groups = [_Group(heading, images=panels(keys)) for heading, keys in families]
    groups = [g for g in groups if g.images]
    if not groups:
        return []
    return [
        _Section(
            "Shower observables (all energies pooled)",
            note="Display histograms pool all incident energies; the χ²/NDF and separation "
            "written in each panel are those of the comparison (per energy point, summed, in "
            "the default mode). Densities are per unit of the x axis (per log10 x on log "
            "axes) and normalised to all events, so entries outside the axis range, written "
            "in the panel, are not drawn.",
            groups=groups,
        )
    ]


def _other_sections(
    metrics: Mapping[str, Any], h: Mapping[str, npt.NDArray[Any]]
) -> list[_Section]:
    out = []
    if _has(h, "voxel_spectrum"):
        spec = metrics.get("voxel_spectrum") or {}
        spectrum = {f"voxel_spectrum/{k}": v for k, v in _log_to_linear(h).items()}
        png = _hist_panel(
            spectrum,
            "voxel_spectrum",
            xlabel=r"$E_\mathrm{voxel}$ [MeV]",
            title="voxels with energy",
            annotation=_chi2_text(spec),
            log_x=True,
        )
        out.append(
            _Section(
                "Voxel energy spectrum",
                note="Energies of all voxels above "
                f"{_fmt(spec.get('threshold_mev'))} MeV, per log10 E.",
                groups=[_Group(images=[("voxel spectrum", png)])],
            )
        )
    nn = metrics.get("nearest_neighbour")
    if "nn/edges" in h and nn:
        e = np.asarray(h["nn/edges"])
        training = nn.get("memory") == "training"
        images = []
        for a, b, title, ref_label in (
            (
                "ref_to_memory",
                "gen_to_memory",
                "to the nearest training shower" if training else "to the nearest reference shower",
                "held-out reference" if training else "other reference half",
            ),
            ("ref_to_ref", "gen_to_gen", "to the nearest shower of the same sample", "reference"),
        ):
            fig = Figure(figsize=(PANEL[0], 4.4), layout="constrained")
            ax = fig.add_subplot()
            items = plot_histograms(
                ax,
                e,
                h[f"nn/{a}"],
                h[f"nn/{b}"],
                log_x=True,
                legend=True,
                xlabel=r"distance [$E_\mathrm{voxel}/E_\mathrm{inc}$]",
            )
            handles = [i for i in items if not isinstance(i, Legend)][:2]
            ax.legend(
                handles, [ref_label, "generated"], frameon=False, fontsize="small", loc="upper left"
            )
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_title(title, loc="left", fontsize="large")
            images.append((title, _png(fig)))
        note = (
            "Euclidean distances between E_voxel/E_inc vectors (scipy cKDTree). Left: to the "
            + (
                "training sample; generated showers much closer to it than held-out "
                "reference showers are would be copies."
                if training
                else "reference (no training file was given, so this is not a memorisation "
                "test: pass --training to evaluate for one)."
            )
            + " Right: within each sample; generated showers much closer to each other than "
            "reference showers are mean mode collapse."
        )
        out.append(
            _Section("Nearest-neighbour distances", note=note, groups=[_Group(images=images)])
        )
    details = _details(metrics)
    if details:
        out.append(
            _Section(
                "Classifier and distance details",
                note="The classifier is k-fold cross-fitted: every event is tested once by a "
                "network trained on other events; FPD is extrapolated to the samples' own "
                "1/N and KPD leaves repeated events unpaired, so that both are zero within "
                "errors for two samples of one distribution.",
                html=details,
            )
        )
    if metrics.get("observables"):
        out.append(
            _Section(
                "All observables",
                note="Sorted by separation power. Ceiling: the largest χ²/NDF these sample "
                "sizes allow; floor: the separation two samples of one distribution give; "
                "Wasserstein: 1-D earth mover's distance in the observable's unit (MeV, mm or "
                "none; per energy point and averaged in the default mode).",
                html=_observable_table(metrics),
            )
        )
    inputs = metrics.get("inputs") or {}
    config = metrics.get("config") or {}
    rows = [
        ("reference", str(inputs.get("reference"))),
        ("generated", str(inputs.get("generated"))),
        ("training", str(inputs.get("training"))),
        (
            "events (ref / gen / matched per energy point)",
            f"{inputs.get('n_reference')} / {inputs.get('n_generated')} / "
            f"{inputs.get('n_matched')}",
        ),
        ("particle, |η|", f"{inputs.get('particle')}, {inputs.get('eta')}"),
        ("binning", str(metrics["binning"].get("name"))),
        ("histograms", str(config.get("histogram_binning"))),
        ("fastcalogan", f"{metrics.get('fastcalogan_version')} ({metrics.get('git_commit')})"),
        ("seed", _fmt(config.get("seed"))),
        ("evaluation time", f"{_fmt((metrics.get('timing') or {}).get('total'))} s"),
    ]
    out.append(_Section("Inputs", html=_table([[a, b] for a, b in rows], ("", ""))))
    return out


def _log_to_linear(h: Mapping[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
    """The voxel spectrum (binned in log10 E) with its edges back in MeV."""
    return {
        "edges": 10.0 ** np.asarray(h["voxel_spectrum/edges"], dtype=np.float64),
        "reference": h["voxel_spectrum/reference"],
        "generated": h["voxel_spectrum/generated"],
        "reference_flow": h.get("voxel_spectrum/reference_flow", np.zeros(2)),
        "generated_flow": h.get("voxel_spectrum/generated_flow", np.zeros(2)),
    }
