"""Run exported generators with onnxruntime: :class:`OnnxSimulator` and :func:`generate_onnx`.

The noise is drawn exactly as the torch :class:`~fastcalogan.generate.Simulator` draws it
(a CPU ``torch.Generator`` seeded from the caller's ``rng``, range by range, batch by
batch), so the same seed gives the same showers from a run folder and from its export, to
float32 rounding.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import __version__
from ..errors import ModelError
from ..geometry import Geometry, geometry_from_mapping
from ..models import NoiseSpec
from ..preprocess import ConditionsLike, FittedCondition, condition_matrix
from ..train import EnergyRouting
from .api import GenerateResult, write_generated
from .config import GenerateConfig
from .graph import (
    CONDITIONS_INPUT,
    INPUT_NAMES,
    ONNX_FORMAT,
    OUTPUT_NAME,
    SIDECAR_CHECKSUM,
    file_sha256,
    sidecar_path,
    verify_sidecar,
)
from .simulator import add_rest_mass, prepare_request

__all__ = ["OnnxSimulator", "create_session", "generate_onnx"]

log = logging.getLogger(__name__)


def create_session(path: str | os.PathLike[str], threads: int | None = None) -> Any:
    """An onnxruntime CPU session tuned for small MLPs.

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads (``None``: onnxruntime's default, one per core).

    All graph optimisations are on (Gemm+activation fusion, constant folding); execution is
    sequential with one inter-op thread (the graph is a chain), and idle intra-op threads
    do not spin, which matters on a shared machine.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    if threads is not None:
        opts.intra_op_num_threads = int(threads)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ModelError(f"{path}: cannot load ONNX model ({first})") from err


class OnnxSimulator:
    """Showers from an exported generator, with the interface of :class:`Simulator`.

    Args:
        path: the ``.onnx`` file; its sidecar ``<stem>.json`` must sit beside it.
        threads: onnxruntime intra-op threads (``None``: one per core).
        block_rows: rows per onnxruntime call inside :meth:`run` (cache blocking).
    """

    def __init__(
        self, path: str | os.PathLike[str], threads: int | None = None, block_rows: int = 1024
    ) -> None:
        self.path = Path(path)
        self.block_rows = max(1, int(block_rows))
        side = sidecar_path(self.path)
        try:
            self.sidecar: dict[str, Any] = json.loads(side.read_text())
        except (OSError, json.JSONDecodeError) as err:
            why = err.strerror if isinstance(err, OSError) else f"not JSON: {err}"
            raise ModelError(
                f"{side}: cannot read the sidecar of {self.path.name} ({why})"
            ) from err
        if self.sidecar.get("format") != ONNX_FORMAT:
            raise ModelError(f"{side}: not a fastcalogan ONNX sidecar (format {ONNX_FORMAT!r})")
        self._verify(side)
        self.binning: Geometry = geometry_from_mapping(self.sidecar["binning"], str(side))
        self.noise = NoiseSpec.from_description(self.sidecar["noise"], str(side))
        self.ranges = [(float(a), float(b)) for a, b in self.sidecar["ranges"]]
        self.routing = EnergyRouting(self.ranges)
        try:
            # sidecars of models of the energy alone (and older ones) have no such input
            spec = (self.sidecar.get("inputs") or {}).get(CONDITIONS_INPUT)
            self.condition_names: tuple[str, ...] = tuple(spec["names"]) if spec else ()
            self._conditions = tuple(
                FittedCondition.from_dict(c) for c in (spec["transforms"] if spec else ())
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ModelError(
                f"{side}: unreadable 'conditions' input (expected names and transforms): {err}"
            ) from err
        #: ``fp32`` or ``int8`` (``export --precision``); older sidecars are fp32
        self.precision = str(self.sidecar.get("precision", "fp32"))
        self.session = create_session(self.path, threads)

    def _verify(self, side: Path) -> None:
        """Check the sidecar against its checksum and the model against the sidecar's."""
        if SIDECAR_CHECKSUM not in self.sidecar:
            log.warning(
                "%s: exported before exports carried checksums; the model is read unverified "
                "(export it again to add them)",
                side,
            )
            return
        if not verify_sidecar(self.sidecar, str(side)):
            raise ModelError(
                f"{side}: corrupt sidecar: its contents do not match its checksum (the file was "
                "changed after export); export the model again"
            )
        stored, found = self.sidecar.get("onnx_sha256"), file_sha256(self.path)
        if stored != found:
            raise ModelError(
                f"{self.path}: corrupt ONNX model: its bytes do not match the checksum in "
                f"{side.name} (stored {str(stored)[:19]}..., found {found[:19]}...); export "
                "the model again"
            )

    @property
    def particle(self) -> str:
        """The particle the generator was trained on."""
        return str(self.sidecar["particle"])

    @property
    def eta(self) -> tuple[float, float]:
        """The |eta| slice."""
        lo, hi = self.sidecar["eta"]
        return (float(lo), float(hi))

    @property
    def energy_range(self) -> tuple[float, float]:
        """Lowest and highest trained incident energy, MeV."""
        return self.routing.energy_range

    def condition_values(
        self, conditions: ConditionsLike | None, n_events: int
    ) -> npt.NDArray[np.float64]:
        """Conditions given by a caller, checked: ``(n_events, k)`` in the graph's order.

        Raises:
            ModelError: missing names (listed), wrong shapes, non-finite values, codes out of
                range.
        """
        source = f"{self.path.name} conditions"
        values = condition_matrix(conditions, self.condition_names, n_events, source)
        for j, fitted in enumerate(self._conditions):
            fitted.check(values[:, j], source)
        return values

    def run(
        self,
        noise: npt.ArrayLike,
        incident_energies: npt.ArrayLike,
        conditions: npt.ArrayLike | None = None,
    ) -> npt.NDArray[np.float32]:
        """The graph on ``noise (B, latent)``, energies ``(B,)`` MeV [and ``conditions
        (B, k)``] -> ``(B, n_voxels)`` MeV.

        Batches above :attr:`block_rows` run block by block: the activations of a block stay
        in the CPU caches, which is faster than one pass over a large batch.
        """
        z = np.ascontiguousarray(noise, dtype=np.float32)
        e = np.ascontiguousarray(incident_energies, dtype=np.float32).reshape(-1, 1)
        c = None
        if self.condition_names:
            if conditions is None:
                raise ModelError(
                    f"{self.path.name}: the model needs the conditions "
                    f"{', '.join(self.condition_names)} (batch, {len(self.condition_names)})"
                )
            c = np.ascontiguousarray(conditions, dtype=np.float32).reshape(e.shape[0], -1)

        def feed(sl: slice) -> dict[str, npt.NDArray[np.float32]]:
            out = {INPUT_NAMES[0]: z[sl], INPUT_NAMES[1]: e[sl]}
            if c is not None:
                out[CONDITIONS_INPUT] = c[sl]
            return out

        n, block = z.shape[0], self.block_rows
        if n <= block:
            first: npt.NDArray[np.float32] = self.session.run([OUTPUT_NAME], feed(slice(0, n)))[0]
            return first
        result = np.empty((n, self.binning.n_voxels), dtype=np.float32)
        for start in range(0, n, block):
            sl = slice(start, start + block)
            result[sl] = self.session.run([OUTPUT_NAME], feed(sl))[0]
        return result

    def simulate(
        self,
        energies_mev: npt.ArrayLike,
        rng: np.random.Generator | int,
        batch_size: int = 10_000,
        particle: str | None = None,
        conditions: ConditionsLike | None = None,
    ) -> npt.NDArray[np.float32]:
        """Showers at the given energies, as :meth:`Simulator.simulate` (same noise per seed).

        Args:
            energies_mev: shape ``(n,)``, MeV.
            rng: seed or generator.
            batch_size: rows per onnxruntime call (and per noise draw).
            particle: another particle of the same shower type (antiprotons add their rest
                mass to the deposit).
            conditions: each event's conditions (:attr:`condition_names`), required when the
                model has any, as for :meth:`Simulator.simulate`.

        Returns:
            Voxel energies ``(n, n_voxels)``, MeV, float32.
        """
        energies, offset, noise_gen = prepare_request(energies_mev, rng, particle, self.particle)
        values = self.condition_values(conditions, energies.size)
        which = self.routing.route(energies)
        step = max(1, int(batch_size))
        noise = np.empty((energies.size, self.noise.width), dtype=np.float32)
        for k in range(len(self.ranges)):
            idx = np.flatnonzero(which == k)
            for start in range(0, idx.size, step):
                rows = idx[start : start + step]
                noise[rows] = self.noise.sample(rows.size, noise_gen).numpy()
        out = np.empty((energies.size, self.binning.n_voxels), dtype=np.float32)
        for start in range(0, energies.size, step):
            sl = slice(start, start + step)
            out[sl] = self.run(noise[sl], energies[sl], values[sl] if values.shape[1] else None)
        return add_rest_mass(out, offset)

    def __repr__(self) -> str:
        lo, hi = self.energy_range
        return (
            f"OnnxSimulator({self.path.name}: {self.particle}, |eta| {self.eta[0]:.2f}-"
            f"{self.eta[1]:.2f}, {self.binning.n_voxels} voxels, {lo:g}-{hi:g} MeV, "
            f"{len(self.ranges)} range(s))"
        )


def generate_onnx(
    config: GenerateConfig,
    onnx_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    threads: int | None = None,
) -> GenerateResult:
    """:func:`~fastcalogan.generate.generate` from an exported model, run with onnxruntime.

    Args:
        config: energies, counts, seed, batch size and particle (``device`` and
            ``checkpoint`` do not apply and are ignored).
        onnx_path: a model written by :func:`export_onnx` (sidecar beside it).
        out_path: CaloChallenge HDF5 file, written atomically.
        threads: onnxruntime intra-op threads.

    Returns:
        Path, counts and speed (``checkpoints`` holds the ONNX file).
    """
    if config.precision != "fp32":
        raise ModelError(
            f"precision: {config.precision} applies to the torch generator (RUN_DIR); an "
            "exported model's precision is chosen at export (export --precision int8)"
        )
    t0 = time.perf_counter()
    sim = OnnxSimulator(onnx_path, threads)
    attrs = {
        "particle": config.particle or sim.particle,
        "eta_min": sim.eta[0],
        "eta_max": sim.eta[1],
        "fastcalogan_version": __version__,
        "seed": config.seed,
        "generator": "fastcalogan-onnx",
        "source": str(onnx_path),
        "precision": sim.precision,
    }
    return write_generated(sim, config, out_path, attrs, (Path(onnx_path),), t0)
