"""Dask clusters for campaigns: a LocalCluster, HTCondor or SLURM jobs, or a running scheduler."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from collections.abc import Iterator
from typing import Any

import dask

from ..errors import ConfigError
from .config import ClusterConfig

__all__ = ["cluster_kwargs", "dashboard_link", "open_client"]

log = logging.getLogger(__name__)


def cluster_kwargs(config: ClusterConfig) -> dict[str, Any]:
    """Keyword arguments of the cluster class for ``config.kind`` (none for ``address``).

    >>> cluster_kwargs(ClusterConfig(kind="slurm", queue="short", cores=4))["queue"]
    'short'
    """
    if config.kind == "local":
        return {
            "n_workers": config.n_workers,
            "threads_per_worker": config.threads_per_worker,
            "processes": config.processes,
            "memory_limit": config.memory_limit,
            "dashboard_address": config.dashboard_address,
            "local_directory": config.local_directory,
        }
    if config.kind == "address":
        return {}
    # a job runs threads_per_worker tasks at once but reserves `cores` CPUs for their torch
    kwargs: dict[str, Any] = {
        "cores": config.threads_per_worker,
        "memory": config.memory,
        "processes": 1,
        "job_script_prologue": list(config.job_script_prologue),
        "local_directory": config.local_directory,
        "log_directory": config.log_directory,
        "scheduler_options": {"dashboard_address": config.dashboard_address or ":0"},
    }
    extra = config.job_extra
    if config.kind == "htcondor":
        kwargs["disk"] = config.disk
        # HTCondor directives are a mapping (key = value lines of the submit file)
        directives = {"request_cpus": str(config.cores)}
        directives.update(
            dict(extra) if isinstance(extra, dict) else dict(_split_directive(d) for d in extra)
        )
        kwargs["job_extra_directives"] = directives
    else:
        kwargs["queue"] = config.queue
        kwargs["account"] = config.account
        kwargs["walltime"] = config.walltime
        kwargs["job_cpu"] = config.cores
        if isinstance(extra, dict):
            raise ConfigError(
                "cluster.job_extra: SLURM directives are a list like ['--gres=gpu:1'], "
                "found a mapping"
            )
        kwargs["job_extra_directives"] = list(extra)
    return {k: v for k, v in kwargs.items() if v is not None}


def _split_directive(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise ConfigError(
            f"cluster.job_extra: HTCondor directive '{text}' needs KEY = VALUE "
            "(or give job_extra as a mapping)"
        )
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def _make_cluster(config: ClusterConfig) -> Any:
    kwargs = cluster_kwargs(config)
    if config.kind == "local":
        from distributed import LocalCluster

        return LocalCluster(**kwargs)
    if config.kind == "htcondor":
        from dask_jobqueue import HTCondorCluster

        return HTCondorCluster(**kwargs)
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(**kwargs)


def dashboard_link(client: Any) -> str | None:
    """The dashboard address of ``client`` (``None`` when it has none)."""
    try:
        link = client.dashboard_link
    except Exception:  # the link is informational only
        return None
    return str(link) if link else None


@contextlib.contextmanager
def open_client(config: ClusterConfig) -> Iterator[Any]:
    """Start the cluster ``config`` describes and yield a connected ``distributed.Client``.

    Batch clusters start ``n_workers`` jobs, or adapt between ``adapt_minimum`` and
    ``adapt_maximum`` jobs. Everything is closed when the block ends.
    """
    from distributed import Client

    settings = {"distributed.scheduler.allowed-failures": config.allowed_failures}
    with dask.config.set(settings):
        if config.kind == "address":
            with Client(config.address) as client:
                yield client
            return
        cluster = _make_cluster(config)
        try:
            if config.kind != "local":
                if config.adapt_minimum is not None:
                    cluster.adapt(
                        minimum_jobs=config.adapt_minimum, maximum_jobs=config.adapt_maximum
                    )
                else:
                    cluster.scale(jobs=config.n_workers)
                log.info("batch job script:\n%s", cluster.job_script())
            with Client(cluster) as client:
                if importlib.util.find_spec("bokeh") is None:
                    log.info("the Dask dashboard needs bokeh (pip install bokeh)")
                yield client
        finally:
            cluster.close()
