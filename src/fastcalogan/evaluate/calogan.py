"""CaloGAN's figures of merit: its shower shapes (Table IV), average images and the classifier
transfer table (Table II) of Paganini, de Oliveira and Nachman, PRD 97 (2018) 014021.

Two observable suites for files of the ``calogan`` geometry (3 x 96, 12 x 12, 12 x 6 cells):

* ``calogan`` (:class:`CaloGanShowerShapes`): per layer ``i`` the energy ``E_i``, the fraction
  ``E_i / E_tot``, the lateral width ``sigma_i`` (RMS of the cell-centre position along the
  eta axis, the images' rows, as CaloGAN defines it), the sparsity (share of cells with
  energy) and ``E_ratio,i = (E_1 - E_2) / (E_1 + E_2)`` of the two hottest cells; the total
  ``E_tot``, the depth-weighted total ``l_d = sum_i i E_i``, the shower depth
  ``s_d = l_d / E_tot`` and its width ``sigma_sd = sqrt(sum_i i^2 E_i / E_tot - s_d^2)``;
  all pooled over the incident energies as in the paper's figures, with their separation
  power, 1-D Wasserstein distance and means; and the average image of each layer.
* ``calogan-transfer`` (:class:`CaloGanTransfer`): e+ vs pi+ and e+ vs gamma classifiers
  trained on reference showers and tested on generated ones, and the other way round, with
  the mean and spread of the accuracy over repeated trainings. It needs the other particles'
  files, given as options of the suite (``EvaluateConfig.suite_options``, a config file):

  .. code-block:: yaml

      suite_options:
        calogan-transfer:
          particles:                      # the evaluated pair is the positron
            pion: {reference: pion-test.h5, generated: pion-gen.h5}
            photon: {reference: photon-test.h5}   # no generator: its reference stands in
          repeats: 5

  A particle without a generated file is represented by its reference sample on the
  "generated" side too (the table says so): the test then asks whether the classifier still
  recognises the generated positrons among real pions.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydantic
import torch
from torch import nn

from ..data import (
    ShowerData,
    compare_samples,
    depth_weighted_energy,
    energy_ratio_hottest,
    layer_energies,
    read_showers,
    reference_edges,
    shower_depth,
    shower_depth_width,
    sparsity,
    wasserstein_1d,
)
from ..errors import ConfigError, DataFormatError
from ..geometry import Geometry, load_geometry
from .classifier import voxel_inputs
from .suites import Suite, SuiteResult, histogram_entry, register_suite

__all__ = [
    "CaloGanShowerShapes",
    "CaloGanTransfer",
    "TransferOptions",
    "calogan_shower_shapes",
    "classifier_transfer",
    "eta_width",
    "shape_label",
]

_N_BINS = 40


def eta_width(showers: npt.NDArray[Any], geometry: Geometry) -> npt.NDArray[np.float64]:
    """CaloGAN's lateral width per layer: RMS of the cell-centre eta position (mm) weighted by
    the cell energies, ``(n_events, n_layers)``; 0 for an empty layer."""
    s = np.asarray(showers, dtype=np.float64)
    eta = geometry.voxel_eta
    out = np.zeros((s.shape[0], geometry.n_layers))
    for j, lid in enumerate(geometry.layer_ids):
        sl = geometry.layer_slice(lid)
        e = s[:, sl]
        w = e.sum(axis=1)
        m1 = np.divide(e @ eta[sl], w, out=np.zeros_like(w), where=w > 0)
        m2 = np.divide(e @ eta[sl] ** 2, w, out=np.zeros_like(w), where=w > 0)
        out[:, j] = np.sqrt(np.clip(m2 - m1 * m1, 0.0, None))
    return out


def calogan_shower_shapes(
    showers: npt.NDArray[Any], geometry: Geometry
) -> dict[str, npt.NDArray[np.float64]]:
    """The shower shapes of CaloGAN's Table IV, each ``(n_events,)``; energies in GeV.

    Keys: ``E_i``, ``E_i/E_tot``, ``sigma_i`` (mm), ``sparsity_i``, ``E_ratio_i`` for each
    layer ``i``, then ``E_tot``, ``l_d`` (GeV), ``s_d``, ``sigma_sd``.
    """
    s = np.asarray(showers)
    e = layer_energies(s, geometry) / 1000.0
    total = e.sum(axis=1)
    frac = np.divide(e, total[:, None], out=np.zeros_like(e), where=total[:, None] > 0)
    width = eta_width(s, geometry)
    sparse = sparsity(s, geometry)
    ratio = energy_ratio_hottest(s, geometry)
    out: dict[str, npt.NDArray[np.float64]] = {}
    for j in range(geometry.n_layers):
        out[f"E_{j}"] = e[:, j]
        out[f"E_{j}/E_tot"] = frac[:, j]
        out[f"sigma_{j}"] = width[:, j]
        out[f"sparsity_{j}"] = sparse[:, j]
        out[f"E_ratio_{j}"] = ratio[:, j]
    out["E_tot"] = total
    out["l_d"] = depth_weighted_energy(s, geometry) / 1000.0
    out["s_d"] = shower_depth(s, geometry)
    out["sigma_sd"] = shower_depth_width(s, geometry)
    return out


def shape_label(key: str) -> str:
    """Axis label of a key of :func:`calogan_shower_shapes`.

    >>> shape_label("E_1/E_tot"), shape_label("sigma_sd")
    ('E_1 / E_tot', 'shower-depth width sigma_sd [layers]')
    """
    fixed = {
        "E_tot": "E_tot [GeV]",
        "l_d": "depth-weighted total energy l_d [GeV]",
        "s_d": "shower depth s_d [layers]",
        "sigma_sd": "shower-depth width sigma_sd [layers]",
    }
    if key in fixed:
        return fixed[key]
    if key.endswith("/E_tot"):
        return key.replace("/", " / ")
    stem, _, i = key.rpartition("_")
    return {
        "E": f"E_{i} [GeV]",
        "sigma": f"lateral width sigma_{i} along eta [mm]",
        "sparsity": f"sparsity of layer {i} (share of cells with energy)",
        "E_ratio": f"E_ratio of layer {i}: (E_1 - E_2) / (E_1 + E_2)",
    }.get(stem, key)


class _CaloGanSuite(Suite):
    """What the CaloGAN suites share: they apply to files of the ``calogan`` cells."""

    def applies(self, geometry: Geometry, attrs: Mapping[str, Any]) -> bool:
        """Files of the ``calogan`` cells (any name or labels)."""
        return geometry.kind == "cartesian" and load_geometry("calogan").same_voxels(geometry)


class CaloGanShowerShapes(_CaloGanSuite):
    """CaloGAN's Table IV shower shapes and average images (see the module docstring)."""

    name = "calogan"
    title = "CaloGAN shower shapes (Table IV) and average images"
    note = (
        "The shower-shape variables of Paganini, de Oliveira and Nachman, PRD 97 (2018) "
        "014021, Table IV, pooled over the incident energies as in the paper's figures: layer "
        "energies and fractions, total, depth-weighted total l_d, shower depth s_d and its "
        "width, the lateral width along eta per layer, the share of cells with energy and "
        "E_ratio of the two hottest cells per layer. Separation power 0 = same shapes, 1 = "
        "disjoint (its statistical floor beside it); W1 is the 1-D Wasserstein distance over "
        "the reference's standard deviation. Below: the average image of each layer (MeV)."
    )

    def compute(
        self,
        reference: ShowerData,
        generated: ShowerData,
        geometry: Geometry,
        rng: np.random.Generator,
    ) -> SuiteResult:
        """Histograms, means, separation powers and W1 of every variable; mean images."""
        ref = calogan_shower_shapes(reference.showers, geometry)
        gen = calogan_shower_shapes(generated.showers, geometry)
        hists: dict[str, npt.NDArray[Any]] = {}
        labels: dict[str, str] = {}
        variables: dict[str, dict[str, float | None]] = {}
        rows = []
        for key, r in ref.items():
            g = gen[key]
            edges = reference_edges(r, _N_BINS)
            c = compare_samples(r, g, edges)
            sd = float(np.std(r))
            w1 = wasserstein_1d(r, g)
            stats = {
                "reference_mean": float(np.mean(r)),
                "reference_std": sd,
                "generated_mean": float(np.mean(g)),
                "generated_std": float(np.std(g)),
                "separation": c.separation,
                "separation_floor": c.separation_floor,
                "chi2_ndf": c.chi2.chi2_ndf,
                "wasserstein": w1,
                "wasserstein_over_std": w1 / sd if sd > 0 else None,
            }
            variables[key] = stats
            hkey = key.replace("/", " over ")
            hists.update(histogram_entry(hkey, r, g, edges))
            labels[hkey] = shape_label(key)
            rows.append(
                [
                    key,
                    f"{stats['reference_mean']:.4g} ± {sd:.3g}",
                    f"{stats['generated_mean']:.4g} ± {stats['generated_std']:.3g}",
                    f"{c.separation:.3f} ({c.separation_floor:.3f})",
                    "-"
                    if stats["wasserstein_over_std"] is None
                    else f"{stats['wasserstein_over_std']:.3f}",
                ]
            )
        for j, lid in enumerate(geometry.layer_ids):
            key = f"average image, layer {j}"
            hists[f"{key}/reference_image"] = geometry.layer_images(reference.showers, lid).mean(0)
            hists[f"{key}/generated_image"] = geometry.layer_images(generated.showers, lid).mean(0)
            labels[key] = "mean cell energy [MeV]"
        seps = [float(v["separation"] or 0.0) for v in variables.values()]
        return SuiteResult(
            metrics={
                "variables": variables,
                "separation_mean": float(np.mean(seps)),
                "n_reference": reference.n_events,
                "n_generated": generated.n_events,
            },
            histograms=hists,
            labels=labels,
            table={
                "header": [
                    "variable",
                    "reference mean ± std",
                    "generated mean ± std",
                    "separation (floor)",
                    "W1 / std",
                ],
                "rows": rows,
            },
        )


