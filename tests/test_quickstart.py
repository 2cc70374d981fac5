"""The README's Python quick start is examples/quickstart.py, and it runs (on the quick demo)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "quickstart.py"


def readme_block() -> str:
    """The first python code block under the README's "Python quick start" heading."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Python quick start", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README: no python block under '## Python quick start'"
    return match.group(1)


def test_the_readme_block_is_the_example_script() -> None:
    script = SCRIPT.read_text()
    body = script.split('"""', 2)[2].lstrip("\n")  # the script less its docstring
    assert body == readme_block()


def test_the_quick_start_runs(
    demo_quick: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    demo, _ = demo_quick
    monkeypatch.chdir(demo.parent)  # the script reads demo-output/ and writes quickstart-output/
    runpy.run_path(str(SCRIPT), run_name="__main__")
    plt.close("all")
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Simulator(photon, |eta| 0.20-0.25, 368 voxels")
    assert printed[1] == "(4, 368)"
    assert printed[3].startswith("chi2/NDF of E_tot: ")
    out = demo.parent / "quickstart-output"
    assert (out / "evaluation" / "metrics.json").is_file()
    assert (out / "shower.png").stat().st_size > 10_000
