"""Reports: plots of the evaluation's distributions and one self-contained HTML page."""

from .html import write_report
from .plots import (
    GENERATED_STYLE,
    REFERENCE_STYLE,
    density,
    plot_chi2_vs_iteration,
    plot_histograms,
    plot_losses,
    plot_polar_layer,
    plot_ratio,
    plot_ratio_vs_energy,
    plot_vs_energy,
)

__all__ = [
    "GENERATED_STYLE",
    "REFERENCE_STYLE",
    "density",
    "plot_chi2_vs_iteration",
    "plot_histograms",
    "plot_losses",
    "plot_polar_layer",
    "plot_ratio",
    "plot_ratio_vs_energy",
    "plot_vs_energy",
    "write_report",
]
