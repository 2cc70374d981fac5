"""FPD and KPD at full size (issue 12): zero for one simulator, and ours beside the published.

For photons and pions at |eta| 0.20-0.25 (15 dataset-1 energies, 36,300 vs 36,300 showers
with ``--events 3000``): ``reference`` vs an independent ``same`` sample and vs ``distorted``
(EMB2 energies x 1.05), each with

* ours: :func:`~fastcalogan.data.frechet_physics_distance` /
  :func:`~fastcalogan.data.kernel_physics_distance` with the evaluation's defaults
  (fastcalogan features, clipped to the reference's 0.1-99.9 % range, scaled by the
  reference's maximum; FPD extrapolated to the samples' own 1/N, KPD without repeated-event
  pairs);
* the published definition on the same features (``published``: JetNet's non-negative
  intercept at 1/N = 0, and its median KPD);
* both on the CaloChallenge feature set with its scaling and no clipping, at the
  CaloChallenge evaluator's batch sizes (FPD 10k-50k, KPD 10k): the numbers that stand
  beside the published table.

Writes ``<out>/distance-null-tests.{json,md}``.

    OMP_NUM_THREADS=1 python scripts/distance_null_tests.py --events 3000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from fastcalogan._fileio import write_json, write_text
from fastcalogan.data.distances import frechet_physics_distance, kernel_physics_distance
from fastcalogan.data.features import feature_set

sys.path.insert(0, str(Path(__file__).resolve().parent))
from validation_samples import make_samples

#: (feature set, clip quantile, KPD batch size): the evaluation's defaults and the challenge's
SETTINGS = (("fastcalogan", 0.001, 5_000), ("calochallenge", 0.0, 10_000))


def run(particle: str, events: int, seed: int) -> list[dict[str, Any]]:
    """FPD and KPD rows for one particle."""
    binning, e, samples = make_samples(particle, events)
    rows = []
    for features, clip, kpd_batch in SETTINGS:
        f = {k: feature_set(features, v, e, binning)[1] for k, v in samples.items()}
        for other in ("same", "distorted"):
            t = time.process_time()
            fpd = frechet_physics_distance(
                f["reference"], f[other], np.random.default_rng([seed, 1]),
                clip_quantile=clip, scaling="max_abs",
            )  # fmt: skip
            t_fpd = time.process_time() - t
            kpd = kernel_physics_distance(
                f["reference"], f[other], np.random.default_rng([seed, 2]), kpd_batch,
                clip_quantile=clip, scaling="max_abs",
            )  # fmt: skip
            rows.append(
                {
                    "particle": particle,
                    "features": features,
                    "n_features": f["reference"].shape[1],
                    "comparison": f"reference vs {other}",
                    "n_events": len(e),
                    "fpd": fpd.value,
                    "fpd_error": fpd.error,
                    "fpd_published": fpd.published,
                    "fpd_published_error": fpd.published_error,
                    "fpd_cpu_seconds": t_fpd,
                    "kpd": kpd.value,
                    "kpd_error": kpd.error,
                    "kpd_published": kpd.published,
                    "kpd_published_error": kpd.published_error,
                    "kpd_cpu_seconds": time.process_time() - t - t_fpd,
                }
            )
            r = rows[-1]
            print(
                f"{particle:6s} {features:13s} {other:9s} "
                f"FPD {r['fpd']:.3e} +- {r['fpd_error']:.1e} (published "
                f"{r['fpd_published']:.3e} +- {r['fpd_published_error']:.1e})  "
                f"KPD {r['kpd']:.2e} +- {r['kpd_error']:.1e} (published "
                f"{r['kpd_published']:.2e})",
                flush=True,
            )
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a markdown table (values x 10^3, as the CaloChallenge quotes them)."""
    out = [
        "| particle | features | comparison | FPD x1e3 | published FPD x1e3 | "
        "KPD x1e3 | published KPD x1e3 | CPU FPD / KPD (s) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['particle']} | {r['features']} ({r['n_features']}) | {r['comparison']} "
            f"| {1e3 * r['fpd']:.3f} +- {1e3 * r['fpd_error']:.3f} "
            f"| {1e3 * r['fpd_published']:.3f} +- {1e3 * r['fpd_published_error']:.3f} "
            f"| {1e3 * r['kpd']:.4f} +- {1e3 * r['kpd_error']:.4f} "
            f"| {1e3 * r['kpd_published']:.4f} +- {1e3 * r['kpd_published_error']:.4f} "
            f"| {r['fpd_cpu_seconds']:.0f} / {r['kpd_cpu_seconds']:.0f} |"
        )
    return "\n".join(out) + "\n"


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=3000, help="dataset-1 scale (3000: 36.3k)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--particles", nargs="+", default=["photon", "pion"])
    ap.add_argument("--out", type=Path, default=Path("docs/validation"))
    args = ap.parse_args()
    rows = [row for p in args.particles for row in run(p, args.events, args.seed)]
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "distance-null-tests.json", {"rows": rows})
    text = markdown(rows)
    write_text(args.out / "distance-null-tests.md", text)
    print(text)


if __name__ == "__main__":
    main()
