"""The one reader of configuration files: YAML -> a frozen, validated pydantic model.

Validation failures become :class:`~fastcalogan.errors.ConfigError` naming the file, the
dotted key, the bad value and what is allowed, with a "did you mean" for unknown keys.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from .errors import ConfigError

__all__ = ["StageConfig", "apply_overrides", "format_validation_error", "load", "parse"]


class StageConfig(pydantic.BaseModel):
    """Base of every stage configuration: frozen, unknown keys rejected."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1


ConfigT = TypeVar("ConfigT", bound=pydantic.BaseModel)


def _known_keys(model: type[pydantic.BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names allowed at ``loc`` (the parent of an unknown key)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        current = annotation if isinstance(annotation, type) else None
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def format_validation_error(
    err: pydantic.ValidationError, model: type[pydantic.BaseModel], source: str
) -> str:
    """Turn a pydantic error into one line per problem: ``source: key: found ...; allowed ...``."""
    lines = []
    for item in err.errors():
        loc = [p for p in item["loc"] if isinstance(p, str | int)]
        key = ".".join(str(p) for p in loc) or "<root>"
        if item["type"] == "extra_forbidden":
            known = _known_keys(model, loc[:-1])
            hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
            allowed = ", ".join(known)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            lines.append(f"{source}: unknown key '{key}' (allowed: {allowed}){suggestion}")
        else:
            found = item.get("input")
            lines.append(f"{source}: {key}: {item['msg']} (found {found!r})")
    return "\n".join(lines)


def parse(data: Mapping[str, Any], model: type[ConfigT], source: str = "<config>") -> ConfigT:
    """Validate a mapping as ``model``; errors name ``source`` and the dotted key."""
    try:
        return model.model_validate(dict(data))
    except pydantic.ValidationError as err:
        raise ConfigError(format_validation_error(err, model, source)) from err


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a nested mapping.

    >>> apply_overrides({"train": {"lr": 1e-4}}, ["train.lr=0.0002", "seed=3"])
    {'train': {'lr': 0.0002}, 'seed': 3}

    YAML reads ``2e-4`` (no dot) as a string; validation turns it into the float field's value.
    """
    out = dict(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}': expected KEY=VALUE, e.g. train.lr=1e-4")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            child = dict(child) if isinstance(child, Mapping) else {}
            node[part] = child
            node = child
        try:
            node[parts[-1]] = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ConfigError(f"override '{item}': the value is not valid YAML ({first})") from err
    return out


def load(
    path: str | os.PathLike[str] | None,
    model: type[ConfigT],
    overrides: Sequence[str] = (),
) -> ConfigT:
    """Read a YAML file and validate it as ``model``.

    Args:
        path: YAML file holding one mapping; ``None`` starts from the defaults (errors then
            name the command line).
        model: the stage's config class.
        overrides: ``key=value`` strings applied before validation.

    Raises:
        ConfigError: the file is missing, not YAML, not a mapping, or fails validation.
    """
    if path is None:
        return parse(apply_overrides({}, overrides), model, "command line")
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config ({err.strerror})") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: expected a YAML config (text), found binary content") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from err
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{path}: expected a mapping of keys at the top, found {type(data).__name__}"
        )
    return parse(apply_overrides(dict(data), overrides), model, str(path))
