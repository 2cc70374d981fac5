"""``bench``: every section in one run, written as one JSON document; its summary table."""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from .._config import config_source
from .._fileio import PathPlan, write_json
from .._logging import ProgressCallback
from ..generate import ExportConfig, export_generators
from .config import BenchConfig, BenchResult
from .sections import (
    detector_simulator,
    ensemble_rows,
    generation_rows,
    generation_rss,
    reduced_precision_rows,
    reference_simulator,
    speed_table,
    training_row,
)
from .synthetic import synthetic_generator
from .timing import matmul_peak, torch_threads

log = logging.getLogger(__name__)

__all__ = ["bench", "bench_table"]


def _machine() -> dict[str, Any]:
    import onnxruntime

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "fastcalogan": __version__,
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def _gpu_statement() -> str:
    if torch.cuda.is_available():
        return f"CUDA device {torch.cuda.get_device_name(0)}: generation timed on it"
    return (
        "no GPU was available: CPU numbers only (benchmarks/gpu_check.sh runs the GPU tests "
        "and benchmarks on a machine with one)"
    )


def bench(
    config: BenchConfig, out_path: str | os.PathLike[str], progress: ProgressCallback | None = None
) -> BenchResult:
    """Measure generation, training, the reference simulator and memory; write JSON.

    A preset made for a detector of the reference simulator (``Preset.geometry``, e.g.
    ``calogan``) also gets the simulator's time per shower in that detector
    (``detector_simulator``) and the generation times beside it (``speed_table``: the
    CaloGAN paper's Table III, ms per shower at each batch size, with the speed-up).

    Args:
        config: what to measure.
        out_path: the JSON file (atomic).
        progress: ``progress(done, total)`` per finished section.

    Returns:
        The path, the document and the wall time.
    """
    # the output is checked before minutes of timing
    PathPlan().read(config_source(config), "config file").write(out_path, "benchmark").check()
    t0 = time.perf_counter()
    load_before = os.getloadavg()
    sections = 1 + 5 * len(config.presets) + 2
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, sections)

    peaks: list[dict[str, Any]] = [
        {"section": "start", **matmul_peak(config.gemm_size, t)} for t in config.threads
    ]
    step()
    main_threads = config.threads[0]
    generation: list[dict[str, Any]] = []
    training: list[dict[str, Any]] = []
    ensembles: list[dict[str, Any]] = []
    reduced: list[dict[str, Any]] = []
    memory: list[dict[str, Any]] = []
    detectors: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []  # a section that failed for a preset; the rest runs
    with tempfile.TemporaryDirectory(prefix="fastcalogan-bench-") as tmp:
        folder = Path(tmp)
        for preset in config.presets:
            model = synthetic_generator(preset)
            onnx_path = folder / f"{preset}.onnx"
            exported = export_generators([model], ExportConfig(verify=False), onnx_path)
            generation += generation_rows(config, preset, model, onnx_path, peaks)
            with torch_threads(main_threads):
                timed = detector_simulator(config, preset)
            if timed is not None:
                detectors.append(timed)
            step()
            # the precision guard compares showers of the energy alone (no conditions)
            if config.reduced_precision and not model.condition_names:
                try:
                    reduced += reduced_precision_rows(
                        config, preset, model, onnx_path, main_threads
                    )
                except RuntimeError as err:  # onnxruntime refusing a quantised graph
                    log.warning("bench: reduced precision of %s failed: %s", preset, err)
                    errors.append(
                        {"section": "reduced_precision", "preset": preset, "error": str(err)}
                    )
            step()
            with torch_threads(main_threads):
                training.append(training_row(config, preset, folder, main_threads, peaks))
            step()
            if config.ensemble_sizes:
                with torch_threads(main_threads):
                    ensembles += ensemble_rows(config, preset, folder, main_threads, peaks)
            step()
            entry: dict[str, Any] = {
                "preset": preset,
                "parameters": exported.parameter_bytes // 4,
                "weights_bytes": exported.parameter_bytes,
                "onnx_bytes": exported.weights_bytes,
            }
            if config.rss_events:
                entry["generation_process"] = generation_rss(
                    onnx_path, config.rss_events, main_threads
                )
            memory.append(entry)
            step()
        with torch_threads(main_threads):
            simulator = (
                [reference_simulator(config, p, main_threads) for p in ("photon", "pion")]
                if config.simulate_events
                else []
            )
        step()
    seconds = time.perf_counter() - t0
    data: dict[str, Any] = {
        "schema": "fastcalogan-bench-1",
        "config": config.model_dump(mode="json"),
        "machine": _machine(),
        "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
        "matmul_peak": peaks,
        "generation": generation,
        "training": training,
        "ensemble": ensembles,
        "reduced_precision": reduced,
        "gpu": _gpu_statement(),
        "reference_simulator": simulator,
        "detector_simulator": detectors,
        "speed_table": speed_table(generation, detectors),
        "memory": memory,
        "errors": errors,
        "seconds": seconds,
    }
    step()
    path = write_json(out_path, data)
    return BenchResult(path=path, data=data, seconds=seconds)


