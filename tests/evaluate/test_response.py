"""The mean-response metric campaigns record per task (FastCaloGAN's 65 GeV figures)."""

from __future__ import annotations

import numpy as np
import pytest

from fastcalogan.evaluate import ResponseStats, energy_response, response_summary


def test_response_counts_only_the_energy_point() -> None:
    showers = np.array([[300.0, 600.0], [400.0, 400.0], [5.0, 5.0]])
    inc = np.array([1000.0, 1009.0, 20.0])
    stats = energy_response(showers, inc, 1000.0)
    assert stats.n_events == 2
    assert stats.mean == pytest.approx(0.5 * (0.9 + 800.0 / 1009.0))
    assert stats.rms == pytest.approx(0.5 * abs(0.9 - 800.0 / 1009.0))
    assert energy_response(showers, inc).n_events == 3
    assert energy_response(showers, inc, 65536.0) == ResponseStats(None, None, 0)


def test_summary_keeps_the_keys_campaigns_store() -> None:
    g = np.random.default_rng(0)
    generated = g.uniform(0, 2.0, (50, 4)) * 65536.0 / 4
    reference = np.vstack([np.full((3, 6), 65536.0 * 0.95 / 6), np.full((2, 6), 10.0)])
    summary = response_summary(generated, reference, [65536.0] * 3 + [1024.0] * 2, 65536.0)
    assert summary.to_dict() == {
        "energy_mev": 65536.0,
        "gan_mean": pytest.approx(float(generated.sum(axis=1).mean() / 65536.0)),
        "gan_rms": pytest.approx(float(generated.sum(axis=1).std() / 65536.0)),
        "gan_events": 50,
        "reference_mean": pytest.approx(0.95),
        "reference_rms": pytest.approx(0.0, abs=1e-12),
        "reference_events": 3,
    }
