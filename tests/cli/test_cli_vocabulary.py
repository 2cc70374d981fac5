"""The command line's vocabulary: every --help works and documents every option, one name per
meaning, renamed options still work for a release, and the CLI starts without heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.cli._options import Command, deprecation_note
from fastcalogan.cli.evaluate import FEATURE_CHOICES, _overrides
from fastcalogan.cli.simulate import DETECTOR_CHOICES, LAYOUT_CHOICES
from fastcalogan.data import HitShowers, read_showers, write_hits
from fastcalogan.data.features import FEATURE_SETS

#: Modules that `import fastcalogan.cli` and every `--help` must leave unloaded.
HEAVY = ("torch", "scipy", "matplotlib", "dask", "distributed", "h5py", "onnx", "onnxruntime")
#: Option names replaced by the vocabulary (old spelling -> what the commands use now).
OLD_NAMES = ("--out", "--run-dir", "--dir", "--n-events")


def _commands(
    group: click.Group = cli, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name in sorted(group.commands):
        command = group.commands[name]
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


COMMANDS = [(" ".join(path), command) for path, command in _commands()]


def test_every_command_is_listed() -> None:
    names = {name for name, _ in COMMANDS}
    assert {"convert", "train", "simulate", "generate", "evaluate", "campaign run"} <= names


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_help_works_and_every_option_has_help_text(name: str, command: click.Command) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert command.help or command.short_help, f"{name}: no help text"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help and param.help.strip(), f"{name} {param.opts}: no help text"
            for opt in param.opts:
                assert opt in result.output, f"{name}: {opt} missing from --help"
    for old in OLD_NAMES:  # renamed options work but are not shown
        assert f"{old} " not in result.output and f"{old}," not in result.output, (name, old)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_one_name_per_meaning(name: str, command: click.Command) -> None:
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        opts = set(param.opts)
        # -o is always --output (a file or folder the command writes), -n always --events
        assert ("-o" in opts) == ("--output" in opts), (name, param.opts)
        assert ("-n" in opts) == ("--events" in opts), (name, param.opts)
        assert not opts & set(OLD_NAMES), (name, param.opts)
    if isinstance(command, Command):
        shown = {o for p in command.params if isinstance(p, click.Option) for o in p.opts}
        for old, new in command.renamed.items():
            assert new in shown and old not in shown, (name, old, new)


def test_feature_choices_are_the_feature_sets() -> None:
    assert FEATURE_CHOICES == FEATURE_SETS
    from fastcalogan.simulate import DETECTORS
    from fastcalogan.simulate.config import LAYOUTS

    assert DETECTOR_CHOICES == tuple(DETECTORS) and LAYOUT_CHOICES == LAYOUTS


def test_evaluate_binning_that_named_the_histograms_still_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    overrides = _overrides(None, "calochallenge", None, None, False, None, 3, 2)
    assert overrides == ["histogram_binning=calochallenge", "seed=3", "classifier.threads=2"]
    assert capsys.readouterr().err == (
        "deprecated: --binning calochallenge goes away in fastcalogan 0.2; "
        "use --histograms calochallenge\n"
    )
    assert _overrides(None, "ds1-pions", "per-energy", None, True, 50, None, None) == [
        "binning=ds1-pions",
        "histogram_binning=per_energy",
        "allow_mismatch=true",
        "n_max=50",
    ]


def _hits(tmp_path: Path) -> Path:
    hits = HitShowers.from_event_ids(
        [1024.0, 1024.0], [0, 1, 1], [10, 20, 30], [0.1, 0.2, -0.3], [1, 2, 2], [100, 200, 300]
    )
    return write_hits(tmp_path / "hits.h5", hits)


def test_a_renamed_option_still_works_and_says_what_to_use(tmp_path: Path) -> None:
    hits = _hits(tmp_path)
    out = tmp_path / "showers.h5"
    result = CliRunner().invoke(
        cli, ["voxelise", str(hits), "--out", str(out), "--binning", "ds1-photons"]
    )
    assert result.exit_code == 0, result.output
    assert deprecation_note("--out", "-o/--output") in result.output
    assert read_showers(out).n_events == 2
    # --opt=value works too, and a required option given by its old name is given
    again = CliRunner().invoke(
        cli, ["voxelise", str(hits), f"--out={tmp_path / 'b.h5'}", "--binning", "ds1-photons"]
    )
    assert again.exit_code == 0, again.output
    assert (tmp_path / "b.h5").is_file()


def test_a_renamed_option_after_double_dash_is_an_argument() -> None:
    @click.command(cls=Command, renamed={"--old": "--new"})
    @click.option("--new", default=None, help="New.")
    @click.argument("rest", nargs=-1)
    def toy(new: str | None, rest: tuple[str, ...]) -> None:
        click.echo(json.dumps([new, list(rest)]))

    runner = CliRunner()
    result = runner.invoke(toy, ["--old", "a", "--", "--old"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "deprecated: --old goes away in fastcalogan 0.2; use --new",
        '["a", ["--old"]]',
    ]
    assert "--old" not in runner.invoke(toy, ["--help"]).output


def test_simulate_ds1_says_how_many_events_it_implies(tmp_path: Path) -> None:
    out = tmp_path / "s.h5"
    args = ["simulate", "--particle", "photon", "--energies", "ds1", "-n", "20", "-o", str(out)]
    result = CliRunner().invoke(cli, args, terminal_width=300)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "20 events per point up to 262144 MeV, then 10, 6, 4, 2" in said
    assert "(dataset-1 counts x 0.002: -n 20 of 10000); 242 events in all" in said
    assert read_showers(out).n_events == 242


_PROBE = """
import json, sys
from fastcalogan.cli import cli
loaded_at_import = sorted(m for m in {heavy!r} if m in sys.modules)
for args in {commands!r}:
    try:
        cli.main([*args, "--help"], prog_name="fastcalogan", standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps([loaded_at_import, sorted(m for m in {heavy!r} if m in sys.modules)]))
"""


def test_importing_the_cli_and_every_help_load_no_heavy_library() -> None:
    commands = [[], *(name.split() for name, _ in COMMANDS)]
    code = _PROBE.format(heavy=HEAVY, commands=commands)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    at_import, after_help = json.loads(out.stdout.strip().splitlines()[-1])
    assert at_import == [] and after_help == []


def test_python_dash_m_runs_the_command_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fastcalogan", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "convert" in out.stdout and "Usage:" in out.stdout