def bench_table(data: dict[str, Any]) -> list[tuple[str, ...]]:
    """Rows of the short summary table: ``(what, preset, backend, threads, value, vs limit)``."""
    rows: list[tuple[str, ...]] = []
    for p in data["matmul_peak"]:
        rows.append(
            (
                "matmul peak",
                f"{p['section']} (n={p['n']})",
                "torch",
                str(p["threads"]),
                f"{p['gflops_best']:.1f} GFLOP/s",
                "",
            )
        )
    for g in data["generation"]:
        frac = g["fraction_of_peak"]
        rows.append(
            (
                f"generate b={g['batch']}",
                g["preset"],
                g["backend"] + ("" if g["device"] == "cpu" else f"/{g['device']}"),
                str(g["threads"]),
                f"{g['us_per_shower']:.3g} us/shower",
                (f"{frac:.0%} of peak" if frac is not None else "")
                + (
                    f"; reading the weights: {g['weights_read_us_per_call']:.3g} us"
                    if g["batch"] == 1
                    else ""
                ),
            )
        )
    for t in data["training"]:
        frac = t["fraction_of_flop_limit"]
        rows.append(
            (
                f"train b={t['batch_size']}",
                t["preset"],
                "torch",
                str(t["threads"]),
                f"{t['iterations_per_s']:.3g} it/s",
                (
                    f"{frac:.0%} of FLOP limit (executed FLOPs: "
                    f"{t['fraction_of_peak_executed']:.0%} of peak; matmuls alone: "
                    f"{t['matmul_fraction_of_peak']:.0%} of peak, "
                    f"{t['matmul_share_of_iteration']:.0%} of the iteration)"
                    if frac is not None
                    else ""
                )
                + (
                    f"; plain PyTorch loop {t['plain_loop']['iterations_per_s']:.3g} it/s "
                    f"({t['plain_loop']['fraction_of_flop_limit']:.0%}): "
                    f"x{t['ratio_to_plain_loop']:.2f}"
                    if t.get("plain_loop")
                    else ""
                ),
            )
        )
    for r in data.get("reduced_precision", []):
        guard = r.get("guard")
        text = (
            f"x{r['speedup_over_fp32']:.2f} its fp32, x{r['speedup_over_best_fp32']:.2f} best fp32"
        )
        if guard:
            text += (
                f"; guard {'pass' if guard['passed'] else 'FAIL'}: AUC {guard['auc']:.3f}"
                f"+-{guard['auc_error']:.3f}, E_tot chi2/NDF {guard['etot_chi2_ndf_reduced']:.2f}"
                f" vs {guard['etot_chi2_ndf_fp32']:.2f} (+-{guard['etot_chi2_ndf_error']:.2f})"
            )
        rows.append(
            (
                f"generate b={r['batch']} {r['precision']}",
                r["preset"],
                r["backend"],
                str(r["threads"]),
                f"{r['us_per_shower']:.3g} us/shower",
                text,
            )
        )
    for err in data.get("errors", []):
        rows.append(
            (err["section"], err["preset"], "", "", "failed", err["error"].splitlines()[0][:120])
        )
    for e in data.get("ensemble", []):
        speedup = e.get("speedup_over_first")
        rows.append(
            (
                f"ensemble K={e['members']} b={e['batch_size']}",
                e["preset"],
                "torch",
                str(e["threads"]),
                f"{e['gan_iterations_per_s']:.3g} GAN it/s",
                f"x{speedup:.2f} the one-GAN rate" if speedup is not None else "",
            )
        )
    for row in data.get("speed_table", []):
        rows.append(
            (
                f"vs simulator b={row['batch']}",
                row["preset"],
                row["backend"] + ("" if row["device"] == "cpu" else f"/{row['device']}"),
                str(row["threads"]),
                f"{row['ms_per_shower']:.3g} ms/shower",
                f"reference simulator ({row['detector']}) {row['reference_ms_per_shower']:.3g} "
                f"ms/shower: x{row['speedup']:.3g}",
            )
        )
    for s in data["reference_simulator"]:
        rows.append(
            (
                "reference simulator",
                s["particle"],
                "numpy",
                "",
                f"{s['showers_per_s']:.4g} showers/s",
                "",
            )
        )
    for m in data["memory"]:
        proc = m.get("generation_process", {})
        rss = proc.get("peak_rss_bytes")
        rows.append(
            (
                "memory",
                m["preset"],
                "onnxruntime",
                "",
                f"weights {m['weights_bytes'] / 1e6:.2f} MB, onnx {m['onnx_bytes'] / 1e6:.2f} MB",
                (
                    f"peak RSS {rss / 1e6:.0f} MB ({proc['events']} showers; "
                    f"{(proc.get('rss_after_imports_bytes') or 0) / 1e6:.0f} MB after imports)"
                )
                if rss
                else "",
            )
        )
    return rows
