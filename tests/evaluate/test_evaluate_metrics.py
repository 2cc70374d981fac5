"""End-to-end metrics: an independent sample is accepted, a 5 % layer-2 distortion is flagged.

The samples come from the reference simulator (``conftest.py``): two independent seeds, and
the second with its EMB2 energies scaled by 5 %.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fastcalogan._config import parse
from fastcalogan.data import write_showers
from fastcalogan.errors import BinningError, ConfigError
from fastcalogan.evaluate import (
    HEADLINE_KEYS,
    METRICS_KEYS,
    EvaluateConfig,
    evaluate,
    load_histograms,
)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, sample_writer: Any) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("eval")
    paths = sample_writer(tmp, 2500)
    cfg = EvaluateConfig(metrics=("chi2", "response", "fpd", "classifier_features"))
    out = {}
    for name in ("same", "distorted"):
        r = evaluate(cfg, paths["reference"], paths[name], tmp / name)
        out[name] = json.loads(r.metrics_path.read_text())
        out[name]["_result"] = r
    return out


def test_same_simulator_is_accepted(results: dict[str, dict]) -> None:
    hl = results["same"]["headline"]
    assert 0.4 < hl["auc_features"] < 0.6
    assert abs(hl["fpd"]) < 0.1
    assert hl["chi2_ndf_e_tot"] < 2.0
    assert hl["response_ratio_max_deviation"] < 0.01


def test_layer2_distortion_is_flagged(results: dict[str, dict]) -> None:
    same, bad = results["same"]["headline"], results["distorted"]["headline"]
    assert bad["auc_features"] > 0.6
    assert bad["fpd"] > same["fpd"] + 3 * np.hypot(bad["fpd_error"], same["fpd_error"])
    assert bad["chi2_ndf_e_tot"] > 5 * same["chi2_ndf_e_tot"]
    layer2 = results["distorted"]["observables"]["e_layer_EMB2"]["chi2_ndf"]
    assert layer2 > 2 * results["same"]["observables"]["e_layer_EMB2"]["chi2_ndf"]
    assert bad["response_ratio_max_deviation"] > 0.02


def test_metrics_json_keys_are_stable(results: dict[str, dict]) -> None:
    m = results["same"]
    assert tuple(k for k in m if k != "_result") == tuple(sorted(METRICS_KEYS))
    assert set(m["headline"]) == set(HEADLINE_KEYS)
    assert m["kpd"] is None and m["nearest_neighbour"] is None  # not requested
    assert m["headline"]["auc_voxels"] is None
    assert set(m["observables"]["e_tot"]) == {"chi2_ndf", "separation", "per_energy"}
    assert len(m["energy_points"]) == 4
    assert len(m["observables"]["e_tot"]["per_energy"]["chi2_ndf"]) == 4
    assert set(m["response"]) == {
        "energy",
        "reference",
        "reference_error",
        "generated",
        "generated_error",
        "ratio",
        "ratio_error",
    }
    assert m["inputs"]["n_reference"] == 10000 and m["binning"]["n_voxels"] == 368
    r = m["_result"]
    assert r.report_path is None and r.headline["fpd"] == m["headline"]["fpd"]
    h = load_histograms(r.histograms_path)
    assert h["e_tot/0/edges"].shape == (41,) and h["mean_shower/reference"].shape == (368,)


def test_full_metric_set_on_small_sample(shower_files: dict[str, Path], tmp_path: Path) -> None:
    cfg = EvaluateConfig(nn_query_events=200, kpd_batch_size=500, kpd_batches=3)
    steps: list[tuple[int, int]] = []
    r = evaluate(
        cfg,
        shower_files["reference"],
        shower_files["same"],
        tmp_path / "o",
        progress=lambda d, t: steps.append((d, t)),
        training_path=shower_files["same"],
    )
    m = json.loads(r.metrics_path.read_text())
    assert all(m["headline"][k] is not None for k in HEADLINE_KEYS)
    assert m["nearest_neighbour"]["memory"] == "training"
    # the generated sample *is* the training sample here: every query has a copy at distance 0
    # (the memory set holds 90 % of it, so the median distance is 0)
    assert m["nearest_neighbour"]["memorisation_ratio"] == 0.0
    assert m["nearest_neighbour"]["copy_fraction"] > 0.8
    assert steps[-1][0] == steps[-1][1]
    assert m["inputs"]["n_reference"] == 2000


def test_different_binnings_are_refused(
    shower_files: dict[str, Path], tmp_path: Path, tiny_showers: tuple
) -> None:
    e, s = tiny_showers
    other = write_showers(tmp_path / "tiny.h5", e, s, {"particle": "photon"})
    with pytest.raises(BinningError, match="16 voxels per shower, but the reference"):
        evaluate(EvaluateConfig(), shower_files["reference"], other, tmp_path / "o")


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="unknown particle 'muonium'"):
        parse({"particle": "muonium"}, EvaluateConfig, "eval.yaml")
    with pytest.raises(ConfigError, match=r"eval\.yaml: classifier\.epochs"):
        parse({"classifier": {"epochs": 0}}, EvaluateConfig, "eval.yaml")
    with pytest.raises(ConfigError, match="fpd_min_samples"):
        parse({"fpd_min_samples": 900, "fpd_max_samples": 100}, EvaluateConfig, "x")
    c = parse({"metrics": ["kpd", "chi2", "kpd"]}, EvaluateConfig, "x")
    assert c.metrics == ("chi2", "kpd")
