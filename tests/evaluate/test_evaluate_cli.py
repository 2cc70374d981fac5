"""``fastcalogan evaluate`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from fastcalogan.cli import cli


def test_cli_writes_metrics_and_report(shower_files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--reference",
            str(shower_files["reference"]),
            "--generated",
            str(shower_files["distorted"]),
            "--particle",
            "photon",
            "-o",
            str(out),
            "--n-max",
            "2000",
            "--set",
            "metrics=[chi2,response,classifier_features]",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "metrics.json").is_file() and (out / "index.html").is_file()
    assert f"report: {out / 'index.html'}" in result.output
    assert "chi2_ndf_e_tot" in result.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["inputs"]["n_generated"] == 2000
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") >= 10 and "Total energy" in page


def test_cli_user_error_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--reference",
            str(tmp_path / "no.h5"),
            "--generated",
            str(tmp_path / "no.h5"),
            "-o",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert "no such file" in result.output
