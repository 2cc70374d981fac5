"""Binning validation against a fine proxy: hand-computed centroid shifts, real binnings."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fastcalogan.data import HitShowers
from fastcalogan.errors import BinningError
from fastcalogan.geometry import Binning, load_geometry
from fastcalogan.voxelise import proxy_binning, validate_binning

W64 = 2 * math.pi / 64


def _alpha_centre_64(alpha: float) -> float:
    """Centre of the 64-bin alpha bin holding ``alpha`` (bins are (lo, hi])."""
    k = math.ceil((alpha + math.pi) / W64) - 1
    return -math.pi + (k + 0.5) * W64


def test_point_like_shower_off_centre_gives_the_hand_computed_shift(tiny_binning: Binning) -> None:
    # one event: 2 MeV at r = 3 mm, alpha = 0.3 in layer 1 (2 alpha bins), 1 MeV at r = 13 mm,
    # alpha = -1 in layer 0 (no alpha bins); nothing in layer 2
    hits = HitShowers.from_event_ids(
        [100.0, 100.0], [0, 0], [3.0, 13.0], [0.3, -1.0], [1, 0], [2.0, 1.0]
    )
    v = validate_binning(hits, tiny_binning)
    assert v.proxy == "tiny-proxy" and v.n_events == 2
    assert v.total_energy_binning == pytest.approx(1.5) and v.total_energy_rel_diff == 0.0

    l1 = v.layer(1)
    # binning: r bin [0, 5) centre 2.5, alpha bin (0, pi] centre pi/2
    # proxy: r bin [3, 4) centre 3.5, alpha centre of the 64-bin holding 0.3
    c = _alpha_centre_64(0.3)
    assert l1.centroid_eta_binning == pytest.approx(0.0, abs=1e-12)
    assert l1.centroid_phi_binning == pytest.approx(2.5)
    assert l1.centroid_eta_proxy == pytest.approx(3.5 * math.cos(c))
    assert l1.centroid_phi_proxy == pytest.approx(3.5 * math.sin(c))
    assert l1.centroid_eta_diff == pytest.approx(-3.5 * math.cos(c))
    assert l1.centroid_phi_diff == pytest.approx(2.5 - 3.5 * math.sin(c))
    assert l1.centroid_eta_rms_diff == pytest.approx(abs(l1.centroid_eta_diff))
    assert l1.centroid_eta_rel_diff == pytest.approx(-1.0)  # the whole eta offset is lost
    assert l1.energy_binning == l1.energy_proxy == 1.0 and l1.n_events == 1

    l0 = v.layer(0)
    # no alpha bins: the binning puts the energy at alpha = 0, r = 15 (bin [10, 20))
    c0 = _alpha_centre_64(-1.0)
    assert (l0.centroid_eta_binning, l0.centroid_phi_binning) == (15.0, 0.0)
    assert l0.centroid_eta_proxy == pytest.approx(13.5 * math.cos(c0))
    assert l0.centroid_phi_diff == pytest.approx(-13.5 * math.sin(c0))

    l2 = v.layer(2)
    assert l2.n_events == 0 and math.isnan(l2.centroid_eta_binning)
    assert l2.energy_rel_diff == 0.0
    d = v.to_dict()
    json.dumps(d, allow_nan=False)  # NaN became null
    assert d["layers"][2]["centroid_eta_binning"] is None
    text = v.to_text()
    assert text.splitlines()[0].startswith("binning tiny vs tiny-proxy, 2 events")
    assert len(text.splitlines()) == 2 + 3 and " 1 EMB1" in text


def test_real_binnings_against_their_proxy() -> None:
    b = load_geometry("ds1-pions")
    p = proxy_binning(b)
    assert p.layer(12).n_r == 400 and p.layer(1).n_r == 200 and p.layer(14).n_alpha == 64
    g = np.random.default_rng(11)
    n = 4000
    layer = g.choice(b.layer_ids, n)
    # a shower offset towards +phi: alpha around pi/2, r within each layer's range
    r = g.exponential(20.0, n)
    hits = HitShowers.from_event_ids(
        np.full(20, 1e4),
        g.integers(0, 20, n),
        r,
        g.normal(math.pi / 2, 0.3, n).clip(-3, 3),
        layer,
        g.exponential(5.0, n),
    )
    v = validate_binning(hits, b, p)
    for lay in v.layers:
        # same r_max: every layer keeps the same energy
        assert lay.energy_rel_diff == pytest.approx(0.0, abs=1e-12)
    # layers without alpha bins lose the phi offset completely; binned ones keep most of it
    assert v.layer(0).centroid_phi_binning == 0.0 and v.layer(0).centroid_phi_proxy > 5.0
    assert v.layer(2).centroid_phi_rel_diff == pytest.approx(0.0, abs=0.3)
    assert v.layer(0).centroid_phi_rel_diff == pytest.approx(-1.0, abs=0.05)


def test_proxy_must_cover_the_layers(tiny_binning: Binning) -> None:
    hits = HitShowers.from_event_ids([1.0], [0], [1.0], [0.0], [0], [1.0])
    with pytest.raises(BinningError, match=r"proxy binning tiny\[0,1\] lacks layer\(s\) \[2\]"):
        validate_binning(hits, tiny_binning, tiny_binning.with_layers([0, 1]))
