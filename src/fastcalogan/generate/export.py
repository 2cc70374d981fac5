"""``export_onnx``: a trained run's generator(s) as one self-contained ONNX model.

The graph (:class:`~fastcalogan.generate.graph.GeneratorGraph`) is traced with the pinned
TorchScript exporter, checked against the library's generation function with onnxruntime,
and described by a JSON sidecar. See ``docs/onnx.md`` for the input/output contract.

Inputs (dynamic batch axis ``batch``):

* ``noise``: float32 ``(batch, latent_dim)``, drawn from the distribution in the sidecar.
* ``incident_energy``: float32 ``(batch, 1)``, MeV (kinetic energy for hadrons).
* ``conditions`` (models conditioned on more than the energy only): float32 ``(batch, k)``,
  the conditions named in the sidecar, in physical units; their transforms are in the graph.

Output: ``showers``, float32 ``(batch, n_voxels)``, voxel energies in MeV, CaloChallenge
voxel order.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic
import torch

from .. import __version__
from .._config import StageConfig
from .._fileio import atomic_path, write_json
from ..errors import ModelError
from ..geometry import BUILTIN_GEOMETRIES, geometry_to_mapping, write_geometry_yaml
from ..train import EnergyRouting, RunFolder, TrainedGenerator
from .api import generator_files
from .graph import (
    CONDITIONS_INPUT,
    INPUT_NAMES,
    ONNX_FORMAT,
    OUTPUT_NAME,
    GeneratorGraph,
    file_sha256,
    relative_difference,
    sidecar_path,
    with_checksum,
)
from .onnx_runtime import create_session

__all__ = ["ExportConfig", "ExportResult", "export_generators", "export_onnx", "quantise_int8"]

log = logging.getLogger(__name__)


class ExportConfig(StageConfig):
    """How to export.

    Attributes:
        opset: ONNX opset of the graph.
        exporter: ``torchscript`` (``torch.onnx.export(dynamo=False)``), pinned: the
            torch.export-based exporter of torch 2.13 warns, prints progress and differed from
            torch by up to 4e-5 on the CaloShowerGAN photon head.
        checkpoint: a checkpoint file to export instead of the selected (or latest) one.
        verify: run the written model with onnxruntime on seeded inputs and compare with
            torch; a mismatch beyond ``rtol`` is a :class:`ModelError`.
        rtol: tolerance of that check, relative to each shower's largest voxel. It catches
            export faults (routing, label, inversion: differences of order 1); float32
            rounding gives about 1e-7 on trained generators, but up to a few 1e-5 on showers
            whose total-energy node sits just above its ReLU's zero (untrained weights).
        verify_events: rows of that check.
        precision: ``fp32``, or ``int8``: onnxruntime's dynamic quantisation of the matrix
            products (int8 weights per output channel, uint8 activations quantised per call;
            VNNI instructions where the CPU has them: about 2.5x the fp32 throughput at batch
            10k for the FastCaloGAN generator). The fp32 graph is checked against torch
            with ``rtol`` first, then the quantised one with ``int8_rtol``.
        int8_rtol: tolerance of the quantised model against torch, relative to each
            shower's largest voxel (quantisation changes the showers at the per-cent level;
            ``fastcalogan bench`` runs the fidelity guard on whole samples).
    """

    opset: int = pydantic.Field(default=17, ge=13, le=21)
    exporter: Literal["torchscript"] = "torchscript"
    checkpoint: str | None = None
    verify: bool = True
    rtol: float = pydantic.Field(default=1e-3, gt=0, le=0.1)
    verify_events: int = pydantic.Field(default=64, ge=1, le=100_000)
    precision: Literal["fp32", "int8"] = "fp32"
    int8_rtol: float = pydantic.Field(default=0.1, gt=0, le=1.0)


@dataclass(frozen=True)
class ExportResult:
    """Outcome of :func:`export_onnx`.

    Attributes:
        onnx_path: the model written.
        sidecar_path: its JSON description (``<model>.json``).
        binning_path: YAML of a non-built-in binning written beside the model, else ``None``.
        weights_bytes: size of the ONNX file (weights are stored inside it).
        parameter_bytes: float32 bytes of the generator parameters (all ranges).
        n_generators: 1, or 3 for a split photon run.
        checkpoints: the checkpoint(s) exported.
        max_rel_diff: largest |onnx - torch| / max |torch voxel| of a shower in the check
            (``None`` when ``verify`` is off).
    """

    onnx_path: Path
    sidecar_path: Path
    binning_path: Path | None
    weights_bytes: int
    parameter_bytes: int
    n_generators: int
    checkpoints: tuple[Path, ...]
    max_rel_diff: float | None


# ----- choosing the checkpoints ----------------------------------------------------------------
def _choose_checkpoints(config: ExportConfig, run_dir: Path) -> list[Path]:
    if config.checkpoint:
        return [Path(config.checkpoint)]
    if run_dir.is_file():
        return [run_dir]
    chosen: list[Path] = []
    for part in RunFolder.open(run_dir, or_checkpoint=True).parts():
        path, selected = part.checkpoint_to_use()
        if not selected:
            log.warning(
                "%s: no selection (run 'fastcalogan select'); exporting the last checkpoint %s",
                part.path,
                path.name,
            )
        chosen.append(path)
    return chosen


# ----- export ----------------------------------------------------------------------------------
def _example_conditions(model: TrainedGenerator, n: int, gen: torch.Generator) -> torch.Tensor:
    """Seeded conditions ``(n, k)`` spread like the training data: codes uniform over
    ``0..n-1``, other conditions normal around the fitted offset with the fitted scale."""
    columns = []
    for c in model.preprocessor.conditions:
        if c.transform == "one_hot":
            columns.append(torch.randint(0, c.n, (n,), generator=gen).to(torch.float64))
        else:
            columns.append(c.offset + c.scale * torch.randn(n, generator=gen, dtype=torch.float64))
    return torch.stack(columns, dim=1).float() if columns else torch.zeros(n, 0)


def _example_inputs(
    models: Sequence[TrainedGenerator], n_per_range: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Seeded noise, energies spread over every range (log-uniform) and conditions, float32
    (conditions ``None`` for a model of the energy alone)."""
    gen = torch.Generator().manual_seed(seed)
    energies = []
    for m in models:
        lo, hi = m.energy_range
        u = torch.rand(n_per_range, generator=gen, dtype=torch.float64)
        energies.append(
            torch.exp(torch.log(torch.tensor(lo)) * (1 - u) + torch.log(torch.tensor(hi)) * u)
        )
    energy = (
        torch.cat(energies)
        .clamp(models[0].energy_range[0], models[-1].energy_range[1])
        .float()
        .reshape(-1, 1)
    )
    noise = models[0].noise.sample(energy.shape[0], gen)
    if not models[0].condition_names:
        return noise, energy, None
    return noise, energy, _example_conditions(models[0], energy.shape[0], gen)


