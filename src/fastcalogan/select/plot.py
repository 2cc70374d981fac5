"""Drawing of chi2/NDF against training iteration (draws on a given axis, computes nothing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["plot_selection"]


def plot_selection(
    ax: Any,
    iterations: Sequence[int],
    total: Sequence[float],
    per_point: Mapping[str, Sequence[float]],
    best_iteration: int,
    title: str = "",
) -> list[Any]:
    """Draw chi2/NDF vs iteration: thin lines per energy point, a thick total, the best marked.

    Args:
        ax: a matplotlib ``Axes``.
        iterations: checkpoint iterations, shape ``(n_checkpoints,)``.
        total: total chi2/NDF per checkpoint.
        per_point: label -> chi2/NDF per checkpoint, for each energy point.
        best_iteration: the chosen checkpoint.
        title: axis title.

    Returns:
        The artists drawn.
    """
    artists: list[Any] = []
    for label, values in per_point.items():
        artists += ax.plot(iterations, values, lw=0.8, alpha=0.6, label=label)
    artists += ax.plot(iterations, total, color="black", lw=2.2, label="total")
    best = list(iterations).index(best_iteration)
    artists += ax.plot(
        [best_iteration], [total[best]], marker="*", ms=16, color="red", ls="", label="chosen"
    )
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(r"$\chi^2$/NDF")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=6, ncol=2)
    return artists
