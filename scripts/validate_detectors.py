"""Validation tables of the reference simulator in the CaloGAN, LHCb ECAL and ATLAS-cells
detectors (called by ``validate_simulator.py --detectors ...``; runnable on its own).

Writes ``<out>/detectors-validation.json`` and ``<out>/detectors-validation.md``:

* calogan: e+, gamma and pi+ at 1-100 GeV: response (cells, and cells + overflow), RMS/mean,
  layer fractions next to the PDG mean longitudinal profile, lateral containment in layer 1,
  the share of pions crossing as MIPs;
* lhcb-ecal: electrons at 5-100 GeV with the detector's impact points and angles: response
  (the scintillator's share), resolution and its fit a/sqrt(E) (+) b, longitudinal leakage,
  lateral containment around the hottest cell;
* atlas-cells: photons at 2^0..2^8 GeV: response, resolution, layer fractions, the energy
  outside the windows, the shower depth;

and with ``--speed`` showers/s of both transverse paths (one process; OMP_NUM_THREADS=1).

    OMP_NUM_THREADS=1 python scripts/validate_detectors.py --events 4000 --speed
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import gammainc

from fastcalogan._fileio import write_json, write_text
from fastcalogan.data import layer_energies
from fastcalogan.geometry import Binning
from fastcalogan.simulate import NormalIncidence, Slab, get_detector, simulate_showers
from fastcalogan.simulate.detectors import CALOGAN_STRUCTURE

GEV = 1000.0
CALOGAN_ENERGIES = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
LHCB_ENERGIES = (5.0, 10.0, 20.0, 50.0, 100.0)
ATLAS_ENERGIES = tuple(2.0**k for k in range(9))
#: pion interaction length over lambda_I in the simulator's hadron model
LAMBDA_PI = 1.2
#: a pion that crosses CaloGAN's 480 mm as a MIP deposits about this much (MeV)
CALOGAN_MIP_MEV = 480.0 * CALOGAN_STRUCTURE.mip_mev_per_mm


def _stats(total: np.ndarray, energy: float) -> dict[str, float]:
    r = total / energy
    return {"response": float(r.mean()), "rms_over_mean": float(r.std() / r.mean())}


def pdg_layer_fractions(energy_mev: float, particle: str, x0_edges: list[float]) -> list[float]:
    """Mean longitudinal profile of the PDG review (Passage of particles, eq. for dE/dt):
    Gamma with b = 0.5 and t_max = ln(E/E_c) - 0.5 (e) or + 0.5 (gamma), over the layers."""
    y = energy_mev / CALOGAN_STRUCTURE.critical_mev
    t_max = math.log(y) + (0.5 if particle == "photon" else -0.5)
    b = 0.5
    a = b * max(t_max, 0.1) + 1.0
    cdf = gammainc(a, b * np.asarray(x0_edges))
    return [float(x) for x in np.diff(cdf)]


def radial_containment(
    detector: str, particle: str, energy: float, events: int, seed: int, moliere_mm: float
) -> list[float]:
    """Share of the deposited energy (all layers) within 1, 2 and 3.5 R_M of the axis, for
    particles at normal incidence on the axis (a polar binning of rings)."""
    det = get_detector(detector)
    edges = [0.0, moliere_mm, 2.0 * moliere_mm, 3.5 * moliere_mm, 1e7]
    rings = Binning.from_layers("rings", particle, None, [(i, edges, 1) for i in det.layer_ids])
    s = simulate_showers(
        det, particle, np.full(events, energy), seed, geometry=rings, incidence=NormalIncidence()
    )
    per_ring = s.showers.reshape(events, len(det.layer_ids), 4).sum(axis=(0, 1))
    return [float(x) for x in np.cumsum(per_ring)[:3] / per_ring.sum()]


def calogan(events: int, seed: int) -> dict[str, Any]:
    """CaloGAN: e+, gamma, pi+ at the validation energies."""
    det = get_detector("calogan")
    edges = list(np.cumsum([0.0] + [s.x0 for s in det.slabs]))
    rows = []
    for particle in ("positron", "photon", "pion"):
        for i, e_gev in enumerate(CALOGAN_ENERGIES):
            e = e_gev * GEV
            s = simulate_showers(det, particle, np.full(events, e), seed, stream=i)
            g = s.geometry
            cells = s.showers.sum(axis=1)
            total = cells + s.overflow.sum(axis=1)
            layers = layer_energies(s.showers, g)
            # layer 1 (12 x 12 cells of 40 mm, the beam on the corner of the four central
            # cells): the central 2 x 2 (+-40 mm = +-1.1 R_M) and 4 x 4 (+-2.2 R_M) cells
            image = g.layer_images(s.showers, 1)
            l1 = layers[:, 1] + s.overflow[:, 1]
            ok = l1 > 0
            c2 = image[:, 5:7, 5:7].sum(axis=(1, 2))[ok].sum() / l1[ok].sum()
            c4 = image[:, 4:8, 4:8].sum(axis=(1, 2))[ok].sum() / l1[ok].sum()
            row = {
                "particle": particle,
                "energy_gev": e_gev,
                "events": events,
                "cells": _stats(cells, e),
                "total": _stats(total, e),
                "layer_fractions": [float(x) for x in layers.mean(axis=0) / e],
                "overflow_fraction": float(s.overflow.sum(axis=1).mean() / e),
                "layer1_central_2x2": float(c2),
                "layer1_central_4x4": float(c4),
            }
            if particle != "pion":
                row["pdg_layer_fractions"] = pdg_layer_fractions(e, particle, edges)
                row["radial_containment"] = radial_containment(
                    "calogan", particle, e, events, seed, CALOGAN_STRUCTURE.moliere_mm
                )
            else:
                row["mip_like"] = float(np.mean(total < 1.5 * CALOGAN_MIP_MEV))
            rows.append(row)
    return {
        "detector": "calogan",
        "x0": det.x0,
        "lambda_i": det.lambda_i,
        "layer_x0": [s.x0 for s in det.slabs],
        "moliere_mm": CALOGAN_STRUCTURE.moliere_mm,
        "expected_mip_like": math.exp(-det.lambda_i / LAMBDA_PI),
        "rows": rows,
    }


def _fit_resolution(energies_gev: np.ndarray, rel: np.ndarray) -> tuple[float, float]:
    """Least squares of (sigma/E)^2 = a^2 / E + b^2 (a, b >= 0)."""
    design = np.stack([1.0 / energies_gev, np.ones_like(energies_gev)], axis=1)
    coef, *_ = np.linalg.lstsq(design, rel**2, rcond=None)
    return float(np.sqrt(max(coef[0], 0.0))), float(np.sqrt(max(coef[1], 0.0)))


def lhcb(events: int, seed: int) -> dict[str, Any]:
    """LHCb ECAL: electrons with the detector's impact points and angles."""
    det = get_detector("lhcb-ecal")
    slab = det.slabs[0]
    deep = dataclasses.replace(
        det, slabs=(Slab.of_thickness("deep", 0, slab.medium, 4.0 * (slab.thickness_mm or 0)),)
    )
    f_e = slab.medium.sampling_fraction
    rows = []
    for i, e_gev in enumerate(LHCB_ENERGIES):
        e = e_gev * GEV
        s = simulate_showers(det, "electron", np.full(events, e), seed, stream=i)
        d = simulate_showers(deep, "electron", np.full(events, e), seed, stream=i)
        cells = s.showers.sum(axis=1)
        image = s.geometry.layer_images(s.showers, 0)
        hot = image.reshape(events, -1).argmax(axis=1)
        hi, hj = np.unravel_index(hot, image.shape[1:])
        pad = np.pad(image, ((0, 0), (2, 2), (2, 2)))
        rows_idx = np.arange(events)
        around = {
            k: sum(
                pad[rows_idx, hi + 2 + di, hj + 2 + dj]
                for di in range(-(k // 2), k // 2 + 1)
                for dj in range(-(k // 2), k // 2 + 1)
            )
            for k in (1, 3, 5)
        }
        deep_total = d.showers.sum(axis=1) + d.overflow.sum(axis=1)
        radial = radial_containment(
            "lhcb-ecal", "electron", e, events, seed, slab.medium.moliere_mm
        )
        rows.append(
            {
                "energy_gev": e_gev,
                "events": events,
                **_stats(cells, e),
                "calibrated_response": float(cells.mean() / (f_e * e)),
                "longitudinal_leakage": float(
                    1.0 - (cells + s.overflow.sum(axis=1)).mean() / deep_total.mean()
                ),
                "overflow_fraction": float(s.overflow.sum() / (cells.sum() + s.overflow.sum())),
                "hottest_cell": float(around[1].sum() / cells.sum()),
                "cells_3x3": float(around[3].sum() / cells.sum()),
                "cells_5x5": float(around[5].sum() / cells.sum()),
                "radial_containment": radial,
            }
        )
    e = np.array([r["energy_gev"] for r in rows])
    a, b = _fit_resolution(e, np.array([r["rms_over_mean"] for r in rows]))
    return {
        "detector": "lhcb-ecal",
        "x0": det.x0,
        "moliere_mm": slab.medium.moliere_mm,
        "sampling_fraction": f_e,
        "stochastic_term_input": slab.medium.c_em,
        "fit_a": a,
        "fit_b": b,
        "rows": rows,
    }


def atlas_cells(events: int, seed: int) -> dict[str, Any]:
    """ATLAS cells: photons at 2^0..2^8 GeV, |eta| 0.20-0.25."""
    det = get_detector("atlas-cells")
    rows = []
    for i, e_gev in enumerate(ATLAS_ENERGIES):
        e = e_gev * GEV
        s = simulate_showers(det, "photon", np.full(events, e), seed, stream=i)
        g = s.geometry
        cells = s.showers.sum(axis=1)
        layers = layer_energies(s.showers, g)
        depths = np.array([d or 0.0 for d in g.layer_depths_mm])
        ok = cells > 0
        depth = (layers[ok] @ depths) / cells[ok]
        middle = g.layer_images(s.showers, 2)
        rows.append(
            {
                "energy_gev": e_gev,
                "events": events,
                **_stats(cells, e),
                "layer_fractions": [float(x) for x in layers.mean(axis=0) / e],
                "overflow_fraction": [float(x) for x in s.overflow.mean(axis=0) / e],
                "middle_3x7_of_7x7": float(middle[:, 2:5, :].sum() / middle.sum()),
                "shower_depth_mm": float(depth.mean()),
            }
        )
    return {"detector": "atlas-cells", "rows": rows}


SPEED_CASES = (
    ("calogan", "positron"),
    ("calogan", "pion"),
    ("lhcb-ecal", "electron"),
    ("atlas-cells", "photon"),
)


def speed(detector: str, particle: str, e_gev: float, transverse: str, seconds: float) -> float:
    """Showers per second (process CPU time) of one transverse path at one energy."""
    n = 1024 if transverse == "integrate" else 256
    simulate_showers(detector, particle, np.full(64, e_gev * GEV), 0, transverse=transverse)
    done, t0 = 0, time.process_time()
    while time.process_time() - t0 < seconds:
        simulate_showers(
            detector, particle, np.full(n, e_gev * GEV), done + 1, transverse=transverse
        )
        done += n
    return done / (time.process_time() - t0)


def _f(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def markdown(results: dict[str, Any], speeds: list[dict[str, Any]]) -> str:
    """The tables as markdown."""
    out: list[str] = []
    if "calogan" in results:
        res = results["calogan"]
        out.append(
            f"### calogan: response and resolution ({res['x0']:.1f} X0, "
            f"{res['lambda_i']:.2f} lambda_I; deposits in Pb and LAr alike)\n"
        )
        out.append(
            "| particle | E (GeV) | cells/E | (cells+overflow)/E | RMS/mean | overflow/E | "
            "layer-1 2x2 | layer-1 4x4 |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in res["rows"]:
            out.append(
                f"| {r['particle']} | {r['energy_gev']:g} | {_f(r['cells']['response'])} | "
                f"{_f(r['total']['response'])} | {100 * r['cells']['rms_over_mean']:.1f}% | "
                f"{_f(r['overflow_fraction'], 4)} | {_f(r['layer1_central_2x2'])} | "
                f"{_f(r['layer1_central_4x4'])} |"
            )
        out.append("")
        x0 = " / ".join(f"{x:.1f}" for x in res["layer_x0"])
        out.append(f"### calogan: mean energy fraction per layer ({x0} X0)\n")
        out.append(
            "| particle | E (GeV) | layer 0 | layer 1 | layer 2 | PDG profile (0 / 1 / 2) | "
            "within 1 / 2 / 3.5 R_M |"
        )
        out.append("|---|---:|---:|---:|---:|---|---|")
        for r in res["rows"]:
            pdg = r.get("pdg_layer_fractions")
            ref = " / ".join(_f(x) for x in pdg) if pdg else "-"
            rad = r.get("radial_containment")
            ring = " / ".join(_f(x) for x in rad) if rad else "-"
            f = r["layer_fractions"]
            out.append(
                f"| {r['particle']} | {r['energy_gev']:g} | {_f(f[0])} | {_f(f[1])} | "
                f"{_f(f[2], 4)} | {ref} | {ring} |"
            )
        out.append("")
        mips = [
            f"{r['energy_gev']:g} GeV {100 * r['mip_like']:.0f}%"
            for r in res["rows"]
            if r["particle"] == "pion"
        ]
        out.append(
            f"pi+ depositing less than 1.5 x the MIP loss ({CALOGAN_MIP_MEV:.0f} MeV): "
            + ", ".join(mips)
            + f"; expected exp(-L/lambda_pi) = {100 * res['expected_mip_like']:.0f}%.\n"
        )
    if "lhcb-ecal" in results:
        res = results["lhcb-ecal"]
        out.append(
            f"### lhcb-ecal: electrons ({res['x0']:.1f} X0, R_M {res['moliere_mm']:.1f} mm, "
            f"scintillator share f_e = {res['sampling_fraction']:.4f})\n"
        )
        out.append(
            "| E (GeV) | signal/E | signal/(f_e E) | RMS/mean | leakage behind | outside 30x30 | "
            "hottest cell | 3x3 | 5x5 | within 1 / 2 / 3.5 R_M |"
        )
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in res["rows"]:
            out.append(
                f"| {r['energy_gev']:g} | {r['response']:.4f} | {_f(r['calibrated_response'])} | "
                f"{100 * r['rms_over_mean']:.2f}% | {100 * r['longitudinal_leakage']:.2f}% | "
                f"{100 * r['overflow_fraction']:.2f}% | {_f(r['hottest_cell'])} | "
                f"{_f(r['cells_3x3'])} | {_f(r['cells_5x5'])} | "
                + " / ".join(_f(x) for x in r["radial_containment"])
                + " |"
            )
        out.append("")
        out.append(
            f"Fit sigma/E = a/sqrt(E) (+) b: a = {100 * res['fit_a']:.1f}%, "
            f"b = {100 * res['fit_b']:.2f}% (input stochastic term "
            f"{100 * res['stochastic_term_input']:.1f}%).\n"
        )
    if "atlas-cells" in results:
        res = results["atlas-cells"]
        out.append("### atlas-cells: photons, |eta| 0.20-0.25, 266 cells\n")
        out.append(
            "| E (GeV) | cells/E | RMS/mean | PS | strips | middle | back | outside windows | "
            "middle 3x7/7x7 | depth (mm) |"
        )
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in res["rows"]:
            f = r["layer_fractions"]
            out.append(
                f"| {r['energy_gev']:g} | {_f(r['response'])} | {100 * r['rms_over_mean']:.1f}% | "
                + " | ".join(_f(x) for x in f)
                + f" | {_f(sum(r['overflow_fraction']), 4)} | {_f(r['middle_3x7_of_7x7'])} | "
                f"{r['shower_depth_mm']:.0f} |"
            )
        out.append("")
    if speeds:
        out.append("### Showers per second (one process, CPU time)\n")
        out.append("| detector | particle | E (GeV) | integrate | spots |")
        out.append("|---|---|---:|---:|---:|")
        for sp in speeds:
            out.append(
                f"| {sp['detector']} | {sp['particle']} | {sp['energy_gev']:g} | "
                f"{sp['integrate']:.0f} | {sp['spots']:.0f} |"
            )
        out.append("")
    return "\n".join(out)


def run_detectors(
    names: list[str], events: int, seed: int, with_speed: bool, out: Path, seconds: float = 3.0
) -> dict[str, Any]:
    """Validate the named detectors and write the tables."""
    known = {"calogan": calogan, "lhcb-ecal": lhcb, "atlas-cells": atlas_cells}
    bad = [n for n in names if n not in known]
    if bad:
        raise SystemExit(f"unknown detector(s) {bad}; known: {sorted(known)}")
    results = {name: known[name](events, seed) for name in names}
    speeds = []
    if with_speed:
        for det, particle in SPEED_CASES:
            if det not in names:
                continue
            for e_gev in (10.0, 100.0):
                speeds.append(
                    {
                        "detector": det,
                        "particle": particle,
                        "energy_gev": e_gev,
                        "integrate": speed(det, particle, e_gev, "integrate", seconds),
                        "spots": speed(det, particle, e_gev, "spots", seconds),
                    }
                )
    write_json(out / "detectors-validation.json", {"results": results, "speed": speeds})
    text = markdown(results, speeds)
    write_text(out / "detectors-validation.md", text)
    print(text)
    return results


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=4000, help="events per point")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", type=Path, default=Path("docs/validation"))
    ap.add_argument("--speed", action="store_true", help="also time both transverse paths")
    ap.add_argument("--detectors", default="calogan,lhcb-ecal,atlas-cells")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = [x.strip() for x in args.detectors.split(",") if x.strip()]
    run_detectors(names, args.events, args.seed, args.speed, args.out)


if __name__ == "__main__":
    main()