def _torch_reference(
    models: Sequence[TrainedGenerator],
    noise: torch.Tensor,
    energy: torch.Tensor,
    conditions: torch.Tensor | None = None,
) -> torch.Tensor:
    """The library's generation function (unfused), routed like :class:`Simulator`."""
    from ..train import showers_from_noise

    out = torch.zeros(noise.shape[0], models[0].binning.n_voxels)
    which = torch.from_numpy(EnergyRouting([m.energy_range for m in models]).route(energy.numpy()))
    with torch.inference_mode():
        for k, m in enumerate(models):
            idx = torch.nonzero(which.reshape(-1) == k).reshape(-1)
            if idx.numel():
                out[idx] = showers_from_noise(
                    m.generator.cpu().eval(),
                    m.preprocessor,
                    noise[idx],
                    energy[idx].reshape(-1),
                    None if conditions is None else conditions[idx],
                )
    return out


def _sidecar(
    models: Sequence[TrainedGenerator], config: ExportConfig, binning_file: Path | None
) -> dict[str, Any]:
    import onnx

    first = models[0]
    binning = first.binning
    noise = first.noise
    lo, hi = first.energy_range[0], max(m.energy_range[1] for m in models)
    inputs: dict[str, Any] = {
        "noise": {"dtype": "float32", "shape": ["batch", noise.width]},
        "incident_energy": {"dtype": "float32", "shape": ["batch", 1], "unit": "MeV"},
    }
    names = first.condition_names
    if names:
        inputs[CONDITIONS_INPUT] = {
            "dtype": "float32",
            "shape": ["batch", len(names)],
            "names": list(names),
            "unit": "physical units of the training file's conditions dataset",
            "transforms": [c.to_dict() for c in first.preprocessor.conditions],
        }
    return {
        "format": ONNX_FORMAT,
        "inputs": inputs,
        "conditions": list(names),
        "outputs": {
            "showers": {"dtype": "float32", "shape": ["batch", binning.n_voxels], "unit": "MeV"}
        },
        "particle": first.particle,
        "eta": [first.eta[0], first.eta[1]],
        "energy_range": [lo, hi],
        "ranges": [list(m.energy_range) for m in models],
        "binning_name": binning.name,
        "binning": geometry_to_mapping(binning),
        "binning_file": binning_file.name if binning_file else None,
        "n_voxels": binning.n_voxels,
        "noise": noise.describe(),
        "preprocess": [m.preprocessor.to_dict() for m in models],
        "family": first.family,
        "model_config": first.model_config.model_dump(mode="json"),
        "checkpoints": [str(m.checkpoint) if m.checkpoint else None for m in models],
        "iterations": [m.iteration for m in models],
        "versions": {
            "fastcalogan": __version__,
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "opset": config.opset,
            "exporter": config.exporter,
        },
    }


