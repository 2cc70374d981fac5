"""Validation tables of the reference simulator, per detector.

``atlas-barrel`` (the default) writes ``<out>/simulator-validation.json`` and ``.md``: for
photons and pions at the 15 dataset-1 energies, mean E_tot/E_inc and RMS/mean, the fraction
of voxels with energy and the share of the energy the readout threshold removes; mean energy
fraction per layer at 1, 65 and 1000 GeV (the nearest dataset-1 points); and, with
``--speed``, showers/s of the voxel and hit paths (run with OMP_NUM_THREADS=1 for one core).

``calogan``, ``lhcb-ecal`` and ``atlas-cells`` write ``<out>/detectors-validation.json`` and
``.md``: response, resolution, layer fractions and lateral containment against what such a
calorimeter must do (``scripts/validate_detectors.py``), and with ``--speed`` showers/s.

    OMP_NUM_THREADS=1 python scripts/validate_simulator.py --events 4000 --speed
    OMP_NUM_THREADS=1 python scripts/validate_simulator.py --events 4000 --speed \
        --detectors calogan,lhcb-ecal,atlas-cells
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from fastcalogan._fileio import write_json, write_text
from fastcalogan.data import DS1_ENERGIES, layer_energies
from fastcalogan.geometry import default_geometry, layer_name
from fastcalogan.simulate import READOUT_THRESHOLD_MEV, simulate_hits, simulate_voxels

ETA = (0.20, 0.25)
FRACTION_POINTS = (1024.0, 65536.0, 1048576.0)
#: design note section 4, photon layer fractions [E] (E in MeV -> PS, EMB1, EMB2, EMB3)
PHOTON_FRACTIONS = {
    256.0: (0.03, 0.52, 0.32, 0.0),
    4096.0: (0.01, 0.40, 0.57, 0.0),
    65536.0: (0.001, 0.19, 0.79, 0.01),
    1048576.0: (0.0, 0.07, 0.88, 0.02),
    4194304.0: (0.0, 0.035, 0.88, 0.03),
}


def response_target(particle: str, energy: float) -> str:
    """The note's E_tot/E_inc target at this energy (MeV), as text."""
    gev = energy / 1e3
    if particle == "photon":
        return "0.85-0.95" if gev <= 1.1 else "0.95-1.00"
    if gev <= 1.1:
        return "may exceed 1"
    if 3.9 <= gev <= 17:
        return "0.60-0.70"
    if 60 <= gev <= 270:
        return "0.75-0.80"
    if gev >= 1000:
        return "~0.85"
    return "-"


def resolution_target(particle: str, energy: float) -> str:
    """Stochastic and constant terms of the note, evaluated at this energy."""
    gev = energy / 1e3
    if particle == "photon":
        return f"{100 * 0.10 / np.sqrt(gev):.1f}%"
    lo = np.hypot(0.50 / np.sqrt(gev), 0.03)
    hi = 0.58 / np.sqrt(gev) + 0.025
    return f"{100 * lo:.1f}-{100 * hi:.1f}%"


