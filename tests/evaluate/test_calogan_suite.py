"""CaloGAN's figures of merit: the Table IV shower shapes on a hand-made shower, the Table II
classifier transfer on tiny simulated samples, and the suites' options and scope."""

from __future__ import annotations

import numpy as np
import pytest

from fastcalogan.data import ShowerData
from fastcalogan.errors import ConfigError
from fastcalogan.evaluate import CaloGanTransfer, TransferOptions, classifier_transfer
from fastcalogan.evaluate.calogan import CaloGanShowerShapes, calogan_shower_shapes
from fastcalogan.geometry import load_geometry
from fastcalogan.simulate import simulate_showers

GEOMETRY = load_geometry("calogan")


def test_shower_shapes_of_a_hand_made_shower() -> None:
    s = np.zeros((1, 504))
    layer0 = GEOMETRY.layer_slice(0)
    layer1 = GEOMETRY.layer_slice(1)
    eta0 = GEOMETRY.voxel_eta[layer0]
    # layer 0: 3 and 1 GeV in two cells of different eta rows; layer 1: 6 GeV in one cell
    hot = int(np.flatnonzero(eta0 == eta0.min())[0])
    cold = int(np.flatnonzero(eta0 == eta0.max())[0])
    s[0, layer0.start + hot] = 3000.0
    s[0, layer0.start + cold] = 1000.0
    s[0, layer1.start + 5] = 6000.0
    v = {k: float(x[0]) for k, x in calogan_shower_shapes(s, GEOMETRY).items()}
    assert v["E_0"] == pytest.approx(4.0) and v["E_1"] == pytest.approx(6.0) and v["E_2"] == 0.0
    assert v["E_tot"] == pytest.approx(10.0)
    assert v["E_0/E_tot"] == pytest.approx(0.4) and v["E_1/E_tot"] == pytest.approx(0.6)
    # l_d = sum_i i E_i, s_d = l_d / E_tot, sigma_sd = sqrt(<i^2> - s_d^2)
    assert v["l_d"] == pytest.approx(6.0) and v["s_d"] == pytest.approx(0.6)
    assert v["sigma_sd"] == pytest.approx(np.sqrt(0.6 - 0.36))
    # E_ratio of the two hottest cells: (3 - 1) / (3 + 1); a single cell: 1; empty layer: 0
    assert v["E_ratio_0"] == pytest.approx(0.5) and v["E_ratio_1"] == pytest.approx(1.0)
    assert v["sparsity_0"] == pytest.approx(2 / 288) and v["sparsity_1"] == pytest.approx(1 / 144)
    # energy-weighted RMS of eta: weights 3/4 and 1/4 at a distance d apart -> d sqrt(3) / 4
    d = float(eta0.max() - eta0.min())
    assert v["sigma_0"] == pytest.approx(d * np.sqrt(3) / 4) and v["sigma_1"] == 0.0


def _sample(particle: str, n: int, seed: int) -> ShowerData:
    e = np.random.default_rng(seed).uniform(10_000.0, 50_000.0, n)
    sim = simulate_showers("calogan", particle, e, seed=seed)
    return ShowerData(e, np.asarray(sim.showers, dtype=np.float32), {"particle": particle})


def test_transfer_table_tells_a_faithful_generator_from_a_wrong_one() -> None:
    positron = _sample("positron", 160, 1)
    positron_again = _sample("positron", 160, 2)
    pion = _sample("pion", 160, 3)
    options = TransferOptions(repeats=2, events=160, hidden=(16,), epochs=8)
    faithful = classifier_transfer((positron, positron_again), {"pion": (pion, None)}, options)
    cells = faithful["pairs"]["e+ vs pion"]
    assert faithful["stand_ins"] == ["pion"] and faithful["events_per_sample"] == {"pion": 160}
    assert len(cells["train reference / test reference"]["values"]) == 2
    assert cells["train reference / test reference"]["mean"] > 0.8
    assert cells["train reference / test generated"]["mean"] > 0.8
    # "generated positrons" that are pions: the reference classifier calls them pions
    wrong = classifier_transfer(
        (positron, _sample("pion", 160, 4)), {"pion": (pion, None)}, options
    )
    assert wrong["pairs"]["e+ vs pion"]["train reference / test generated"]["mean"] < 0.65


def test_transfer_options_are_validated_one_line() -> None:
    with pytest.raises(ConfigError, match=r"suite_options\.calogan-transfer\.repeats"):
        CaloGanTransfer().configure({"repeats": 0})
    with pytest.raises(ConfigError, match=r"takes no options"):
        CaloGanShowerShapes().configure({"repeats": 2})
    configured = CaloGanTransfer().configure({"particles": {"pion": {"reference": "pi.h5"}}})
    assert isinstance(configured, CaloGanTransfer)
    assert configured.options.particles["pion"].reference == "pi.h5"


def test_suites_apply_to_the_calogan_cells_only() -> None:
    assert CaloGanShowerShapes().applies(GEOMETRY, {})
    assert not CaloGanShowerShapes().applies(load_geometry("ds1-photons"), {})
    skipped = CaloGanTransfer().compute(
        _sample("positron", 8, 1), _sample("positron", 8, 2), GEOMETRY, np.random.default_rng(0)
    )
    assert "suite_options.calogan-transfer.particles" in skipped.metrics["skipped"]
