"""Classifier test, ROC AUC, nearest neighbours and energy grouping."""

from __future__ import annotations

import numpy as np
import pytest

from fastcalogan.evaluate import (
    ClassifierConfig,
    classifier_test,
    energy_groups,
    nearest_neighbour_check,
    roc_auc,
    voxel_inputs,
)


def test_roc_auc_known_values() -> None:
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])[0] == 1.0
    assert roc_auc([0, 0, 1, 1], [0.4, 0.3, 0.2, 0.1])[0] == 0.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])[0] == 0.5


def test_classifier_separates_shifted_and_not_identical() -> None:
    g = np.random.default_rng(0)
    a, b = g.normal(size=(2000, 4)), g.normal(size=(2000, 4))
    c = g.normal(size=(2000, 4)) + 1.0
    cfg = ClassifierConfig(epochs=3)
    same = classifier_test(a, b, cfg, seed=1)
    diff = classifier_test(a, c, cfg, seed=1)
    assert abs(same.auc - 0.5) < 0.06
    assert diff.auc > 0.9
    assert same.n_train + same.n_validation + same.n_test == 4000
    again = classifier_test(a, b, cfg, seed=1)
    assert again.auc == same.auc  # seeded


def test_voxel_inputs_shape_and_range() -> None:
    x = voxel_inputs(np.array([[0.0, 500.0]], dtype=np.float32), [1000.0])
    assert x.shape == (1, 3)
    np.testing.assert_allclose(x[0], [-6.0, np.log10(0.5 + 1e-6), 3.0], atol=1e-5)


def test_nearest_neighbours_flag_collapse() -> None:
    g = np.random.default_rng(0)
    ref = g.normal(size=(1200, 10))
    gen_ok = g.normal(size=(1200, 10))
    collapsed = np.repeat(g.normal(size=(5, 10)), 240, axis=0) + 0.01 * g.normal(size=(1200, 10))
    ok = nearest_neighbour_check(ref, gen_ok, np.random.default_rng(1), None, 800, 200)
    bad = nearest_neighbour_check(ref, collapsed, np.random.default_rng(1), None, 800, 200)
    assert ok.memory == "reference"
    assert 0.85 < ok.collapse_ratio < 1.15
    assert bad.collapse_ratio < 0.1


def test_energy_groups_discrete_and_continuous() -> None:
    groups = energy_groups([256.0, 256.0, 512.0], [256.0, 512.0, 512.0 * (1 + 1e-5), 700.0])
    assert [g.energy for g in groups] == [256.0, 512.0]
    assert groups[1].generated.tolist() == [False, True, True, False]
    cont = energy_groups(np.geomspace(100, 1e5, 200), np.geomspace(100, 1e5, 100))
    assert len(cont) == 10
    assert sum(int(g.reference.sum()) for g in cont) == 200


def test_classifier_needs_events() -> None:
    with pytest.raises(ValueError, match="needs >= 10 events"):
        classifier_test(np.zeros((5, 2)), np.zeros((5, 2)), ClassifierConfig())
