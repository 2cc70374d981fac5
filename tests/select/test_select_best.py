from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import fastcalogan.select as sel
from fastcalogan._config import load, parse
from fastcalogan.data import write_showers
from fastcalogan.errors import CheckpointError, ConfigError
from fastcalogan.geometry import Binning, write_geometry_yaml
from fastcalogan.select import SelectConfig, plot_selection, select_best, selected_checkpoint
from fastcalogan.train import (
    TrainConfig,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
    train,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
#: Offsets of the fabricated generators' response: E_tot / E_inc = offset + 0.2 u, u ~ U(0, 1).
#: The reference has offset 0.8, so the checkpoint at iteration 2 is the known best.
OFFSETS = {1: 0.70, 2: 0.80, 3: 0.86, 4: 0.95}


def _fabricate_generator(state: dict, fractions: np.ndarray, offset: float) -> None:
    """Hand-set a 1-hidden-layer generator: voxels = E * fractions * (offset + 0.2 u0)."""
    g = state["generator"]
    n_in = g["net.0.weight"].shape[1]
    w0 = torch.zeros(2, n_in)
    w0[0, 0] = 1.0  # hidden unit 0 = first uniform noise component
    g["net.0.weight"] = w0
    g["net.0.bias"] = torch.zeros(2)
    f = torch.tensor(fractions, dtype=torch.float32)
    w1 = torch.zeros(len(fractions), 2)
    w1[:, 0] = 0.2 * f
    g["net.2.weight"] = w1
    g["net.2.bias"] = offset * f


@pytest.fixture
def fabricated_run(
    tmp_path: Path,
    tiny_binning: Binning,
    tiny_config: Callable[..., TrainConfig],
) -> tuple[Path, Path]:
    g = np.random.default_rng(11)
    fractions = g.dirichlet(np.ones(tiny_binning.n_voxels) * 5)
    energies = np.repeat([1024.0, 4096.0], 2000)
    showers = energies[:, None] * fractions * g.uniform(0.8, 1.0, size=(energies.size, 1))
    binning_path = tmp_path / "b.yaml"
    write_geometry_yaml(tiny_binning, binning_path)
    data = write_showers(
        tmp_path / "ref.h5", energies, showers.astype(np.float32), {"binning": str(binning_path)}
    )
    config = tiny_config(
        iterations=4,
        checkpoint_every=1,
        model={"latent_dim": 2, "generator_hidden": [2], "critic_hidden": [4]},
    )
    run = tmp_path / "run"
    train(config, data, run)
    for it, offset in OFFSETS.items():
        state = load_checkpoint(checkpoint_path(run, it))
        _fabricate_generator(state, fractions, offset)
        save_checkpoint(checkpoint_path(run, it), state)
    return run, data


def test_public_api_is_pinned() -> None:
    assert {"SelectConfig", "SelectResult", "select_best"} <= set(sel.__all__)


def test_selection_picks_the_known_best(fabricated_run: tuple[Path, Path]) -> None:
    run, _ = fabricated_run
    config = SelectConfig(events_per_point=2000, n_bins=20, device="cpu")
    seen: list[tuple[int, int]] = []
    result = select_best(config, run, progress=lambda d, t: seen.append((d, t)))
    assert result.best_iteration == 2
    assert result.best_checkpoint == list_checkpoints(run)[1]
    assert result.chi2_ndf < 2.0
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert selected_checkpoint(run) == result.best_checkpoint

    with result.table_path.open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3, 4]
    ratios = [float(r["chi2_ndf"]) for r in rows]
    assert ratios[1] == min(ratios) and ratios[0] > 5 * ratios[1] and ratios[3] > 5 * ratios[1]
    assert set(rows[0]) >= {"chi2", "ndf", "chi2_ndf E=1024", "chi2_ndf E=4096"}
    table = json.loads(result.table_path.with_suffix(".json").read_text())
    assert table["best"]["iteration"] == 2 and len(table["rows"]) == 4
    assert result.plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_layers_figure_of_merit_adds_histograms(fabricated_run: tuple[Path, Path]) -> None:
    run, data = fabricated_run
    etot = select_best(SelectConfig(events_per_point=500, device="cpu"), run, data)
    rows_e = json.loads(etot.table_path.with_suffix(".json").read_text())["rows"]
    both = select_best(
        SelectConfig(events_per_point=500, figure_of_merit="etot+layers", device="cpu"), run, data
    )
    assert both.best_iteration == 2
    rows_b = json.loads(both.table_path.with_suffix(".json").read_text())["rows"]
    assert rows_b[1]["ndf"] > rows_e[1]["ndf"]


