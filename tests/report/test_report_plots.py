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
    # reference fill, generated step, its error bars, annotation, legend
    assert _all_artists(items) and len(items) == 5
    assert _all_artists(report.plot_ratio(rax, edges, [1, 2, 0, 4], [2, 2, 3, 3]))
    assert rax.get_ylim() == (0.5, 1.5)


def test_densities_are_per_unit_of_the_drawn_axis() -> None:
    """Log-binned histograms drawn on a log axis: per log10 x, not per x (issue 12: 1e8)."""
    edges = np.array([1.0, 10.0, 100.0, 1000.0])
    d = report.density([10, 20, 10], edges, log_x=True)
    np.testing.assert_allclose(d, [0.25, 0.5, 0.25])
    assert np.sum(d * np.diff(np.log10(edges))) == 1.0
    # under- and overflow count in the normalisation and are written, not drawn in edge bins
    fig = Figure()
    ax = fig.subplots()
    items = report.plot_histograms(
        ax,
        edges,
        [10, 20, 10],
        [10, 20, 0],
        reference_flow=[0, 0],
        generated_flow=[0, 10],
        log_x=True,
    )
    text = next(a for a in items if hasattr(a, "get_text")).get_text()
    assert "outside (below / above): ref 0 / 0 %, gen 0 / 25 %" in text
    assert ax.get_ylabel() == r"$1/N\;dN/d\log_{10}x$"
    ratio = report.plot_ratio(fig.add_subplot(2, 1, 2), edges, [10, 20, 10], [10, 30, 1])
    assert _all_artists(ratio)


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
    tax = fig.add_subplot(2, 2, 4)
    assert _all_artists(
        report.plot_chi2_vs_iteration(tax, [100, 200, 300], [9.0, 2.0, 3.0], best=200)
    )
    assert tax.get_yscale() == "log"
    assert _all_artists(
        report.plot_losses(ax1, np.arange(10), {"critic_loss": np.ones(10)}, smooth=3)
    )


def test_importing_report_leaves_pyplot_and_rcparams_alone() -> None:
    code = (
        "import sys, matplotlib; import fastcalogan.report; "
        "assert 'matplotlib.pyplot' not in sys.modules; "
        "changed = [k for k in matplotlib.rcParamsDefault if k != 'backend' "
        "and str(matplotlib.rcParams[k]) != str(matplotlib.rcParamsDefault[k])]; "
        "assert not changed, changed"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _fake_run(folder: Path) -> Path:
    """A run folder with the two files the report's training curves read."""
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "selection").mkdir()
    rows = "".join(f"{i},{-0.1 * i},{0.05 * i},0.01,0.2,4\n" for i in range(1, 21))
    (folder / "losses.csv").write_text(
        "iteration,critic_loss,generator_loss,gradient_penalty,wasserstein,active_points\n" + rows
    )
    table = {
        "rows": [{"iteration": it, "chi2_ndf": c} for it, c in ((10, 9.0), (20, 3.0))],
        "best": {"iteration": 20, "chi2_ndf": 3.0},
    }
    (folder / "selection" / "chi2.json").write_text(json.dumps(table))
    return folder


def test_write_report(tmp_path: Path, tiny_showers: tuple, tiny_binning: Binning) -> None:
    e, s = tiny_showers
    attrs = {"particle": "photon"}
    run = _fake_run(tmp_path / "run")
    ref = write_showers(tmp_path / "r.h5", e, s, attrs)
    gen = write_showers(tmp_path / "g.h5", e, s * 1.02, {**attrs, "source": str(run)})
    xml = write_binning_xml(tiny_binning, tmp_path / "tiny.xml")
    cfg = EvaluateConfig(binning=str(xml), metrics=("chi2", "response"), n_bins=8)
    r = evaluate(cfg, ref, gen, tmp_path / "out", reporter=report.write_report)
    assert r.report_path == tmp_path / "out" / "index.html"
    page = r.report_path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Mean shower per layer" in page
    for heading in (
        "Training",
        "Example showers",
        "Total energy per incident energy",
        "All observables",
        "ceiling",
    ):
        assert heading in page
    assert not list((tmp_path / "out").glob("*.png"))  # PNGs are embedded
    h = load_histograms(r.histograms_path)
    assert {"energies", "e_tot/0/edges", "mean_shower/generated", "examples/generated"} <= set(h)
    assert h["training/run/losses/critic_loss"].shape == (20,)
    assert h["training/run/chi2/best"].tolist() == [20.0]
    assert json.loads(r.metrics_path.read_text())["binning"]["name"] == tiny_binning.name


def test_png_panels_are_150_dpi_and_sized_for_two_columns() -> None:
    import base64
    import io

    from PIL import Image

    from fastcalogan.report import html

    h = {
        "k/edges": np.linspace(0, 1, 11),
        "k/reference": np.arange(10.0),
        "k/generated": np.arange(10.0),
        "k/reference_flow": np.zeros(2),
        "k/generated_flow": np.array([0.0, 2.0]),
    }
    with html._style():
        png = html._hist_panel(h, "k", xlabel="x [mm]", title="t", annotation="a")
    img = Image.open(io.BytesIO(base64.b64decode(png)))
    assert img.info["dpi"][0] == pytest.approx(150, abs=1)
    # two panels side by side fill a 900 px page at about 2/3 scale: fonts stay readable
    assert 650 <= img.size[0] <= 800


@pytest.mark.parametrize("name", report.__all__)
def test_public_api(name: str) -> None:
    assert hasattr(report, name)