class _Files(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    reference: str
    generated: str | None = None


class TransferOptions(pydantic.BaseModel):
    """Options of the ``calogan-transfer`` suite (``suite_options: {calogan-transfer: ...}``).

    Attributes:
        particles: the other particles (``pion``, ``photon``), each with a ``reference`` file
            and optionally a ``generated`` one (shower files of the ``calogan`` geometry).
        repeats: trainings per cell of the table (mean and spread).
        events: at most this many showers per sample and particle.
        hidden: widths of the classifier's hidden layers.
        epochs: at most this many epochs (early stopping on a tenth of the training half).
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    particles: dict[str, _Files] = pydantic.Field(default_factory=dict)
    repeats: int = pydantic.Field(default=5, ge=1, le=50)
    events: int = pydantic.Field(default=10_000, ge=20)
    hidden: tuple[pydantic.PositiveInt, ...] = (128, 128)
    epochs: int = pydantic.Field(default=20, ge=1, le=500)


@dataclass(frozen=True)
class _Sample:
    x: npt.NDArray[np.float32]

    def halves(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        n = len(self.x) // 2
        return self.x[:n], self.x[n:]


def _inputs(data: ShowerData, events: int, rng: np.random.Generator) -> _Sample:
    idx = rng.permutation(data.n_events)[:events]
    return _Sample(voxel_inputs(data.showers[idx], data.incident_energies[idx], "linear+log"))


def _train(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.float32],
    options: TransferOptions,
    seed: int,
) -> tuple[nn.Module, npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """An MLP trained with early stopping on a tenth of ``x``; returns it and the scaling."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    n_val = max(2, len(x) // 10)
    val, tr = perm[:n_val], perm[n_val:]
    mu = x[tr].mean(axis=0)
    sd = np.where(x[tr].std(axis=0) > 0, x[tr].std(axis=0), 1.0).astype(np.float32)
    xt = torch.from_numpy(((x - mu) / sd).astype(np.float32))
    yt = torch.from_numpy(y)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        width = x.shape[1]
        for h in options.hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        model = nn.Sequential(*layers, nn.Linear(width, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    best, best_state, since = float("inf"), copy.deepcopy(model.state_dict()), 0
    for _ in range(options.epochs):
        model.train()
        order = rng.permutation(tr)
        for start in range(0, len(order), 256):
            idx = torch.from_numpy(order[start : start + 256])
            loss = loss_fn(model(xt[idx]).squeeze(1), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            v = float(loss_fn(model(xt[val]).squeeze(1), yt[val]))
        if v < best - 1e-5:
            best, best_state, since = v, copy.deepcopy(model.state_dict()), 0
        else:
            since += 1
            if since >= 3:
                break
    model.load_state_dict(best_state)
    return model.eval(), mu, sd


def _accuracy(
    model: nn.Module,
    mu: npt.NDArray[np.float32],
    sd: npt.NDArray[np.float32],
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.float32],
) -> float:
    with torch.no_grad():
        logits = model(torch.from_numpy(((x - mu) / sd).astype(np.float32))).squeeze(1).numpy()
    return float(np.mean((logits > 0) == (y > 0.5)))


def classifier_transfer(
    positron: tuple[ShowerData, ShowerData],
    others: Mapping[str, tuple[ShowerData, ShowerData | None]],
    options: TransferOptions,
    seed: int = 0,
) -> dict[str, Any]:
    """CaloGAN's Table II: accuracy of e+ vs X classifiers across reference and generated data.

    For each other particle X, a classifier of e+ (label 1) against X (label 0) is trained on
    half of the reference (or generated) showers and tested on the other half of the same
    kind and on the generated (reference) ones, ``repeats`` times with new seeds and halves.
    Inputs: cell energies over the incident energy, their log10 and log10 E_inc, standardised
    on the training half. Every sample contributes the same number of showers (the smallest
    sample's, at most ``options.events``), so the classes are balanced and 50 % is chance.

    Args:
        positron: ``(reference, generated)`` positron showers.
        others: particle -> ``(reference, generated or None)``; ``None``: the reference
            stands in for the generated sample.
        options: sizes of the classifiers and samples.
        seed: seeds the halves, initialisations and batches.

    Returns:
        ``{"pairs": {"e+ vs X": {cell: {"mean", "std", "values"}}}, "stand_ins": [...],
        "cpu_seconds": ...}`` with cells ``train reference / test reference``,
        ``train reference / test generated``, ``train generated / test generated``,
        ``train generated / test reference``.
    """
    cpu = time.process_time()
    out: dict[str, Any] = {"pairs": {}, "stand_ins": []}
    for name, (ref_x, gen_x) in others.items():
        if gen_x is None:
            out["stand_ins"].append(name)
        cells: dict[str, list[float]] = {}
        other_gen = gen_x if gen_x is not None else ref_x
        # the same number of showers in every sample: accuracies of balanced classes
        n = min(options.events, *(d.n_events for d in (*positron, ref_x, other_gen)))
        for k in range(options.repeats):
            rng = np.random.default_rng([seed, k])
            samples = {
                "reference": (_inputs(positron[0], n, rng), _inputs(ref_x, n, rng)),
                "generated": (_inputs(positron[1], n, rng), _inputs(other_gen, n, rng)),
            }
            halves = {kind: [s.halves() for s in pair] for kind, pair in samples.items()}
            for train_kind in ("reference", "generated"):
                (e_tr, _), (o_tr, _) = halves[train_kind]
                x = np.concatenate([e_tr, o_tr])
                y = np.concatenate([np.ones(len(e_tr)), np.zeros(len(o_tr))]).astype(np.float32)
                model, mu, sd = _train(x, y, options, seed * 7919 + k)
                for test_kind in ("reference", "generated"):
                    (_, e_te), (_, o_te) = halves[test_kind]
                    xt = np.concatenate([e_te, o_te])
                    yt = np.concatenate([np.ones(len(e_te)), np.zeros(len(o_te))]).astype(
                        np.float32
                    )
                    cell = f"train {train_kind} / test {test_kind}"
                    cells.setdefault(cell, []).append(_accuracy(model, mu, sd, xt, yt))
        out["pairs"][f"e+ vs {name}"] = {
            cell: {"mean": float(np.mean(v)), "std": float(np.std(v)), "values": v}
            for cell, v in cells.items()
        }
        out.setdefault("events_per_sample", {})[name] = n
    out["cpu_seconds"] = time.process_time() - cpu
    out["repeats"] = options.repeats
    return out


_PARTICLE_SYMBOL = {"pion": "pi+", "photon": "gamma"}
_CELLS = (
    "train reference / test reference",
    "train reference / test generated",
    "train generated / test generated",
    "train generated / test reference",
)


class CaloGanTransfer(_CaloGanSuite):
    """CaloGAN's classifier transfer table (Table II); see the module docstring."""

    name = "calogan-transfer"
    title = "CaloGAN classifier transfer (Table II)"
    note = (
        "Accuracy of e+ vs pi+ and e+ vs gamma classifiers (MLP on the cell energies over "
        "E_inc, their log10 and log10 E_inc) trained on reference showers and tested on "
        "generated ones and the other way round, mean ± spread over repeated trainings "
        "(Paganini, de Oliveira and Nachman, PRD 97 (2018) 014021, Table II). A generator "
        "that reproduces the particles' differences keeps the accuracy across the columns."
    )

    def __init__(self, options: TransferOptions | None = None) -> None:
        self.options = options or TransferOptions()

    def configure(self, options: Mapping[str, Any]) -> Suite:
        """A copy with ``options`` (:class:`TransferOptions`); ConfigError naming the key."""
        try:
            return CaloGanTransfer(TransferOptions.model_validate(dict(options)))
        except pydantic.ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"suite_options.calogan-transfer.{where}: {first['msg']}") from err

    def compute(
        self,
        reference: ShowerData,
        generated: ShowerData,
        geometry: Geometry,
        rng: np.random.Generator,
    ) -> SuiteResult:
        """The table, or a note saying which files it needs."""
        particle = str(reference.attrs.get("particle", "positron"))
        if not self.options.particles:
            return SuiteResult(
                metrics={
                    "skipped": "no other particles given: set suite_options.calogan-transfer"
                    ".particles (docs/calogan.md)"
                }
            )
        if particle not in ("positron", "electron"):
            raise DataFormatError(
                f"the calogan-transfer table classifies positrons against other particles; "
                f"the evaluated files are {particle}"
            )
        others: dict[str, tuple[ShowerData, ShowerData | None]] = {}
        for name, files in self.options.particles.items():
            ref = read_showers(Path(files.reference), binning=geometry)
            gen = (
                read_showers(Path(files.generated), binning=geometry, max_deposit_ratio=None)
                if files.generated
                else None
            )
            others[name] = (ref, gen)
        seed = int(rng.integers(0, 2**31))
        result = classifier_transfer((reference, generated), others, self.options, seed)
        rows = []
        stand_ins = result["stand_ins"]
        for pair, cells in result["pairs"].items():
            other = pair.removeprefix("e+ vs ")
            label = f"e+ vs {_PARTICLE_SYMBOL.get(other, other)}"
            if other in stand_ins:
                label += f" ({other}: reference on both sides)"
            rows.append(
                [label]
                + [f"{100 * cells[c]['mean']:.1f} ± {100 * cells[c]['std']:.1f} %" for c in _CELLS]
            )
        return SuiteResult(
            metrics={
                **result,
                "files": {k: v.model_dump() for k, v in self.options.particles.items()},
                "note_stand_ins": (
                    f"no generator for {', '.join(stand_ins)}: their reference showers stand in "
                    "on the generated side"
                    if stand_ins
                    else None
                ),
            },
            table={"header": ["classifier", *_CELLS], "rows": rows},
        )


register_suite(CaloGanShowerShapes())
register_suite(CaloGanTransfer())
