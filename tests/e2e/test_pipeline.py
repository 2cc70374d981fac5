"""End-to-end smoke test of the demo path: every stage through the command line, tiny sizes."""

from __future__ import annotations

import json
from pathlib import Path

import h5py

from fastcalogan.data import read_showers
from fastcalogan.evaluate import METRICS_KEYS
from fastcalogan.geometry import load_geometry
from fastcalogan.train import list_checkpoints, load_checkpoint


def test_demo_quick_runs_the_whole_chain(demo_quick: tuple[Path, str]) -> None:
    out, output = demo_quick  # fastcalogan demo --quick -o OUT (tests/conftest.py)
    assert f"report:            {out / 'report' / 'index.html'}" in output

    summary = json.loads((out / "demo.json").read_text())
    # the fast recipe is the demo's default, and its report says so
    assert (summary["preset"], summary["family"]) == ("fast-photon", "flow-gan")
    photons = load_geometry("ds1-photons")
    # every shower file is a CaloChallenge file with the dataset-1 photon binning
    for key in ("training_file", "reference_file", "generated_file", "voxelised_hits"):
        with h5py.File(summary[key], "r") as f:
            assert sorted(f.keys()) == ["incident_energies", "showers"], key
        data = read_showers(summary[key], binning=photons, max_deposit_ratio=None)
        assert data.n_events > 0 and data.showers.shape[1] == 368
    assert read_showers(summary["training_file"]).n_events == 242  # ds1 counts x 20/10000

    # training wrote self-describing checkpoints; selection chose one of them
    checkpoints = list_checkpoints(summary["run_dir"])
    assert [load_checkpoint(c)["iteration"] for c in checkpoints] == [1, 2, 3]
    assert summary["best_checkpoint"] in {str(c) for c in checkpoints}
    assert Path(summary["run_dir"], "selection", "chi2.csv").is_file()

    # the selected generator was exported to ONNX with its sidecar
    onnx_path = Path(summary["onnx"])
    assert onnx_path.stat().st_size == summary["onnx_bytes"] > 0
    sidecar = json.loads(onnx_path.with_suffix(".json").read_text())
    assert sidecar["particle"] == "photon" and sidecar["n_voxels"] == 368

    # the evaluation wrote its metrics with the documented keys, and a self-contained page
    metrics = json.loads(Path(summary["metrics"]).read_text())
    assert set(METRICS_KEYS) <= set(metrics)
    html = Path(summary["report"]).read_text()
    assert html.count("data:image/png;base64,") >= 10
    assert "<h1>demo: fast-photon (flow-gan), photons |eta| 0.20-0.25</h1>" in html
