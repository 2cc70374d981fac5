"""``fastcalogan campaign run|status|report CAMPAIGN.yaml``: whole-calorimeter campaigns on Dask."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigError, FastCaloGANError
from ._app import cli, console, progress_bar, stdout_console
from ._options import Command, deprecation_note, output_option, set_option

if TYPE_CHECKING:
    from ..campaign import CampaignConfig, StoredCampaign
    from ..campaign.status import TaskRow

_config_argument = click.argument("campaign_file", type=click.Path(path_type=Path))
_stored_argument = click.argument("campaign", type=click.Path(path_type=Path))
_output_option = output_option(
    "Campaign folder to write (default: the file's 'directory', else campaigns/<name>).",
    required=False,
)


def _dir_note(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None:
        click.echo(deprecation_note("--dir", "CAMPAIGN (the campaign folder)"), err=True)
    return value


# status and report read a campaign folder: CAMPAIGN names it (or the file that names it);
# --dir, from when it named the folder of every campaign command, still works for a release
_dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=None,
    hidden=True,
    callback=_dir_note,
    help="Deprecated: the campaign folder (give it as CAMPAIGN).",
)
# status and report show the campaign as it was run: --set is refused with the reason
_refused_set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    hidden=True,
    help="Refused: status and report read the settings stored by 'campaign run'.",
)
#: Differing settings named in the note when the file and the stored campaign differ.
_SHOWN_DIFFERENCES = 3


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
    from .._config import load
    from ..campaign import CampaignConfig

    return load(path, CampaignConfig, overrides)


def _differences(stored: Any, current: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ, with both values (``key: FILE in the file, X stored``)."""
    if isinstance(stored, dict) and isinstance(current, dict):
        out: list[str] = []
        for key in sorted(set(stored) | set(current), key=str):
            name = f"{prefix}{key}"
            out += _differences(stored.get(key), current.get(key), f"{name}.")
        return out
    if stored == current:
        return []
    return [f"{prefix.rstrip('.')}: {current!r} in the file, {stored!r} stored"]


def _stored(campaign: Path, directory: Path | None, overrides: tuple[str, ...]) -> StoredCampaign:
    """The campaign ``campaign run`` stored: CAMPAIGN is its file or its folder."""
    from ..campaign import campaign_directory, read_campaign
    from ..campaign.manifest import MANIFEST_FILE

    if overrides:
        raise ConfigError(
            f"--set {overrides[0]}: status and report show the campaign as it was run, from "
            f"the {MANIFEST_FILE} 'campaign run' stored; change settings with "
            "'fastcalogan campaign run FILE --set KEY=VALUE'"
        )
    in_file = None if campaign.is_dir() else _load(campaign, ())
    folder = directory or (campaign if in_file is None else campaign_directory(in_file))
    if not folder.is_dir():
        raise FastCaloGANError(
            f"{folder}: no campaign folder yet (run 'fastcalogan campaign run {campaign}')"
        )
    stored = read_campaign(folder)
    if in_file is not None:
        diff = _differences(stored.config.model_dump(mode="json"), in_file.model_dump(mode="json"))
        if diff:
            more = (
                f" and {len(diff) - _SHOWN_DIFFERENCES} more"
                if len(diff) > _SHOWN_DIFFERENCES
                else ""
            )
            console.print(
                f"note: {campaign} differs from the campaign stored in {stored.manifest_path} "
                f"({'; '.join(diff[:_SHOWN_DIFFERENCES])}{more}); showing the stored one",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    return stored


def _print_table(rows: list[TaskRow], title: str) -> None:
    from rich.table import Table

    from ..campaign import format_bytes
    from ..campaign.status import TABLE_COLUMNS, table_cells

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


@campaign_group.command("run", cls=Command, renamed={"--dir": "--output"})
@_config_argument
@_output_option
@set_option("train.iterations=500")
def run_cmd(campaign_file: Path, output: Path | None, overrides: tuple[str, ...]) -> None:
    """Run every unfinished task of CAMPAIGN_FILE on Dask (resumes where it stopped).

    Stores the resolved campaign in the folder's campaign.json, prints the Dask dashboard
    link and a progress bar of tasks done / total, then the status table. A campaign whose
    tasks are all done does nothing (no cluster is started) and says so. Exits with code 1
    when a task failed (after Dask's retries).
    """
    from .._logging import log_to_file
    from ..campaign import (
        campaign_directory,
        check_campaign,
        collect_status,
        read_campaign,
        run_campaign,
    )

    config = _load(campaign_file, overrides)
    folder = campaign_directory(config, output)
    tasks = check_campaign(config)  # before the folder and its log are made

    def show_dashboard(link: str | None) -> None:
        console.print(f"Dask dashboard: {link or 'none'}")

    with (
        _quiet_console(),
        log_to_file(folder / "campaign.log"),
        progress_bar(f"campaign {config.name}", len(tasks)) as update,
    ):
        result = run_campaign(
            config, folder, progress=update, tasks=tasks, on_dashboard=show_dashboard
        )
    _print_table(collect_status(read_campaign(folder)), f"campaign {config.name} ({folder})")
    if result.nothing_to_do:
        click.echo(
            f"campaign {config.name}: all {result.n_tasks} tasks are already done with these "
            "settings; nothing was run"
        )
        return
    click.echo(
        f"{result.completed} tasks run, {result.already_done} already done, "
        f"{len(result.failed)} failed in {result.wall_seconds:.1f} s"
    )
    if result.failed:
        for name, error in result.failed:
            click.echo(f"failed: {name}: {error}", err=True)
        raise SystemExit(1)


@campaign_group.command("status")
@_stored_argument
@_dir_option
@_refused_set_option
def status_cmd(campaign: Path, directory: Path | None, overrides: tuple[str, ...]) -> None:
    """Print the table: task, state, iteration, best chi2/NDF, weights size, attempts.

    CAMPAIGN is the campaign file (its folder is found as 'run' finds it) or the campaign
    folder. The tasks and settings are those 'campaign run' stored in the folder's
    campaign.json; a note says when the file differs from them.
    """
    from ..campaign import collect_status

    stored = _stored(campaign, directory, overrides)
    _print_table(collect_status(stored), f"campaign {stored.config.name} ({stored.directory})")


@campaign_group.command("report")
@_stored_argument
@_dir_option
@_refused_set_option
def report_cmd(campaign: Path, directory: Path | None, overrides: tuple[str, ...]) -> None:
    """Write the HTML index (chi2/NDF and 65 GeV response vs |eta|, memory, task links).

    CAMPAIGN is the campaign file or folder, as for 'status'; the report describes the
    campaign stored in the folder's campaign.json.
    """
    from ..campaign import format_bytes, write_report

    stored = _stored(campaign, directory, overrides)
    result = write_report(stored)
    click.echo(
        f"{result.index_path}: {result.n_done}/{result.n_tasks} tasks done, exported generators "
        f"{format_bytes(result.total_weights_bytes)}"
    )
