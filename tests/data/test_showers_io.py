from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from fastcalogan.data import (
    ShowerWriter,
    iter_showers,
    read_shower_attrs,
    read_showers,
    write_showers,
)
from fastcalogan.errors import DataFormatError
from fastcalogan.geometry import Binning, load_geometry


def _plain_file(path: Path, inc: np.ndarray, showers: np.ndarray) -> Path:
    """A file as the CaloChallenge producers write it: two bare datasets."""
    with h5py.File(path, "w") as f:
        f.create_dataset("incident_energies", data=inc)
        f.create_dataset("showers", data=showers)
    return path


def test_written_file_has_exactly_the_calochallenge_layout(tmp_path: Path, tiny_showers) -> None:
    inc, showers = tiny_showers
    path = write_showers(tmp_path / "s.h5", inc, showers, attrs={"particle": "photon"})
    with h5py.File(path, "r") as f:  # a reader that knows only the CaloChallenge layout
        assert sorted(f.keys()) == ["incident_energies", "showers"]
        assert f["incident_energies"].shape == (64, 1)
        assert f["showers"].shape == (64, 16)
        assert f["showers"].compression == "gzip"
        np.testing.assert_array_equal(f["incident_energies"][:, 0], inc)
        np.testing.assert_array_equal(f["showers"][:], showers)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary left behind


def test_reads_a_plain_calochallenge_file(
    tmp_path: Path, tiny_binning: Binning, tiny_showers
) -> None:
    inc, showers = tiny_showers
    path = _plain_file(tmp_path / "cc.hdf5", inc.reshape(-1, 1), showers.astype(np.float64))
    data = read_showers(path, binning=tiny_binning)
    assert data.n_events == 64 and data.n_voxels == 16
    np.testing.assert_allclose(data.total_energy(), showers.sum(axis=1), rtol=1e-6)
    assert read_shower_attrs(path)["n_events"] == 64


def test_streaming_in_chunks_equals_whole_read(tmp_path: Path, tiny_showers) -> None:
    inc, showers = tiny_showers
    path = tmp_path / "s.h5"
    with ShowerWriter(path, n_voxels=16, chunk_events=8) as w:
        for a in range(0, 64, 10):
            w.append(inc[a : a + 10], showers[a : a + 10])
    chunks = list(iter_showers(path, chunk_events=20))
    assert [c.n_events for c in chunks] == [20, 20, 20, 4]
    np.testing.assert_array_equal(
        np.concatenate([c.showers for c in chunks]), read_showers(path).showers
    )


def test_aborted_writer_publishes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.h5"
    with pytest.raises(RuntimeError), ShowerWriter(path, n_voxels=2) as w:
        w.append([100.0], [[1.0, 2.0]])
        raise RuntimeError("killed")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def _corrupt(tmp_path: Path, **datasets: np.ndarray) -> Path:
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        for k, v in datasets.items():
            f.create_dataset(k, data=v)
    return path


GOOD_INC = np.full((4, 1), 1000.0)
GOOD_SH = np.full((4, 16), 10.0)


@pytest.mark.parametrize(
    ("datasets", "message"),
    [
        ({"showers": GOOD_SH}, r"bad.h5: missing dataset\(s\) \['incident_energies'\]"),
        (
            {"incident_energies": GOOD_INC, "showers": GOOD_SH[:, :15]},
            r"bad.h5: 'showers' has 15 columns; binning tiny needs 16",
        ),
        (
            {"incident_energies": GOOD_INC, "showers": GOOD_SH.astype(np.int32)},
            r"bad.h5: field 'showers' must hold floating-point MeV, found dtype int32",
        ),
        (
            {"incident_energies": GOOD_INC, "showers": np.where(np.eye(4, 16) > 0, np.nan, 1.0)},
            r"bad.h5: field 'showers' holds NaN or inf \(first in event 0\)",
        ),
        (
            {"incident_energies": GOOD_INC, "showers": np.where(np.eye(4, 16, 3) > 0, -5.0, 1.0)},
            r"bad.h5: field 'showers' holds a negative energy -5 MeV \(event 0, voxel 3\)",
        ),
        (
            {
                "incident_energies": GOOD_INC,
                "showers": np.vstack([GOOD_SH[:3], np.full((1, 16), 200.0)]),
            },
            r"bad.h5: event 3 deposits 3.2 x its incident energy \(1000 MeV\); expected at most 2 x",
        ),
        (
            {"incident_energies": GOOD_INC[:3], "showers": GOOD_SH},
            r"bad.h5: 'incident_energies' has 3 events but 'showers' has 4",
        ),
        (
            {"incident_energies": np.full((4, 2), 1000.0), "showers": GOOD_SH},
            r"bad.h5: field 'incident_energies' must have shape \(N, 1\), found \(4, 2\)",
        ),
        (
            {"incident_energies": -GOOD_INC, "showers": GOOD_SH},
            r"bad.h5: field 'incident_energies' must be > 0 MeV, found -1000.0 in event 0",
        ),
        (
            {"incident_energies": GOOD_INC, "showers": GOOD_SH.ravel()},
            r"bad.h5: field 'showers' must be 2-D \(events, voxels\), found shape \(64,\)",
        ),
    ],
)
def test_malformed_files_get_one_line_errors(
    tmp_path: Path, tiny_binning: Binning, datasets: dict, message: str
) -> None:
    path = _corrupt(tmp_path, **datasets)
    with pytest.raises(DataFormatError, match=message) as info:
        read_showers(path, binning=tiny_binning)
    assert "\n" not in str(info.value)


def test_truncated_file_is_reported(tmp_path: Path, tiny_showers) -> None:
    inc, showers = tiny_showers
    path = write_showers(tmp_path / "s.h5", np.tile(inc, 50), np.tile(showers, (50, 1)))
    data = path.read_bytes()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        DataFormatError, match=r"truncated.h5: (cannot open as HDF5|field .* cannot be read)"
    ):
        read_showers(truncated)


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"nothing.h5: no such file"):
        read_showers(tmp_path / "nothing.h5")
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(DataFormatError, match=r"notes.h5: cannot open as HDF5"):
        read_showers(text)


def test_deposit_ceiling_is_adjustable(tmp_path: Path) -> None:
    path = _corrupt(tmp_path, incident_energies=GOOD_INC, showers=np.full((4, 16), 200.0))
    assert read_showers(path, max_deposit_ratio=None).n_events == 4
    assert read_showers(path, max_deposit_ratio=5.0).n_events == 4


def test_real_binning_size_check(tmp_path: Path) -> None:
    path = _corrupt(tmp_path, incident_energies=GOOD_INC, showers=np.ones((4, 368)))
    with pytest.raises(DataFormatError, match="binning ds1-pions needs 533"):
        read_showers(path, binning=load_geometry("ds1-pions"))


def test_antiproton_rest_mass_raises_the_deposit_ceiling(tmp_path: Path) -> None:
    # 256 MeV kinetic energy + 938 MeV annihilation: a 1.1 GeV deposit is physical
    inc, showers = np.array([256.0]), np.full((1, 16), 1100.0 / 16)
    anti = write_showers(tmp_path / "pbar.h5", inc, showers, attrs={"particle": "antiproton"})
    assert read_showers(anti).n_events == 1
    pion = write_showers(tmp_path / "pion.h5", inc, showers, attrs={"particle": "pion"})
    with pytest.raises(
        DataFormatError, match=r"pion.h5: event 0 deposits 4.3 x its incident energy"
    ):
        read_showers(pion)
