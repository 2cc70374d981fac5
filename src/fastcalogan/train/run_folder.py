"""The run folder: the one piece of code that knows where a training run keeps its files.

Layout of a run (``fastcalogan train`` writes it, ``select`` adds ``selection/``)::

    run.json                      what was trained: data, particle, |eta|, binning, family
    config.yaml                   the resolved TrainConfig
    preprocess.json               the fitted preprocessing
    binning.yaml                  the voxel binning
    losses.csv                    iteration, the family's loss columns, active_points
    train.log                     the log of every training call
    checkpoints/ckpt-NNNNNNNN.pt  self-describing checkpoints (see ``checkpoint.py``)
    selection/best.json           the checkpoint chosen by ``fastcalogan select``
    selection/chi2.csv, chi2.json, chi2.png   the selection table and its plot

A photon run split in momentum ranges holds a ``run.json`` with ``split``, ``ranges`` and
``subruns`` and one such folder per range (``range-0``, ``range-1``, ...).

Readers use :class:`RunFolder`; writers get a :class:`RunWriter` from
:meth:`RunFolder.writing`, the single call through which every write goes; it holds the
folder's writer lock (``.training.lock`` or ``.selection.lock``, with the holder's pid and host
in ``<lock>.json``). The selection table's rows are :class:`SelectionRow` objects; their
``"chi2_ndf E=..."`` keys are produced and parsed only here.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from .._fileio import atomic_path, write_json, write_text
from .._locking import exclusive_writer
from ..data import Chi2Result
from ..errors import CheckpointError
from ..geometry import Geometry, write_geometry_yaml
from ..preprocess import Preprocessor

__all__ = [
    "BestCheckpoint",
    "PartScore",
    "PointScore",
    "RunFolder",
    "RunInfo",
    "RunWriter",
    "SelectionRow",
    "checkpoint_iteration",
    "checkpoint_path",
    "list_checkpoints",
]

#: What each writer of a run folder does, and what to do when another holds the folder.
_PURPOSES: dict[str, tuple[str, str]] = {
    "training": (
        "a training into this run folder",
        "wait for it to end, or train into another -o folder",
    ),
    "selection": ("a selection of this run's checkpoints", "wait for it to end"),
}

_CHECKPOINT_NAME = re.compile(r"^ckpt-(\d{8,})\.pt$")
_POINT_RATIO = "chi2_ndf E="
_POINT_CHI2 = "chi2 E="
_POINT_NDF = "ndf E="
# sample sizes and the unbinned companion; absent from tables written before they existed
_POINT_N_REF = "n_ref E="
_POINT_N_GEN = "n_gen E="
_POINT_W1 = "w1 E="
#: Column prefixes of the parts of a figure of merit (``chi2 part=etot``, ...).
_PART_CHI2 = "chi2 part="
_PART_NDF = "ndf part="
_PART_RATIO = "chi2_ndf part="
_PART_WEIGHT = "weight part="


def _energy_text(energy: float) -> str:
    """How an energy point is written in table keys and labels (``1024``, ``3000.5``)."""
    return f"{energy:.10g}"


def _number(value: Any, key: str, source: str) -> float:
    """A JSON number of a table; ``null`` is the infinity that JSON cannot hold."""
    if value is None:
        return math.inf
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{source}: {key} must be a number, found {value!r}") from err


def _optional(record: Mapping[str, Any], key: str, default: float, source: str) -> float:
    """A number of a table column that older tables lack (``default`` then, or when empty)."""
    value = record.get(key)
    if value is None or value == "":
        return default
    return _number(value, key, source)


# ----- the selection table ---------------------------------------------------------------------
@dataclass(frozen=True)
class PointScore:
    """chi2 and NDF of one energy point of one checkpoint, with what they need to be read.

    chi2/NDF of two finite samples cannot exceed ``(N + M) / NDF`` (:attr:`ceiling`): near it
    the samples barely overlap and the number says only that (:attr:`saturated`). The 1-D
    Wasserstein distance of E_tot/E_inc (:attr:`wasserstein`) has no ceiling and does not grow
    with the sample size, so it still ranks checkpoints there.

    >>> p = PointScore(1024.0, 6.0, 3, n_reference=100, n_generated=100)
    >>> p.chi2_ndf, p.label, round(p.ceiling, 1), p.saturated
    (2.0, 'E=1024', 66.7, False)
    """

    energy: float
    chi2: float
    ndf: int
    n_reference: float = 0.0
    n_generated: float = 0.0
    wasserstein: float = math.nan

    @property
    def chi2_ndf(self) -> float:
        """chi2 / NDF, infinite without degrees of freedom."""
        return self._result.chi2_ndf

    @property
    def ceiling(self) -> float:
        """The largest chi2/NDF these sample sizes allow, ``(N + M) / NDF``."""
        return self._result.ceiling

    @property
    def saturated(self) -> bool:
        """chi2 is close to its ceiling: the two samples barely overlap."""
        return self._result.saturated

    @property
    def _result(self) -> Chi2Result:
        return Chi2Result(self.chi2, self.ndf, self.n_reference, self.n_generated)

    @property
    def label(self) -> str:
        """``E=<energy in MeV>``, as in plots and logs."""
        return f"E={_energy_text(self.energy)}"


@dataclass(frozen=True)
class PartScore:
    """One part of a figure of merit of one checkpoint: chi2 and NDF summed over the energy
    points, and the part's weight in the figure (0: shown, not ranked).

    >>> PartScore("etot", 30.0, 10, 1.0).chi2_ndf
    3.0
    """

    name: str
    chi2: float
    ndf: int
    weight: float = 0.0

    @property
    def chi2_ndf(self) -> float:
        """chi2 / NDF, infinite without degrees of freedom."""
        return self.chi2 / self.ndf if self.ndf > 0 else math.inf


@dataclass(frozen=True)
class SelectionRow:
    """One checkpoint's line of the selection table.

    Attributes:
        iteration: the checkpoint's training iteration.
        checkpoint: its path relative to the (sub-)run folder.
        chi2, ndf: summed over every histogram of every energy point.
        points: per energy point, in increasing energy.
        range: the sub-run (``range-k``) of a split run's combined table, else ``None``.
        parts: the parts of the figure of merit (``etot``, ``layers``, ``centre_r``,
            ``width_r``, ``layer <id>``; see :class:`PartScore`); empty for ``etot``.
    """

    iteration: int
    checkpoint: str
    chi2: float
    ndf: int
    points: tuple[PointScore, ...] = ()
    range: str | None = None
    parts: tuple[PartScore, ...] = ()

    @property
    def merit(self) -> float:
        """What selection ranks by: the weighted mean of the parts' chi2/NDF where a part has a
        weight (the ``extended`` figure of merit), else the total :attr:`chi2_ndf`.

        >>> row = SelectionRow(1, "c", 50.0, 20, parts=(
        ...     PartScore("etot", 20.0, 10, 1.0), PartScore("layers", 30.0, 10, 3.0)))
        >>> row.chi2_ndf, row.merit
        (2.5, 2.75)
        """
        weighted = [p for p in self.parts if p.weight > 0]
        if not weighted:
            return self.chi2_ndf
        return sum(p.weight * p.chi2_ndf for p in weighted) / sum(p.weight for p in weighted)

    def part(self, name: str) -> PartScore | None:
        """The part called ``name``, if the figure of merit has it."""
        return next((p for p in self.parts if p.name == name), None)

    @property
    def chi2_ndf(self) -> float:
        """Total chi2 / NDF (infinite without degrees of freedom)."""
        return self.chi2 / self.ndf if self.ndf > 0 else math.inf

    @property
    def ceiling(self) -> float:
        """The largest total chi2/NDF the sample sizes allow: summed ``N + M`` over summed NDF."""
        return Chi2Result(
            self.chi2,
            self.ndf,
            sum(p.n_reference for p in self.points),
            sum(p.n_generated for p in self.points),
        ).ceiling

    @property
    def n_saturated(self) -> int:
        """Energy points whose chi2/NDF is close to its ceiling."""
        return sum(p.saturated for p in self.points)

    @property
    def saturated_everywhere(self) -> bool:
        """Every energy point is saturated: chi2/NDF then follows the NDF, not the distance,
        and selection ranks such checkpoints by :attr:`wasserstein` alone."""
        return bool(self.points) and self.n_saturated == len(self.points)

    @property
    def wasserstein(self) -> float:
        """Mean over energy points of the 1-D Wasserstein distance of E_tot/E_inc."""
        values = [p.wasserstein for p in self.points if math.isfinite(p.wasserstein)]
        return sum(values) / len(values) if values else math.nan

    def to_record(self) -> dict[str, Any]:
        """The row as the table stores it (CSV columns and JSON keys), in column order."""
        record: dict[str, Any] = {} if self.range is None else {"range": self.range}
        record.update(
            iteration=self.iteration,
            checkpoint=self.checkpoint,
            chi2=self.chi2,
            ndf=self.ndf,
            chi2_ndf=self.chi2_ndf,
            chi2_ndf_ceiling=self.ceiling,
            n_saturated=self.n_saturated,
            w1=self.wasserstein,
        )
        columns = {
            _POINT_RATIO: lambda p: p.chi2_ndf,
            _POINT_CHI2: lambda p: p.chi2,
            _POINT_NDF: lambda p: p.ndf,
            _POINT_N_REF: lambda p: p.n_reference,
            _POINT_N_GEN: lambda p: p.n_generated,
            _POINT_W1: lambda p: p.wasserstein,
        }
        for prefix, value in columns.items():
            for p in self.points:
                record[prefix + _energy_text(p.energy)] = value(p)
        if self.parts:
            record["merit"] = self.merit
            for part in self.parts:
                record[_PART_RATIO + part.name] = part.chi2_ndf
                record[_PART_CHI2 + part.name] = part.chi2
                record[_PART_NDF + part.name] = part.ndf
                record[_PART_WEIGHT + part.name] = part.weight
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any], source: str = "<table>") -> SelectionRow:
        """Parse a stored row; :class:`CheckpointError` naming ``source`` if malformed."""
        if not isinstance(record, Mapping):
            raise CheckpointError(f"{source}: a selection row must be a mapping, found {record!r}")
        try:
            energies = sorted(
                float(k.removeprefix(_POINT_RATIO)) for k in record if k.startswith(_POINT_RATIO)
            )
            points = tuple(
                PointScore(
                    e,
                    _number(record[_POINT_CHI2 + _energy_text(e)], "chi2", source),
                    int(record[_POINT_NDF + _energy_text(e)]),
                    _optional(record, _POINT_N_REF + _energy_text(e), 0.0, source),
                    _optional(record, _POINT_N_GEN + _energy_text(e), 0.0, source),
                    _optional(record, _POINT_W1 + _energy_text(e), math.nan, source),
                )
                for e in energies
            )
            parts = tuple(
                PartScore(
                    name,
                    _number(record[_PART_CHI2 + name], "chi2", source),
                    int(record[_PART_NDF + name]),
                    _optional(record, _PART_WEIGHT + name, 0.0, source),
                )
                for name in (k.removeprefix(_PART_CHI2) for k in record if k.startswith(_PART_CHI2))
            )
            return cls(
                iteration=int(record["iteration"]),
                checkpoint=str(record["checkpoint"]),
                chi2=_number(record["chi2"], "chi2", source),
                ndf=int(record["ndf"]),
                points=points,
                range=None if record.get("range") is None else str(record["range"]),
                parts=parts,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(
                f"{source}: malformed selection row (expected iteration, checkpoint, chi2, ndf "
                f"and chi2/ndf per energy point; found keys {sorted(record)}): {err}"
            ) from err


@dataclass(frozen=True)
class BestCheckpoint:
    """``selection/best.json``: the checkpoint chosen by the last selection.

    Attributes:
        checkpoint: path relative to the run folder.
        iteration: its iteration.
        chi2_ndf: its total chi2/NDF.
        figure_of_merit: what was compared (``etot``, ``etot+layers`` or ``extended``).
    """

    checkpoint: str
    iteration: int
    chi2_ndf: float
    figure_of_merit: str

    @classmethod
    def of_row(cls, row: SelectionRow, figure_of_merit: str) -> BestCheckpoint:
        """The record of a chosen table row."""
        return cls(row.checkpoint, row.iteration, row.chi2_ndf, figure_of_merit)


# ----- run.json --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunInfo:
    """``run.json``: what a run was trained on; a split run's also lists its sub-runs.

    Every field is optional on reading (hand-made and older folders hold fewer); a split run
    must list its ``subruns``. Provenance: ``fastcalogan_version``, ``git_hash``,
    ``data_sha256`` (SHA-256 of the training data file), ``versions`` (fastcalogan, Python,
    torch, numpy, h5py, onnx, onnxruntime), ``device`` (``cpu``, ``cuda:0 (GPU name)``) and
    ``host`` (the machine's name).
    """

    data: str | None = None
    particle: str | None = None
    eta: tuple[float, float] | None = None
    binning: str | None = None
    family: str | None = None
    energy_points: tuple[float, ...] = ()
    energy_range: tuple[float, float] | None = None
    split: str | None = None
    ranges: tuple[tuple[float, float], ...] = ()
    subruns: tuple[str, ...] = ()
    fastcalogan_version: str | None = None
    git_hash: str | None = None
    data_sha256: str | None = None
    versions: Mapping[str, str | None] | None = None
    device: str | None = None
    host: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (fields that are unset are left out)."""
        out: dict[str, Any] = {}
        for key, value in vars(self).items():
            if value is None or value == ():
                continue
            if key == "ranges":
                value = [list(v) for v in value]
            elif key == "versions":
                value = dict(value)
            out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str) -> RunInfo:
        """Parse ``run.json`` content; :class:`CheckpointError` naming ``source`` if malformed."""
        expected = "expected a JSON object (a split run with a list of 'subruns')"
        if not isinstance(data, Mapping):
            raise CheckpointError(
                f"{source}: unreadable run description ({expected}; found {type(data).__name__})"
            )
        try:
            split = data.get("split") or None
            subruns = tuple(str(s) for s in data.get("subruns") or ())
            if split and (not subruns or not isinstance(data["subruns"], list)):
                raise ValueError(f"split run without a list of subruns: {data.get('subruns')!r}")
            eta = data.get("eta")
            energy_range = data.get("energy_range")
            return cls(
                data=None if data.get("data") is None else str(data["data"]),
                particle=None if data.get("particle") is None else str(data["particle"]),
                eta=None if eta is None else (float(eta[0]), float(eta[1])),
                binning=None if data.get("binning") is None else str(data["binning"]),
                family=None if data.get("family") is None else str(data["family"]),
                energy_points=tuple(float(e) for e in data.get("energy_points") or ()),
                energy_range=(
                    None
                    if energy_range is None
                    else (float(energy_range[0]), float(energy_range[1]))
                ),
                split=None if split is None else str(split),
                ranges=tuple((float(a), float(b)) for a, b in data.get("ranges") or ()),
                subruns=subruns,
                fastcalogan_version=data.get("fastcalogan_version"),
                git_hash=data.get("git_hash"),
                data_sha256=None if data.get("data_sha256") is None else str(data["data_sha256"]),
                versions=(
                    None
                    if data.get("versions") is None
                    else {str(k): v if v is None else str(v) for k, v in data["versions"].items()}
                ),
                device=None if data.get("device") is None else str(data["device"]),
                host=None if data.get("host") is None else str(data["host"]),
            )
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise CheckpointError(
                f"{source}: unreadable run description ({expected}; {err})"
            ) from err


