from __future__ import annotations

import numpy as np

from fastcalogan.data import DS1_ENERGIES
from fastcalogan.train import INJECTION_ORDER_LOG2, injection_schedule

GEV_ORDER = [32, 64, 16, 128, 8, 256, 4, 512, 2, 1024, 1, 2048, 0.5, 4096, 0.25]


def test_order_is_the_papers() -> None:
    s = injection_schedule(DS1_ENERGIES[::-1], every=100)
    # the papers' "GeV" labels are 2^n MeV / 1024
    assert [e / 1024 for e in s.order] == GEV_ORDER
    assert [int(np.log2(e)) for e in s.order] == list(INJECTION_ORDER_LOG2)


def test_points_join_every_k_iterations() -> None:
    s = injection_schedule(DS1_ENERGIES, every=50)
    assert s.active(0) == (2.0**15,)
    assert s.active(49) == (2.0**15,)
    assert s.active(50) == (2.0**15, 2.0**16)
    assert s.active(100) == (2.0**15, 2.0**16, 2.0**14)
    assert s.n_active(14 * 50 - 1) == 14
    assert s.n_active(14 * 50) == 15
    assert s.n_active(10**9) == 15
    assert s.next_change(0) == 50 and s.next_change(700) is None


def test_subsets_keep_the_relative_order() -> None:
    s = injection_schedule([2.0**8, 2.0**9, 2.0**10, 2.0**12, 2.0**12], every=3)
    assert s.order == (2.0**12, 2.0**10, 2.0**9, 2.0**8)
    assert s.active(3) == (2.0**12, 2.0**10)


def test_other_energies_follow_nearest_first() -> None:
    s = injection_schedule([2.0**15, 50_000.0, 1_000.0, 2.0**20], every=1)
    assert s.order == (2.0**15, 2.0**20, 50_000.0, 1_000.0)


def test_no_injection_means_all_points_at_once() -> None:
    s = injection_schedule(DS1_ENERGIES, every=0)
    assert len(s.active(0)) == 15 and s.next_change(0) is None