def test_same_seed_gives_the_same_table(fabricated_run: tuple[Path, Path]) -> None:
    run, _ = fabricated_run
    config = SelectConfig(events_per_point=200, device="cpu", stride=2)
    a = select_best(config, run).table_path.read_text()
    b = select_best(config, run).table_path.read_text()
    assert a == b
    # stride 2 keeps iterations 1 and 3, plus the last one
    assert [line.split(",")[0] for line in a.splitlines()[1:]] == ["1", "3", "4"]


def test_missing_checkpoints_and_reference(
    tmp_path: Path, fabricated_run: tuple[Path, Path]
) -> None:
    with pytest.raises(CheckpointError, match="no checkpoints"):
        select_best(SelectConfig(), tmp_path)
    run, data = fabricated_run
    data.unlink()
    with pytest.raises(CheckpointError, match=r"ref\.h5 recorded in the run is gone"):
        select_best(SelectConfig(events_per_point=10), run)
    # a reference the user names is reported as theirs
    with pytest.raises(ConfigError, match=r"missing\.h5: reference file not found"):
        select_best(SelectConfig(events_per_point=10), run, reference_path=tmp_path / "missing.h5")


def test_config_and_example() -> None:
    assert load(CONFIGS / "select.yaml", SelectConfig).figure_of_merit == "etot"
    with pytest.raises(ConfigError, match=r"s\.yaml: figure_of_merit"):
        parse({"figure_of_merit": "layers"}, SelectConfig, "s.yaml")
    with pytest.raises(ConfigError, match="window must be two positive RMS multiples"):
        parse({"window": [0, 3]}, SelectConfig, "s.yaml")


def test_plot_draws_on_the_given_axis() -> None:
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    artists = plot_selection(ax, [1, 2, 3], [3.0, 1.0, 2.0], {"E=1": [1.0, 2.0, 3.0]}, 2)
    assert len(artists) == 3 and ax.get_yscale() == "log"


