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


def test_a_value_from_an_override_is_blamed_on_the_override(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train:\n  lr: 1.0e-4\n")
    with pytest.raises(ConfigError, match=r"^--set train.lr: Input should be a valid number"):
        load(cfg, _Outer, ["train.lr=abc"])
    with pytest.raises(ConfigError, match=r"^--set train: train.lr: Input should be greater"):
        load(cfg, _Outer, ["train={lr: -1}"])
    # the file's own values still name the file
    cfg.write_text("train:\n  lr: -1\n")
    with pytest.raises(ConfigError, match=r"^.*c.yaml: train.lr: "):
        load(cfg, _Outer, ["particle=pion"])


class _Ranged(StageConfig):
    lo: float = 0.0
    hi: float = 1.0

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> _Ranged:
        if not self.lo < self.hi:
            raise ValueError(f"need lo < hi, found lo={self.lo} hi={self.hi}")
        return self


def test_a_rule_between_fields_names_them_without_a_dump(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lo: 2\nhi: 1\n")
    with pytest.raises(ConfigError) as info:
        load(cfg, _Ranged)
    assert str(info.value) == f"{cfg}: need lo < hi, found lo=2.0 hi=1.0"
    with pytest.raises(ConfigError) as info:
        load(None, _Ranged, ["lo=5"])
    assert str(info.value) == "--set lo: need lo < hi, found lo=5.0 hi=1.0"


def test_schema_versions_this_version_does_not_read_are_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("schema_version: 2\n")
    with pytest.raises(
        ConfigError, match=r"c.yaml: schema_version: this fastcalogan reads schema_version 1"
    ):
        load(cfg, _Outer)
    cfg.write_text("train: {schema_version: 7}\n")
    with pytest.raises(ConfigError, match=r"c.yaml: train.schema_version: this fastcalogan reads"):
        load(cfg, _Outer)
    assert load(None, _Outer, ["schema_version=1"]).schema_version == 1


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("particle: photon\ntrain:\n  lr: 1\n  lr: 2\n")
    with pytest.raises(
        ConfigError,
        match=r"c.yaml: line 4: duplicate key 'lr' \(first given at line 3\); give each key once",
    ):
        load(cfg, _Outer)
    # YAML merge keys are not duplicates
    cfg.write_text("base: &b {lr: 1}\n")
    from fastcalogan._config import load_yaml

    assert load_yaml("a: &b {lr: 1}\ntrain:\n  <<: *b\n  lr: 2\n", "x") == {
        "a": {"lr": 1},
        "train": {"lr": 2},
    }


def test_a_geometry_file_with_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    from fastcalogan.errors import BinningError
    from fastcalogan.geometry import load_geometry

    path = tmp_path / "g.yaml"
    path.write_text("kind: polar\nname: a\nname: b\nparticle: photon\nlayers: []\n")
    with pytest.raises(BinningError, match=r"g.yaml: line 3: duplicate key 'name'"):
        load_geometry(path)


def test_a_config_remembers_its_file(tmp_path: Path) -> None:
    from fastcalogan._config import config_source

    cfg = tmp_path / "c.yaml"
    cfg.write_text("particle: pion\n")
    config = load(cfg, _Outer)
    assert config_source(config) == cfg
    assert config_source(config.model_copy(update={"particle": "photon"})) == cfg
    assert config_source(load(None, _Outer)) is None
