"""Several models against one reference on one page: evaluations side by side.

A published study often compares two or more models (the ATLAS 2018 note: a VAE and a GAN)
against the same reference. Each model gets its own ``fastcalogan evaluate`` folder; this
module reads those folders and writes one self-contained page with

* the headline numbers of every evaluation in one table;
* for every observable suite the evaluations share: one table of the chi2/NDF of each of
  the suite's distributions (its ``metrics["chi2"]``) per model, with the model closest to
  the reference named in the last column, and every suite histogram with the reference and
  all models overlaid (ratio panel: each model over the reference). Mean profiles (entries
  with ``<key>/reference_mean`` and ``<key>/..._error``) are drawn as means with their
  standard errors, not normalised.

``comparison.json`` holds the table. Nothing is recomputed: the page shows what the
evaluations stored.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from .._fileio import write_json, write_text
from ..errors import DataFormatError
from ..evaluate import load_histograms
from .html import _TEMPLATE, PANEL, _Group, _png, _Section, _style, _table
from .plots import REFERENCE_STYLE, density

__all__ = ["ComparisonResult", "ComparisonRow", "compare_evaluations"]

#: Line colours of the models, in order (the reference is grey).
MODEL_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")


@dataclass(frozen=True)
class ComparisonRow:
    """One distribution of one suite: the chi2/NDF of every model.

    Attributes:
        suite: the observable suite's name.
        distribution: the distribution (a key of the suite's ``metrics["chi2"]``).
        chi2_ndf: chi2/NDF per model label (``None`` where an evaluation lacks it).
        ndf: NDF per model label.
        closest: the label of the model with the smallest chi2/NDF (``None`` if none).
    """

    suite: str
    distribution: str
    chi2_ndf: Mapping[str, float | None]
    ndf: Mapping[str, int | None]
    closest: str | None


@dataclass(frozen=True)
class ComparisonResult:
    """What :func:`compare_evaluations` wrote.

    Attributes:
        html_path: the page (``index.html``).
        json_path: ``comparison.json``.
        labels: the models' labels, in order.
        rows: one row per suite distribution.
        wins: per label, the number of distributions where that model is closest.
    """

    html_path: Path
    json_path: Path
    labels: tuple[str, ...]
    rows: tuple[ComparisonRow, ...]
    wins: Mapping[str, int]


@dataclass(frozen=True)
class _Evaluation:
    label: str
    folder: Path
    metrics: dict[str, Any]
    histograms: dict[str, npt.NDArray[Any]]


def _read(folder: Path, label: str) -> _Evaluation:
    metrics_path, hist_path = folder / "metrics.json", folder / "histograms.npz"
    for path in (metrics_path, hist_path):
        if not path.is_file():
            raise DataFormatError(
                f"{folder}: not an evaluation folder (expected {path.name}, written by "
                "fastcalogan evaluate)"
            )
    try:
        metrics = json.loads(metrics_path.read_text())
        histograms = load_histograms(hist_path)
    except (OSError, ValueError) as err:
        raise DataFormatError(f"{folder}: unreadable evaluation ({err})") from err
    if not isinstance(metrics, dict):
        raise DataFormatError(f"{metrics_path}: expected a JSON object, found {type(metrics)}")
    return _Evaluation(label, folder, metrics, histograms)


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _rows(evaluations: Sequence[_Evaluation], suite: str) -> list[ComparisonRow]:
    tables = [(e.metrics.get("suites") or {}).get(suite, {}).get("chi2") or {} for e in evaluations]
    names: list[str] = []
    for table in tables:
        names += [n for n in table if n not in names]
    rows = []
    for name in names:
        values = {
            e.label: _number((t.get(name) or {}).get("chi2_ndf"))
            for e, t in zip(evaluations, tables, strict=True)
        }
        ndf = {
            e.label: (t.get(name) or {}).get("ndf")
            for e, t in zip(evaluations, tables, strict=True)
        }
        finite = {k: v for k, v in values.items() if v is not None}
        closest = min(finite, key=lambda k: finite[k]) if len(finite) > 1 else None
        rows.append(
            ComparisonRow(
                suite,
                name,
                values,
                {k: (None if v is None else int(v)) for k, v in ndf.items()},
                closest,
            )
        )
    return rows


def _hist_panel(
    title: str,
    xlabel: str,
    evaluations: Sequence[_Evaluation],
    key: str,
) -> str:
    """Reference and every model on one histogram, ratio panel below."""
    first = evaluations[0].histograms
    edges = np.asarray(first[f"{key}/edges"], dtype=np.float64)
    profile = f"{key}/reference_mean" in first
    fig = Figure(figsize=PANEL)
    grid = fig.add_gridspec(
        2, 1, height_ratios=(3.2, 1), hspace=0.0, left=0.18, right=0.96, top=0.80, bottom=0.115
    )
    ax = fig.add_subplot(grid[0])
    rax = fig.add_subplot(grid[1], sharex=ax)
    centres = 0.5 * (edges[1:] + edges[:-1])

    def values(h: Mapping[str, npt.NDArray[Any]], who: str) -> tuple[npt.NDArray[np.float64], ...]:
        if profile:
            return (
                np.asarray(h[f"{key}/{who}_mean"], dtype=np.float64),
                np.asarray(h[f"{key}/{who}_error"], dtype=np.float64),
            )
        counts = np.asarray(h[f"{key}/{who}"], dtype=np.float64)
        flow = h.get(f"{key}/{who}_flow")
        total = counts.sum() + (0.0 if flow is None else float(np.sum(flow)))
        d = density(counts, edges, total)
        scale = np.divide(d, counts, out=np.zeros_like(d), where=counts > 0)
        return d, np.sqrt(counts) * scale

    ref, ref_err = values(first, "reference")
    ax.stairs(ref, edges, fill=True, alpha=0.4, color=REFERENCE_STYLE["color"], label="reference")
    rax.axhline(1.0, color="0.4", lw=1.0)
    top = float(ref.max(initial=0.0))
    for i, ev in enumerate(evaluations):
        colour = MODEL_COLOURS[i % len(MODEL_COLOURS)]
        gen, gen_err = values(ev.histograms, "generated")
        top = max(top, float(gen.max(initial=0.0)))
        ax.stairs(gen, edges, lw=1.8, color=colour, label=ev.label)
        ax.errorbar(centres, gen, yerr=gen_err, fmt="none", lw=1.0, color=colour)
        ok = (ref > 0) & (gen > 0)
        ratio = np.divide(gen, ref, out=np.full_like(gen, np.nan), where=ok)
        err = np.full_like(gen, np.nan)
        err[ok] = ratio[ok] * np.hypot(ref_err[ok] / ref[ok], gen_err[ok] / gen[ok])
        inside = ok & (ratio > 0.5) & (ratio < 1.5)
        shift = (i - (len(evaluations) - 1) / 2) * 0.12 * np.diff(edges)
        rax.errorbar(
            (centres + shift)[inside], ratio[inside], yerr=err[inside], fmt="o", ms=3, color=colour
        )
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0.0, 1.3 * top if top > 0 else 1.0)
    ax.set_ylabel(r"mean $E_\mathrm{cell}/E_\mathrm{inc}$ per bin" if profile else r"$1/N\;dN/dx$")
    ax.tick_params(labelbottom=False)
    rax.set_ylim(0.5, 1.5)
    rax.set_yticks([0.75, 1.0, 1.25])
    rax.set_ylabel("model / ref.")
    rax.set_xlabel(xlabel)
    fig.align_ylabels([ax, rax])
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper right",
        bbox_to_anchor=(0.975, 0.905),  # a row of its own below the title
        ncol=len(labels),
        frameon=False,
        fontsize="small",
        handlelength=1.2,
        columnspacing=0.8,
    )
    fig.text(0.02, 0.985, _panel_title(title), ha="left", va="top", fontsize="large")
    return _png(fig)


def _panel_title(key: str) -> str:
    """A histogram key as a panel title: the energy point's sortable ``007 GeV`` spelt out.

    >>> _panel_title("E_mid/E_inc 004 GeV"), _panel_title("profile EMB2 eta")
    ('E_mid/E_inc, E_inc = 4 GeV', 'profile EMB2 eta')
    """
    match = re.fullmatch(r"(.*\S)\s+0*(\d+(?:\.\d+)?) GeV", key)
    return key if match is None else f"{match[1]}, E_inc = {match[2]} GeV"


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3g}"


def compare_evaluations(
    evaluations: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    labels: Sequence[str] | None = None,
    title: str | None = None,
) -> ComparisonResult:
    """Write one page comparing several evaluations of the same reference.

    Args:
        evaluations: ``fastcalogan evaluate`` output folders (``metrics.json`` and
            ``histograms.npz``), one per model, at least two.
        out_dir: where ``index.html`` and ``comparison.json`` go.
        labels: a name per evaluation (default: the folder names).
        title: page title.

    Returns:
        :class:`ComparisonResult`.

    Raises:
        DataFormatError: fewer than two folders, a folder that is not an evaluation, labels
            that do not match the folders.
    """
    folders = [Path(p) for p in evaluations]
    if len(folders) < 2:
        raise DataFormatError(
            f"compare needs at least two evaluation folders, found {len(folders)}"
        )
    names = list(labels) if labels else [f.name for f in folders]
    if len(names) != len(folders) or len(set(names)) != len(names):
        raise DataFormatError(
            f"compare: give one distinct label per evaluation folder ({len(folders)} folders, "
            f"labels {names})"
        )
    evals = [_read(f, n) for f, n in zip(folders, names, strict=True)]
    references = {str((e.metrics.get("inputs") or {}).get("reference")) for e in evals}
    warnings = []
    if len(references) > 1:
        warnings.append(
            f"the evaluations use different reference files ({', '.join(sorted(references))}): "
            "their numbers are not comparable"
        )
    suites = [
        s
        for s in (evals[0].metrics.get("suites") or {})
        if all(s in (e.metrics.get("suites") or {}) for e in evals)
    ]
    rows: list[ComparisonRow] = []
    sections: list[_Section] = []
    headline_keys = [
        k
        for k in (evals[0].metrics.get("headline") or {})
        if all(k in (e.metrics.get("headline") or {}) for e in evals)
    ]
    headline_rows = [
        [k, *(_fmt(_number(e.metrics["headline"][k])) for e in evals)] for k in headline_keys
    ]
    with _style():
        sections.append(
            _Section(
                "Headline numbers",
                note="Each model's own evaluation against the reference (docs/validation.md).",
                html=_table(headline_rows, ["quantity", *names], numeric=range(1, len(names) + 1)),
            )
        )
        for suite in suites:
            suite_rows = _rows(evals, suite)
            rows += suite_rows
            table = [
                [
                    r.distribution,
                    *(
                        f"{_fmt(r.chi2_ndf[n])} ({r.ndf[n] if r.ndf[n] is not None else '–'})"
                        for n in names
                    ),
                    r.closest or "–",
                ]
                for r in suite_rows
            ]
            meta = evals[0].metrics["suites"][suite]
            prefix = f"suite/{suite}/"
            keys = sorted(
                {
                    k[len(prefix) :].rsplit("/", 1)[0]
                    for k in evals[0].histograms
                    if k.startswith(prefix) and k.endswith("/edges")
                }
            )
            keys = [k for k in keys if all(f"{prefix}{k}/generated" in e.histograms for e in evals)]
            labels_of = meta.get("labels") or {}
            panels = [
                (k, _hist_panel(k, str(labels_of.get(k, k)), evals, prefix + k)) for k in keys
            ]
            sections.append(
                _Section(
                    str(meta.get("title") or suite),
                    note=(
                        "chi2/NDF (NDF) of each distribution for each model against the same "
                        "reference; the last column names the model closest to it. "
                        + str(meta.get("note") or "")
                    ),
                    html=_table(
                        table,
                        ["distribution", *(f"{n} chi2/NDF" for n in names), "closest"],
                        numeric=range(1, len(names) + 1),
                    ),
                    groups=[_Group(images=panels)] if panels else [],
                )
            )
        env = jinja2.Environment(autoescape=True)
        page = env.from_string(_TEMPLATE).render(
            title=title or f"{' vs '.join(names)} against the reference",
            subtitle=f"reference {', '.join(sorted(references))}; evaluations "
            + ", ".join(f"{e.label}: {e.folder}" for e in evals),
            warnings=warnings,
            sections=sections,
        )
    out = Path(out_dir)
    html_path = write_text(out / "index.html", page)
    wins = {n: sum(1 for r in rows if r.closest == n) for n in names}
    json_path = write_json(
        out / "comparison.json",
        {
            "labels": names,
            "evaluations": [str(e.folder) for e in evals],
            "references": sorted(references),
            "wins": wins,
            "rows": [
                {
                    "suite": r.suite,
                    "distribution": r.distribution,
                    "chi2_ndf": dict(r.chi2_ndf),
                    "ndf": dict(r.ndf),
                    "closest": r.closest,
                }
                for r in rows
            ],
        },
    )
    return ComparisonResult(html_path, json_path, tuple(names), tuple(rows), wins)
