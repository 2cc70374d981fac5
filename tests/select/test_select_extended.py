"""The extended figure of merit: E_tot plus layer energies and each layer's centre and width in
r. A checkpoint that games E_tot (right total energies, wrong shapes) wins on E_tot alone and
loses on the extended figure."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from fastcalogan._config import parse
from fastcalogan.cli import cli
from fastcalogan.data import write_showers
from fastcalogan.errors import ConfigError
from fastcalogan.geometry import Binning, write_geometry_yaml
from fastcalogan.select import MeritWeights, SelectConfig, select_best
from fastcalogan.train import (
    PartScore,
    RunFolder,
    SelectionRow,
    TrainConfig,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
    train,
)


def _set_generator(state: dict, fractions: np.ndarray, pattern: np.ndarray, offset: float) -> None:
    """voxels / E_inc = fractions * (offset + 0.2 u0) + pattern * u1 with uniform noise u0, u1
    and a pattern that sums to zero (it moves energy between voxels: shapes, not E_tot)."""
    g = state["generator"]
    n_in = g["net.0.weight"].shape[1]
    w0 = torch.zeros(2, n_in)
    w0[0, 0] = 1.0
    w0[1, 1] = 1.0
    g["net.0.weight"] = w0
    g["net.0.bias"] = torch.zeros(2)
    w1 = torch.zeros(len(fractions), 2)
    w1[:, 0] = torch.tensor(0.2 * fractions, dtype=torch.float32)
    w1[:, 1] = torch.tensor(pattern, dtype=torch.float32)
    g["net.2.weight"] = w1
    g["net.2.bias"] = torch.tensor(offset * fractions, dtype=torch.float32)


@pytest.fixture
def gamed_run(
    tmp_path: Path, tiny_binning: Binning, tiny_config: Callable[..., TrainConfig]
) -> tuple[Path, Path]:
    """Reference: E_tot / E_inc ~ U(0.8, 1) and a shape that varies along one pattern.
    Checkpoint 1 games E_tot (exact E_tot, the wrong pattern); checkpoint 2 has the right
    shapes and E_tot 3 % high."""
    g = np.random.default_rng(3)
    fractions = g.dirichlet(np.ones(tiny_binning.n_voxels) * 5)
    right = 0.3 * (g.dirichlet(np.ones(tiny_binning.n_voxels)) - fractions)
    wrong = 0.3 * (g.dirichlet(np.ones(tiny_binning.n_voxels)) - fractions)
    energies = np.repeat([1024.0, 4096.0], 2000)
    u0, u1 = g.uniform(size=(2, energies.size, 1))
    showers = energies[:, None] * (fractions * (0.8 + 0.2 * u0) + right * u1)
    binning_path = tmp_path / "b.yaml"
    write_geometry_yaml(tiny_binning, binning_path)
    data = write_showers(
        tmp_path / "ref.h5", energies, showers.astype(np.float32), {"binning": str(binning_path)}
    )
    config = tiny_config(
        iterations=2,
        checkpoint_every=1,
        model={"latent_dim": 2, "generator_hidden": [2], "critic_hidden": [4]},
    )
    run = tmp_path / "run"
    train(config, data, run)
    for it, (pattern, offset) in {1: (wrong, 0.80), 2: (right, 0.83)}.items():
        state = load_checkpoint(checkpoint_path(run, it))
        _set_generator(state, fractions, pattern, offset)
        save_checkpoint(checkpoint_path(run, it), state)
    return run, data


def test_extended_figure_sees_through_a_gamed_etot(gamed_run: tuple[Path, Path]) -> None:
    run, data = gamed_run
    base = {"events_per_point": 1000, "n_bins": 20, "device": "cpu"}
    etot = select_best(SelectConfig(**base), run, data)
    assert etot.best_iteration == 1  # E_tot alone is fooled
    extended = select_best(SelectConfig(**base, figure_of_merit="extended"), run, data)
    assert extended.best_iteration == 2

    gamed, honest = extended.rows
    # the parts: E_tot agrees with the E_tot-only table, shapes give the game away
    assert {p.name for p in gamed.parts} >= {"etot", "layers", "centre_r", "width_r"}
    for row_e, row_x in zip(etot.rows, extended.rows, strict=True):
        assert row_x.part("etot").chi2_ndf == pytest.approx(row_e.chi2_ndf)  # type: ignore[union-attr]
    assert gamed.part("etot").chi2_ndf < honest.part("etot").chi2_ndf  # type: ignore[union-attr]
    assert gamed.part("layers").chi2_ndf > honest.part("layers").chi2_ndf  # type: ignore[union-attr]
    for name in ("centre_r", "width_r"):
        assert gamed.part(name).chi2_ndf > 10 * honest.part(name).chi2_ndf  # type: ignore[union-attr]
    weights = MeritWeights()
    expected = sum(
        w * honest.part(n).chi2_ndf  # type: ignore[union-attr]
        for n, w in weights.model_dump().items()
    ) / sum(weights.model_dump().values())
    assert extended.merit == pytest.approx(expected)
    assert honest.merit == extended.merit
    # per-layer diagnostics ride along with weight 0
    layer_parts = [p for p in honest.parts if p.name.startswith("layer ")]
    assert layer_parts and all(p.weight == 0 for p in layer_parts)

    # the stored table carries the parts and reads back the same
    with extended.table_path.open() as f:
        stored = list(csv.DictReader(f))
    assert float(stored[1]["merit"]) == pytest.approx(extended.merit)
    assert float(stored[1]["weight part=centre_r"]) == 0.5
    assert RunFolder(run).selection_rows()[1].merit == pytest.approx(extended.merit)
    best = json.loads((run / "selection" / "best.json").read_text())
    assert best["figure_of_merit"] == "extended" and best["iteration"] == 2

    # E_tot alone can be kept as the only part that counts
    only_etot = MeritWeights(etot=1.0, layers=0.0, centre_r=0.0, width_r=0.0)
    config = SelectConfig(**base, figure_of_merit="extended", merit_weights=only_etot)
    assert select_best(config, run, data).best_iteration == 1


def test_cli_shows_the_parts(gamed_run: tuple[Path, Path]) -> None:
    run, data = gamed_run
    args = ["select", str(run), "--reference", str(data), "-n", "500"]
    result = CliRunner().invoke(cli, [*args, "--figure-of-merit", "extended"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for column in ("etot", "layers", "centre_r", "width_r", "merit"):
        assert column in result.output
    rows = RunFolder(run).selection_rows()
    assert float(result.output.strip().splitlines()[-1]) == pytest.approx(
        min(r.merit for r in rows), rel=1e-5
    )


def test_merit_of_rows_and_config_errors() -> None:
    row = SelectionRow(1, "c", 0.0, 0, parts=(PartScore("etot", 4.0, 2, 0.0),))
    assert row.merit == row.chi2_ndf  # no weighted part: chi2/NDF ranks
    with pytest.raises(ConfigError, match="merit weight must be positive"):
        parse(
            {"merit_weights": {"etot": 0, "layers": 0, "centre_r": 0, "width_r": 0}},
            SelectConfig,
            "s.yaml",
        )
    with pytest.raises(ConfigError, match="merit_weights"):
        parse({"merit_weights": {"shape": 1}}, SelectConfig, "s.yaml")
