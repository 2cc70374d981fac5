"""Selection for continuous spectra and conditioned models; discrete points keep their numbers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from fastcalogan.data import write_showers
from fastcalogan.errors import DataFormatError, ModelError
from fastcalogan.geometry import Binning, write_geometry_yaml
from fastcalogan.models import get_preset
from fastcalogan.select import SelectConfig, select_best
from fastcalogan.train import (
    TrainConfig,
    TrainedGenerator,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
    train,
)

#: E_tot / E_inc = offset + 0.2 u of the fabricated generators; the reference has 0.8.
OFFSETS = {1: 0.70, 2: 0.80, 3: 0.86, 4: 0.95}
#: Selection tables of ``test_select_best.py``'s fabricated run computed on main at b24b258
#: (before conditions and continuous spectra): (iteration, chi2, ndf) per checkpoint.
PINNED_POINTS = {
    "etot": [
        (1, 2054.2247117363922, 32),
        (2, 30.97912213446544, 26),
        (3, 1472.7521330514446, 32),
        (4, 3678.7291440722047, 37),
    ],
    "etot+layers": [
        (1, 9348.97631543896, 164),
        (2, 199.8999540127142, 158),
        (3, 6001.6961815511195, 164),
        (4, 14765.288060497634, 169),
    ],
}


def _fabricate_generator(state: dict[str, Any], fractions: np.ndarray, offset: float) -> None:
    """Hand-set a 1-hidden-layer generator: voxels = E * fractions * (offset + 0.2 u0)."""
    g = state["generator"]
    w0 = torch.zeros(2, g["net.0.weight"].shape[1])
    w0[0, 0] = 1.0  # hidden unit 0 = first uniform noise component; the label is ignored
    g["net.0.weight"], g["net.0.bias"] = w0, torch.zeros(2)
    f = torch.tensor(fractions, dtype=torch.float32)
    w1 = torch.zeros(len(fractions), 2)
    w1[:, 0] = 0.2 * f
    g["net.2.weight"], g["net.2.bias"] = w1, offset * f


def _fabricated_run(
    tmp_path: Path,
    binning: Binning,
    tiny_config: Callable[..., TrainConfig],
    energies: np.ndarray,
) -> tuple[Path, Path]:
    g = np.random.default_rng(11)
    fractions = g.dirichlet(np.ones(binning.n_voxels) * 5)
    showers = energies[:, None] * fractions * g.uniform(0.8, 1.0, size=(energies.size, 1))
    binning_path = tmp_path / "b.yaml"
    write_geometry_yaml(binning, binning_path)
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


@pytest.fixture
def continuous_run(
    tmp_path: Path, tiny_binning: Binning, tiny_config: Callable[..., TrainConfig]
) -> tuple[Path, Path]:
    """A run on 3000 events log-uniform in 1-4 GeV, its checkpoints hand-set (best: 2)."""
    energies = np.exp(np.random.default_rng(5).uniform(np.log(1024.0), np.log(4096.0), 3000))
    return _fabricated_run(tmp_path, tiny_binning, tiny_config, energies)


@pytest.mark.parametrize("figure_of_merit", sorted(PINNED_POINTS))
def test_discrete_points_keep_their_numbers(
    figure_of_merit: str,
    tmp_path: Path,
    tiny_binning: Binning,
    tiny_config: Callable[..., TrainConfig],
) -> None:
    energies = np.repeat([1024.0, 4096.0], 2000)
    run, _ = _fabricated_run(tmp_path, tiny_binning, tiny_config, energies)
    config = SelectConfig(
        events_per_point=500, n_bins=20, figure_of_merit=figure_of_merit, device="cpu"
    )
    result = select_best(config, run)
    table = json.loads(result.table_path.with_suffix(".json").read_text())
    assert [(r["iteration"], r["chi2"], r["ndf"]) for r in table["rows"]] == (
        PINNED_POINTS[figure_of_merit]
    )
    assert "spectrum" not in table


def test_continuous_spectrum_picks_the_known_best(continuous_run: tuple[Path, Path]) -> None:
    run, _ = continuous_run
    config = SelectConfig(events_per_point=200, n_bins=20, energy_bins=5, device="cpu")
    result = select_best(config, run)
    assert result.best_iteration == 2
    ratios = [r.chi2_ndf for r in result.rows]
    assert ratios[1] < 2.0 and min(ratios[0], ratios[2], ratios[3]) > 5 * ratios[1]
    # one "point" per log-spaced bin of incident energy, labelled by its geometric centre
    spectrum = json.loads(result.table_path.with_suffix(".json").read_text())["spectrum"]
    edges = np.asarray(spectrum["energy_bin_edges"])
    assert spectrum["kind"] == "continuous" and spectrum["observable"] == "E/E_inc"
    np.testing.assert_allclose(np.diff(np.log(edges)), np.log(edges[-1] / edges[0]) / 5)
    assert spectrum["events_per_bin"] == [200] * 5
    centres = [p.energy for p in result.rows[0].points]
    np.testing.assert_allclose(centres, np.sqrt(edges[:-1] * edges[1:]))
    np.testing.assert_allclose(spectrum["bin_centres"], centres)
    # the same seed gives the same table; etot+layers adds histograms
    assert select_best(config, run).table_path.read_text() == result.table_path.read_text()
    layers = select_best(config.model_copy(update={"figure_of_merit": "etot+layers"}), run)
    assert layers.best_iteration == 2 and layers.rows[1].ndf > result.rows[1].ndf


def test_continuous_generation_is_like_the_reference(
    continuous_run: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each bin generates its reference events' own energies, a seeded draw of at most
    events_per_point of them."""
    run, _ = continuous_run
    asked: list[np.ndarray] = []
    sample = TrainedGenerator.sample

    def spy(self: TrainedGenerator, energies: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(np.asarray(energies))
        return sample(self, energies, *args, **kwargs)

    monkeypatch.setattr(TrainedGenerator, "sample", spy)
    select_best(SelectConfig(events_per_point=50, energy_bins=3, device="cpu", stride=4), run)
    assert len(asked) == 6  # two checkpoints (stride 4: the first and the last), three bins
    reference = np.exp(np.random.default_rng(5).uniform(np.log(1024.0), np.log(4096.0), 3000))
    for energies in asked:
        assert energies.size == 50 and np.unique(energies).size == 50
        assert np.isin(energies, reference).all()
    assert asked[0].max() < asked[1].min() and asked[1].max() < asked[2].min()
    # every checkpoint is scored on the same events
    for a, b in zip(asked[:3], asked[3:], strict=True):
        np.testing.assert_array_equal(a, b)


def test_spectrum_can_be_forced(
    continuous_run: tuple[Path, Path],
    tmp_path: Path,
    tiny_binning: Binning,
    tiny_config: Callable[..., TrainConfig],
) -> None:
    run, _ = continuous_run
    with pytest.raises(ModelError, match="3000 distinct incident energies; selection by energy"):
        select_best(SelectConfig(events_per_point=50, spectrum="points", device="cpu"), run)
    # discrete points may be scored as a spectrum: two bins, one per point
    energies = np.repeat([1024.0, 4096.0], 500)
    points_run, _ = _fabricated_run(tmp_path / "p", tiny_binning, tiny_config, energies)
    config = SelectConfig(events_per_point=500, energy_bins=2, spectrum="continuous", device="cpu")
    result = select_best(config, points_run)
    assert result.best_iteration == 2 and len(result.rows[0].points) == 2


def test_conditioned_points_generate_with_the_reference_conditions(
    tmp_path: Path,
    tiny_binning: Binning,
    tiny_config: Callable[..., TrainConfig],
    conditions_config: dict[str, Any],
    fabricate_conditioned: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    e, s, c = fabricate_conditioned(tiny_binning, 64, seed=2, continuous=False)
    binning_path = tmp_path / "b.yaml"
    write_geometry_yaml(tiny_binning, binning_path)
    names = ("depth", "side", "unused")
    data = write_showers(
        tmp_path / "c.h5", e, s, {"binning": str(binning_path)}, None, None, c, names
    )
    preprocess = {**get_preset("fastcalogan").preprocess.model_dump()}
    preprocess["conditions"] = conditions_config
    run = tmp_path / "run"
    train(tiny_config(preprocess=preprocess, iterations=2), data, run)
    asked: list[tuple[np.ndarray, np.ndarray]] = []
    sample = TrainedGenerator.sample

    def spy(self: TrainedGenerator, energies: Any, g: Any, b: int, conditions: Any) -> Any:
        asked.append((np.asarray(energies), np.asarray(conditions)))
        return sample(self, energies, g, b, conditions)

    monkeypatch.setattr(TrainedGenerator, "sample", spy)
    result = select_best(SelectConfig(events_per_point=40, device="cpu", stride=2), run)
    assert [p.energy for p in result.rows[0].points] == [1024.0, 2048.0, 4096.0, 8192.0]
    # each point generates with its reference events' (depth, side), in order, repeated
    energies, conditions = asked[0]
    at_point = c[e == 1024.0][:, :2]
    np.testing.assert_array_equal(energies, 1024.0)
    np.testing.assert_array_equal(conditions, at_point[np.arange(40) % len(at_point)])

    # a reference without the model's conditions is one line
    plain = write_showers(tmp_path / "plain.h5", e, s, {"binning": str(binning_path)})
    with pytest.raises(DataFormatError, match=r"plain\.h5: preprocess\.conditions names depth"):
        select_best(SelectConfig(events_per_point=40, device="cpu"), run, plain)
