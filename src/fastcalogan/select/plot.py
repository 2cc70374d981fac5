"""Drawing of chi2/NDF against training iteration (draws on a given axis, computes nothing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.ticker import MaxNLocator

__all__ = ["plot_selection", "plot_selection_distance"]


def plot_selection(
    ax: Any,
    iterations: Sequence[int],
    total: Sequence[float],
    per_point: Mapping[str, Sequence[float]],
    best_iteration: int,
    title: str = "",
    ceiling: Sequence[float] | None = None,
) -> list[Any]:
    """Draw chi2/NDF vs iteration: thin lines per energy point, a thick total, the best marked.

    Args:
        ax: a matplotlib ``Axes``.
        iterations: checkpoint iterations, shape ``(n_checkpoints,)``.
        total: total chi2/NDF per checkpoint.
        per_point: label -> chi2/NDF per checkpoint, for each energy point.
        best_iteration: the chosen checkpoint.
        title: axis title.
        ceiling: the largest total chi2/NDF the sample sizes allow, per checkpoint (dashed).

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
    if ceiling is not None:
        artists += ax.plot(
            iterations, ceiling, color="black", lw=1.2, ls="--", label="ceiling (N+M)/NDF"
        )
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel(r"$\chi^2$/NDF")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=6, ncol=2)
    return artists


def plot_selection_distance(
    ax: Any,
    iterations: Sequence[int],
    total: Sequence[float],
    per_point: Mapping[str, Sequence[float]],
    best_iteration: int,
) -> list[Any]:
    """Draw the 1-D Wasserstein distance of E_tot/E_inc vs iteration (no ceiling, unlike chi2).

    Args:
        ax: a matplotlib ``Axes``.
        iterations: checkpoint iterations, shape ``(n_checkpoints,)``.
        total: mean distance over the energy points, per checkpoint.
        per_point: label -> distance per checkpoint, for each energy point.
        best_iteration: the checkpoint chosen by chi2/NDF (marked).

    Returns:
        The artists drawn.
    """
    artists: list[Any] = []
    for label, values in per_point.items():
        artists += ax.plot(iterations, values, lw=0.8, alpha=0.6, label=label)
    artists += ax.plot(iterations, total, color="black", lw=2.2, label="mean")
    best = list(iterations).index(best_iteration)
    artists += ax.plot(
        [best_iteration], [total[best]], marker="*", ms=16, color="red", ls="", label="chosen"
    )
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel(r"$W_1$ of $E_\mathrm{tot}/E_\mathrm{inc}$")
    return artists