# ----- the folder ------------------------------------------------------------------------------
class RunFolder:
    """A training run folder (or one range of a split run); reading only.

    Args:
        path: the folder; it need not exist (see :meth:`open` for a checked one).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunFolder) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @classmethod
    def open(cls, path: str | os.PathLike[str], or_checkpoint: bool = False) -> RunFolder:
        """The run folder at ``path``; :class:`CheckpointError` if there is no such folder.

        Args:
            path: the folder.
            or_checkpoint: the caller also takes a checkpoint file (the message says so).
        """
        folder = cls(path)
        if not folder.path.is_dir():
            what = "run folder or checkpoint" if or_checkpoint else "run folder"
            raise CheckpointError(
                f"{folder.path}: no such {what} (expected a folder written by "
                "'fastcalogan train', holding run.json and checkpoints/"
                + (", or a checkpoint file)" if or_checkpoint else ")")
            )
        return folder

    @classmethod
    def of_checkpoint(cls, checkpoint: str | os.PathLike[str]) -> RunFolder:
        """The run folder a checkpoint file lies in (``<run>/checkpoints/ckpt-*.pt``)."""
        return cls(Path(checkpoint).parent.parent)

    # ----- files ---------------------------------------------------------------------------
    @property
    def run_json(self) -> Path:
        """``run.json``."""
        return self.path / "run.json"

    @property
    def config_yaml(self) -> Path:
        """``config.yaml`` (the resolved training config)."""
        return self.path / "config.yaml"

    @property
    def preprocess_json(self) -> Path:
        """``preprocess.json``."""
        return self.path / "preprocess.json"

    @property
    def binning_yaml(self) -> Path:
        """``binning.yaml``."""
        return self.path / "binning.yaml"

    @property
    def losses_csv(self) -> Path:
        """``losses.csv``."""
        return self.path / "losses.csv"

    @property
    def train_log(self) -> Path:
        """``train.log``."""
        return self.path / "train.log"

    @property
    def checkpoint_dir(self) -> Path:
        """``checkpoints/``."""
        return self.path / "checkpoints"

    @property
    def selection_dir(self) -> Path:
        """``selection/``."""
        return self.path / "selection"

    @property
    def best_json(self) -> Path:
        """``selection/best.json``."""
        return self.selection_dir / "best.json"

    @property
    def selection_csv(self) -> Path:
        """``selection/chi2.csv``."""
        return self.selection_dir / "chi2.csv"

    @property
    def selection_json(self) -> Path:
        """``selection/chi2.json`` (the table's rows and what was compared)."""
        return self.selection_dir / "chi2.json"

    @property
    def selection_plot(self) -> Path:
        """``selection/chi2.png``."""
        return self.selection_dir / "chi2.png"

    def relative(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to the folder, as tables and ``best.json`` record it."""
        return str(Path(path).relative_to(self.path))

    # ----- checkpoints -----------------------------------------------------------------------
    def checkpoint_path(self, iteration: int) -> Path:
        """``checkpoints/ckpt-00001000.pt`` for iteration 1000."""
        return self.checkpoint_dir / f"ckpt-{iteration:08d}.pt"

    def checkpoints(self) -> list[Path]:
        """The folder's checkpoints by iteration (temporary and foreign names are ignored)."""
        if not self.checkpoint_dir.is_dir():
            return []
        found = [
            (int(m.group(1)), p)
            for p in self.checkpoint_dir.iterdir()
            if (m := _CHECKPOINT_NAME.match(p.name))
        ]
        return [p for _, p in sorted(found)]

    def latest_checkpoint(self) -> Path:
        """The last checkpoint; :class:`CheckpointError` if there is none."""
        found = self.checkpoints()
        if not found:
            raise CheckpointError(
                f"{self.path}: no checkpoints in {self.checkpoint_dir} (expected "
                "ckpt-NNNNNNNN.pt files written by 'fastcalogan train')"
            )
        return found[-1]

    # ----- description -----------------------------------------------------------------------
    def info(self) -> RunInfo | None:
        """``run.json``, or ``None`` where the folder has none."""
        if not self.run_json.is_file():
            return None
        try:
            data = json.loads(self.run_json.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CheckpointError(
                f"{self.run_json}: unreadable run description (expected JSON: {err})"
            ) from err
        return RunInfo.from_dict(data, str(self.run_json))

    def part_name(self, k: int) -> str:
        """Name of the ``k``-th range folder of a split run (``range-k``)."""
        return f"range-{k}"

    def parts(self) -> list[RunFolder]:
        """The folders holding checkpoints: the sub-runs of a split run, else ``[self]``."""
        info = self.info()
        if info is None or not info.split:
            return [self]
        return [RunFolder(self.path / name) for name in info.subruns]

    @property
    def is_split(self) -> bool:
        """Whether the run is split in energy ranges (``range-k`` sub-runs)."""
        info = self.info()
        return info is not None and bool(info.split)

    # ----- selection ---------------------------------------------------------------------------
    def best(self) -> BestCheckpoint | None:
        """``selection/best.json``, or ``None`` before any selection."""
        path = self.best_json
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            return BestCheckpoint(
                checkpoint=str(data["checkpoint"]),
                iteration=int(data.get("iteration", -1)),
                chi2_ndf=_number(data.get("chi2_ndf"), "chi2_ndf", str(path)),
                figure_of_merit=str(data.get("figure_of_merit", "etot")),
            )
        except (OSError, json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
            raise CheckpointError(
                f"{path}: unreadable selection (expected a JSON object with 'checkpoint'; {err})"
            ) from err
        except ValueError as err:
            raise CheckpointError(f"{path}: unreadable selection ({err})") from err

    def selected_checkpoint(self) -> Path | None:
        """The checkpoint of :meth:`best`, or ``None`` before any selection."""
        best = self.best()
        if best is None:
            return None
        path = self.path / best.checkpoint
        if not path.is_file():
            raise CheckpointError(
                f"{self.best_json}: the selected checkpoint {best.checkpoint} is missing "
                "(rerun 'fastcalogan select')"
            )
        return path

    def checkpoint_to_use(self) -> tuple[Path, bool]:
        """The selected checkpoint, else the latest: ``(path, whether it was selected)``."""
        chosen = self.selected_checkpoint()
        if chosen is not None:
            return chosen, True
        return self.latest_checkpoint(), False

    def selection_rows(self) -> list[SelectionRow]:
        """The rows of the last selection table (``selection/chi2.json``)."""
        path = self.selection_json
        try:
            data = json.loads(path.read_text())
            records = data["rows"]
        except (OSError, json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
            raise CheckpointError(
                f"{path}: unreadable selection table (expected JSON with 'rows'; {err})"
            ) from err
        return [SelectionRow.from_record(r, str(path)) for r in records]

    # ----- writing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(
        self, purpose: Literal["training", "selection"] = "training"
    ) -> Iterator[RunWriter]:
        """Open the folder for writing (creating it); every write goes through the writer.

        One process at a time trains into a run folder, and one at a time selects in it: a
        second gets a :class:`~fastcalogan.errors.LockError` naming the first one's pid and
        host. A selection may run beside a training: they write different files (the
        selection only ``selection/``) and checkpoints appear atomically.

        Args:
            purpose: ``training`` (run files, checkpoints, losses) or ``selection``
                (``selection/``).
        """
        what, advice = _PURPOSES[purpose]
        with exclusive_writer(self.path, purpose, what, advice):
            yield RunWriter(self)


class RunWriter:
    """Writes the files of a run folder; get one from :meth:`RunFolder.writing`."""

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder

    def part(self, k: int) -> RunWriter:
        """The writer of the ``k``-th range of a split run (under the same opening)."""
        sub = RunFolder(self.folder.path / self.folder.part_name(k))
        sub.path.mkdir(parents=True, exist_ok=True)
        return RunWriter(sub)

    def write_info(self, info: RunInfo) -> Path:
        """``run.json``."""
        return write_json(self.folder.run_json, info.to_dict())

    def write_config(self, config: Mapping[str, Any]) -> Path:
        """``config.yaml`` from a JSON-ready mapping (key order kept)."""
        return write_text(self.folder.config_yaml, yaml.safe_dump(dict(config), sort_keys=False))

    def write_preprocess(self, preprocessor: Preprocessor) -> Path:
        """``preprocess.json``: the fitted preprocessing."""
        return preprocessor.save(self.folder.preprocess_json)

    def write_binning(self, binning: Geometry) -> Path:
        """``binning.yaml``: the geometry's serialised form."""
        return write_geometry_yaml(binning, self.folder.binning_yaml)

    def checkpoint_target(self, iteration: int) -> Path:
        """Where the checkpoint of ``iteration`` goes (written atomically by the caller)."""
        return self.folder.checkpoint_path(iteration)

    def start_losses(self, columns: Sequence[str], up_to: int) -> Path:
        """Rewrite ``losses.csv``: the header, then the old rows up to iteration ``up_to``.

        Rows beyond the last checkpoint (a killed run) are dropped; a resumed run writes them
        again, identically.
        """
        path = self.folder.losses_csv
        rows = [",".join(columns)]
        if path.exists():
            for line in path.read_text().splitlines()[1:]:
                head = line.split(",", 1)[0]
                if head.isdigit() and int(head) <= up_to:
                    rows.append(line)
        return write_text(path, "\n".join(rows) + "\n")

    def append_losses(self, rows: Sequence[str]) -> None:
        """Append rows to ``losses.csv`` and flush them to disk."""
        if not rows:
            return
        with self.folder.losses_csv.open("a") as f:
            f.write("\n".join(rows) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def write_selection(
        self,
        rows: Sequence[SelectionRow],
        summary: Mapping[str, Any],
        best: BestCheckpoint | None = None,
    ) -> Path:
        """The selection table (``chi2.csv`` and ``chi2.json``) and, if given, ``best.json``.

        Args:
            rows: the table, one row per scored checkpoint.
            summary: what ``chi2.json`` records beside the rows (config, reference, best).
            best: the chosen checkpoint of a single-range run.

        Returns:
            The CSV table.
        """
        records = [r.to_record() for r in rows]
        table = write_text(self.folder.selection_csv, _csv_text(records))
        write_json(self.folder.selection_json, {**summary, "rows": records})
        if best is not None:
            write_json(self.folder.best_json, vars(best))
        return table

    def save_figure(self, figure: Any, dpi: int = 110) -> Path:
        """``selection/chi2.png`` from a matplotlib figure."""
        path = self.folder.selection_plot
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format="png", dpi=dpi)
        return path


def _csv_text(records: Sequence[Mapping[str, Any]]) -> str:
    import csv
    import io

    columns: list[str] = []
    for record in records:
        columns += [k for k in record if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buf.getvalue()


# ----- module-level helpers (the public names of the checkpoint list) ---------------------------
def checkpoint_path(run_dir: str | os.PathLike[str], iteration: int) -> Path:
    """``run_dir/checkpoints/ckpt-00001000.pt`` for iteration 1000."""
    return RunFolder(run_dir).checkpoint_path(iteration)


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[Path]:
    """Checkpoints of a run folder (``run_dir/checkpoints/ckpt-*.pt``), by iteration.

    For a split run (``range-k`` sub-folders) use each sub-folder.
    """
    return RunFolder(run_dir).checkpoints()


def checkpoint_iteration(path: str | os.PathLike[str]) -> int:
    """The iteration encoded in a checkpoint file name (``ckpt-00001000.pt`` -> 1000)."""
    m = _CHECKPOINT_NAME.match(Path(path).name)
    if not m:
        raise CheckpointError(f"{path}: not a checkpoint name (expected ckpt-NNNNNNNN.pt)")
    return int(m.group(1))
