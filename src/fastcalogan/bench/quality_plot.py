"""Drawing of a quality curve panel (draws on a given axis, computes nothing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["plot_quality"]


def plot_quality(
    ax: Any,
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    thresholds: Sequence[float],
    xlabel: str,
    ylabel: str,
    legend: bool = True,
    xlog: bool = False,
) -> list[Any]:
    """One line with markers per recipe, dotted horizontal lines at the thresholds, log y.

    Args:
        ax: a matplotlib ``Axes``.
        curves: label -> (x, y) per checkpoint, in training order.
        thresholds: y values marked with dotted lines (e.g. chi2/NDF 10, 5, 2).
        xlabel, ylabel: axis labels.
        legend: draw the legend on this axis.
        xlog: logarithmic x axis (iterations: recipes differ by orders of magnitude).

    Returns:
        The artists drawn.
    """
    artists: list[Any] = []
    for label, (x, y) in curves.items():
        artists += ax.plot(x, y, marker="o", ms=3, lw=1.5, label=label)
    for t in thresholds:
        artists.append(ax.axhline(t, color="grey", ls=":", lw=1))
    ax.set_yscale("log")
    if xlog:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(fontsize=8)
    return artists
