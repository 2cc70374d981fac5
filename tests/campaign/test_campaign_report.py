"""Status table and HTML index of a campaign run with fake steps."""

from __future__ import annotations

from pathlib import Path

import pytest
from campaign_fakes import FAKE_STEPS, fake_chi2
from matplotlib.figure import Figure

from fastcalogan._config import parse
from fastcalogan.campaign import (
    CampaignConfig,
    StoredCampaign,
    collect_status,
    format_status_table,
    plan_tasks,
    plot_chi2_vs_eta,
    plot_response_vs_eta,
    read_campaign,
    run_task,
    write_manifest,
    write_report,
)


@pytest.fixture
def campaign(tmp_path: Path) -> StoredCampaign:
    config = parse(
        {
            "name": "tiny",
            "particles": ["photon", "pion"],
            "eta": [[0.2, 0.25], [0.25, 0.3]],
            "train": {"iterations": 4},
        },
        CampaignConfig,
    )
    tasks = plan_tasks(config)
    write_manifest(config, tmp_path, tasks)  # as run_campaign does before any task
    for task in tasks[:3]:  # the last task never ran
        run_task(config, task, tmp_path, FAKE_STEPS)
    return read_campaign(tmp_path)


def test_status_rows_and_table(campaign: StoredCampaign) -> None:
    rows = collect_status(campaign)
    assert [r.state for r in rows] == ["done", "done", "done", "pending"]
    assert [r.iteration for r in rows] == [4, 4, 4, None]
    assert rows[0].chi2_ndf == fake_chi2(campaign.tasks[0]) and rows[3].chi2_ndf is None
    assert [r.weights_bytes for r in rows] == [1000, 1000, 1000, None]
    text = format_status_table(rows).splitlines()
    assert text[0].split() == [
        "task",
        "state",
        "iteration",
        "best",
        "chi2/NDF",
        "weights",
        "attempts",
    ]
    assert text[2].split() == ["photon/eta_0.20-0.25", "done", "4/4", "1.2", "@4", "1000", "B", "1"]
    assert text[5].split() == ["pion/eta_0.25-0.30", "pending", "-", "-", "-", "0"]
    assert text[-1] == "3/4 tasks done; exported generators: 2.9 KiB"


def test_report_index_links_tasks_and_sums_memory(campaign: StoredCampaign) -> None:
    result = write_report(campaign)
    assert (result.n_done, result.n_tasks, result.total_weights_bytes) == (3, 4, 3000)
    index = result.index_path.read_text()
    assert "Total memory of the exported generators: <b>2.9 KiB</b> (3000 bytes)" in index
    assert "<a href='photon/eta_0.20-0.25/report.html'>photon/eta_0.20-0.25</a>" in index
    assert "<td>pion/eta_0.25-0.30</td>" in index  # no page for a task that never ran
    assert len(result.task_pages) == 3 and all(p.exists() for p in result.task_pages)
    page = result.task_pages[0].read_text()
    assert "<a href='generator.onnx'>generator.onnx</a>" in page
    for fig in result.figure_paths:
        assert fig.read_bytes()[:4] == b"\x89PNG"


def test_plots_draw_one_series_per_particle(campaign: StoredCampaign) -> None:
    rows = collect_status(campaign)
    ax = Figure().add_subplot()
    lines = plot_chi2_vs_eta(ax, rows)
    assert [line.get_label() for line in lines] == ["photon", "pion"]
    assert list(lines[0].get_xdata()) == pytest.approx([0.225, 0.275])
    assert list(lines[1].get_xdata()) == pytest.approx([0.225])  # pion 0.25-0.30 not done
    ax = Figure().add_subplot()
    lines = plot_response_vs_eta(ax, rows)
    assert [line.get_label() for line in lines] == [
        "photon GAN",
        "photon data",
        "pion GAN",
        "pion data",
    ]
