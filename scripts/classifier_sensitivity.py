"""The classifier test at full size (issue 12): does it flag a 5 % scale of layer 2?

Photons at |eta| 0.20-0.25, the 15 dataset-1 energies, 36,300 vs 36,300 showers (``--events
3000``) of the reference simulator: ``reference`` vs an independent ``same`` sample (must
give AUC 0.50 +- 0.01) and vs ``distorted`` (EMB2 energies x 1.05; must give AUC >= 0.56).
Runs the default low-level (voxel) classifier, the same with log10 inputs (the old
default, for contrast) and the default high-level (feature) classifier, and records AUC,
JSD and process CPU time. Writes ``<out>/classifier-sensitivity.{json,md}``.

    OMP_NUM_THREADS=1 python scripts/classifier_sensitivity.py --events 3000

About 4 minutes of one CPU core at the default size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

from fastcalogan._fileio import write_json, write_text
from fastcalogan.data.features import feature_set
from fastcalogan.evaluate import ClassifierConfig, classifier_test, voxel_inputs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from validation_samples import make_samples


def run(events: int, seed: int) -> list[dict[str, Any]]:
    """Every (classifier, comparison) pair: AUC, its error, JSD, CPU seconds."""
    t = time.process_time()
    binning, e, samples = make_samples("photon", events)
    rows: list[dict[str, Any]] = [
        {"what": "simulate 3 samples", "cpu_seconds": time.process_time() - t}
    ]
    inputs: dict[str, dict[str, Any]] = {
        "voxels, E/E_inc (default)": {k: voxel_inputs(v, e) for k, v in samples.items()},
        "voxels, log10(E/E_inc)": {k: voxel_inputs(v, e, "log") for k, v in samples.items()},
        "high-level features": {
            k: feature_set("fastcalogan", v, e, binning)[1] for k, v in samples.items()
        },
    }
    cfg = ClassifierConfig()
    for label, x in inputs.items():
        for other in ("same", "distorted"):
            r = classifier_test(x["reference"], x[other], cfg, seed=seed)
            rows.append(
                {
                    "classifier": label,
                    "comparison": f"reference vs {other}",
                    "auc": r.auc,
                    "auc_error": r.auc_error,
                    "auc_folds": list(r.auc_folds),
                    "jsd": r.jsd,
                    "jsd_error": r.jsd_error,
                    "n_events": r.n_events,
                    "best_epochs": list(r.best_epochs),
                    "epochs_run": list(r.epochs_run),
                    "cpu_seconds": r.cpu_seconds,
                }
            )
            print(
                f"{label:28s} {other:9s} AUC {r.auc:.4f} +- {r.auc_error:.4f}  "
                f"JSD {r.jsd:.4f}  {r.cpu_seconds:.0f} s CPU",
                flush=True,
            )
    return rows


def markdown(rows: list[dict[str, Any]], config: dict[str, Any]) -> str:
    """The results as a markdown table."""
    out = [
        "| classifier | comparison | AUC | JSD | events per sample | CPU (s) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "auc" not in r:
            continue
        out.append(
            f"| {r['classifier']} | {r['comparison']} | {r['auc']:.4f} +- {r['auc_error']:.4f} "
            f"| {r['jsd']:.4f} +- {r['jsd_error']:.4f} | {r['n_events']} "
            f"| {r['cpu_seconds']:.0f} |"
        )
    out.append("")
    out.append(f"ClassifierConfig: `{config}`")
    return "\n".join(out) + "\n"


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=3000, help="dataset-1 scale (3000: 36.3k)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("docs/validation"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = run(args.events, args.seed)
    config = ClassifierConfig().model_dump(mode="json")
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "classifier-sensitivity.json", {"config": config, "rows": rows})
    text = markdown(rows, config)
    write_text(args.out / "classifier-sensitivity.md", text)
    print(text)


if __name__ == "__main__":
    main()
