"""Selection: chi2 of total-energy distributions per checkpoint, best-checkpoint choice."""

from .config import SelectConfig
from .plot import plot_selection, plot_selection_distance
from .selection import SelectResult, select_best, selected_checkpoint

__all__ = [
    "SelectConfig",
    "SelectResult",
    "plot_selection",
    "plot_selection_distance",
    "select_best",
    "selected_checkpoint",
]
