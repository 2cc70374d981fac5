"""The JSON Schemas in schemas/ match the stage configs (regenerate: make schemas)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastcalogan._schemas import all_stage_configs, schema_text

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
CONFIGS = all_stage_configs()


def test_every_stage_has_a_config_with_a_schema_version() -> None:
    assert CONFIGS, "no stage config found"
    for name, model in CONFIGS.items():
        assert "schema_version" in model.model_fields, name


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_schema_file_is_current(name: str) -> None:
    path = SCHEMAS / f"{name}.json"
    assert path.exists(), f"{path} missing: run `make schemas`"
    assert path.read_text() == schema_text(CONFIGS[name]), f"{path} is stale: run `make schemas`"


def test_no_schema_file_without_a_config() -> None:
    stale = sorted(p.stem for p in SCHEMAS.glob("*.json") if p.stem not in CONFIGS)
    assert stale == [], f"schemas without a config: {stale}"
