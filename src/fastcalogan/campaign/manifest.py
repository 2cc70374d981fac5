"""The campaign folder's record of what was run: ``campaign.json``.

``campaign run`` stores the resolved campaign there (the configuration after ``--set``, and
every task with its seed, binning and data files) before any task starts. ``campaign status``
and ``campaign report`` read it back with :func:`read_campaign`, so they describe the
campaign as it was run, whatever the YAML file says now.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from .._config import parse
from .._fileio import write_json
from .._provenance import git_hash
from ..errors import ConfigError, DataFormatError, FastCaloGANError
from .config import CampaignConfig
from .plan import TaskSpec, plan_tasks

__all__ = ["MANIFEST_FILE", "StoredCampaign", "read_campaign", "write_manifest"]

#: The campaign's resolved configuration, tasks and provenance, in the campaign folder.
MANIFEST_FILE = "campaign.json"
MANIFEST_SCHEMA_VERSION = 2


@dataclass(frozen=True)
class StoredCampaign:
    """A campaign as ``campaign run`` stored it in its folder.

    Attributes:
        directory: the campaign folder.
        config: the resolved campaign configuration (``--set`` applied).
        tasks: the planned tasks (seed, binning, data files), in plan order.
    """

    directory: Path
    config: CampaignConfig
    tasks: tuple[TaskSpec, ...]

    @property
    def manifest_path(self) -> Path:
        """``<directory>/campaign.json``."""
        return self.directory / MANIFEST_FILE


def _manifest(config: CampaignConfig, tasks: Sequence[TaskSpec]) -> dict[str, Any]:
    return {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "config": config.model_dump(mode="json"),
        "tasks": [t.to_dict() for t in tasks],
        "fastcalogan_version": __version__,
        "git_hash": git_hash(),
    }


def write_manifest(
    config: CampaignConfig, campaign_dir: str | os.PathLike[str], tasks: Sequence[TaskSpec]
) -> Path:
    """Store the resolved campaign and its tasks; left untouched when nothing changed."""
    path = Path(campaign_dir) / MANIFEST_FILE
    manifest = _manifest(config, tasks)
    try:
        if json.loads(path.read_text()) == manifest:
            return path
    except (OSError, ValueError):
        pass
    return write_json(path, manifest)


def read_campaign(campaign_dir: str | os.PathLike[str]) -> StoredCampaign:
    """The campaign stored in ``campaign_dir`` by ``campaign run``.

    Raises:
        FastCaloGANError: no campaign folder or no ``campaign.json`` in it.
        DataFormatError: the manifest is unreadable or malformed.
    """
    directory = Path(campaign_dir)
    path = directory / MANIFEST_FILE
    if not directory.is_dir():
        raise FastCaloGANError(
            f"{directory}: no campaign folder yet (run 'fastcalogan campaign run' first)"
        )
    try:
        text = path.read_text()
    except FileNotFoundError as err:
        raise FastCaloGANError(
            f"{directory}: not a campaign folder: no {MANIFEST_FILE} "
            "(written by 'fastcalogan campaign run' before any task starts)"
        ) from err
    except OSError as err:
        raise DataFormatError(f"{path}: cannot read ({err.strerror})") from err
    try:
        manifest = json.loads(text)
    except ValueError as err:
        raise DataFormatError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(manifest, Mapping) or not isinstance(manifest.get("config"), Mapping):
        raise DataFormatError(f"{path}: expected a mapping with the campaign's 'config'")
    config = parse(manifest["config"], CampaignConfig, str(path))
    entries = manifest.get("tasks")
    if not isinstance(entries, list):
        raise DataFormatError(f"{path}: expected 'tasks' as a list, found {type(entries).__name__}")
    if all(isinstance(e, Mapping) for e in entries):
        try:
            tasks = tuple(TaskSpec.from_dict(e) for e in entries)
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise DataFormatError(f"{path}: malformed task entry ({err!r})") from err
        return StoredCampaign(directory, config, tasks)
    # written before the tasks were stored (task names only): plan them from the stored config
    try:
        planned = plan_tasks(config)
    except ConfigError as err:
        raise DataFormatError(
            f"{path}: written by an older fastcalogan without the resolved tasks, which cannot "
            f"be planned again here ({err}); run 'fastcalogan campaign run' once to update it"
        ) from err
    names = [str(e) for e in entries]
    by_name = {t.name: t for t in planned}
    return StoredCampaign(directory, config, tuple(by_name[n] for n in names if n in by_name))
