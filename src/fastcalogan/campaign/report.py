"""The campaign's HTML index: chi2/NDF and 65 GeV response vs |eta|, memory, links to tasks.

The figures follow FastCaloGAN's figures 16-18 (mean energy response vs |eta| of the GANs
next to the training sample, per particle). Plot functions draw on a given ``ax`` and return
the artists; :func:`write_report` computes nothing itself beyond collecting the numbers the
tasks recorded.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._fileio import atomic_path, write_text
from .engine import read_status
from .manifest import StoredCampaign
from .status import TABLE_COLUMNS, TaskRow, collect_status, format_bytes, table_cells

__all__ = ["ReportResult", "plot_chi2_vs_eta", "plot_response_vs_eta", "write_report"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


@dataclass(frozen=True)
class ReportResult:
    """What :func:`write_report` wrote.

    Attributes:
        index_path: the campaign's ``index.html``.
        figure_paths: the PNG figures.
        task_pages: one ``report.html`` per task folder.
        total_weights_bytes: summed size of every exported generator.
        n_done: tasks done.
        n_tasks: tasks in the campaign.
    """

    index_path: Path
    figure_paths: tuple[Path, ...]
    task_pages: tuple[Path, ...]
    total_weights_bytes: int
    n_done: int
    n_tasks: int


def _by_particle(rows: Sequence[TaskRow]) -> dict[str, list[TaskRow]]:
    out: dict[str, list[TaskRow]] = {}
    for row in rows:
        out.setdefault(row.particle, []).append(row)
    return {p: sorted(r, key=lambda x: x.eta_min) for p, r in out.items()}


def _eta_centre(row: TaskRow) -> float:
    return 0.5 * (row.eta_min + row.eta_max)


def plot_chi2_vs_eta(ax: Any, rows: Sequence[TaskRow]) -> list[Any]:
    """Best chi2/NDF vs |eta| (slice centres), one series per particle.

    Args:
        ax: a matplotlib Axes.
        rows: task rows; those without a finite selection are left out.

    Returns:
        The line artists, one per particle with data.
    """
    artists = []
    for i, (particle, prow) in enumerate(_by_particle(rows).items()):
        pts = [
            (_eta_centre(r), r.chi2_ndf)
            for r in prow
            if r.chi2_ndf is not None and math.isfinite(r.chi2_ndf)
        ]
        if not pts:
            continue
        x, y = zip(*pts, strict=True)
        (line,) = ax.plot(x, y, marker=_MARKERS[i % len(_MARKERS)], ls="-", label=particle)
        artists.append(line)
    ax.set_xlabel("|eta|")
    ax.set_ylabel("best chi2/NDF (E_tot)")
    if artists:
        ax.legend()
    return artists


def plot_response_vs_eta(ax: Any, rows: Sequence[TaskRow], energy_gev: float = 65.5) -> list[Any]:
    """Mean E_tot/E_inc vs |eta| at one energy: GAN (filled) and training sample (open).

    Args:
        ax: a matplotlib Axes.
        rows: task rows; those without a response summary are left out.
        energy_gev: the energy the summaries were made at (for the title).

    Returns:
        The line artists (GAN and reference per particle).
    """
    artists = []
    for i, (particle, prow) in enumerate(_by_particle(rows).items()):
        marker = _MARKERS[i % len(_MARKERS)]
        gan = [(_eta_centre(r), r.response_gan) for r in prow if r.response_gan is not None]
        ref = [
            (_eta_centre(r), r.response_reference) for r in prow if r.response_reference is not None
        ]
        if gan:
            x, y = zip(*gan, strict=True)
            (line,) = ax.plot(x, y, marker=marker, ls="-", label=f"{particle} GAN")
            artists.append(line)
        if ref:
            x, y = zip(*ref, strict=True)
            color = artists[-1].get_color() if gan else None
            (line,) = ax.plot(
                x, y, marker=marker, mfc="none", ls="--", color=color, label=f"{particle} data"
            )
            artists.append(line)
    ax.set_xlabel("|eta|")
    ax.set_ylabel("mean E_tot / E_inc")
    ax.set_title(f"response at {energy_gev:.3g} GeV")
    if artists:
        ax.legend()
    return artists


def _save(fig: Any, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path


def _td(text: str) -> str:
    return f"<td>{html.escape(text)}</td>"


def _task_page(row: TaskRow, campaign_name: str) -> Path:
    status = read_status(row.folder) or {}
    lines = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(row.task)}</title></head><body>",
        f"<p><a href='../../index.html'>campaign {html.escape(campaign_name)}</a></p>",
        f"<h1>{html.escape(row.task)}</h1>",
        f"<p>state: <b>{html.escape(row.state)}</b>, attempts: {row.attempts}</p>",
    ]
    if row.error:
        lines.append(f"<pre>{html.escape(row.error)}</pre>")
    lines.append("<table border='1'><tr><th>step</th><th>state</th><th>seconds</th>")
    lines.append("<th>attempts</th><th>outputs / note</th></tr>")
    for name, rec in status.get("steps", {}).items():
        parts = []
        for key, value in rec.get("outputs", {}).items():
            if (key.endswith("_path") or key.endswith("_dir")) and value:
                ref = html.escape(str(value))
                parts.append(f"{html.escape(key)}: <a href='{ref}'>{ref}</a>")
            else:
                parts.append(f"{html.escape(key)}: {html.escape(str(value))}")
        if rec.get("note"):
            parts.append(html.escape(str(rec["note"])))
        lines.append(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(str(rec.get('state')))}</td>"
            f"<td>{rec.get('seconds', '')}</td><td>{rec.get('attempts', '')}</td>"
            f"<td>{'<br>'.join(parts)}</td></tr>"
        )
    lines.append("</table>")
    plot = status.get("steps", {}).get("select", {}).get("outputs", {}).get("plot_path")
    if plot and str(plot).endswith((".png", ".svg")):
        lines.append(f"<h2>chi2/NDF vs iteration</h2><img src='{html.escape(str(plot))}'>")
    lines.append("<p><a href='task.log'>task.log</a> | <a href='status.json'>status.json</a></p>")
    lines.append("</body></html>")
    return write_text(row.folder / "report.html", "\n".join(lines) + "\n")


def write_report(campaign: StoredCampaign) -> ReportResult:
    """Write ``index.html`` and its figures into the campaign folder, and a page per task.

    Args:
        campaign: the campaign as stored by ``campaign run`` (:func:`read_campaign`).

    Returns:
        :class:`ReportResult` with the paths and the total exported-generator size.
    """
    from matplotlib.figure import Figure

    config, campaign_dir = campaign.config, campaign.directory
    rows = collect_status(campaign)
    figures = []
    fig = Figure(figsize=(6, 4), layout="constrained")
    plot_chi2_vs_eta(fig.add_subplot(), rows)
    figures.append(_save(fig, campaign_dir / "report" / "chi2_vs_eta.png"))
    fig = Figure(figsize=(6, 4), layout="constrained")
    plot_response_vs_eta(fig.add_subplot(), rows, config.export.response_energy_mev / 1000.0)
    figures.append(_save(fig, campaign_dir / "report" / "response_vs_eta.png"))
    pages = []
    for row in rows:
        if row.folder.is_dir():
            pages.append(_task_page(row, config.name))
    total = sum(r.weights_bytes or 0 for r in rows)
    done = sum(r.state == "done" for r in rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in (*TABLE_COLUMNS, "response GAN/data"))
    body = []
    for row in rows:
        cells = table_cells(row)
        link = f"{row.task}/report.html"
        first = (
            f"<td><a href='{html.escape(link)}'>{html.escape(cells[0])}</a></td>"
            if row.folder.is_dir()
            else _td(cells[0])
        )
        response = "-"
        if row.response_gan is not None:
            ref = "-" if row.response_reference is None else f"{row.response_reference:.4f}"
            response = f"{row.response_gan:.4f} / {ref}"
        body.append("<tr>" + first + "".join(_td(c) for c in cells[1:]) + _td(response) + "</tr>")
    text = "\n".join(
        [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>campaign {html.escape(config.name)}</title></head><body>",
            f"<h1>campaign {html.escape(config.name)}</h1>",
            f"<p>{done}/{len(rows)} tasks done;"
            f" particles: {html.escape(', '.join(config.particles))};"
            f" {len(config.slices())} |eta| slices; training: {html.escape(config.train.preset)},"
            f" {config.train.iterations} iterations.</p>",
            f"<p>Total memory of the exported generators: <b>{format_bytes(total)}</b>"
            f" ({total} bytes).</p>",
            "<img src='report/chi2_vs_eta.png'> <img src='report/response_vs_eta.png'>",
            f"<table border='1'><tr>{head}</tr>",
            *body,
            "</table>",
            "<p><a href='campaign.json'>campaign.json</a></p>",
            "</body></html>",
        ]
    )
    index = write_text(campaign_dir / "index.html", text + "\n")
    return ReportResult(index, tuple(figures), tuple(pages), total, done, len(rows))
