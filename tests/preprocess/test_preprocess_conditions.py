"""Conditions beyond the incident energy: configuration, fitted transforms, numpy vs torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcalogan._config import parse
from fastcalogan.data import read_showers, write_showers
from fastcalogan.errors import ConfigError, DataFormatError, ModelError
from fastcalogan.geometry import Binning
from fastcalogan.preprocess import PreprocessConfig, Preprocessor, build_preprocessor
from fastcalogan.train import model_shape

CONDITIONS = {"px": "standardise", "y": "min_max", "side": {"transform": "one_hot", "n": 3}}


def _config(kind: str = "fastcalogan") -> PreprocessConfig:
    return parse({"kind": kind, "conditions": CONDITIONS}, PreprocessConfig, "p.yaml")


def _conditions(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """float32-representable values: px ~ N(2000, 300) MeV, y ~ U(-30, 30) mm, side 0..2."""
    g = np.random.default_rng(seed)
    return {
        "px": g.normal(2000.0, 300.0, n).astype(np.float32).astype(np.float64),
        "y": g.uniform(-30.0, 30.0, n).astype(np.float32).astype(np.float64),
        "side": g.integers(0, 3, n).astype(np.float64),
    }


@pytest.fixture
def fitted(tiny_binning: Binning, tiny_showers) -> tuple[Preprocessor, np.ndarray, dict]:
    e, s = tiny_showers
    c = _conditions(e.size)
    return build_preprocessor(_config()).fit(e, s, tiny_binning, c), e, c


def test_config_forms_and_errors() -> None:
    config = _config()
    assert list(config.conditions) == ["px", "y", "side"]  # label order = config order
    assert [t.width for t in config.conditions.values()] == [1, 1, 3]
    with pytest.raises(ConfigError, match="one_hot condition needs n"):
        parse({"conditions": {"side": "one_hot"}}, PreprocessConfig, "p.yaml")
    with pytest.raises(ConfigError, match="n applies to one_hot conditions only"):
        parse({"conditions": {"px": {"transform": "standardise", "n": 3}}}, PreprocessConfig)
    with pytest.raises(ConfigError, match=r"p\.yaml: conditions\.px\.transform"):
        parse({"conditions": {"px": "log"}}, PreprocessConfig, "p.yaml")


def test_label_blocks(fitted) -> None:
    p, e, c = fitted
    assert p.condition_names == ("px", "y", "side") and p.n_conditions == 6
    label = p.label(e, c)
    assert label.shape == (e.size, 6) and label.dtype == np.float32
    np.testing.assert_array_equal(label[:, 0], (e / e.max()).astype(np.float32))
    # standardised: mean 0, std 1 on the training data; min_max: [0, 1]
    assert abs(label[:, 1].mean()) < 1e-5 and abs(label[:, 1].std() - 1) < 1e-5
    assert label[:, 2].min() == 0.0 and label[:, 2].max() == 1.0
    np.testing.assert_array_equal(label[:, 3:], np.eye(3)[c["side"].astype(int)])
    # an array in label order is the same as the mapping; extra names are ignored
    as_array = np.stack([c["px"], c["y"], c["side"]], axis=1)
    np.testing.assert_array_equal(p.label(e, as_array), label)
    np.testing.assert_array_equal(p.label(e, {**c, "unused": np.zeros(e.size)}), label)
    _, lab = p.transform(e, np.ones((e.size, 16)), c)
    np.testing.assert_array_equal(lab, label)


@pytest.mark.parametrize("kind", ["fastcalogan", "caloshowergan"])
def test_numpy_and_torch_labels_agree_exactly(
    kind: str, tiny_binning: Binning, tiny_showers
) -> None:
    e, s = tiny_showers
    c = _conditions(e.size, seed=1)
    p = build_preprocessor(_config(kind)).fit(e, s, tiny_binning, c)
    c2 = _conditions(200, seed=2)
    e2 = np.random.default_rng(3).uniform(1024, 8192, 200).astype(np.float32).astype(np.float64)
    values = torch.tensor(np.stack([c2["px"], c2["y"], c2["side"]], axis=1), dtype=torch.float32)
    got = p.label_torch(torch.tensor(e2, dtype=torch.float32), values)
    assert got.dtype == torch.float32
    np.testing.assert_array_equal(got.numpy(), p.label(e2, c2))


@settings(max_examples=40, deadline=None)
@given(
    px=st.floats(-1e6, 1e6, width=32),
    y=st.floats(-500, 500, width=32),
    side=st.integers(0, 2),
)
def test_label_forms_agree_on_any_value(px: float, y: float, side: int) -> None:
    config = _config()
    p = Preprocessor.from_dict(
        {
            "state_version": 1,
            "config": config.model_dump(mode="json"),
            "e_min": 1000.0,
            "e_max": 8000.0,
            "layer_sizes": [16],
            "conditions": [
                {"name": "px", "transform": "standardise", "offset": 123.25, "scale": 321.5},
                {"name": "y", "transform": "min_max", "offset": -30.0, "scale": 60.0},
                {"name": "side", "transform": "one_hot", "n": 3},
            ],
        }
    )
    numpy_label = p.label([4096.0], {"px": [px], "y": [y], "side": [side]})
    torch_label = p.label_torch(torch.tensor([4096.0]), torch.tensor([[px, y, float(side)]]))
    np.testing.assert_array_equal(torch_label.numpy(), numpy_label)


def test_state_round_trip_and_plain_states_unchanged(fitted, tiny_binning, tiny_showers) -> None:
    p, e, c = fitted
    state = p.to_dict()
    assert [d["name"] for d in state["conditions"]] == ["px", "y", "side"]
    back = Preprocessor.from_dict(state)
    np.testing.assert_array_equal(back.label(e, c), p.label(e, c))
    # a preprocessing of the energy alone stores exactly what it stored before conditions
    plain = build_preprocessor(PreprocessConfig()).fit(*tiny_showers, tiny_binning).to_dict()
    assert "conditions" not in plain and "conditions" not in plain["config"]
    # a state that lacks its fitted conditions is refused in one line
    broken = {**state, "conditions": state["conditions"][:1]}
    with pytest.raises(
        ModelError, match=r"pre\.json: not a preprocessing state .* do not match the configured"
    ):
        Preprocessor.from_dict(broken, "pre.json")


def test_model_shape_has_the_label_width(fitted, tiny_binning: Binning) -> None:
    p, _, _ = fitted
    assert model_shape(p, tiny_binning).n_conditions == 6


def test_missing_and_bad_conditions_are_one_line(fitted, tiny_binning, tiny_showers) -> None:
    p, e, c = fitted
    with pytest.raises(ModelError, match="conditioned on px, y, side; missing: y, side"):
        p.label(e, {"px": c["px"]})
    with pytest.raises(ModelError, match=r"missing: px, y, side"):
        p.label(e)
    with pytest.raises(ModelError, match=r"condition 'side' is 3\.0 in event 0; expected an "):
        p.label(e[:1], {**{k: v[:1] for k, v in c.items()}, "side": [3]})
    with pytest.raises(ModelError, match=r"shape \(64, 2\) do not fit \(64, 3\)"):
        p.label(e, np.zeros((e.size, 2)))
    # fitting on codes out of range is a data error
    bad = {**c, "side": np.full(e.size, 1.5)}
    with pytest.raises(
        DataFormatError, match=r"training data: condition 'side' is 1\.5 in event 0"
    ):
        build_preprocessor(_config()).fit(*tiny_showers, tiny_binning, bad)


def test_conditions_of_a_file(tmp_path: Path, tiny_showers) -> None:
    e, s = tiny_showers
    c = _conditions(e.size)
    path = write_showers(
        tmp_path / "c.h5",
        e,
        s,
        conditions=np.stack([c["side"], c["px"], c["y"]], axis=1),
        condition_names=("side", "px", "y"),
    )
    data = read_showers(path)
    got = build_preprocessor(_config()).conditions_of(data, str(path))
    np.testing.assert_array_equal(got, np.stack([c["px"], c["y"], c["side"]], axis=1))
    plain = read_showers(write_showers(tmp_path / "p.h5", e, s))
    with pytest.raises(DataFormatError, match=r"p\.h5: preprocess\.conditions names px, y, side"):
        build_preprocessor(_config()).conditions_of(plain, str(tmp_path / "p.h5"))
    assert build_preprocessor(PreprocessConfig()).conditions_of(data, "x").shape == (e.size, 0)
