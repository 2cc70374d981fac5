from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fastcalogan.data import (
    convert_atlas_csv,
    energy_from_filename,
    read_atlas_csv,
    read_atlas_csv_set,
    read_shower_attrs,
    read_showers,
)
from fastcalogan.errors import DataFormatError, OutputError
from fastcalogan.geometry import Binning


def _write(path: Path, rows: np.ndarray, header: bool = False) -> Path:
    lines = []
    if header:
        lines.append(",".join(["phiMod", "eta"] + [f"v{i}" for i in range(rows.shape[1] - 2)]))
    lines += [",".join(f"{x:g}" for x in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reads_per_energy_files(tmp_path: Path, tiny_binning: Binning) -> None:
    g = np.random.default_rng(0)
    rows = np.hstack([g.uniform(0, 0.1, (3, 1)), np.full((3, 1), 0.22), g.uniform(0, 50, (3, 16))])
    p1 = _write(tmp_path / "pid22_E65536_eta_20_25.csv", rows, header=True)
    p2 = _write(tmp_path / "pid22_E1024_eta_20_25.csv", rows / 100)
    data = read_atlas_csv(p1, tiny_binning)
    assert data.n_events == 3
    np.testing.assert_array_equal(data.incident_energies, 65536.0)
    np.testing.assert_allclose(data.showers, rows[:, 2:], rtol=1e-5)
    np.testing.assert_allclose(data.attrs["eta"], 0.22)
    both = read_atlas_csv_set([p1, p2], tiny_binning)
    assert both.incident_energies.tolist() == [1024.0] * 3 + [65536.0] * 3


def test_csv_errors(tmp_path: Path, tiny_binning: Binning) -> None:
    rows = np.ones((2, 10))
    p = _write(tmp_path / "pid22_E1024_eta_20_25.csv", rows)
    with pytest.raises(
        DataFormatError,
        match=r"csv:1: row has 10 columns; expected 18 \(2 leading \+ 16 voxels of tiny\)",
    ):
        read_atlas_csv(p, tiny_binning)
    with pytest.raises(DataFormatError, match="cannot read the energy point"):
        energy_from_filename("showers.csv")
    p.write_text("1,2," + ",".join(["1"] * 15) + ",x\n" * 2)
    with pytest.raises(DataFormatError, match=r"csv:2: non-numeric value"):
        read_atlas_csv(p, tiny_binning)


def test_convert_writes_one_shower_file_that_reads_back(
    tmp_path: Path, tiny_binning: Binning
) -> None:
    g = np.random.default_rng(1)
    rows = np.hstack([g.uniform(0, 0.1, (4, 1)), np.full((4, 1), 0.22), g.uniform(0, 50, (4, 16))])
    p1 = _write(tmp_path / "pid22_E65536_eta_20_25.csv", rows)
    p2 = _write(tmp_path / "pid22_E1024_eta_20_25.csv", rows[:2] / 100)
    out = tmp_path / "showers.h5"
    result = convert_atlas_csv([p1, p2], tiny_binning, out, attrs={"eta_min": 0.2})
    assert (result.out_path, result.n_events) == (out, 6)
    assert result.energies_mev == (1024.0, 65536.0)
    assert result.sources == (str(p2), str(p1))  # energy order
    data = read_showers(out, binning=tiny_binning)
    assert data.incident_energies.tolist() == [1024.0] * 2 + [65536.0] * 4
    np.testing.assert_allclose(data.showers[2:], rows[:, 2:], rtol=1e-5)
    assert data.showers.dtype == np.float32
    attrs = read_shower_attrs(out)
    assert attrs["binning"] == "tiny" and attrs["eta_min"] == 0.2
    assert json.loads(attrs["sources"]) == [str(p2), str(p1)]
    with pytest.raises(OutputError, match=r"the shower file would overwrite the input CSV file"):
        convert_atlas_csv([p1], tiny_binning, p1)
