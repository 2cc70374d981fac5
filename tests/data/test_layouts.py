"""The CaloGAN, LHCb (HDF5 and npz) and ATLAS-cells layouts: round trips, recognition by the
generic readers, and one-line errors naming the file and field for malformed files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from fastcalogan.data import (
    ALIGNMENT_NAMES,
    LHCB_CONDITION_NAMES,
    LHCbWriter,
    detect_layout,
    geometry_of_file,
    iter_showers,
    read_calogan_overflow,
    read_lhcb_npz,
    read_shower_attrs,
    read_showers,
    write_atlas_cells,
    write_calogan,
    write_lhcb,
)
from fastcalogan.errors import DataFormatError
from fastcalogan.geometry import load_geometry

CALOGAN = load_geometry("calogan")
LHCB = load_geometry("lhcb-ecal")
CELLS = load_geometry("atlas-cells")


def _showers(n: int, n_vox: int, energies: np.ndarray, seed: int = 0) -> np.ndarray:
    g = np.random.default_rng(seed)
    frac = g.dirichlet(np.ones(n_vox), size=n) * g.uniform(0.5, 0.95, (n, 1))
    return (frac * energies[:, None]).astype(np.float32)


# ----- CaloGAN ---------------------------------------------------------------------------------


def _public_calogan(path: Path, n: int = 5, energy_gev=None, scale: float = 1.0) -> np.ndarray:
    """A file as the public CaloGAN files are: three images, overflow, energy in GeV, no attrs."""
    e_gev = np.linspace(1.0, 100.0, n) if energy_gev is None else np.asarray(energy_gev)
    flat = _showers(n, 504, e_gev * 1000.0)
    with h5py.File(path, "w") as f:
        f["layer_0"] = flat[:, :288].reshape(n, 3, 96) * scale
        f["layer_1"] = flat[:, 288:432].reshape(n, 12, 12) * scale
        f["layer_2"] = flat[:, 432:].reshape(n, 12, 6) * scale
        f["overflow"] = np.full((n, 3), 7.0, dtype=np.float32)
        f["energy"] = e_gev.reshape(n, 1)
    return flat


def test_public_calogan_file_reads_in_mev_with_its_geometry(tmp_path):
    path = tmp_path / "eplus.hdf5"
    flat = _public_calogan(path)
    assert detect_layout(path) == "calogan"
    data = read_showers(path)
    np.testing.assert_allclose(data.incident_energies, np.linspace(1.0, 100.0, 5) * 1000.0)
    np.testing.assert_array_equal(data.showers, flat)  # layer_0, layer_1, layer_2 row-major
    attrs = read_shower_attrs(path)
    assert attrs["n_voxels"] == 504 and attrs["layout"] == "calogan"
    g = geometry_of_file(attrs, source=str(path))
    assert g.name == "calogan" and g.layer_shapes == ((3, 96), (12, 12), (12, 6))
    np.testing.assert_array_equal(g.layer_images(data.showers, 0), flat[:, :288].reshape(5, 3, 96))
    np.testing.assert_array_equal(read_calogan_overflow(path), np.full((5, 3), 7.0))
    blocks = list(iter_showers(path, chunk_events=2))
    assert [b.n_events for b in blocks] == [2, 2, 1]


def test_calogan_write_read_round_trip(tmp_path):
    e = np.array([1500.0, 42_000.0, 99_000.0])
    flat = _showers(3, 504, e, seed=3)
    overflow = np.array([[1.0, 2.0, 3.0]] * 3)
    path = write_calogan(tmp_path / "out.h5", e, flat, overflow, attrs={"particle": "positron"})
    with h5py.File(path) as f:
        assert sorted(f) == ["energy", "layer_0", "layer_1", "layer_2", "overflow"]
        assert f["layer_0"].shape == (3, 3, 96) and f["layer_1"].shape == (3, 12, 12)
        assert f["layer_2"].shape == (3, 12, 6) and f["energy"].shape == (3, 1)
        np.testing.assert_allclose(f["energy"][:, 0], e / 1000.0)  # GeV in the file
    data = read_showers(path)
    np.testing.assert_allclose(data.incident_energies, e)
    np.testing.assert_array_equal(data.showers, flat)
    np.testing.assert_allclose(read_calogan_overflow(path), overflow)
    assert data.attrs["particle"] == "positron"


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda f: f.__delitem__("energy"), "missing dataset 'energy'"),
        (lambda f: f.__delitem__("layer_0"), "missing dataset 'layer_0'"),
        (
            lambda f: (
                f.__delitem__("layer_1"),
                f.create_dataset("layer_1", data=np.zeros((5, 144))),
            ),
            "field 'layer_1' must be a 3-D dataset",
        ),
        (
            lambda f: (
                f.__delitem__("layer_2"),
                f.create_dataset("layer_2", data=np.zeros((4, 12, 6))),
            ),
            "field 'layer_2' has 4 events but 'layer_0' has 5",
        ),
        (
            lambda f: (
                f.__delitem__("overflow"),
                f.create_dataset("overflow", data=np.zeros((5, 2))),
            ),
            "field 'overflow' must have shape \\(5, 3\\)",
        ),
        (lambda f: f["layer_1"].__setitem__((2, 0, 0), np.nan), "field 'layer_1' holds NaN"),
        (lambda f: f["layer_0"].__setitem__((1, 0, 0), -5.0), "field 'layer_0' holds a negative"),
        (lambda f: f["energy"].__setitem__((3, 0), 0.0), "field 'energy' must be finite and > 0"),
    ],
)
def test_malformed_calogan_files_give_one_line(tmp_path, damage, match):
    path = tmp_path / "bad.h5"
    _public_calogan(path)
    with h5py.File(path, "r+") as f:
        damage(f)
    with pytest.raises(DataFormatError, match=match) as err:
        read_showers(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("energy_gev", "scale", "what"),
    [
        (np.full(5, 0.05), 1.0, "energy written in TeV"),  # 50 GeV showers labelled 0.05
        (np.full(5, 50.0), 1000.0, "cells in keV"),
    ],
)
def test_calogan_unit_mix_up_is_refused(tmp_path, energy_gev, scale, what):
    path = tmp_path / "units.h5"
    _public_calogan(path, energy_gev=np.full(5, 50.0), scale=scale)
    if scale == 1.0:
        with h5py.File(path, "r+") as f:
            f["energy"][:] = energy_gev.reshape(5, 1)
    with pytest.raises(DataFormatError, match=r"x its energy .* in field 'energy'.*GeV"):
        read_showers(path)


# ----- LHCb ------------------------------------------------------------------------------------


def _conditions(n: int, seed: int = 0) -> np.ndarray:
    g = np.random.default_rng(seed)
    p = g.uniform(5_000, 90_000, n)
    t = g.uniform(-0.1, 0.1, (n, 2))
    direction = np.concatenate([t, np.ones((n, 1))], axis=1)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return np.concatenate([direction * p[:, None], g.uniform(-60, 60, (n, 2))], axis=1)


def test_lhcb_round_trip(tmp_path):
    cond = _conditions(4)
    p = np.linalg.norm(cond[:, :3], axis=1)
    flat = _showers(4, 900, 0.16 * p)
    path = write_lhcb(tmp_path / "lhcb.h5", flat, cond, attrs={"particle": "electron"})
    with h5py.File(path) as f:
        assert f["showers"].shape == (4, 30, 30) and f["conditions"].shape == (4, 5)
        assert f["conditions"].attrs["names"] == "px,py,pz,x,y"
    assert detect_layout(path) == "lhcb"
    data = read_showers(path)
    np.testing.assert_array_equal(data.showers, flat)
    np.testing.assert_allclose(data.incident_energies, p)
    np.testing.assert_allclose(data.conditions, cond)
    assert data.condition_names == LHCB_CONDITION_NAMES
    assert geometry_of_file(read_shower_attrs(path)).name == "lhcb-ecal"


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (
            lambda f: (
                f.__delitem__("conditions"),
                f.create_dataset("conditions", data=np.ones((3, 4))),
            ),
            "field 'conditions' must have shape \\(3, 5\\)",
        ),
        (lambda f: f["incident_energies"].__setitem__((1, 0), 5.0), "is not \\|p\\|"),
        (lambda f: f["conditions"].__setitem__((2, 2), -f["conditions"][2, 2]), "pz must be > 0"),
        (lambda f: f["conditions"].attrs.__setitem__("names", "a,b,c,d,e"), "names its columns"),
        (lambda f: f.__delitem__("incident_energies"), "missing dataset 'incident_energies'"),
    ],
)
def test_malformed_lhcb_files_give_one_line(tmp_path, damage, match):
    cond = _conditions(3)
    path = write_lhcb(tmp_path / "bad.h5", _showers(3, 900, np.full(3, 1000.0)), cond)
    with h5py.File(path, "r+") as f:
        damage(f)
    with pytest.raises(DataFormatError, match=match) as err:
        read_showers(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def _npz(path: Path, n: int = 6, **override) -> tuple[np.ndarray, np.ndarray]:
    cond = _conditions(n, seed=5)
    arrays = {
        "EnergyDeposit": _showers(n, 900, 0.16 * np.linalg.norm(cond[:, :3], axis=1)).reshape(
            n, 30, 30
        ),
        "ParticleMomentum": cond[:, :3] / 1000.0,  # GeV
        "ParticlePoint": cond[:, 3:] / 10.0,  # cm
        "ParticlePDG": np.full(n, 11),
    }
    arrays.update(override)
    np.savez(path, **arrays)
    return cond, arrays["EnergyDeposit"]


def test_lhcb_npz_reads_with_its_units(tmp_path):
    path = tmp_path / "data_train.npz"
    cond, deposit = _npz(path)
    assert detect_layout(path) == "lhcb-npz"
    data = read_lhcb_npz(path, momentum_unit="GeV", point_unit="cm")
    np.testing.assert_allclose(data.conditions, cond)
    np.testing.assert_allclose(data.incident_energies, np.linalg.norm(cond[:, :3], axis=1))
    np.testing.assert_allclose(data.showers, deposit.reshape(6, 900), rtol=1e-6)
    # the generic reader takes the default units (GeV, mm): points read ten times smaller
    generic = read_showers(path)
    np.testing.assert_allclose(generic.conditions[:, 3:], cond[:, 3:] / 10.0)
    assert geometry_of_file(read_shower_attrs(path)).name == "lhcb-ecal"


@pytest.mark.parametrize(
    ("override", "kwargs", "match"),
    [
        ({"ParticlePoint": np.zeros((6, 3))}, {}, "ParticlePoint \\(N, 2\\)"),
        ({"EnergyDeposit": np.zeros((6, 900))}, {}, "'EnergyDeposit' must be numeric with 3"),
        ({}, {"momentum_unit": "MeV"}, "x its incident energy"),  # momenta read 1000x too small
        ({}, {"deposit_unit": "keV"}, r"median .*check deposit_unit='keV'"),
        ({}, {"point_unit": "inch"}, "point_unit 'inch'"),
    ],
)
def test_malformed_lhcb_npz_gives_one_line(tmp_path, override, kwargs, match):
    path = tmp_path / "bad.npz"
    _npz(path, **override)
    with pytest.raises(DataFormatError, match=match) as err:
        read_lhcb_npz(path, **kwargs)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_lhcb_npz_missing_array(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, EnergyDeposit=np.zeros((2, 30, 30)))
    with pytest.raises(DataFormatError, match=r"missing array.*ParticleMomentum"):
        read_showers(path)


# ----- ATLAS cells -----------------------------------------------------------------------------


def test_atlas_cells_round_trip(tmp_path):
    e = 1000.0 * 2.0 ** np.arange(9)
    align = np.stack([np.arange(9) % 4, np.arange(9) % 2], axis=1)
    flat = _showers(9, 266, e)
    path = write_atlas_cells(tmp_path / "cells.h5", e, flat, align, attrs={"particle": "photon"})
    with h5py.File(path) as f:
        assert f["showers"].shape == (9, 266) and f["alignment"].dtype.kind == "i"
    assert detect_layout(path) == "atlas-cells"
    data = read_showers(path)
    np.testing.assert_array_equal(data.showers, flat)
    np.testing.assert_array_equal(data.conditions, align)
    assert data.condition_names == ALIGNMENT_NAMES
    g = geometry_of_file(read_shower_attrs(path))
    assert g.name == "atlas-cells" and g.layer_shapes == ((7, 3), (56, 3), (7, 7), (4, 7))


@pytest.mark.parametrize(
    ("alignment", "match"),
    [
        (np.array([[4, 0]] * 3), "phi_alignment must be 0..3, found 4"),
        (np.array([[1, 2]] * 3), "eta_alignment must be 0..1, found 2"),
        (np.full((3, 2), 0.5), "field 'alignment' must be integers"),
        (np.zeros((3, 3), dtype=int), "field 'alignment' must be integers of shape \\(3, 2\\)"),
    ],
)
def test_malformed_atlas_cells_files_give_one_line(tmp_path, alignment, match):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["incident_energies"] = np.full((3, 1), 1000.0)
        f["showers"] = _showers(3, 266, np.full(3, 1000.0))
        f["alignment"] = alignment
    with pytest.raises(DataFormatError, match=match) as err:
        read_showers(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_writers_refuse_what_does_not_fit(tmp_path):
    with pytest.raises(DataFormatError, match="does not fit"):
        write_calogan(tmp_path / "a.h5", [1000.0], np.zeros((1, 500)))
    with pytest.raises(DataFormatError, match=r"is not \|p\|"):
        with LHCbWriter(tmp_path / "b.h5") as w:
            w.append([999.0], np.zeros((1, 900)), [[0.0, 0.0, 1000.0, 0.0, 0.0]])
    with pytest.raises(DataFormatError, match=r"phi_alignment must be 0\.\.3"):
        write_atlas_cells(tmp_path / "c.h5", [1000.0], np.zeros((1, 266)), [[5, 0]])
    assert not any(tmp_path.iterdir())  # nothing half-written is left
