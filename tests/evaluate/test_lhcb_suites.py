"""The LHCb ECAL suites' observables on hand-made images, and the regressor's residuals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fastcalogan.data import ShowerData
from fastcalogan.evaluate import lhcb_observables, regressor_residuals
from fastcalogan.evaluate.lhcb import CRITICAL_ENERGY_MEV, RADIATION_LENGTH_MM
from fastcalogan.geometry import load_geometry
from fastcalogan.models import LhcbRegressorConfig, LoadedRegressor, ModelShape
from fastcalogan.models.lhcb import LHCB_PREPROCESS
from fastcalogan.models.lhcb_networks import RegressorNet
from fastcalogan.preprocess import Preprocessor
from fastcalogan.simulate import simulate_showers

LHCB = load_geometry("lhcb-ecal")


def _cell(x: float, y: float) -> int:
    """Index of the cell centred at (x, y) mm: rows along x, columns along y."""
    (hit,) = np.flatnonzero((LHCB.voxel_eta == x) & (LHCB.voxel_phi == y))
    return int(hit)


def test_asymmetry_widths_and_sparsity_of_a_two_cell_image() -> None:
    s = np.zeros((3, 900))
    s[0, _cell(10, -10)], s[0, _cell(-10, -10)] = 3.0, 1.0  # normal track at (0, 0)
    s[1, _cell(10, 10)], s[1, _cell(-10, 10)] = 1.0, 1.0  # the same cells, a track to +x
    c = np.array([[0.0, 0.0, 1e4, 0.0, 0.0], [1e3, 0.0, 1e4, 0.0, 0.0], [0.0, 0.0, 1e4, 0, 0]])
    obs = lhcb_observables(s, c, LHCB)
    # normal incidence: "along" is x; 3 on the +x side, 1 on the -x side, both at y < 0
    assert obs["asymmetry along"][0] == pytest.approx(0.5)
    assert obs["asymmetry across"][0] == pytest.approx(-1.0)
    assert obs["width x"][0] == pytest.approx(np.sqrt(75.0))  # <x> = 5 mm, <x^2> = 100 mm^2
    assert obs["width y"][0] == pytest.approx(0.0)
    assert obs["sparsity"][0] == pytest.approx(2 / 900)
    # slope 0.1 in x: the axis at the shower maximum moves past both cells (x = +-10 mm)
    p = np.linalg.norm(c[1, :3])
    shift = 0.1 * RADIATION_LENGTH_MM * (np.log(p / CRITICAL_ENERGY_MEV) - 0.5)
    assert shift > 10.0
    assert obs["asymmetry along"][1] == pytest.approx(-1.0)
    assert obs["width x"][1] == pytest.approx(10.0)
    # an empty image has none of them
    assert all(np.isnan(v[2]) for v in obs.values())


def test_regressor_residuals_are_in_mev_and_mm() -> None:
    sim = simulate_showers("lhcb-ecal", "electron", np.geomspace(2e3, 1e5, 40), seed=5)
    data = ShowerData(sim.incident_energies, sim.showers, {}, sim.conditions, sim.condition_names)
    pre = Preprocessor(LHCB_PREPROCESS).fit(
        sim.incident_energies, sim.showers, LHCB, sim.conditions
    )
    net = RegressorNet((30, 30), 5, (4, 2))
    with torch.no_grad():  # a regressor predicting 0 in standardised units: the training means
        net.head.weight.zero_()
        net.head.bias.zero_()
    shape = ModelShape(900, 6, layer_shapes=((30, 30),))
    regressor = LoadedRegressor(
        net, LhcbRegressorConfig(channels=(4, 2)), shape, pre.to_dict(), "r", 0
    )
    residuals = regressor_residuals(regressor, data, sim.conditions, batch_size=16)
    means = np.array([c.offset for c in pre.conditions])
    np.testing.assert_allclose(residuals, means[None, :] - sim.conditions, rtol=1e-5, atol=1e-3)