def _write_onnx(graph: GeneratorGraph, config: ExportConfig, target: Path) -> None:
    """Trace ``graph`` into the ONNX file ``target`` (a temporary file of the caller's)."""
    example = _example_inputs_for_trace(graph)
    names = graph.input_names
    with warnings.catch_warnings():
        # shape checks and constants are traced as constants on purpose; the exporter's
        # deprecation notice concerns a choice pinned here and tested
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx.*")
        warnings.filterwarnings("ignore", message=".*TorchScript-based ONNX export.*")
        # strided slices (a normalising flow's spline parameters) are left unfolded: harmless
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        # the TorchScript exporter is pinned: it traces the data-dependent routing of split
        # runs (NonZero, ScatterND) and matched torch to float32 rounding on every preset
        torch.onnx.export(
            graph,
            example,
            str(target),
            input_names=list(names),
            output_names=[OUTPUT_NAME],
            dynamic_axes={n: {0: "batch"} for n in (*names, OUTPUT_NAME)},
            opset_version=config.opset,
            do_constant_folding=True,
            dynamo=False,
        )


def _example_inputs_for_trace(graph: GeneratorGraph) -> tuple[torch.Tensor, ...]:
    n = 4 * len(graph.parts)
    noise = torch.rand(n, graph.latent_dim, generator=torch.Generator().manual_seed(0))
    energy = torch.ones(n, 1)
    if not graph.condition_names:
        return noise, energy
    # zeros: a valid code of every one-hot condition; the values do not matter for tracing
    return noise, energy, torch.zeros(n, len(graph.condition_names))


