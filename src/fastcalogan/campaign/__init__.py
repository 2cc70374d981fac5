"""Campaigns: many (particle, |eta| slice) trainings on Dask, resumable and idempotent.

- :class:`CampaignConfig`: particles, slices, data, binning, training, selection, cluster.
- :func:`run_campaign`: submit the unfinished tasks to Dask and wait for them.
- :func:`run_task`: one task's chain (data -> layers -> train -> select -> export ->
  response), each step recorded in the task's ``status.json``.
- :func:`collect_status` / :func:`format_status_table`: the status table.
- :func:`write_report`: the HTML index with chi2/NDF and response vs |eta|.
"""

from .cluster import cluster_kwargs, open_client
from .config import (
    CampaignConfig,
    ClusterConfig,
    DataSource,
    EtaRange,
    ExportSettings,
    LayerSettings,
    SelectSettings,
    TrainSettings,
)
from .report import ReportResult, plot_chi2_vs_eta, plot_response_vs_eta, write_report
from .run import CampaignResult, campaign_directory, check_campaign, run_campaign
from .status import TaskRow, collect_status, format_bytes, format_status_table
from .tasks import (
    DEFAULT_STEPS,
    Step,
    StepSkipped,
    TaskContext,
    TaskOutcome,
    TaskSpec,
    plan_tasks,
    read_status,
    run_task,
    task_finished,
)

__all__ = [
    "DEFAULT_STEPS",
    "CampaignConfig",
    "CampaignResult",
    "ClusterConfig",
    "DataSource",
    "EtaRange",
    "ExportSettings",
    "LayerSettings",
    "ReportResult",
    "SelectSettings",
    "Step",
    "StepSkipped",
    "TaskContext",
    "TaskOutcome",
    "TaskRow",
    "TaskSpec",
    "TrainSettings",
    "campaign_directory",
    "check_campaign",
    "cluster_kwargs",
    "collect_status",
    "format_bytes",
    "format_status_table",
    "open_client",
    "plan_tasks",
    "plot_chi2_vs_eta",
    "plot_response_vs_eta",
    "read_status",
    "run_campaign",
    "run_task",
    "task_finished",
    "write_report",
]
