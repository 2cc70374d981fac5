from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcalogan._config import parse
from fastcalogan.errors import ConfigError, DataFormatError, ModelError
from fastcalogan.geometry import Binning
from fastcalogan.preprocess import PreprocessConfig, Preprocessor, build_preprocessor

KINDS = [
    PreprocessConfig(kind="fastcalogan"),
    PreprocessConfig(kind="caloshowergan"),
    PreprocessConfig(kind="caloshowergan", layer_norm=True),
]


@pytest.mark.parametrize("config", KINDS, ids=["fcg", "csg", "csg-layer"])
def test_shapes_and_dtypes(config: PreprocessConfig, tiny_binning: Binning, tiny_showers) -> None:
    e, s = tiny_showers
    p = build_preprocessor(config).fit(e, s, tiny_binning)
    x, label = p.transform(e, s)
    n_feat = 16 + (3 + 1 if config.layer_norm else 0)
    assert p.n_features == n_feat
    assert x.shape == (64, n_feat) and x.dtype == np.float32
    assert label.shape == (64, 1) and label.dtype == np.float32
    back = p.inverse(x, e)
    assert back.shape == (64, 16) and back.dtype == np.float32
    np.testing.assert_allclose(back, s, rtol=1e-5, atol=1e-4)


def test_fastcalogan_label_and_voxels(tiny_binning: Binning, tiny_showers) -> None:
    e, s = tiny_showers
    p = build_preprocessor(PreprocessConfig()).fit(e, s, tiny_binning)
    x, label = p.transform(e, s)
    np.testing.assert_allclose(label[:, 0], e / e.max(), rtol=1e-6)
    assert 0 < label.min() and label.max() == 1.0
    np.testing.assert_allclose(x, s / e[:, None], rtol=1e-6)


def test_caloshowergan_label_is_log_scaled(tiny_binning: Binning, tiny_showers) -> None:
    e, s = tiny_showers
    p = build_preprocessor(PreprocessConfig(kind="caloshowergan")).fit(e, s, tiny_binning)
    # energies 2^10..2^13: labels 0, 1/3, 2/3, 1
    np.testing.assert_allclose(np.unique(p.label(e)), [0, 1 / 3, 2 / 3, 1], atol=1e-7)


