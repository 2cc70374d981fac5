"""Plot functions return artists; write_report writes one self-contained page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.artist import Artist
from matplotlib.collections import QuadMesh
from matplotlib.container import Container
from matplotlib.figure import Figure

import fastcalogan.report as report
from fastcalogan.data import write_showers
from fastcalogan.evaluate import EvaluateConfig, evaluate, load_histograms
from fastcalogan.geometry import Binning, write_binning_xml


def _all_artists(items: list) -> bool:
    return bool(items) and all(isinstance(a, Artist | Container) for a in items)


def test_histogram_and_ratio_return_artists() -> None:
    fig = Figure()
    ax, rax = fig.subplots(2, 1)
    edges = np.linspace(0, 1, 5)
    items = report.plot_histograms(
        ax, edges, [1, 2, 3, 4], [2, 2, 3, 3], annotation="x", legend=True
    )
    assert _all_artists(items) and len(items) == 4
    assert _all_artists(report.plot_ratio(rax, edges, [1, 2, 0, 4], [2, 2, 3, 3]))
    assert rax.get_ylim() == (0.5, 1.5)


def test_energy_plots_and_polar_return_artists() -> None:
    fig = Figure()
    ax1 = fig.add_subplot(2, 2, 1)
    ax2 = fig.add_subplot(2, 2, 2)
    pax = fig.add_subplot(2, 2, 3, projection="polar")
    e = [1000.0, 2000.0]
    assert _all_artists(
        report.plot_vs_energy(ax1, e, [0.9, None], [0.91, 0.92], [0.01, None], None, ylabel="r")
    )
    assert _all_artists(report.plot_ratio_vs_energy(ax2, e, [1.0, None], [0.01, None]))
    items = report.plot_polar_layer(pax, [0, 1, 2, 5], 2, np.arange(6.0), title="EMB1")
    assert isinstance(items[0], QuadMesh)


def test_importing_report_leaves_pyplot_and_rcparams_alone() -> None:
    code = (
        "import sys, matplotlib; import fastcalogan.report; "
        "assert 'matplotlib.pyplot' not in sys.modules; "
        "changed = [k for k in matplotlib.rcParamsDefault if k != 'backend' "
        "and str(matplotlib.rcParams[k]) != str(matplotlib.rcParamsDefault[k])]; "
        "assert not changed, changed"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_write_report(tmp_path: Path, tiny_showers: tuple, tiny_binning: Binning) -> None:
    e, s = tiny_showers
    attrs = {"particle": "photon"}
    ref = write_showers(tmp_path / "r.h5", e, s, attrs)
    gen = write_showers(tmp_path / "g.h5", e, s * 1.02, attrs)
    xml = write_binning_xml(tiny_binning, tmp_path / "tiny.xml")
    cfg = EvaluateConfig(binning=str(xml), metrics=("chi2", "response"), n_bins=8)
    r = evaluate(cfg, ref, gen, tmp_path / "out", reporter=report.write_report)
    assert r.report_path == tmp_path / "out" / "index.html"
    page = r.report_path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Mean shower per layer" in page
    assert not list((tmp_path / "out").glob("*.png"))  # PNGs are embedded
    h = load_histograms(r.histograms_path)
    assert {"energies", "e_tot/0/edges", "mean_shower/generated"} <= set(h)
    assert json.loads(r.metrics_path.read_text())["binning"]["name"] == tiny_binning.name


@pytest.mark.parametrize("name", report.__all__)
def test_public_api(name: str) -> None:
    assert hasattr(report, name)
