"""Campaigns: many (particle, |eta| slice) trainings on Dask, resumable and idempotent.

- :class:`CampaignConfig`: particles, slices, data, binning, training, selection, cluster.
- planning (:mod:`.plan`): :func:`plan_tasks` (one :class:`TaskSpec` per particle and
  slice) and :func:`check_campaign` (each task's typed stage configs, :class:`StageConfigs`).
- the step engine (:mod:`.engine`): :func:`run_task` runs a chain of :class:`Step` objects
  and records each step in the task's ``status.json``; :func:`task_finished`.
- the concrete chain (:mod:`.steps`): :data:`DEFAULT_STEPS`, data -> layers -> train ->
  select -> export -> response.
- :func:`run_campaign`: store the campaign (``campaign.json``), submit the unfinished tasks
  to Dask and wait for them; :func:`read_campaign` reads the stored campaign back.
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
from .engine import (
    Step,
    StepSkipped,
    TaskContext,
    TaskOutcome,
    read_status,
    run_task,
    task_finished,
)
from .manifest import StoredCampaign, read_campaign, write_manifest
from .plan import StageConfigs, TaskSpec, check_campaign, plan_tasks, stage_configs
from .report import ReportResult, plot_chi2_vs_eta, plot_response_vs_eta, write_report
from .run import CampaignResult, campaign_directory, run_campaign
from .status import TaskRow, collect_status, format_bytes, format_status_table
from .steps import DEFAULT_STEPS

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
    "StageConfigs",
    "Step",
    "StepSkipped",
    "StoredCampaign",
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
    "read_campaign",
    "read_status",
    "run_campaign",
    "run_task",
    "stage_configs",
    "task_finished",
    "write_manifest",
    "write_report",
]
