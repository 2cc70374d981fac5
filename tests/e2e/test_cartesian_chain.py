"""A Cartesian detector through the kind-agnostic stages, by the command line: train,
generate and inspect read the geometry from the files, never from an option."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import geometry_of_file, read_shower_attrs, write_showers
from fastcalogan.geometry import CartesianGeometry, load_geometry

TINY = (
    "preset: caloshowergan-photon\niterations: 2\nbatch_size: 16\nn_critic: 1\n"
    "checkpoint_every: 2\ndevice: cpu\n"
    "model: {latent_dim: 4, generator_hidden: [8], critic_hidden: [8]}\n"
)


def test_cartesian_showers_train_generate_and_inspect(tmp_path: Path) -> None:
    grid = CartesianGeometry.from_layers(
        "calogan",
        "photon",
        None,
        [(0, (3, 96), (160, 5)), (1, (12, 12), (40, 40)), (2, (12, 6), (40, 80))],
    )
    g = np.random.default_rng(0)
    energies = np.repeat([1024.0, 4096.0], 32)
    showers = g.dirichlet(np.ones(504), size=energies.size) * energies[:, None] * 0.8
    data = write_showers(
        tmp_path / "train.h5",
        energies,
        showers.astype(np.float32),
        {"particle": "photon", "eta_min": 0.2, "eta_max": 0.25},
        geometry=grid,
    )
    (tmp_path / "train.yaml").write_text(TINY)
    runner = CliRunner()
    run = tmp_path / "run"
    gen = tmp_path / "gen.h5"
    for args in (
        ["train", str(tmp_path / "train.yaml"), "--data", str(data), "-o", str(run)],
        ["generate", str(run), "--energies", "1024,4096", "-n", "16", "-o", str(gen)],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, (args[0], result.output)
    # the run folder and the generated file hold the Cartesian geometry
    relabelled = grid.relabel(eta=(0.2, 0.25))
    assert load_geometry(run / "binning.yaml") == relabelled
    assert geometry_of_file(read_shower_attrs(gen)) == relabelled

    result = runner.invoke(cli, ["inspect", str(gen)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "32 events, 2 energy points, 504 voxels; geometry calogan (cartesian" in result.output
