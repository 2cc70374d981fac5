"""``fastcalogan evaluate`` through click's CliRunner (tiny 3-layer binning, 64 showers)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import write_showers
from fastcalogan.geometry import Binning, write_binning_xml


def test_cli_writes_metrics_and_report(
    tmp_path: Path, tiny_binning: Binning, tiny_showers: tuple[np.ndarray, np.ndarray]
) -> None:
    e, s = tiny_showers
    xml = write_binning_xml(tiny_binning, tmp_path / "tiny.xml")
    ref = write_showers(tmp_path / "ref.h5", e, s, {"particle": "photon", "binning": str(xml)})
    gen = write_showers(tmp_path / "gen.h5", e, s * 0.97, {"particle": "photon"})
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--reference", str(ref),
            "--generated", str(gen),
            "--particle", "photon",
            "-o", str(out),
            "--set", "n_bins=8",
            "--set", "nn_tree_events=20",
            "--set", "nn_query_events=10",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "metrics.json").is_file() and (out / "index.html").is_file()
    assert f"report: {out / 'index.html'}" in result.output
    assert "chi2_ndf_e_tot" in result.output and "auc_voxels" in result.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["inputs"]["n_generated"] == 64 and m["binning"]["n_voxels"] == 16
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") >= 10 and "Total energy" in page


def test_cli_user_error_is_one_line(tmp_path: Path) -> None:
    missing = str(tmp_path / "no.h5")
    result = CliRunner().invoke(
        cli, ["evaluate", "--reference", missing, "--generated", missing, "-o", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_cli_bad_override_names_the_key(tmp_path: Path) -> None:
    missing = str(tmp_path / "no.h5")
    result = CliRunner().invoke(
        cli,
        ["evaluate", "--reference", missing, "--generated", missing, "-o", str(tmp_path),
         "--set", "clasifier.epochs=3"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "did you mean 'classifier'" in result.output


def test_cli_refuses_mismatched_files_in_one_line(
    tmp_path: Path, tiny_binning: Binning, tiny_showers: tuple[np.ndarray, np.ndarray]
) -> None:
    e, s = tiny_showers
    xml = write_binning_xml(tiny_binning, tmp_path / "tiny.xml")
    attrs = {"binning": str(xml), "eta_min": 0.2, "eta_max": 0.25}
    ref = write_showers(tmp_path / "ref.h5", e, s, {**attrs, "particle": "photon"})
    gen = write_showers(tmp_path / "gen.h5", e, s, {**attrs, "particle": "pion"})
    args = ["evaluate", "--reference", str(ref), "--generated", str(gen), "-o", str(tmp_path / "o"),
            "--set", "metrics=[chi2]"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert "particle 'pion', but the reference ref.h5 holds 'photon'" in errors[0]
    assert "--allow-mismatch" in errors[0]
    forced = CliRunner().invoke(cli, [*args, "--allow-mismatch", "--histograms", "calochallenge"])
    assert forced.exit_code == 0, forced.output
    assert "warning:" in forced.output
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["config"]["histogram_binning"] == "calochallenge" and m["config"]["binning"] is None
    assert m["inputs"]["particle"] == "photon"
