"""Run a campaign: plan the tasks, skip the finished ones, submit the rest to Dask."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from .._fileio import write_json
from .._logging import ProgressCallback
from .._provenance import git_hash
from .cluster import dashboard_link, open_client
from .config import CampaignConfig
from .tasks import Step, TaskSpec, check_task_settings, plan_tasks, run_task, task_finished

__all__ = [
    "MANIFEST_FILE",
    "CampaignResult",
    "campaign_directory",
    "check_campaign",
    "run_campaign",
]

log = logging.getLogger(__name__)

#: The campaign's resolved configuration and provenance, in the campaign folder.
MANIFEST_FILE = "campaign.json"


@dataclass(frozen=True)
class CampaignResult:
    """The outcome of :func:`run_campaign`.

    Attributes:
        campaign_dir: the campaign folder.
        n_tasks: tasks in the campaign.
        already_done: tasks finished before this run (not submitted).
        completed: tasks finished in this run.
        failed: names of the tasks that failed (after Dask's retries), with the error.
        wall_seconds: wall time of this run.
        dashboard_link: the Dask dashboard address (``None`` when nothing was submitted).
    """

    campaign_dir: Path
    n_tasks: int
    already_done: int
    completed: int
    failed: tuple[tuple[str, str], ...]
    wall_seconds: float
    dashboard_link: str | None

    @property
    def ok(self) -> bool:
        """True when every task is done."""
        return not self.failed and self.already_done + self.completed == self.n_tasks


def campaign_directory(
    config: CampaignConfig, override: str | os.PathLike[str] | None = None
) -> Path:
    """The campaign folder: ``override``, else ``config.directory``, else ``campaigns/<name>``."""
    if override is not None:
        return Path(override)
    return Path(config.directory) if config.directory else Path("campaigns") / config.name


def _write_manifest(config: CampaignConfig, campaign_dir: Path, tasks: Sequence[TaskSpec]) -> None:
    """Store the resolved campaign and provenance; left untouched when nothing changed."""
    manifest = {
        "config": config.model_dump(mode="json"),
        "tasks": [t.name for t in tasks],
        "fastcalogan_version": __version__,
        "git_hash": git_hash(),
    }
    path = campaign_dir / MANIFEST_FILE
    try:
        if json.loads(path.read_text()) == manifest:
            return
    except (OSError, ValueError):
        pass
    write_json(path, manifest)


def check_campaign(config: CampaignConfig) -> list[TaskSpec]:
    """The campaign's tasks, once the settings every step will build are validated.

    A bad setting is then one line before any work, not a failure inside every worker.

    Raises:
        ConfigError: a setting some step would refuse.
    """
    tasks = plan_tasks(config)
    for task in tasks:
        check_task_settings(config, task)
    return tasks


def run_campaign(
    config: CampaignConfig,
    campaign_dir: str | os.PathLike[str],
    progress: ProgressCallback | None = None,
    *,
    client: Any | None = None,
    steps: Sequence[Step] | None = None,
    on_dashboard: Callable[[str | None], None] | None = None,
) -> CampaignResult:
    """Run every unfinished task of the campaign on Dask and wait for them.

    Finished tasks (every step done with the current settings) are not submitted; the others
    are submitted with ``client.submit(run_task, ..., retries=cluster.retries, pure=False)``
    and pick up where they stopped. A task that still fails is reported, not raised, so the
    others finish.

    Args:
        config: the campaign.
        campaign_dir: its folder (created); each task works in ``<particle>/eta_<a>-<b>/``.
        progress: ``progress(done, total)`` in tasks, finished ones included.
        client: a connected ``distributed.Client`` to use instead of starting
            ``config.cluster``.
        steps: the task chain (default: the real one); tests pass fast fakes.
        on_dashboard: called with the dashboard link once the cluster is up.

    Returns:
        :class:`CampaignResult` with counts, failures and the wall time.

    Raises:
        ConfigError: a data or binning pattern matches no file.
    """
    t0 = time.perf_counter()
    campaign_dir = Path(campaign_dir).resolve()
    # the real chain's settings are checked up front; another chain checks its own
    tasks = check_campaign(config) if steps is None else plan_tasks(config)
    campaign_dir.mkdir(parents=True, exist_ok=True)
    _write_manifest(config, campaign_dir, tasks)
    todo = [t for t in tasks if not task_finished(config, t, campaign_dir, steps)]
    already = len(tasks) - len(todo)
    log.info("campaign %s: %d tasks, %d already done", config.name, len(tasks), already)
    if progress:
        progress(already, len(tasks))
    if not todo:
        return CampaignResult(
            campaign_dir, len(tasks), already, 0, (), time.perf_counter() - t0, None
        )

    def submit_all(client: Any) -> tuple[int, list[tuple[str, str]], str | None]:
        from distributed import as_completed

        link = dashboard_link(client)
        log.info("campaign %s: Dask dashboard at %s", config.name, link)
        if on_dashboard:
            on_dashboard(link)
        futures = {}
        for task in todo:
            future = client.submit(
                run_task,
                config,
                task,
                str(campaign_dir),
                steps,
                key=f"{task.name.replace('/', '-')}-{os.urandom(4).hex()}",
                retries=config.cluster.retries,
                pure=False,
            )
            futures[future] = task
        completed, failed = 0, []
        for future in as_completed(futures):
            task = futures[future]
            try:
                outcome = future.result()
            except Exception as err:  # reported per task, the others go on
                failed.append((task.name, f"{type(err).__name__}: {err}"))
                log.error("campaign %s: task %s failed: %s", config.name, task.name, err)
            else:
                completed += 1
                log.info(
                    "campaign %s: task %s done in %.1f s (ran %s)",
                    config.name,
                    task.name,
                    outcome.seconds,
                    ", ".join(outcome.ran) or "nothing",
                )
            if progress:
                progress(already + completed + len(failed), len(tasks))
        return completed, failed, link

    if client is not None:
        completed, failed, link = submit_all(client)
    else:
        with open_client(config.cluster) as own_client:
            completed, failed, link = submit_all(own_client)
    return CampaignResult(
        campaign_dir,
        len(tasks),
        already,
        completed,
        tuple(failed),
        time.perf_counter() - t0,
        link,
    )
