"""Box-Cox preprocessing of cell energies: the fit, the round trip, torch against numpy, and
its place in the preprocessing state and the exported inverse."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fastcalogan._config import parse
from fastcalogan.errors import ConfigError, DataFormatError
from fastcalogan.geometry import CartesianGeometry
from fastcalogan.preprocess import FittedBoxCox, PreprocessConfig, Preprocessor, build_preprocessor

GRID = CartesianGeometry.from_layers("grid", "electron", None, [(0, (4, 5), (20.0, 20.0))])


def _sparse_cells(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Energies (n,) MeV and cells (n, 20): log-normal cells, about 60 % of them empty."""
    g = np.random.default_rng(seed)
    e = g.uniform(2000.0, 100_000.0, n)
    cells = np.exp(g.normal(-6.0, 1.5, (n, 20))) * (g.random((n, 20)) < 0.4)
    return e, (cells * e[:, None]).astype(np.float32)


def test_lambda_is_fitted_by_maximum_likelihood() -> None:
    g = np.random.default_rng(0)
    # values whose Box-Cox transform with lambda 0.5 is normal: the fit finds 0.5
    z = g.normal(4.0, 0.5, 50_000)
    x = scipy.special.inv_boxcox(z, 0.5)
    fit = FittedBoxCox.fit(x, offset=1e-12)
    assert fit.lam == pytest.approx(0.5, abs=0.02)
    # log-normal values: lambda 0 exactly (an optimum at the bound is the bound)
    assert FittedBoxCox.fit(np.exp(g.normal(size=20_000))).lam == 0.0


def test_lambda_and_scale_come_from_the_filled_cells() -> None:
    _, cells = _sparse_cells(2000, 1)
    x = cells.astype(np.float64) / cells.sum(axis=1, keepdims=True)
    fit = FittedBoxCox.fit(x)
    assert fit.offset == pytest.approx(0.5 * x[x > 0].min())
    y = fit.apply(x)
    # filled cells standardised; every empty cell at one value below all of them
    assert np.mean(y[x > 0]) == pytest.approx(0.0, abs=1e-6)
    assert np.std(y[x > 0]) == pytest.approx(1.0, abs=1e-6)
    assert np.all(y[x == 0] == fit.low) and fit.low < y[x > 0].min()
    assert fit.high == pytest.approx(y.max())


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, (30, 6), elements=st.floats(1e-4, 1.0)),
    arrays(np.bool_, (30, 6)),
)
def test_inverse_of_transform_is_identity(values: np.ndarray, empty: np.ndarray) -> None:
    x = np.where(empty, 0.0, values)
    if not np.any(x > 0):
        x[0, 0] = 0.5
    fit = FittedBoxCox.fit(x)
    back = fit.inverse(fit.apply(x))
    # (lambda up to 2 on values 1e6 below the largest would cancel digits of x^lambda - 1)
    np.testing.assert_allclose(back, x, rtol=1e-7, atol=0)
    assert np.all(back[x == 0] == 0.0)


def test_inverse_clips_to_the_training_range_and_zeroes_below_the_offset() -> None:
    fit = FittedBoxCox.fit(np.array([0.0, 1e-4, 1e-3, 1e-2, 0.1]))
    y = np.array([-50.0, fit.low, fit.high, fit.high + 10.0])
    back = fit.inverse(y)
    assert back[0] == back[1] == 0.0
    assert back[2] == pytest.approx(0.1) and back[3] == pytest.approx(0.1)


def test_torch_inverse_agrees_with_numpy_and_keeps_the_dtype() -> None:
    _, cells = _sparse_cells(200, 2)
    x = cells.astype(np.float64) / 5e4
    fit = FittedBoxCox.fit(x)
    y = fit.apply(x).astype(np.float32)
    out = fit.inverse_torch(torch.from_numpy(y))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), fit.inverse(y), rtol=1e-6)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (np.zeros(0), "found none"),
        (np.array([1.0, -1.0]), "non-negative"),
        (np.array([1.0, np.nan]), "finite"),
        (np.zeros(5), "some non-zero"),
    ],
)
def test_unusable_values_are_one_line(values: np.ndarray, match: str) -> None:
    with pytest.raises(DataFormatError, match=match):
        FittedBoxCox.fit(values)