def validate(particle: str, events: int, seed: int) -> dict[str, Any]:
    """Per-point response, resolution and layer fractions for one particle."""
    binning = default_geometry(particle, ETA)
    points = []
    for i, energy in enumerate(DS1_ENERGIES):
        n = events if energy <= 262144 else max(events // 4, 200)
        raw = simulate_voxels(
            particle, np.full(n, energy), ETA, binning, seed, stream=i, readout_threshold_mev=0.0
        )
        v = np.where(raw < READOUT_THRESHOLD_MEV, 0.0, raw)  # the default readout
        ratio = v.sum(axis=1) / energy
        fractions = layer_energies(v, binning).mean(axis=0) / energy
        points.append(
            {
                "energy_mev": float(energy),
                "events": n,
                "response": float(ratio.mean()),
                "rms_over_mean": float(ratio.std() / ratio.mean()),
                "fraction_above_incident": float((ratio > 1).mean()),
                "filled_voxels": float((v > 0).mean()),
                "filled_voxels_without_threshold": float((raw > 0).mean()),
                "energy_below_threshold": float(1.0 - v.sum() / raw.sum()),
                "layer_fractions": [float(x) for x in fractions],
                "response_target": response_target(particle, energy),
                "resolution_target": resolution_target(particle, energy),
            }
        )
    return {
        "particle": particle,
        "layers": [layer_name(i) for i in binning.layer_ids],
        "points": points,
    }


def speed(particle: str, energy: float, hits: bool, seconds: float = 3.0) -> float:
    """Showers per second of one path at one energy (single call, one process)."""
    binning = default_geometry(particle, ETA)
    n, done, t0 = 256 if hits else 2048, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        e = np.full(n, energy)
        if hits:
            simulate_hits(particle, e, ETA, done)
        else:
            simulate_voxels(particle, e, ETA, binning, done)
        done += n
    return done / (time.perf_counter() - t0)


def markdown(results: list[dict[str, Any]], speeds: dict[str, float]) -> str:
    """The validation tables as markdown."""
    out = []
    for res in results:
        p = res["particle"]
        out.append(f"### {p}: response and resolution (|eta| 0.20-0.25)\n")
        out.append(
            "| E (GeV) | events | <E_tot/E_inc> | target | RMS/mean | target | > E_inc "
            "| filled voxels (no threshold) | E below threshold |"
        )
        out.append("|---:|---:|---:|---|---:|---|---:|---:|---:|")
        for pt in res["points"]:
            out.append(
                f"| {pt['energy_mev'] / 1e3:.3g} | {pt['events']} | {pt['response']:.3f} | "
                f"{pt['response_target']} | {100 * pt['rms_over_mean']:.1f}% | "
                f"{pt['resolution_target']} | {100 * pt['fraction_above_incident']:.1f}% | "
                f"{100 * pt['filled_voxels']:.1f}% "
                f"({100 * pt['filled_voxels_without_threshold']:.1f}%) "
                f"| {pt['energy_below_threshold']:.1e} |"
            )
        out.append("")
        out.append(f"### {p}: mean energy fraction per layer\n")
        out.append("| E (GeV) | " + " | ".join(res["layers"]) + " | sum |")
        out.append("|---:|" + "---:|" * (len(res["layers"]) + 1))
        for pt in res["points"]:
            e = pt["energy_mev"]
            if e not in FRACTION_POINTS and not (p == "photon" and e in PHOTON_FRACTIONS):
                continue
            f = pt["layer_fractions"]
            out.append(
                f"| {e / 1e3:.3g} | " + " | ".join(f"{x:.3f}" for x in f) + f" | {sum(f):.3f} |"
            )
            if p == "photon" and e in PHOTON_FRACTIONS:
                t = PHOTON_FRACTIONS[e]
                out.append(
                    "| target | "
                    + " | ".join(f"{x:g}" for x in t)
                    + " | - " * (len(f) - len(t))
                    + f"| {sum(t):.2f} |"
                )
        out.append("")
    if speeds:
        out.append("### Showers per second (one process)\n")
        out.append("| particle | E (GeV) | voxel path | hit path |")
        out.append("|---|---:|---:|---:|")
        keys = {k.rsplit(":", 1)[0] for k in speeds}
        for key in sorted(keys, key=lambda k: (k.split("@")[0], float(k.split("@")[1]))):
            p, e = key.split("@")
            out.append(
                f"| {p} | {float(e) / 1e3:.3g} | {speeds[key + ':voxels']:.0f} | "
                f"{speeds[key + ':hits']:.0f} |"
            )
        out.append("")
    return "\n".join(out)


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=4000, help="events per point up to 262 GeV")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", type=Path, default=Path("docs/validation"))
    ap.add_argument("--speed", action="store_true", help="also time both paths")
    ap.add_argument(
        "--detectors",
        default="atlas-barrel",
        help="comma list of atlas-barrel, calogan, lhcb-ecal, atlas-cells (or 'all')",
    )
    args = ap.parse_args()
    names = (
        ["atlas-barrel", "calogan", "lhcb-ecal", "atlas-cells"]
        if args.detectors == "all"
        else [x.strip() for x in args.detectors.split(",") if x.strip()]
    )
    others = [x for x in names if x != "atlas-barrel"]
    if others:
        from validate_detectors import run_detectors  # a sibling script

        args.out.mkdir(parents=True, exist_ok=True)
        run_detectors(others, args.events, args.seed, args.speed, args.out)
    if "atlas-barrel" not in names:
        return
    results = [validate(p, args.events, args.seed) for p in ("photon", "pion")]
    speeds: dict[str, float] = {}
    if args.speed:
        for p in ("photon", "pion"):
            for e in FRACTION_POINTS:
                speeds[f"{p}@{e:g}:voxels"] = speed(p, e, hits=False)
                speeds[f"{p}@{e:g}:hits"] = speed(p, e, hits=True)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "simulator-validation.json", {"results": results, "speed": speeds})
    write_text(args.out / "simulator-validation.md", markdown(results, speeds))
    print(markdown(results, speeds))


if __name__ == "__main__":
    main()
