"""``fastcalogan campaign run|status|report CAMPAIGN.yaml``: whole-calorimeter campaigns on Dask."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import click
from rich.table import Table

from .._config import load
from .._logging import log_to_file
from ..campaign import (
    CampaignConfig,
    campaign_directory,
    check_campaign,
    collect_status,
    format_bytes,
    run_campaign,
    write_report,
)
from ..campaign.status import TABLE_COLUMNS, TaskRow, table_cells
from ..errors import FastCaloGANError
from ._app import cli, console, progress_bar, stdout_console

_config_argument = click.argument("campaign_file", type=click.Path(path_type=Path))
_dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=None,
    help="Campaign folder (default: the file's 'directory', else campaigns/<name>).",
)
_set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a campaign setting, e.g. --set train.iterations=500 (repeatable).",
)


@contextlib.contextmanager
def _quiet_console() -> Iterator[None]:
    """Keep the console at the verbosity asked for (-v) while the campaign log takes INFO.

    ``log_to_file`` lowers the ``fastcalogan`` logger to INFO for the file, and
    dask.distributed logs at INFO by default; both would otherwise reach the console
    handler and scroll the progress bar away.
    """
    level = logging.getLogger("fastcalogan").getEffectiveLevel()
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    saved = [h.level for h in handlers]
    dist = logging.getLogger("distributed")
    dist_level = dist.level
    for h in handlers:
        h.setLevel(max(h.level, level))
    dist.setLevel(max(level, logging.WARNING) if level > logging.DEBUG else dist_level)
    try:
        yield
    finally:
        for h, old in zip(handlers, saved, strict=True):
            h.setLevel(old)
        dist.setLevel(dist_level)


def _load(path: Path, overrides: tuple[str, ...]) -> CampaignConfig:
    return load(path, CampaignConfig, overrides)


def _print_table(rows: list[TaskRow], title: str) -> None:
    table = Table(title=title)
    for name in TABLE_COLUMNS:
        table.add_column(name, justify="left" if name in ("task", "state") else "right")
    for row in rows:
        table.add_row(*table_cells(row))
    out = stdout_console()
    out.print(table)
    done = sum(r.state == "done" for r in rows)
    total = sum(r.weights_bytes or 0 for r in rows)
    out.print(f"{done}/{len(rows)} tasks done; exported generators: {format_bytes(total)}")


@cli.group("campaign")
def campaign_group() -> None:
    """Parametrise many (particle, |eta| slice) pairs: run, status, report."""


@campaign_group.command("run")
@_config_argument
@_dir_option
@_set_option
def run_cmd(campaign_file: Path, directory: Path | None, overrides: tuple[str, ...]) -> None:
    """Run every unfinished task of CAMPAIGN_FILE on Dask (resumes where it stopped).

    Prints the Dask dashboard link and a progress bar of tasks done / total, then the status
    table. Exits with code 1 when a task failed (after Dask's retries).
    """
    config = _load(campaign_file, overrides)
    folder = campaign_directory(config, directory)
    n_tasks = len(check_campaign(config))  # before the folder and its log are made

    def show_dashboard(link: str | None) -> None:
        console.print(f"Dask dashboard: {link or 'none'}")

    with (
        _quiet_console(),
        log_to_file(folder / "campaign.log"),
        progress_bar(f"campaign {config.name}", n_tasks) as update,
    ):
        result = run_campaign(config, folder, progress=update, on_dashboard=show_dashboard)
    _print_table(collect_status(config, folder), f"campaign {config.name} ({folder})")
    click.echo(
        f"{result.completed} tasks run, {result.already_done} already done, "
        f"{len(result.failed)} failed in {result.wall_seconds:.1f} s"
    )
    if result.failed:
        for name, error in result.failed:
            click.echo(f"failed: {name}: {error}", err=True)
        raise SystemExit(1)


@campaign_group.command("status")
@_config_argument
@_dir_option
@_set_option
def status_cmd(campaign_file: Path, directory: Path | None, overrides: tuple[str, ...]) -> None:
    """Print the table: task, state, iteration, best chi2/NDF, weights size, attempts."""
    config = _load(campaign_file, overrides)
    folder = campaign_directory(config, directory)
    if not folder.is_dir():
        raise FastCaloGANError(
            f"{folder}: no campaign folder yet (run 'fastcalogan campaign run {campaign_file}')"
        )
    _print_table(collect_status(config, folder), f"campaign {config.name} ({folder})")


@campaign_group.command("report")
@_config_argument
@_dir_option
@_set_option
def report_cmd(campaign_file: Path, directory: Path | None, overrides: tuple[str, ...]) -> None:
    """Write the HTML index (chi2/NDF and 65 GeV response vs |eta|, memory, task links)."""
    config = _load(campaign_file, overrides)
    folder = campaign_directory(config, directory)
    if not folder.is_dir():
        raise FastCaloGANError(
            f"{folder}: no campaign folder yet (run 'fastcalogan campaign run {campaign_file}')"
        )
    result = write_report(config, folder)
    click.echo(
        f"{result.index_path}: {result.n_done}/{result.n_tasks} tasks done, exported generators "
        f"{format_bytes(result.total_weights_bytes)}"
    )
