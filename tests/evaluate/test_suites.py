"""Observable suites: a detector's own figures of merit plug into evaluate and the report."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fastcalogan.data import ShowerData, layer_energies, write_showers
from fastcalogan.errors import ConfigError
from fastcalogan.evaluate import (
    EvaluateConfig,
    Suite,
    SuiteResult,
    evaluate,
    histogram_entry,
    load_histograms,
    register_suite,
    suites_for,
)
from fastcalogan.evaluate import suites as suites_module
from fastcalogan.geometry import CartesianGeometry, Geometry
from fastcalogan.report import write_report

GRID = CartesianGeometry.from_layers(
    "two-layers", "photon", None, [(0, (4, 6), (10, 10)), (1, (3, 3), (20, 20))]
)


class FrontShare(Suite):
    """A toy study: the share of the energy in the front layer, and the mean front image."""

    name = "front-share"
    title = "Front-layer share (toy study)"
    note = "Share of the deposit in layer 0."

    def applies(self, geometry: Geometry, attrs: Mapping[str, Any]) -> bool:
        return geometry.name == "two-layers"

    def compute(
        self, reference: ShowerData, generated: ShowerData, geometry: Geometry, rng: Any
    ) -> SuiteResult:
        def share(d: ShowerData) -> np.ndarray:
            e = layer_energies(d.showers, geometry)
            return e[:, 0] / e.sum(axis=1)

        r, g = share(reference), share(generated)
        hists = histogram_entry("front share", r, g, np.linspace(0.0, 0.5, 11))
        hists["front image/reference_image"] = geometry.layer_images(reference.showers, 0).mean(0)
        hists["front image/generated_image"] = geometry.layer_images(generated.showers, 0).mean(0)
        return SuiteResult(
            metrics={"mean_reference": float(r.mean()), "mean_generated": float(g.mean())},
            histograms=hists,
            labels={"front share": "E_0 / E_tot", "front image": "E_cell [MeV]"},
            table={"header": ["sample", "mean share"], "rows": [["ref", r.mean()]]},
        )


@pytest.fixture
def toy_suite(monkeypatch: pytest.MonkeyPatch) -> Iterator[FrontShare]:
    monkeypatch.setattr(suites_module, "_SUITES", {})
    yield register_suite(FrontShare())  # type: ignore[misc]


def _files(tmp_path: Path, front: tuple[float, float]) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    paths = []
    for i, f in enumerate(front):
        e = np.repeat([1000.0, 4000.0], 100)
        s = rng.uniform(0.5, 1.5, (e.size, GRID.n_voxels))
        s[:, :24] *= f / (1 - f) * 9 / 24 * rng.uniform(0.8, 1.2, (e.size, 1))
        s *= (0.9 * e / s.sum(axis=1))[:, None]
        attrs = {"particle": "photon"}
        paths.append(write_showers(tmp_path / f"{i}.h5", e, s, attrs, geometry=GRID))
    return paths[0], paths[1]


def test_a_suite_runs_in_evaluate_and_shows_in_the_report(tmp_path: Path, toy_suite: Suite):
    ref, gen = _files(tmp_path, (0.2, 0.3))
    config = EvaluateConfig(metrics=("chi2",))
    result = evaluate(config, ref, gen, tmp_path / "out", reporter=write_report)
    suite = __import__("json").loads(result.metrics_path.read_text())["suites"]["front-share"]
    assert suite["title"] == "Front-layer share (toy study)"
    assert suite["mean_reference"] == pytest.approx(0.2, abs=0.02)
    assert suite["mean_generated"] == pytest.approx(0.3, abs=0.02)
    h = load_histograms(result.histograms_path)
    assert h["suite/front-share/front share/reference"].sum() == 200
    assert h["suite/front-share/front image/reference_image"].shape == (4, 6)
    page = result.report_path.read_text()
    assert "Front-layer share (toy study)" in page and "mean share" in page
    # and cell-grid files get their mean shower per layer drawn as images
    assert "Mean shower per layer" in page


def test_suites_are_chosen_by_the_files_or_by_name(tmp_path: Path, toy_suite: Suite):
    other = CartesianGeometry.from_layers("other", "photon", None, [(0, (2, 2), (5, 5))])
    assert suites_for(GRID, {}) == [toy_suite] and suites_for(other, {}) == []
    assert suites_for(GRID, {}, names=[]) == []
    with pytest.raises(ConfigError, match=r"unknown observable suite\(s\) \['nope'\]"):
        suites_for(GRID, {}, names=["nope"])
    with pytest.raises(ConfigError, match="do not apply to files of geometry other"):
        suites_for(other, {}, names=["front-share"])
    ref, gen = _files(tmp_path, (0.2, 0.2))
    config = EvaluateConfig(metrics=("chi2",), suites=())
    result = evaluate(config, ref, gen, tmp_path / "none")
    assert __import__("json").loads(result.metrics_path.read_text())["suites"] == {}
