from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import fastcalogan.generate as gen_pkg
from fastcalogan._config import parse
from fastcalogan.data import DS1_ENERGIES, geometry_of_file, read_showers, write_showers
from fastcalogan.errors import CheckpointError, ConfigError, ModelError
from fastcalogan.generate import GenerateConfig, Simulator, generate
from fastcalogan.geometry import Binning, get_particle, write_geometry_yaml
from fastcalogan.train import TrainConfig, list_checkpoints, train


@pytest.fixture(params=["caloshowergan-photon", "vae-mlp"])
def run(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tiny_file: Path,
    tiny_config: Callable[..., TrainConfig],
) -> Path:
    """A 2-iteration run of each model family."""
    train(tiny_config(preset=request.param, iterations=2), tiny_file, tmp_path / "run")
    return tmp_path / "run"


def test_public_api_is_pinned() -> None:
    assert {"Simulator", "GenerateConfig", "GenerateResult", "generate"} <= set(gen_pkg.__all__)


def test_simulate_shapes_and_description(run: Path) -> None:
    sim = Simulator.load(run, device="cpu")
    assert sim.binning.n_voxels == 16 and sim.particle == "photon"
    assert sim.energy_range == (1024.0, 8192.0) and sim.eta == (0.2, 0.25)
    showers = sim.simulate(np.array([1024.0, 3000.0, 8192.0]), rng=0)
    assert showers.shape == (3, 16) and showers.dtype == np.float32 and (showers >= 0).all()
    assert sim.simulate(np.zeros(0), rng=0).shape == (0, 16)
    assert "1 generator(s)" in repr(sim)


def test_same_seed_same_showers(run: Path) -> None:
    sim = Simulator.load(run, device="cpu")
    energies = np.repeat([1024.0, 5000.0], 50)
    a = sim.simulate(energies, rng=7, batch_size=32)
    b = sim.simulate(energies, rng=np.random.default_rng(7), batch_size=32)
    c = sim.simulate(energies, rng=8, batch_size=32)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # a reloaded simulator is the same function of weights, noise and energy
    np.testing.assert_array_equal(a, Simulator.load(run, device="cpu").simulate(energies, 7, 32))


def test_energy_outside_the_trained_range(run: Path) -> None:
    sim = Simulator.load(run, device="cpu")
    with pytest.raises(ModelError, match=r"energy 100 MeV is outside the trained range 1024-8192"):
        sim.simulate([2048.0, 100.0], rng=0)
    with pytest.raises(ModelError, match="finite and > 0"):
        sim.simulate([-1.0], rng=0)


def test_particles_of_another_shower_type_are_refused(run: Path) -> None:
    sim = Simulator.load(run, device="cpu")
    with pytest.raises(ModelError, match=r"cannot simulate pion \(hadron shower\)"):
        sim.simulate([2048.0], rng=0, particle="pion")
    np.testing.assert_array_equal(
        sim.simulate([2048.0], rng=0, particle="electron"), sim.simulate([2048.0], rng=0)
    )


def test_antiprotons_add_their_rest_mass(
    tmp_path: Path,
    tiny_binning: Binning,
    tiny_config: Callable[..., TrainConfig],
    fabricate: Callable[..., tuple[np.ndarray, np.ndarray]],
) -> None:
    binning_path = tmp_path / "b.yaml"
    write_geometry_yaml(tiny_binning, binning_path)
    e, s = fabricate(tiny_binning, 8, seed=2)
    data = write_showers(
        tmp_path / "pions.h5", e, s, {"particle": "pion", "binning": str(binning_path)}
    )
    train(tiny_config(preset="caloshowergan-pion", iterations=1), data, tmp_path / "pion")
    sim = Simulator.load(tmp_path / "pion", device="cpu")
    assert sim.particle == "pion"
    pions = sim.simulate(np.full(20, 4096.0), rng=3)
    pbar = sim.simulate(np.full(20, 4096.0), rng=3, particle="antiproton")
    extra = pbar.sum(axis=1, dtype=np.float64) - pions.sum(axis=1, dtype=np.float64)
    has_energy = pions.sum(axis=1) > 0
    np.testing.assert_allclose(extra[has_energy], get_particle("antiproton").mass, rtol=1e-4)
    # protons (no annihilation) are pions at the same kinetic energy
    np.testing.assert_array_equal(
        sim.simulate([4096.0], 1, particle="proton"), sim.simulate([4096.0], 1)
    )


@pytest.mark.parametrize("preset", ["fastcalogan", "vae-mlp", "fast-photon"])
def test_split_run_routes_energies(
    tmp_path: Path,
    tiny_binning: Binning,
    tiny_config: Callable[..., TrainConfig],
    fabricate: Callable[..., tuple[np.ndarray, np.ndarray]],
    preset: str,
) -> None:
    binning_path = tmp_path / "b.yaml"
    write_geometry_yaml(tiny_binning, binning_path)
    e, s = fabricate(tiny_binning, 4, seed=1, energies=tuple(DS1_ENERGIES))
    data = write_showers(tmp_path / "all.h5", e, s, {"binning": str(binning_path)})
    train(
        tiny_config(preset=preset, iterations=1, energy_ranges="split3"), data, tmp_path / "split"
    )
    sim = Simulator.load(tmp_path / "split", device="cpu")
    assert len(sim.models) == 3 and sim.energy_range == (256.0, 2.0**22)
    energies = np.array([300.0, 2.0**20, 5000.0, 4096.0])
    showers = sim.simulate(energies, rng=1)
    assert showers.shape == (4, 16)
    # each energy goes to the generator whose range holds it (the boundary to the lower one)
    np.testing.assert_array_equal(sim.routing.route(energies), [0, 2, 1, 0])


def test_generate_writes_a_calochallenge_file(run: Path, tmp_path: Path) -> None:
    config = GenerateConfig(energies=(1024.0, 4096.0), n_events=30, seed=4, chunk_events=25)
    result = generate(config, run, tmp_path / "out.h5")
    assert result.n_events == 60 and result.checkpoints == (list_checkpoints(run)[-1],)
    # a 2-iteration model may deposit more than its incident energy: no physics check here
    data = read_showers(result.path, max_deposit_ratio=None)
    assert data.showers.shape == (60, 16)
    np.testing.assert_array_equal(data.incident_energies, np.repeat([1024.0, 4096.0], 30))
    assert data.attrs["particle"] == "photon" and data.attrs["seed"] == 4
    # the file carries the run's geometry: it reads back without the run folder
    carried = geometry_of_file({**data.attrs, "n_voxels": 16})
    assert data.attrs["binning"] == "tiny" and carried == Simulator.load(run).binning
    again = read_showers(generate(config, run, tmp_path / "again.h5").path, max_deposit_ratio=None)
    np.testing.assert_array_equal(data.showers, again.showers)


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such run folder or checkpoint"):
        Simulator.load(tmp_path / "nothing")
    with pytest.raises(CheckpointError, match="no checkpoints"):
        Simulator.load(tmp_path)
    with pytest.raises(ConfigError, match="energies must be > 0 MeV"):
        parse({"energies": [1.0, -2.0]}, GenerateConfig, "g.yaml")