@pytest.mark.parametrize("preset", ["fastcalogan", "vae-mlp", "fast-photon"])
def test_every_family_selects_through_the_same_entry_point(
    preset: str,
    tmp_path: Path,
    tiny_file: Path,
    tiny_config: Callable[..., TrainConfig],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from fastcalogan.generate import ExportConfig, Simulator, export_onnx
    from fastcalogan.train import RunFolder

    run = tmp_path / "run"
    train(tiny_config(preset=preset, iterations=3, checkpoint_every=1), tiny_file, run)
    result = select_best(SelectConfig(events_per_point=50, device="cpu"), run, tiny_file)
    assert [r.iteration for r in result.rows] == [1, 2, 3]
    assert all(len(r.points) == 4 and r.ndf == sum(p.ndf for p in r.points) for r in result.rows)
    assert RunFolder(run).selection_rows() == list(result.rows)
    best = RunFolder(run).best()
    assert best is not None and best.iteration == result.best_iteration
    # generation and export take the selected checkpoint, whatever the family
    assert Simulator.load(run, "cpu").checkpoints == (result.best_checkpoint,)
    with caplog.at_level("WARNING", logger="fastcalogan"):
        exported = export_onnx(ExportConfig(), run, tmp_path / "g.onnx")
    assert exported.checkpoints == (result.best_checkpoint,) and "no selection" not in caplog.text


def test_chi2_comes_with_its_sample_sizes_ceiling_and_an_unbinned_companion(
    fabricated_run: tuple[Path, Path],
) -> None:
    run, _ = fabricated_run
    # iteration 4 now misses the reference entirely: E_tot/E_inc in [3.0, 3.2] against [0.8, 1.0]
    state = load_checkpoint(checkpoint_path(run, 4))
    state["generator"]["net.2.bias"] *= 3.0 / 0.95
    save_checkpoint(checkpoint_path(run, 4), state)
    result = select_best(SelectConfig(events_per_point=1000, n_bins=20, device="cpu"), run)
    good, off = result.rows[1], result.rows[3]
    for point in good.points:  # 2000 reference showers per point, 1000 generated
        assert (point.n_reference, point.n_generated) == (2000, 1000)
        assert point.ceiling == pytest.approx(3000 / point.ndf)
        assert not point.saturated and point.wasserstein < 0.01
    assert off.n_saturated == 2 and all(p.chi2_ndf > 0.9 * p.ceiling for p in off.points)
    assert off.chi2_ndf == pytest.approx(off.ceiling, rel=0.05)
    # the distance keeps ranking where chi2/NDF has hit its ceiling: about the mean shift
    assert off.wasserstein == pytest.approx(2.2, abs=0.05)
    record = json.loads(result.table_path.with_suffix(".json").read_text())["rows"][3]
    assert record["n_saturated"] == 2 and record["chi2_ndf_ceiling"] == pytest.approx(off.ceiling)
    assert record["n_ref E=1024"] == 2000 and record["w1 E=1024"] == pytest.approx(2.2, abs=0.05)


def test_tables_written_before_the_sample_sizes_still_read() -> None:
    from fastcalogan.train import SelectionRow

    old = {"iteration": 5, "checkpoint": "checkpoints/ckpt-00000005.pt", "chi2": 12.0}
    old |= {"ndf": 6, "chi2_ndf": 2.0, "chi2_ndf E=1024": 2.0, "chi2 E=1024": 12.0}
    old |= {"ndf E=1024": 6}
    row = SelectionRow.from_record(old, "old.json")
    (point,) = row.points
    assert point.chi2_ndf == 2.0 and point.n_reference == 0 and np.isnan(point.wasserstein)
    assert row.n_saturated == 0 and np.isnan(row.wasserstein)


def test_saturated_ties_are_broken_by_the_distance(fabricated_run: tuple[Path, Path]) -> None:
    run, _ = fabricated_run
    # every checkpoint misses the reference: chi2/NDF sits at the same ceiling for all of them
    for it, offset in {1: 6.0, 2: 5.0, 3: 4.0, 4: 3.0}.items():
        state = load_checkpoint(checkpoint_path(run, it))
        state["generator"]["net.2.bias"] *= offset / OFFSETS[it]
        save_checkpoint(checkpoint_path(run, it), state)
    result = select_best(SelectConfig(events_per_point=500, n_bins=20, device="cpu"), run)
    assert len({round(r.chi2_ndf, 9) for r in result.rows}) == 1
    assert all(r.n_saturated == 2 for r in result.rows)
    assert result.best_iteration == 4  # the nearest, not the first


def test_a_run_saturated_everywhere_is_ranked_by_the_distance_not_by_its_ndf() -> None:
    from fastcalogan.select.selection import _selection_key
    from fastcalogan.train import PointScore, SelectionRow

    def row(iteration: int, ndf: int, w1: float, chi2: float = 1990.0) -> SelectionRow:
        # 1000 + 1000 showers per point: chi2 1990 is at the ceiling whatever the NDF
        points = tuple(PointScore(e, chi2, ndf, 1000.0, 1000.0, w1) for e in (1e3, 1e4))
        return SelectionRow(iteration, f"c{iteration}", 2 * chi2, 2 * ndf, points=points)

    wide = row(150, 40, w1=0.11)  # reaches more bins: a lower chi2/NDF, farther away
    near = row(1200, 30, w1=0.02)
    assert wide.chi2_ndf < near.chi2_ndf and wide.n_saturated == near.n_saturated == 2
    assert min([wide, near], key=_selection_key) is near
    # a checkpoint that overlaps the reference somewhere ranks before both
    overlapping = SelectionRow(
        600,
        "c600",
        1000.0,
        60,
        points=(PointScore(1e3, 10.0, 30, 1000.0, 1000.0, 0.5), near.points[1]),
    )
    assert min([wide, near, overlapping], key=_selection_key) is overlapping