def _verify(
    models: Sequence[TrainedGenerator],
    config: ExportConfig,
    path: Path,
    rtol: float,
    what: str,
    shown: Path | None = None,
) -> float:
    """The written model against torch on seeded inputs: the largest difference relative to
    each shower's largest voxel, or :class:`ModelError` beyond ``rtol`` (naming ``shown``, the
    file the user asked for, else ``path``)."""
    noise, energy, conditions = _example_inputs(
        models, max(1, config.verify_events // len(models)), seed=12345
    )
    reference = _torch_reference(models, noise, energy, conditions)
    session = create_session(path, threads=1)
    feed = {INPUT_NAMES[0]: noise.numpy(), INPUT_NAMES[1]: energy.numpy()}
    if conditions is not None:
        feed[CONDITIONS_INPUT] = conditions.numpy()
    got = session.run([OUTPUT_NAME], feed)[0]
    diff = relative_difference(got, reference)
    if not diff <= rtol:
        raise ModelError(
            f"{shown or path}: {what} output differs from torch by {diff:.3g} relative "
            f"(tolerance {rtol:g})"
        )
    return diff


class _QuieterQuantiser(logging.Filter):
    """onnxruntime's quantiser advises its pre-processing on the root logger at every call:
    the graph here is small and already folded."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def quantise_int8(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Dynamic int8 quantisation of an exported model's matrix products (onnxruntime).

    Weights become int8 per output channel; activations are quantised to uint8 per call
    (``DynamicQuantizeLinear``), and products run as ``MatMulInteger`` (VNNI where the CPU
    has it). Everything else (label, output head, inversion) stays float32.

    Args:
        source: a float32 model written by :func:`export_generators`.
        target: the quantised model, written atomically.

    Returns:
        ``target``.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = Path(target)
    quieter = _QuieterQuantiser()
    root = logging.getLogger()
    root.addFilter(quieter)
    try:
        with atomic_path(target) as tmp:
            quantize_dynamic(
                Path(source),
                tmp,
                weight_type=QuantType.QInt8,
                per_channel=True,
                nodes_to_exclude=_batched_products(source),
            )
    finally:
        root.removeFilter(quieter)
    return target


def _batched_products(source: str | os.PathLike[str]) -> list[str]:
    """The ``MatMul`` nodes whose weight is not a 2-D matrix (CaloGAN's locally connected
    layers: one small matrix per position, a 3-D initializer). onnxruntime's per-channel
    ``MatMulInteger`` takes 2-D weights only and fails at run time on the others
    ("b zero point is not valid"), so they stay float32."""
    import onnx

    graph = onnx.load(str(source), load_external_data=False).graph
    dims = {init.name: len(init.dims) for init in graph.initializer}
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and dims.get(node.input[1], 2) != 2
    ]


def export_generators(
    models: Sequence[TrainedGenerator],
    config: ExportConfig,
    out_path: str | os.PathLike[str],
) -> ExportResult:
    """Export loaded generators (one, or one per split range) to ``out_path``.

    Args:
        models: generators sorted by energy range (as :class:`Simulator` holds them).
        config: export settings.
        out_path: the ``.onnx`` file; the sidecar goes to ``<stem>.json`` beside it.

    Returns:
        Paths, sizes and the verification result.

    Raises:
        ModelError: incompatible generators, or ONNX and torch disagree beyond ``rtol``.
    """
    out = Path(out_path)
    models = sorted(models, key=lambda m: m.energy_range[0])
    plan = generator_files(tuple(m.checkpoint for m in models if m.checkpoint is not None))
    plan.write(out, "ONNX model").write(sidecar_path(out), "ONNX sidecar")
    if models[0].binning.name not in BUILTIN_GEOMETRIES:
        plan.write(out.with_suffix(".binning.yaml"), "ONNX model's binning")
    plan.check()
    graph = GeneratorGraph(models)
    binning = models[0].binning
    binning_file: Path | None = None
    # the model is written and checked in its temporary file and published after its sidecar
    # (which records its checksum): a failed check replaces nothing
    with (
        atomic_path(out) as tmp,
        tempfile.TemporaryDirectory(prefix="fastcalogan-export-") as work,
    ):
        fp32 = tmp if config.precision == "fp32" else Path(work) / "fp32.onnx"
        _write_onnx(graph, config, fp32)
        diff = _verify(models, config, fp32, config.rtol, "ONNX", out) if config.verify else None
        diff_fp32 = diff
        if config.precision == "int8":
            quantise_int8(fp32, tmp)
            if config.verify:
                diff = _verify(models, config, tmp, config.int8_rtol, "the int8 model", out)
        if binning.name not in BUILTIN_GEOMETRIES:
            binning_file = write_geometry_yaml(binning, out.with_suffix(".binning.yaml"))
        sidecar = _sidecar(models, config, binning_file)
        sidecar["precision"] = config.precision
        sidecar["max_rel_diff"] = diff
        if config.precision != "fp32":
            sidecar["max_rel_diff_fp32"] = diff_fp32
        parameter_bytes = sum(int(p.numel()) * 4 for p in graph.parameters())
        sidecar["parameter_bytes"] = parameter_bytes
        sidecar["onnx_sha256"] = file_sha256(tmp)
        side = write_json(sidecar_path(out), with_checksum(sidecar))
    return ExportResult(
        onnx_path=out,
        sidecar_path=side,
        binning_path=binning_file,
        weights_bytes=out.stat().st_size,
        parameter_bytes=parameter_bytes,
        n_generators=len(models),
        checkpoints=tuple(m.checkpoint for m in models if m.checkpoint is not None),
        max_rel_diff=diff,
    )


def export_onnx(
    config: ExportConfig,
    run_dir: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
) -> ExportResult:
    """Export the selected generator of a training run as ONNX with a JSON sidecar.

    Args:
        config: export settings.
        run_dir: a training run folder (split runs: the folder holding ``range-k/``), or a
            checkpoint file. Each range uses its selected checkpoint (``selection/best.json``);
            without a selection the last checkpoint, with a logged warning.
        out_path: the ``.onnx`` file, written atomically; the sidecar goes to
            ``<stem>.json`` (and a non-built-in binning to ``<stem>.binning.yaml``).

    Returns:
        Paths, sizes and the ONNX-vs-torch check.

    Raises:
        CheckpointError: no checkpoint to export.
        ModelError: ONNX and torch disagree beyond ``config.rtol``.
    """
    paths = _choose_checkpoints(config, Path(run_dir))
    models = [TrainedGenerator.from_checkpoint(p, "cpu") for p in paths]
    return export_generators(models, config, out_path)
