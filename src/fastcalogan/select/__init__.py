"""Selection: chi2 of total-energy (and layer-energy and shape) distributions per checkpoint,
best-checkpoint choice."""

from .config import MeritWeights, SelectConfig
from .plot import plot_selection, plot_selection_distance
from .selection import SelectResult, select_best, selected_checkpoint

__all__ = [
    "MeritWeights",
    "SelectConfig",
    "SelectResult",
    "plot_selection",
    "plot_selection_distance",
    "select_best",
    "selected_checkpoint",
]
