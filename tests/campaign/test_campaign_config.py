"""The campaign spec: slices, patterns, binning per particle, cluster options, the task plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fastcalogan._config import load, parse
from fastcalogan.campaign import (
    CampaignConfig,
    ClusterConfig,
    check_campaign,
    cluster_kwargs,
    plan_tasks,
)
from fastcalogan.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _cfg(**values: Any) -> CampaignConfig:
    base: dict[str, Any] = {"particles": ["photon"], "eta": [[0.2, 0.25]]}
    base.update(values)
    return parse(base, CampaignConfig, "c.yaml")


def test_eta_range_gives_the_fastcalogan_slices() -> None:
    config = _cfg(eta={"start": 0.0, "stop": 1.4, "step": 0.05})
    slices = config.slices()
    assert len(slices) == 28 and slices[0] == (0.0, 0.05) and slices[-1] == (1.35, 1.4)
    assert _cfg(eta=[[0.2, 0.25], [0.6, 0.65]]).slices() == [(0.2, 0.25), (0.6, 0.65)]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"eta": {"start": 0.0, "stop": 0.12, "step": 0.05}},
            r"eta\.range: .*whole number of slices",
        ),
        ({"eta": [[0.3, 0.2]]}, r"eta: .*need 0 <= eta_min < eta_max, found \[0.3, 0.2\]"),
        ({"particles": ["photon", "gamma"]}, r"particles: .*listed twice"),
        ({"particles": ["muon"]}, r"particles: .*unknown particle 'muon'"),
        ({"data": {"source": "files"}}, r"data: .*source 'files' needs a pattern"),
        ({"data": {"source": "files", "pattern": "x_{eta}.h5"}}, r"unknown placeholder.*'eta'"),
        ({"binning": {"pion": "ds1-pions"}}, r"binning mapping has no entry for \['photon'\]"),
        ({"cluster": {"kind": "htcondor", "walltime": "01:00:00"}}, r"HTCondor has no walltime"),
        ({"cluster": {"adapt_minimum": 1}}, r"set both adapt_minimum and adapt_maximum"),
        ({"trian": {}}, r"unknown key 'trian'.*did you mean 'train'"),
    ],
)
def test_bad_specs_name_the_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _cfg(**values)


def test_plan_names_folders_seeds_and_default_binning() -> None:
    config = _cfg(particles=["photon", "pion"], eta=[[0.2, 0.25], [0.25, 0.3]])
    tasks = plan_tasks(config)
    assert [t.name for t in tasks] == [
        "photon/eta_0.20-0.25",
        "photon/eta_0.25-0.30",
        "pion/eta_0.20-0.25",
        "pion/eta_0.25-0.30",
    ]
    assert len({t.seed for t in tasks}) == 4
    assert all(t.binning == "default" and t.data_files == () for t in tasks)
    # adding a slice does not change the seeds of the others
    more = plan_tasks(_cfg(particles=["photon", "pion"], eta=[[0.2, 0.25], [0.25, 0.3], [0, 0.05]]))
    assert {t.name: t.seed for t in tasks}.items() <= {t.name: t.seed for t in more}.items()


def test_file_patterns_resolve_per_task(tmp_path: Path) -> None:
    for e in (1024, 2048):
        (tmp_path / f"pid22_E{e}_eta_20_25.csv").write_text("1,2\n")
    (tmp_path / "photon-binning.xml").write_text("<Bins/>")
    config = _cfg(
        data={"source": "files", "pattern": str(tmp_path / "pid{pdg}_E*_eta_{eta_min_x100}_*.csv")},
        binning={"photon": str(tmp_path / "{particle}-binning.xml")},
    )
    (task,) = plan_tasks(config)
    assert [Path(f).name for f in task.data_files] == [
        "pid22_E1024_eta_20_25.csv",
        "pid22_E2048_eta_20_25.csv",
    ]
    assert task.binning == str(tmp_path / "photon-binning.xml")
    # relative patterns are taken from the folder the campaign is run in
    rel = _cfg(data={"source": "files", "pattern": "pid22_E1024_eta_{eta_min_x100}_25.csv"})
    assert plan_tasks(rel, base_dir=tmp_path)[0].data_files == (
        str(tmp_path / "pid22_E1024_eta_20_25.csv"),
    )
    missing = _cfg(data={"source": "files", "pattern": str(tmp_path / "{particle}_{eta_min}.h5")})
    with pytest.raises(ConfigError, match=r"data.pattern: .* matches no file for photon .*0.20"):
        plan_tasks(missing)


def test_example_campaigns_load() -> None:
    demo = load(REPO / "configs" / "campaign-demo.yaml", CampaignConfig)
    assert len(demo.particles) * len(demo.slices()) == 4
    barrel = load(REPO / "configs" / "campaign-atlas-barrel.yaml", CampaignConfig)
    assert barrel.particles == ["photon", "electron", "pion"] and len(barrel.slices()) == 28
    assert barrel.cluster.kind == "htcondor"
    # their stage settings build the stages' own configs, as campaign run does first
    (first, *_), tasks = check_campaign(demo), check_campaign(barrel)
    assert first.stages is not None and first.stages.select.events_per_point == 200
    assert first.stages.train.checkpoint_every == 25 and first.stages.train.seed == first.seed
    assert len(tasks) == 84 and tasks[-1].stages is not None
    assert tasks[-1].stages.select.figure_of_merit == "etot"
    # the extended figure of merit is a select override like any other
    extended = _cfg(select={"overrides": {"figure_of_merit": "extended"}})
    (task, *_) = check_campaign(extended)
    assert task.stages is not None and task.stages.select.figure_of_merit == "extended"


def test_cluster_options_map_to_dask_jobqueue() -> None:
    slurm = cluster_kwargs(
        ClusterConfig(
            kind="slurm",
            queue="gpu",
            account="atlas",
            cores=4,
            memory="16GB",
            walltime="12:00:00",
            job_extra=["--gres=gpu:1"],
        )
    )
    assert slurm["queue"] == "gpu" and slurm["walltime"] == "12:00:00"
    assert slurm["job_extra_directives"] == ["--gres=gpu:1"] and slurm["processes"] == 1
    assert (slurm["cores"], slurm["job_cpu"]) == (1, 4)
    condor = cluster_kwargs(
        ClusterConfig(kind="htcondor", cores=2, job_extra=['+JobFlavour = "tomorrow"'])
    )
    assert condor["job_extra_directives"] == {"request_cpus": "2", "+JobFlavour": '"tomorrow"'}
    assert condor["cores"] == 1  # one task at a time per job, using the job's 2 CPUs
    assert condor["disk"] == "10GB"
    local = cluster_kwargs(ClusterConfig(n_workers=3, dashboard_address=None))
    assert local["n_workers"] == 3 and local["dashboard_address"] is None
    with pytest.raises(ConfigError, match=r"cluster.job_extra: SLURM directives are a list"):
        cluster_kwargs(ClusterConfig(kind="slurm", job_extra={"a": "b"}))


def test_slurm_job_script_carries_the_options() -> None:
    from dask_jobqueue import SLURMCluster

    kwargs = cluster_kwargs(
        ClusterConfig(kind="slurm", queue="short", cores=2, memory="4GB", walltime="00:30:00")
    )
    with SLURMCluster(**kwargs) as cluster:
        script = cluster.job_script()
    assert "#SBATCH -p short" in script and "#SBATCH -t 00:30:00" in script
    assert "#SBATCH --cpus-per-task=2" in script and "--nthreads 1" in script