def test_layer_norm_features_are_fractions(tiny_binning: Binning, tiny_showers) -> None:
    e, s = tiny_showers
    p = build_preprocessor(PreprocessConfig(kind="caloshowergan", layer_norm=True))
    x, _ = p.fit(e, s, tiny_binning).transform(e, s)
    for sl in (slice(0, 4), slice(4, 12), slice(12, 16), slice(16, 19)):
        np.testing.assert_allclose(x[:, sl].sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(x[:, 19], s.sum(axis=1) / e, rtol=1e-5)


def test_empty_layer_maps_to_zeros_and_back(tiny_binning: Binning) -> None:
    e = np.array([1000.0, 2000.0])
    s = np.zeros((2, 16), np.float32)
    s[0, 5] = 300.0
    s[1, 14] = 50.0
    p = build_preprocessor(PreprocessConfig(kind="caloshowergan", layer_norm=True))
    x, _ = p.fit(e, s, tiny_binning).transform(e, s)
    assert np.isfinite(x).all()
    np.testing.assert_allclose(p.inverse(x, e), s, atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    kind=st.sampled_from([0, 1, 2]),
    sparsity=st.floats(0.0, 0.9),
)
def test_inverse_transform_round_trip(seed: int, kind: int, sparsity: float) -> None:
    binning = Binning.from_layers(
        "h", "photon", (0, 1), [(0, [0, 1, 2, 3], 1), (1, [0, 1, 2], 3), (3, [0, 5], 2)]
    )
    g = np.random.default_rng(seed)
    e = g.uniform(256.0, 4.2e6, size=20)
    s = g.exponential(1.0, size=(20, binning.n_voxels)) * (
        g.uniform(size=(20, binning.n_voxels)) > sparsity
    )
    s = (s / max(s.sum(axis=1).max(), 1e-9) * e[:, None] * 0.9).astype(np.float32)
    p = build_preprocessor(KINDS[kind]).fit(e, s, binning)
    x, label = p.transform(e, s)
    assert np.isfinite(x).all() and (label >= 0).all() and (label <= 1).all()
    np.testing.assert_allclose(p.inverse(x, e), s, rtol=1e-4, atol=1e-7 * e.max())


def test_inverse_torch_matches_numpy_and_keeps_gradients(
    tiny_binning: Binning, tiny_showers
) -> None:
    e, s = tiny_showers
    p = build_preprocessor(KINDS[2]).fit(e, s, tiny_binning)
    x, _ = p.transform(e, s)
    xt = torch.tensor(x, requires_grad=True)
    out = p.inverse_torch(xt, torch.tensor(e, dtype=torch.float32))
    out.sum().backward()
    assert xt.grad is not None
    np.testing.assert_allclose(out.detach().numpy(), p.inverse(x, e), rtol=1e-6)


def test_state_round_trip(tmp_path: Path, tiny_binning: Binning, tiny_showers) -> None:
    e, s = tiny_showers
    p = build_preprocessor(KINDS[2]).fit(e, s, tiny_binning)
    path = p.save(tmp_path / "pre.json")
    q = Preprocessor.load(path)
    assert q.to_dict() == p.to_dict()
    np.testing.assert_array_equal(q.transform(e, s)[0], p.transform(e, s)[0])
    assert [f.name for f in tmp_path.iterdir()] == ["pre.json"]


def test_fixed_energy_range_from_config(tiny_binning: Binning, tiny_showers) -> None:
    e, s = tiny_showers
    p = build_preprocessor(PreprocessConfig(e_max=16384.0)).fit(e, s, tiny_binning)
    assert p.energy_range == (1024.0, 16384.0)
    assert p.label([8192.0])[0, 0] == pytest.approx(0.5)


def test_errors(tmp_path: Path, tiny_binning: Binning, tiny_showers) -> None:
    e, s = tiny_showers
    with pytest.raises(ModelError, match="not fitted"):
        Preprocessor(PreprocessConfig()).transform(e, s)
    with pytest.raises(DataFormatError, match=r"do not fit binning tiny \(16 voxels\)"):
        build_preprocessor(PreprocessConfig()).fit(e, s[:, :5], tiny_binning)
    with pytest.raises(ConfigError, match="layer_norm needs kind 'caloshowergan'"):
        parse({"layer_norm": True}, PreprocessConfig, "pre.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text('{"config": {}}')
    with pytest.raises(ModelError, match=r"bad\.json: not a preprocessing state"):
        Preprocessor.load(bad)
    p = build_preprocessor(PreprocessConfig()).fit(e, s, tiny_binning)
    with pytest.raises(ModelError, match=r"does not fit \(batch, 16\)"):
        p.inverse(np.zeros((2, 3)), [1.0, 2.0])


@pytest.mark.parametrize("kind", ["fastcalogan", "caloshowergan"])
def test_torch_label_is_the_numpy_label(kind: str) -> None:
    """Generation and export use the torch form, training the numpy one: the same numbers."""
    import torch

    pre = Preprocessor(PreprocessConfig(kind=kind), e_min=256.0, e_max=4194304.0, layer_sizes=(3,))
    energies = np.exp(np.random.default_rng(3).uniform(np.log(256.0), np.log(4194304.0), 5000))
    energies = energies.astype(np.float32)
    got = pre.label_torch(torch.from_numpy(energies))
    assert got.dtype == torch.float32 and got.shape == (5000, 1)
    np.testing.assert_array_equal(got.numpy(), pre.label(energies))
    flat = Preprocessor(PreprocessConfig(kind=kind), e_min=512.0, e_max=512.0, layer_sizes=(3,))
    np.testing.assert_array_equal(
        flat.label_torch(torch.tensor([512.0])).numpy(), flat.label([512.0])
    )
