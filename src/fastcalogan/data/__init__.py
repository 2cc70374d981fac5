"""Data: shower and hit files, dataset definitions, and observables shared by later stages."""

from .atlas_csv import energy_from_filename, read_atlas_csv, read_atlas_csv_set
from .datasets import DS1_ENERGIES, ds1_event_counts, eta_slices
from .hits import HitShowers, HitWriter, iter_hits, read_hits, write_hits
from .observables import layer_energies, layer_fractions, total_energy
from .showers import (
    ShowerData,
    ShowerWriter,
    iter_showers,
    read_shower_attrs,
    read_showers,
    validate_showers,
    write_showers,
)
from .stats import Chi2Result, chi2_histograms, chi2_samples, separation_power

__all__ = [
    "DS1_ENERGIES",
    "Chi2Result",
    "HitShowers",
    "HitWriter",
    "ShowerData",
    "ShowerWriter",
    "chi2_histograms",
    "chi2_samples",
    "ds1_event_counts",
    "energy_from_filename",
    "eta_slices",
    "iter_hits",
    "iter_showers",
    "layer_energies",
    "layer_fractions",
    "read_atlas_csv",
    "read_atlas_csv_set",
    "read_hits",
    "read_shower_attrs",
    "read_showers",
    "separation_power",
    "total_energy",
    "validate_showers",
    "write_hits",
    "write_showers",
]
