"""``fastcalogan models``: the registered model families, one line each, with their presets."""

from __future__ import annotations

import click

from ._app import cli


@cli.command("models")
def models_cmd() -> None:
    """List the model families a training config can name (family: / preset:)."""
    from ..models import families

    rows = families()
    width = max(len(f.name) for f in rows)
    for family in rows:
        presets = ", ".join(p.name for p in family.presets)
        click.echo(f"{family.name:<{width}}  {family.summary}; presets: {presets}")