def _box_cox_preprocessor(e: np.ndarray, cells: np.ndarray) -> Preprocessor:
    return build_preprocessor(PreprocessConfig(voxel_transform="box_cox")).fit(e, cells, GRID)


def test_preprocessor_round_trip_and_state() -> None:
    e, cells = _sparse_cells(300, 3)
    pre = _box_cox_preprocessor(e, cells)
    x, label = pre.transform(e, cells)
    assert x.shape == (300, 20) and label.shape == (300, 1)
    # the network sees standardised values, not fractions of E_inc
    assert abs(float(np.mean(x[cells > 0]))) < 0.05
    np.testing.assert_allclose(pre.inverse(x, e), cells, rtol=2e-5, atol=0)
    state = pre.to_dict()
    assert state["config"]["voxel_transform"] == "box_cox"
    assert set(state["box_cox"]) == {"lambda", "offset", "mean", "std", "low", "high"}
    again = Preprocessor.from_dict(state)
    assert again.box_cox == pre.box_cox
    np.testing.assert_array_equal(again.inverse(x, e), pre.inverse(x, e))


def test_states_without_box_cox_keep_their_old_form() -> None:
    e, cells = _sparse_cells(50, 4)
    state = build_preprocessor(PreprocessConfig()).fit(e, cells, GRID).to_dict()
    assert "box_cox" not in state
    assert "voxel_transform" not in state["config"]
    assert "box_cox_offset" not in state["config"]


def test_a_state_missing_its_box_cox_parameters_is_refused() -> None:
    e, cells = _sparse_cells(50, 5)
    state = _box_cox_preprocessor(e, cells).to_dict()
    del state["box_cox"]
    with pytest.raises(Exception, match="lacks fitted conditions or Box-Cox parameters"):
        Preprocessor.from_dict(state, "p.json")


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        (
            {"kind": "caloshowergan", "layer_norm": True, "voxel_transform": "box_cox"},
            "voxel_transform and voxel_unit apply to voxels, not to layer_norm",
        ),
        ({"box_cox_offset": 1e-6}, "box_cox_offset needs voxel_transform: box_cox"),
        ({"voxel_transform": "yeo_johnson"}, "voxel_transform"),
    ],
)
def test_config_is_checked(fields: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse(fields, PreprocessConfig, "p.yaml")


def test_a_given_offset_is_used_and_is_the_readout_threshold() -> None:
    e, cells = _sparse_cells(100, 6)
    config = PreprocessConfig(voxel_transform="box_cox", box_cox_offset=1e-3)
    pre = build_preprocessor(config).fit(e, cells, GRID)
    assert pre.box_cox is not None and pre.box_cox.offset == 1e-3
    back = pre.inverse(pre.transform(e, cells)[0], e)
    small = cells / e[:, None] < 1e-3
    assert np.all(back[small] == 0.0)
    np.testing.assert_allclose(back[~small], cells[~small], rtol=2e-5)


def test_cells_in_mev_keep_the_energy_in_the_image() -> None:
    e, cells = _sparse_cells(300, 7)
    config = PreprocessConfig(voxel_unit="mev", voxel_transform="box_cox")
    pre = build_preprocessor(config).fit(e, cells, GRID)
    x, _ = pre.transform(e, cells)
    # the transform saw MeV: its offset is half the smallest cell in MeV
    assert pre.box_cox is not None
    assert pre.box_cox.offset == pytest.approx(0.5 * cells[cells > 0].min(), rel=1e-6)
    np.testing.assert_allclose(pre.inverse(x, e), cells, rtol=2e-5)
    # the same image at another incident energy comes back the same: E_inc is not used
    np.testing.assert_array_equal(pre.inverse(x, e * 2.0), pre.inverse(x, e))
    assert Preprocessor.from_dict(pre.to_dict()).config.voxel_unit == "mev"
