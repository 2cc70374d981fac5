"""The one reader of configuration files: YAML -> a frozen, validated pydantic model.

Validation failures become :class:`~fastcalogan.errors.ConfigError` naming the file (or the
``--set KEY`` override the value came from), the dotted key, the bad value and what is
allowed, with a "did you mean" for unknown keys. A key given twice in a YAML mapping and a
``schema_version`` this version does not read are refused. A config read from a file
remembers it (:func:`config_source`), so that commands can refuse to write over it.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pydantic
import yaml

from .errors import ConfigError

__all__ = [
    "StageConfig",
    "apply_overrides",
    "config_source",
    "format_validation_error",
    "load",
    "load_yaml",
    "parse",
]


class StageConfig(pydantic.BaseModel):
    """Base of every stage configuration: frozen, unknown keys rejected.

    ``schema_version`` must be one of :attr:`supported_schema_versions`: a file written for
    a newer layout is refused rather than half-understood.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    #: The ``schema_version`` values this version of fastcalogan reads.
    supported_schema_versions: ClassVar[tuple[int, ...]] = (1,)

    schema_version: int = 1
    _source: Path | None = pydantic.PrivateAttr(default=None)

    @pydantic.field_validator("schema_version")
    @classmethod
    def _supported_schema_version(cls, value: int) -> int:
        supported = cls.supported_schema_versions
        if value not in supported:
            raise ValueError(
                f"this fastcalogan reads schema_version {', '.join(map(str, supported))}, a "
                "newer one may read this file"
            )
        return value


def config_source(config: pydantic.BaseModel | None) -> Path | None:
    """The file a config was read from (by :func:`load`), or ``None``."""
    private = getattr(config, "__pydantic_private__", None) or {}
    source = private.get("_source")
    return source if isinstance(source, Path) else None


class _DuplicateKeyError(yaml.YAMLError):
    """A key given twice in one YAML mapping (YAML keeps the last one silently)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe YAML loader, refusing a key given twice in a mapping."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            continue  # the constructor names unhashable keys
        line = key_node.start_mark.line + 1
        if key in first_line:
            raise _DuplicateKeyError(
                f"line {line}: duplicate key '{key}' (first given at line {first_line[key]}); "
                "give each key once"
            )
        first_line[key] = line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml(text: str, source: str) -> Any:
    r"""Parse YAML text; a syntax error or a key given twice is a ConfigError naming ``source``.

    >>> load_yaml("lr: 1e-4\nseed: 3\n", "a.yaml")
    {'lr': '1e-4', 'seed': 3}
    >>> load_yaml("lr: 1\nlr: 2\n", "a.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fastcalogan.errors.ConfigError: a.yaml: line 2: duplicate key 'lr' (first given at line 1); ...
    """
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateKeyError as err:
        raise ConfigError(f"{source}: {err}") from err
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        what = " ".join(f"{err.context or ''} {err.problem or ''}".split())
        raise ConfigError(f"{source}: not valid YAML at {where}: {what}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML ({err})") from err


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


def _override_of(key: str, overrides: Sequence[str]) -> str | None:
    """The ``--set`` key that set ``key`` (or a part of it), if any."""
    for item in overrides:
        name = item.split("=", 1)[0].strip()
        if key == name or key.startswith(name + ".") or name.startswith(key + "."):
            return name
    return None


def format_validation_error(
    err: pydantic.ValidationError,
    model: type[pydantic.BaseModel],
    source: str,
    overrides: Sequence[str] = (),
) -> str:
    """Turn a pydantic error into one line per problem: ``source: key: found ...; allowed ...``.

    A value that came from an override is blamed on ``--set KEY``, not on the file; a rule
    between several fields (a model validator) gives its own message, which names the fields.
    """
    lines = []
    for item in err.errors():
        loc = [p for p in item["loc"] if isinstance(p, str | int)]
        key = ".".join(str(p) for p in loc)
        msg = str(item["msg"]).removeprefix("Value error, ")
        if not key:
            # a rule between fields: its message names them; blame an override it names
            names = [item_.split("=", 1)[0].strip() for item_ in overrides]
            named = [n for n in names if re.search(rf"(?<![\w.]){re.escape(n)}\b", msg)]
            if named and msg.startswith(f"{named[0]}: "):
                msg = msg[len(named[0]) + 2 :]
            lines.append(f"{'--set ' + named[0] if named else source}: {msg}")
            continue
        full_key = key
        overridden = _override_of(key, overrides)
        where = f"--set {overridden}" if overridden else source
        if overridden == key:
            key = ""
        if item["type"] == "extra_forbidden":
            known = _known_keys(model, loc[:-1])
            hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
            allowed = ", ".join(known)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            lines.append(f"{where}: unknown key '{full_key}' (allowed: {allowed}){suggestion}")
        else:
            found = item.get("input")
            said = isinstance(found, Mapping) or "found" in msg or f"{found!r}" in msg
            shown = "" if said else f" (found {found!r})"
            lines.append(f"{where}: {key + ': ' if key else ''}{msg}{shown}")
    return "\n".join(lines)


def parse(
    data: Mapping[str, Any],
    model: type[ConfigT],
    source: str = "<config>",
    overrides: Sequence[str] = (),
    source_file: str | os.PathLike[str] | None = None,
) -> ConfigT:
    """Validate a mapping as ``model``; errors name ``source`` (or ``--set KEY`` for values
    given in ``overrides``) and the dotted key.

    ``source_file``: the file the mapping was read from, remembered by the config
    (:func:`config_source`).
    """
    try:
        config = model.model_validate(dict(data))
    except pydantic.ValidationError as err:
        raise ConfigError(format_validation_error(err, model, source, overrides)) from err
    private = getattr(config, "__pydantic_private__", None)
    if source_file is not None and isinstance(private, dict) and "_source" in private:
        private["_source"] = Path(source_file)
    return config


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
            node[parts[-1]] = load_yaml(raw, f"--set {key.strip()}")
        except ConfigError as err:
            detail = str(err).split("not valid YAML", 1)[-1].strip(" :()")
            raise ConfigError(f"override '{item}': the value is not valid YAML ({detail})") from err
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
        return parse(apply_overrides({}, overrides), model, "command line", overrides)
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config ({err.strerror})") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: expected a YAML config (text), found binary content") from err
    data = load_yaml(text, str(path))
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{path}: expected a mapping of keys at the top, found {type(data).__name__}"
        )
    return parse(apply_overrides(dict(data), overrides), model, str(path), overrides, path)
