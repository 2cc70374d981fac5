"""Public API, configuration errors, the simulate entry point and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from fastcalogan._config import parse
from fastcalogan.cli import cli
from fastcalogan.data import read_hits, read_shower_attrs, read_showers
from fastcalogan.errors import BinningError, ConfigError, SimulationError
from fastcalogan.geometry import Binning, CartesianGeometry, default_geometry
from fastcalogan.simulate import (
    SimulateConfig,
    resolve_energies,
    simulate,
    simulate_hits,
    simulate_showers,
    simulate_voxels,
)


def test_resolve_energies_ds1_and_list():
    e, c = resolve_energies("ds1", 10_000)
    assert c.tolist() == [10_000] * 11 + [5_000, 3_000, 2_000, 1_000]
    assert e.shape == (c.sum(),) and e[0] == 256.0 and e[-1] == 2.0**22
    e, c = resolve_energies("ds1", 100)
    assert c.tolist()[-4:] == [50, 30, 20, 10]
    e, c = resolve_energies([65536.0, 1024.0], 3)
    assert e.tolist() == [1024.0] * 3 + [65536.0] * 3 and c.tolist() == [3, 3]


def test_voxel_shape_and_dtype():
    b = default_geometry("photon")
    v = simulate_voxels("photon", [1024.0, 2048.0], 0.2, b, 0)
    assert v.shape == (2, 368) and v.dtype == np.float64


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"eta_max": 1.6}, "eta_max.*1.6"),
        ({"eta_min": 0.3, "eta_max": 0.2}, "eta_min < eta_max"),
        ({"particle": "muon"}, "unknown particle 'muon'"),
        ({"energies": [100.0]}, "energy 100 MeV is outside"),
        ({"events": 0}, "events"),
        ({"evnets": 3}, "did you mean 'events'"),
    ],
)
def test_bad_config_is_one_clear_error(values, match):
    with pytest.raises(ConfigError, match=match):
        parse(values, SimulateConfig, source="test")


def test_simulation_errors_name_the_value():
    b = default_geometry("photon")
    with pytest.raises(SimulationError, match=r"1\.5 is outside the barrel"):
        simulate_voxels("photon", [1024.0], 1.5, b, 0)
    with pytest.raises(SimulationError, match="100 MeV is outside"):
        simulate_hits("pion", [100.0], 0.2, 0)


def test_simulate_writes_showers_and_hits(tmp_path):
    cfg = SimulateConfig(particle="electron", energies=[1024.0, 8192.0], events=5, batch_size=4)
    res = simulate(cfg, tmp_path / "e.h5", hits_path=tmp_path / "h.h5")
    data = read_showers(res.showers_path, binning=default_geometry("electron"))
    hits = read_hits(res.hits_path)
    assert data.showers.shape == (10, 368) and hits.n_events == 10
    np.testing.assert_allclose(data.showers.sum(1), data.showers.sum(1))
    attrs = read_shower_attrs(res.showers_path)
    assert attrs["particle"] == "electron" and attrs["binning"] == "ds1-photons"
    assert attrs["seed"] == 0 and "fastcalogan_version" in attrs
    # the shower file is the voxelised hit file: totals agree up to lateral leakage
    assert (data.showers.sum(1) <= hits.total_energy() * (1 + 1e-5) + 1e-3).all()


def test_cli_writes_a_valid_calochallenge_file(tmp_path):
    out = tmp_path / "pions.h5"
    result = CliRunner().invoke(
        cli,
        [
            "simulate",
            "--particle",
            "pion",
            "--eta",
            "0.20",
            "0.25",
            "--energies",
            "ds1",
            "--events",
            "2",
            "-o",
            str(out),
            "--seed",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    data = read_showers(out, binning=default_geometry("pion"))
    assert data.showers.shape == (26, 533)
    assert np.unique(data.incident_energies).size == 15
    assert read_shower_attrs(out)["eta_min"] == pytest.approx(0.20)


def test_cli_bad_config_gives_one_line(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["simulate", "--particle", "photon", "--eta", "0.2", "1.6", "-o", str(tmp_path / "x.h5")],
    )
    assert result.exit_code == 2
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1 and "eta_max" in lines[0] and "1.6" in lines[0]
    assert not (tmp_path / "x.h5").exists()


def test_cli_bad_energies(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["simulate", "--particle", "photon", "--energies", "1e3,abc", "-o", str(tmp_path / "x.h5")],
    )
    assert result.exit_code == 2 and "--energies" in result.output


def test_simulator_needs_a_polar_binning_of_atlas_samplings() -> None:
    grid = CartesianGeometry.from_layers("grid", "photon", None, [(0, (2, 2), (5, 5))])
    with pytest.raises(BinningError, match="geometry grid is cartesian; the reference simulator"):
        simulate_voxels("photon", [1024.0], 0.2, grid, seed=0)
    # dataset-2-like ids: plain layers, not the ATLAS samplings the simulator models
    plain = Binning.from_layers("ds2", "electron", None, [(i, [0, 5, 10], 4) for i in range(30)])
    with pytest.raises(BinningError, match=r"models ATLAS barrel samplings; layers \['layer 0'"):
        simulate_voxels("electron", [1024.0], 0.2, plain, seed=0)


def test_readout_threshold_gives_exact_zeros(tmp_path):
    b = default_geometry("pion")
    e = np.full(200, 256.0)
    raw = simulate_voxels("pion", e, 0.2, b, 4, readout_threshold_mev=0.0)
    cut = simulate_voxels("pion", e, 0.2, b, 4)
    # the parametric tails leave crumbs far below any readout; the default threshold zeroes them
    assert 0 < raw[raw > 0].min() < 1e-6
    assert cut[cut > 0].min() >= 0.01
    np.testing.assert_array_equal(cut[raw >= 0.01], raw[raw >= 0.01])
    assert (raw.sum() - cut.sum()) / raw.sum() < 1e-3
    cfg = SimulateConfig(particle="photon", energies=[1024.0], events=20, hits=True)
    res = simulate(cfg, tmp_path / "g.h5")
    data = read_showers(res.showers_path, binning=default_geometry("photon"))
    assert data.showers[data.showers > 0].min() >= 0.01  # the hit path is read out the same way
    assert read_shower_attrs(res.showers_path)["readout_threshold_mev"] == 0.01


@pytest.mark.parametrize(
    ("detector", "particle", "extra", "layout_keys", "n_events"),
    [
        (
            "calogan",
            "pion",
            ["--energy-range", "1", "100"],
            ["energy", "layer_0", "layer_1", "layer_2", "overflow"],
            7,
        ),
        (
            "lhcb-ecal",
            "electron",
            [],
            ["conditions", "incident_energies", "overflow", "showers"],
            7,
        ),
        (
            "atlas-cells",
            "photon",
            ["--energies", "1000,256000"],
            ["alignment", "incident_energies", "overflow", "showers"],
            14,
        ),
    ],
)
def test_cli_simulates_each_detector_in_its_layout(
    tmp_path, detector, particle, extra, layout_keys, n_events
):
    import h5py

    out = tmp_path / f"{detector}.h5"
    args = ["simulate", "--detector", detector, "--particle", particle, "--events", "7"]
    result = CliRunner().invoke(cli, [*args, *extra, "-o", str(out), "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    with h5py.File(out) as f:
        assert sorted(f.keys()) == layout_keys
    data = read_showers(out)
    attrs = read_shower_attrs(out)
    assert data.n_events == n_events and attrs["detector"] == detector
    assert data.n_voxels == {"calogan": 504, "lhcb-ecal": 900, "atlas-cells": 266}[detector]
    if detector == "calogan":
        assert 1000.0 <= data.incident_energies.min() and data.incident_energies.max() <= 1e5
    inspect = CliRunner().invoke(cli, ["inspect", str(out)], terminal_width=200)
    assert inspect.exit_code == 0, inspect.output
    assert f"{n_events} events" in inspect.output and f"layout {attrs['layout']}" in inspect.output


def test_simulate_with_energy_range_is_split_invariant(tmp_path):
    """Energies of a range are drawn per batch: a run's file does not depend on how many
    batches a piece holds, and the seed fixes them."""
    cfg = SimulateConfig(detector="lhcb-ecal", particle="electron", events=10, batch_size=4, seed=5)
    a = read_showers(simulate(cfg, tmp_path / "a.h5").showers_path)
    b = read_showers(simulate(cfg, tmp_path / "b.h5").showers_path)
    np.testing.assert_array_equal(a.showers, b.showers)
    assert 2000.0 <= a.incident_energies.min() and a.incident_energies.max() <= 100_000.0
    assert np.unique(a.incident_energies).size == 10
    first = simulate_showers("lhcb-ecal", "electron", a.incident_energies[:4], seed=5, batch_size=4)
    np.testing.assert_allclose(first.showers, a.showers[:4], rtol=1e-6)  # float32 in the file
    np.testing.assert_allclose(first.conditions, a.conditions[:4])


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"detector": "cms"}, "unknown detector 'cms'"),
        ({"detector": "calogan", "eta_min": 0.1}, "eta_min: .*detector calogan has no \\|eta\\|"),
        ({"detector": "lhcb-ecal", "hits": True}, "hits: .*reads cells"),
        ({"energies": [1000.0], "energy_range": [1000.0, 2000.0]}, "not both"),
        ({"energy_range": [5000.0, 1000.0]}, "E_min < E_max"),
        ({"energy_range": [100.0, 1000.0]}, "outside the simulator's range"),
    ],
)
def test_detector_config_errors(values, match):
    with pytest.raises(ConfigError, match=match):
        parse(values, SimulateConfig, source="test")
