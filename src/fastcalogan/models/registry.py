"""The registry of model families and their presets, keyed by name.

The built-in families register themselves when :mod:`fastcalogan.models` is imported; a new
family adds one line there (or calls :func:`register_family` from its own package).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from ..errors import ModelError
from .family import ModelFamily, Preset

__all__ = [
    "families",
    "get_family",
    "get_preset",
    "preset_names",
    "register_family",
]

T = TypeVar("T")

_FAMILIES: dict[str, ModelFamily[Any, Any]] = {}
_PRESETS: dict[str, Preset] = {}


def register_family(family: ModelFamily[Any, Any]) -> ModelFamily[Any, Any]:
    """Add a family and its presets to the registry.

    Raises:
        ModelError: the family or one of its presets has a name already taken, or a preset
            names another family.
    """
    if family.name in _FAMILIES:
        raise ModelError(f"model family '{family.name}' is already registered")
    if not family.presets:
        raise ModelError(f"model family '{family.name}' has no preset")
    for preset in family.presets:
        if preset.name in _PRESETS:
            raise ModelError(f"preset '{preset.name}' is already registered")
        if preset.family != family.name:
            raise ModelError(f"preset '{preset.name}' names family '{preset.family}'")
    _FAMILIES[family.name] = family
    for preset in family.presets:
        _PRESETS[preset.name] = preset
    return family


def families() -> tuple[ModelFamily[Any, Any], ...]:
    """Every registered family, in registration order."""
    return tuple(_FAMILIES.values())


def preset_names() -> tuple[str, ...]:
    """Every registered preset, family by family."""
    return tuple(_PRESETS)


def get_family(name: str) -> ModelFamily[Any, Any]:
    """The family called ``name``.

    Raises:
        ModelError: no such family (the message lists the registered ones).
    """
    return _lookup(_FAMILIES, "model family", name)


def get_preset(name: str) -> Preset:
    """The preset called ``name``.

    Raises:
        ModelError: no such preset (the message lists the registered ones).
    """
    return _lookup(_PRESETS, "preset", name)


def _lookup(table: Mapping[str, T], what: str, name: str) -> T:
    """``table[name]``, or a :class:`ModelError` listing the registered names."""
    try:
        return table[name]
    except KeyError:
        known = ", ".join(table)
        raise ModelError(f"unknown {what} '{name}' (registered: {known})") from None
