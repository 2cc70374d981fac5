from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from fastcalogan._config import StageConfig, apply_overrides, load
from fastcalogan.errors import ConfigError


class _Inner(StageConfig):
    lr: float = pydantic.Field(1e-4, gt=0)


class _Outer(StageConfig):
    particle: str = "photon"
    train: _Inner = _Inner()


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("particel: photon\n")
    with pytest.raises(
        ConfigError, match=r"c.yaml: unknown key 'particel' .*did you mean 'particle'"
    ):
        load(cfg, _Outer)


def test_bad_nested_value_names_the_dotted_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train:\n  lr: -1\n")
    with pytest.raises(ConfigError, match=r"c.yaml: train.lr: .*greater than 0 \(found -1\)"):
        load(cfg, _Outer)


def test_overrides_pass_the_same_validation(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("particle: pion\n")
    assert load(cfg, _Outer, ["train.lr=2e-4"]).train.lr == 2e-4
    with pytest.raises(ConfigError, match=r"train\.lr"):
        load(cfg, _Outer, ["train.lr=0"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides({}, ["nonsense"])


def test_unreadable_and_non_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load(tmp_path / "absent.yaml", _Outer)
    cfg = tmp_path / "list.yaml"
    cfg.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping of keys at the top, found list"):
        load(cfg, _Outer)


def test_without_a_file_the_overrides_are_validated_as_the_command_line() -> None:
    assert load(None, _Outer, ["particle=pion"]).particle == "pion"
    with pytest.raises(ConfigError, match=r"--set train\.lr: .*greater than 0"):
        load(None, _Outer, ["train.lr=0"])
