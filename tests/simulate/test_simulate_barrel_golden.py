"""The ATLAS barrel is one detector description among several; its output must not move.

The digests below were computed on main before the simulator was driven by detector
descriptions (commit b24b258). They pin the voxel path, the hit path and the shower file of
``simulate`` (with hits, i.e. voxelised hits) bit for bit for the same seed, so the demo, the
tests and the benchmarks built on the barrel see the same showers. The layer sums are kept
beside each digest so a failure says whether the physics moved or only the last bits. The
pins predate the readout threshold, so they are taken with it off (``readout_threshold_mev``
0); the threshold itself has its own tests.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from fastcalogan.data import layer_energies, read_showers
from fastcalogan.geometry import default_geometry
from fastcalogan.simulate import SimulateConfig, simulate, simulate_hits, simulate_voxels

ENERGIES = np.array([256.0, 1024.0, 8192.0, 65536.0, 1048576.0, 4194304.0])


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:32]


def _voxels(particle: str, eta) -> np.ndarray:
    binning = default_geometry(particle, (0.20, 0.25))
    e = np.repeat(ENERGIES, 3)
    return simulate_voxels(
        particle, e, eta, binning, seed=11, batch_size=7, stream=2, readout_threshold_mev=0.0
    )


CASES = {
    "photon-slice": ("photon", (0.20, 0.25)),
    "electron-fixed": ("electron", 0.9),
    "pion-slice": ("pion", (0.20, 0.25)),
    "proton-slice": ("proton", (0.0, 1.4)),
    "antiproton-fixed": ("antiproton", 0.3),
}

#: (digest of the voxels, their sum in MeV) per case, computed on main
VOXEL_DIGESTS = {
    "antiproton-fixed": ("223b664e633a532ce4c4d8d3c9c8b356", 12979641.734658647),
    "electron-fixed": ("ce9ddf81950a58e7aeb7110b0d3b23a0", 15842796.134776525),
    "photon-slice": ("a97004506e488b5de0abaa8eb6deebfc", 15608879.556662438),
    "pion-slice": ("073924b45cfb6e7b3952400aba5108f5", 13420545.8221817),
    "proton-slice": ("d1d4c313538a49494e488f01bdbe4bed", 13071026.213797841),
}
#: (digest of the hit arrays, number of hits)
HIT_DIGESTS = {
    "photon": ("9237381b614059c3cad61e5782d88291", 8217),
    "pion": ("bdad8701e95d2c90b61dfa74646b8411", 4152),
}
FILE_DIGEST = "8c680d8f91ff1aaa0e6a63116fcb1f27"


@pytest.mark.parametrize("case", sorted(CASES))
def test_barrel_voxels_bit_identical_to_main(case: str) -> None:
    particle, eta = CASES[case]
    v = _voxels(particle, eta)
    digest, total = VOXEL_DIGESTS[case]
    if _digest(v) != digest:
        sums = layer_energies(v, default_geometry(particle)).sum(axis=0)
        pytest.fail(
            f"{case}: barrel voxels changed; total {v.sum():.10g} MeV against {total:.10g} "
            f"(relative {v.sum() / total - 1:.2e}); layer sums now {sums.tolist()}"
        )


@pytest.mark.parametrize("particle", sorted(HIT_DIGESTS))
def test_barrel_hits_bit_identical_to_main(particle: str) -> None:
    hits = simulate_hits(particle, np.repeat(ENERGIES[:4], 2), (0.20, 0.25), seed=5, batch_size=3)
    got = _digest(hits.event_id, hits.r, hits.alpha, hits.layer, hits.energy)
    digest, n_hits = HIT_DIGESTS[particle]
    assert got == digest, f"{particle}: hits changed ({hits.n_hits} hits, main had {n_hits})"


def test_barrel_simulate_file_bit_identical_to_main(tmp_path: Path) -> None:
    config = SimulateConfig(
        particle="pion",
        energies=[1024.0, 65536.0],
        events=5,
        seed=3,
        batch_size=4,
        hits=True,
        readout_threshold_mev=0.0,
    )
    result = simulate(config, tmp_path / "s.h5")
    data = read_showers(result.showers_path)
    assert _digest(data.incident_energies, data.showers) == FILE_DIGEST
