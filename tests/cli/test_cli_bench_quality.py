"""``fastcalogan bench quality``: two recipes on tiny data through the CLI; the JSON's content
and the plot (timings are not asserted, only that they are there and consistent)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fastcalogan.bench import DEFAULT_RECIPES, QualityConfig, crossing
from fastcalogan.cli import cli
from fastcalogan.data import write_showers
from fastcalogan.errors import ConfigError
from fastcalogan.geometry import Binning


@pytest.fixture
def tiny_reference(
    tmp_path: Path,
    tiny_binning: Binning,
    tiny_file: Path,
    fabricate: Callable[..., tuple[np.ndarray, np.ndarray]],
) -> Path:
    """An independent sample of the tiny file's distribution (another seed)."""
    e, s = fabricate(tiny_binning, 32, seed=4)
    attrs = {
        "particle": "photon",
        "eta_min": 0.2,
        "eta_max": 0.25,
        "binning": str(tmp_path / "tiny-binning.yaml"),
    }
    return write_showers(tmp_path / "tiny-reference.h5", e, s, attrs)


def test_two_recipes_side_by_side(tmp_path: Path, tiny_file: Path, tiny_reference: Path) -> None:
    out = tmp_path / "quality"
    args = ["bench", "quality", "--recipe", "fastcalogan", "--recipe", "vae-mlp"]
    args += ["--data", str(tiny_file), "--reference", str(tiny_reference), "--jobs", "1"]
    args += ["--budget", "0.8", "--checkpoint-seconds", "0.25", "-n", "40"]
    args += ["--classifier-events", "25", "-o", str(out)]
    result = CliRunner().invoke(cli, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out / "quality.json")
    assert "best E_tot chi2/NDF" in result.output

    doc = json.loads((out / "quality.json").read_text())
    assert doc["schema"] == "fastcalogan-bench-quality-1"
    assert [r["recipe"] for r in doc["recipes"]] == ["fastcalogan", "vae-mlp"]
    assert doc["config"]["budget_seconds"] == 0.8 and doc["jobs"] == 1
    for r in doc["recipes"]:
        timeline = r["timeline"]
        # checkpoints in time within the budget, each with its clock and scores
        assert len(timeline) >= 2
        assert [p["iteration"] for p in timeline] == sorted(p["iteration"] for p in timeline)
        walls = [p["wall_seconds"] for p in timeline]
        assert walls == sorted(walls) and 0.8 <= walls[-1] < 10
        assert all(p["cpu_seconds"] > 0 for p in timeline)
        assert all(p["etot_chi2_ndf"] > 0 and p["layers_chi2_ndf"] > 0 for p in timeline)
        assert {"etot", "layers", "centre_r", "width_r"} <= set(timeline[0]["parts"])
        # the summary follows from the timeline
        best = min(timeline, key=lambda p: p["etot_chi2_ndf"])
        assert r["best_etot"]["etot_chi2_ndf"] == best["etot_chi2_ndf"]
        assert r["best_etot"]["iteration"] == best["iteration"]
        assert set(r["crossings"]) == {"10", "5", "2"}
        for t, c in r["crossings"].items():
            assert c == crossing(timeline, float(t))
        # selection's rule: the lowest merit among checkpoints that overlap the reference
        # somewhere; if none does, the nearest by the E_tot/E_inc distance
        overlapping = [p for p in timeline if not p["saturated_everywhere"]]
        chosen = (
            min(overlapping, key=lambda p: p["merit"])
            if overlapping
            else min(timeline, key=lambda p: p["w1"])
        )
        assert r["selected"]["iteration"] == chosen["iteration"]
        assert r["iterations"] == timeline[-1]["iteration"]
        auc = r["classifier_features"]["auc"]
        assert 0.0 <= auc <= 1.0
        assert r["classifier_features"]["n_events"] > 25  # per point, not per sample
        assert (Path(r["run_dir"]) / "selection" / "best.json").is_file()
    assert (out / "quality.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # a second run into the same folder would resume the runs: refused in one line
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2 and "choose a new --output folder" in again.output


def test_recipes_and_options() -> None:
    assert QualityConfig().recipe_names == DEFAULT_RECIPES["photon"]
    assert QualityConfig(particle="pion").recipe_names == (
        "fast-pion",
        "fastcalogan",
        "caloshowergan-pion",
    )
    assert QualityConfig.quick().budget_seconds < QualityConfig().budget_seconds
    with pytest.raises(ValueError, match="unknown recipe"):
        QualityConfig(recipes=("nope",))
    with pytest.raises(ValueError, match="data and reference together"):
        QualityConfig(data="a.h5")
    with pytest.raises(ValueError, match="classifier_events must be 0"):
        QualityConfig(classifier_events=10)


def test_cli_refuses_bad_options_in_one_line(tmp_path: Path) -> None:
    out = str(tmp_path / "q")
    bad = CliRunner().invoke(cli, ["bench", "quality", "--recipe", "nope", "-o", out])
    assert bad.exit_code == 2 and "unknown recipe" in bad.output
    assert len(bad.output.strip().splitlines()) == 1
    assert not isinstance(bad.exception, ConfigError) or bad.exit_code == 2
    plain = CliRunner().invoke(cli, ["bench"])
    assert plain.exit_code == 2 and "--output" in plain.output


def test_plot_draws_on_the_given_axis() -> None:
    from matplotlib.figure import Figure

    from fastcalogan.bench import plot_quality

    ax = Figure().add_subplot()
    curves = {"a": ([1.0, 2.0], [30.0, 4.0]), "b": ([1.0, 3.0], [20.0, 9.0])}
    artists = plot_quality(ax, curves, (10.0, 5.0, 2.0), "iteration", "chi2/NDF", xlog=True)
    assert len(artists) == 5 and ax.get_yscale() == "log" and ax.get_xscale() == "log"
