"""One routing rule of split runs: the numpy form and the traceable torch form agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fastcalogan.errors import ModelError
from fastcalogan.train import PHOTON_SPLIT_RANGES, EnergyRouting


def test_numpy_and_torch_forms_agree_inside_the_ranges() -> None:
    routing = EnergyRouting(PHOTON_SPLIT_RANGES)
    g = np.random.default_rng(0)
    edges = np.array([e for r in PHOTON_SPLIT_RANGES for e in r])
    energies = np.concatenate([np.exp(g.uniform(np.log(256.0), np.log(2.0**22), 2000)), edges])
    energies = energies.astype(np.float32)  # as they arrive from files and ONNX inputs
    numpy_form = routing.route(energies)
    torch_form = routing.route_torch(torch.from_numpy(energies)).numpy()
    np.testing.assert_array_equal(numpy_form, torch_form)
    assert set(numpy_form.tolist()) == {0, 1, 2}
    # a shared boundary goes to the lower range
    np.testing.assert_array_equal(routing.route(edges), [0, 0, 0, 1, 1, 2])


def test_outside_every_range_is_refused() -> None:
    routing = EnergyRouting([(256.0, 4096.0), (8192.0, 16384.0)])
    with pytest.raises(
        ModelError, match=r"energy 5000 MeV is outside the trained range 256-16384 MeV \(or between"
    ):
        routing.route([300.0, 5000.0])
    with pytest.raises(ModelError, match=r"outside the trained range 256-4096 MeV$"):
        EnergyRouting([(256.0, 4096.0)]).route([1e6])
    with pytest.raises(ModelError, match="energy ranges must increase"):
        EnergyRouting([(4096.0, 8192.0), (256.0, 4096.0)])
    assert routing.energy_range == (256.0, 16384.0)
