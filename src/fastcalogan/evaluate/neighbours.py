"""Nearest-neighbour checks for memorisation and mode collapse.

Showers are compared as voxel energies over the incident energy (``E_voxel / E_inc``, a
vector of ``n_voxels``), with Euclidean distances from :class:`scipy.spatial.cKDTree`.

* Memorisation: distances of generated showers to their nearest training shower, against
  those of independent reference showers to the same memory set. A ratio of medians well
  below 1 means the generator reproduces training showers.
* Mode collapse: nearest-neighbour distances within the generated sample, against those
  within the reference sample at the same sizes. A ratio well below 1 means the generated
  showers crowd together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.spatial

__all__ = ["NeighbourResult", "nearest_neighbour_check", "normalised_voxels"]


@dataclass(frozen=True)
class NeighbourResult:
    """Nearest-neighbour distances (in units of E_voxel / E_inc).

    Attributes:
        gen_to_memory: ``(n_query,)`` generated -> nearest memory-set shower.
        ref_to_memory: ``(n_query,)`` reference -> nearest memory-set shower.
        gen_to_gen: ``(n_query,)`` generated -> nearest other generated shower.
        ref_to_ref: ``(n_query,)`` reference -> nearest other reference shower.
        memory: ``"training"`` or ``"reference"`` (a reference half when no training set).
        memorisation_ratio: median(gen_to_memory) / median(ref_to_memory).
        collapse_ratio: median(gen_to_gen) / median(ref_to_ref).
        copy_fraction: fraction of generated showers closer to the memory set than the 1 %
            quantile of ``ref_to_memory``.
    """

    gen_to_memory: npt.NDArray[np.float64]
    ref_to_memory: npt.NDArray[np.float64]
    gen_to_gen: npt.NDArray[np.float64]
    ref_to_ref: npt.NDArray[np.float64]
    memory: str
    memorisation_ratio: float
    collapse_ratio: float
    copy_fraction: float


def normalised_voxels(
    showers: npt.NDArray[np.floating], incident_energies: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """``E_voxel / E_inc``, shape ``(n_events, n_voxels)``."""
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1, 1)
    return np.asarray(showers, dtype=np.float64) / inc


def _split(
    x: npt.NDArray[np.float64], n_query: int, n_tree: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    idx = rng.permutation(len(x))
    return x[idx[:n_query]], x[idx[n_query : n_query + n_tree]]


def _nearest(tree_x: npt.NDArray[np.float64], query: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
    d, _ = scipy.spatial.cKDTree(tree_x).query(query, k=1, workers=-1)
    return np.asarray(d, dtype=np.float64)


def _ratio(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    mb = float(np.median(b))
    return float(np.median(a)) / mb if mb > 0 else float("nan")


def nearest_neighbour_check(
    reference: npt.NDArray[np.float64],
    generated: npt.NDArray[np.float64],
    rng: np.random.Generator,
    training: npt.NDArray[np.float64] | None = None,
    tree_events: int = 5_000,
    query_events: int = 1_000,
) -> NeighbourResult:
    """Compare nearest-neighbour distances of generated and reference showers.

    Args:
        reference: ``(n_ref, d)`` normalised voxels (see :func:`normalised_voxels`).
        generated: ``(n_gen, d)``.
        rng: seeds the subsets.
        training: ``(n_train, d)`` showers the generator was trained on; without it a
            reference half serves as memory set (then the memorisation ratio tests only
            closeness to the reference).
        tree_events: size of each memory set (capped by the samples).
        query_events: queries per comparison (capped by the samples).
    """
    n_small = min(len(reference), len(generated))
    if n_small < 4:
        raise ValueError(f"nearest-neighbour check needs >= 4 events per sample, found {n_small}")
    n_query = min(query_events, n_small // 2)
    n_tree = min(tree_events, n_small - n_query)
    if training is not None:
        n_tree = min(n_tree, len(training))
    ref_q, ref_t = _split(reference, n_query, n_tree, rng)
    gen_q, gen_t = _split(generated, n_query, n_tree, rng)
    if training is not None:
        memory = training[rng.choice(len(training), n_tree, replace=False)]
        ref_to_memory = _nearest(memory, ref_q)
        gen_to_memory = _nearest(memory, gen_q)
        ref_to_ref = _nearest(ref_t, ref_q)
        kind = "training"
    else:
        ref_to_ref = _nearest(ref_t, ref_q)
        ref_to_memory = ref_to_ref
        gen_to_memory = _nearest(ref_t, gen_q)
        kind = "reference"
    gen_to_gen = _nearest(gen_t, gen_q)
    cut = float(np.quantile(ref_to_memory, 0.01))
    return NeighbourResult(
        gen_to_memory=gen_to_memory,
        ref_to_memory=ref_to_memory,
        gen_to_gen=gen_to_gen,
        ref_to_ref=ref_to_ref,
        memory=kind,
        memorisation_ratio=_ratio(gen_to_memory, ref_to_memory),
        collapse_ratio=_ratio(gen_to_gen, ref_to_ref),
        copy_fraction=float(np.mean(gen_to_memory < cut)),
    )
