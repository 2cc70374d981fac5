"""Run a campaign: plan the tasks, skip the finished ones, submit the rest to Dask."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._config import config_source
from .._fileio import PathPlan
from .._locking import exclusive_writer
from .._logging import ProgressCallback
from .cluster import dashboard_link, open_client
from .config import CampaignConfig, ClusterConfig
from .engine import Step, TaskOutcome, run_task, task_finished
from .manifest import MANIFEST_FILE, write_manifest
from .plan import TaskSpec, check_campaign, plan_tasks
from .steps import DEFAULT_STEPS, ensemble_train

__all__ = ["CampaignResult", "campaign_directory", "run_campaign"]

log = logging.getLogger(__name__)


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

    @property
    def nothing_to_do(self) -> bool:
        """True when every task was already done: nothing ran and no cluster was started."""
        return self.n_tasks > 0 and self.already_done == self.n_tasks


def campaign_directory(
    config: CampaignConfig, override: str | os.PathLike[str] | None = None
) -> Path:
    """The campaign folder: ``override``, else ``config.directory``, else ``campaigns/<name>``."""
    if override is not None:
        return Path(override)
    return Path(config.directory) if config.directory else Path("campaigns") / config.name


def _set_torch_threads(cluster: ClusterConfig) -> None:
    """Torch threads of a worker: ``torch_threads``, else a batch job's ``cores``."""
    threads = cluster.torch_threads
    if threads is None and cluster.kind in ("htcondor", "slurm"):
        threads = cluster.cores
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def _run_on_worker(
    config: CampaignConfig, task: TaskSpec, campaign_dir: str, steps: Sequence[Step]
) -> TaskOutcome:
    """What a Dask worker runs: one task, with the cluster's torch threads."""
    _set_torch_threads(config.cluster)
    return run_task(config, task, campaign_dir, steps)


def _run_group_on_worker(
    config: CampaignConfig, tasks: list[TaskSpec], campaign_dir: str, steps: Sequence[Step]
) -> list[TaskOutcome]:
    """What a Dask worker runs for a group of tasks (``train.ensemble`` > 1): their steps
    before training, their GANs as ensembles, then each task's whole chain (its train step
    finds the run finished)."""
    _set_torch_threads(config.cluster)
    names = [s.name for s in steps]
    before = list(steps[: names.index("train")])
    for task in tasks:
        run_task(config, task, campaign_dir, before)
    ensemble_train(config, tasks, campaign_dir)
    return [run_task(config, task, campaign_dir, steps) for task in tasks]


def _groups(tasks: Sequence[TaskSpec], size: int) -> list[list[TaskSpec]]:
    """Tasks of one particle in groups of at most ``size``, in the campaign's order."""
    by_particle: dict[str, list[TaskSpec]] = {}
    for task in tasks:
        by_particle.setdefault(task.particle, []).append(task)
    return [
        group[i : i + size] for group in by_particle.values() for i in range(0, len(group), size)
    ]


def run_campaign(
    config: CampaignConfig,
    campaign_dir: str | os.PathLike[str],
    progress: ProgressCallback | None = None,
    *,
    client: Any | None = None,
    steps: Sequence[Step] | None = None,
    tasks: Sequence[TaskSpec] | None = None,
    on_dashboard: Callable[[str | None], None] | None = None,
) -> CampaignResult:
    """Run every unfinished task of the campaign on Dask and wait for them.

    The resolved campaign and its tasks are stored in ``campaign.json`` first. Finished
    tasks (every step done with the current settings) are not submitted; when every task is
    finished nothing else happens: no cluster is started and no status file is touched. The
    others are submitted with ``client.submit(run_task, ..., retries=cluster.retries,
    pure=False)`` and pick up where they stopped. A task that still fails is reported, not
    raised, so the others finish.

    Args:
        config: the campaign.
        campaign_dir: its folder (created); each task works in ``<particle>/eta_<a>-<b>/``.
        progress: ``progress(done, total)`` in tasks, finished ones included.
        client: a connected ``distributed.Client`` to use instead of starting
            ``config.cluster``.
        steps: the task chain (default: the real one); tests pass fast fakes.
        tasks: the tasks as :func:`check_campaign` returned them (default: checked here for
            the real chain, planned for another chain).
        on_dashboard: called with the dashboard link once the cluster is up.

    Returns:
        :class:`CampaignResult` with counts, failures and the wall time.

    Raises:
        ConfigError: a data or binning pattern matches no file, or a stage would refuse a
            setting.
        LockError: another ``campaign run`` works in the same folder.
    """
    t0 = time.perf_counter()
    campaign_dir = Path(campaign_dir).resolve()
    chain = DEFAULT_STEPS if steps is None else steps
    if tasks is None:
        # the real chain's stage configs are built (and checked) here; another chain's not
        tasks = check_campaign(config) if steps is None else plan_tasks(config)
    plan = PathPlan().read(config_source(config), "campaign file")
    plan.write(campaign_dir, "campaign folder", folder=True)
    plan.write(campaign_dir / MANIFEST_FILE, "stored campaign", quiet=True).check()
    campaign_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_writer(
        campaign_dir,
        "campaign",
        "a run of this campaign",
        "wait for it to end ('fastcalogan campaign status' shows its progress)",
    ):
        return _run_locked(config, campaign_dir, tasks, chain, progress, client, on_dashboard, t0)


def _run_locked(
    config: CampaignConfig,
    campaign_dir: Path,
    tasks: Sequence[TaskSpec],
    chain: Sequence[Step],
    progress: ProgressCallback | None,
    client: Any | None,
    on_dashboard: Callable[[str | None], None] | None,
    t0: float,
) -> CampaignResult:
    """:func:`run_campaign` with the campaign folder's lock held."""
    write_manifest(config, campaign_dir, tasks)
    todo = [t for t in tasks if not task_finished(config, t, campaign_dir, chain)]
    already = len(tasks) - len(todo)
    log.info("campaign %s: %d tasks, %d already done", config.name, len(tasks), already)
    if progress:
        progress(already, len(tasks))
    if not todo:
        log.info("campaign %s: every task is done with these settings; nothing to run", config.name)
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
        grouped = config.train.ensemble > 1 and "train" in [s.name for s in chain]
        if grouped:
            for group in _groups(todo, config.train.ensemble):
                future = client.submit(
                    _run_group_on_worker,
                    config,
                    group,
                    str(campaign_dir),
                    chain,
                    key=f"{group[0].name.replace('/', '-')}-group-{os.urandom(4).hex()}",
                    retries=config.cluster.retries,
                    pure=False,
                )
                futures[future] = group
        else:
            for task in todo:
                future = client.submit(
                    _run_on_worker,
                    config,
                    task,
                    str(campaign_dir),
                    chain,
                    key=f"{task.name.replace('/', '-')}-{os.urandom(4).hex()}",
                    retries=config.cluster.retries,
                    pure=False,
                )
                futures[future] = [task]
        completed, failed = 0, []
        for future in as_completed(futures):
            group = futures[future]
            try:
                result = future.result()
            except Exception as err:  # reported per task, the others go on
                for task in group:
                    failed.append((task.name, f"{type(err).__name__}: {err}"))
                    log.error("campaign %s: task %s failed: %s", config.name, task.name, err)
            else:
                for outcome in result if isinstance(result, list) else [result]:
                    completed += 1
                    log.info(
                        "campaign %s: task %s done in %.1f s (ran %s)",
                        config.name,
                        outcome.task,
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
