"""``fastcalogan export RUN_DIR -o gen.onnx``: the selected generator as an ONNX model."""

from __future__ import annotations

from pathlib import Path

import click

from ._app import cli, console
from ._options import output_option


@cli.command("export")
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True))
@output_option("ONNX file to write (gen.onnx; its JSON sidecar gen.json goes beside it).")
@click.option("--opset", type=int, default=None, help="ONNX opset (default: ExportConfig's).")
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path, exists=True),
    default=None,
    help="Export this checkpoint instead of the selected one (else the latest).",
)
@click.option("--no-verify", is_flag=True, help="Skip the onnxruntime-vs-torch check.")
@click.option(
    "--precision",
    type=click.Choice(["fp32", "int8"]),
    default="fp32",
    show_default=True,
    help="int8: dynamic int8 quantisation of the matrix products (1.6-2.3x the fp32 "
    "throughput at batch 10k; the showers change at the per-cent level: run bench's "
    "fidelity guard, docs/onnx.md).",
)
def export_cmd(
    run_dir: Path,
    output: Path,
    opset: int | None,
    checkpoint: Path | None,
    no_verify: bool,
    precision: str,
) -> None:
    """Export the selected generator (preprocessing inversion included) with a JSON sidecar."""
    from .._config import parse
    from ..generate import ExportConfig, export_onnx

    fields: dict[str, object] = {"verify": not no_verify, "precision": precision}
    if opset is not None:
        fields["opset"] = opset
    if checkpoint is not None:
        fields["checkpoint"] = str(checkpoint)
    result = export_onnx(parse(fields, ExportConfig, "command line"), run_dir, output)
    check = (
        f", onnxruntime vs torch max rel. diff {result.max_rel_diff:.2g}"
        if result.max_rel_diff is not None
        else ""
    )
    console.print(
        f"{result.n_generators} generator(s), {result.weights_bytes} bytes{check}; "
        f"sidecar {result.sidecar_path}"
    )
    click.echo(str(result.onnx_path))
