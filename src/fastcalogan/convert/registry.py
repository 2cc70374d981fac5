"""The formats ``convert`` reads and writes: a registry with the CaloChallenge file as hub.

Every conversion goes through a CaloChallenge shower file that carries its geometry (the
layout every stage reads): a format *reads* by writing such a file from its inputs
(``to_showers``) and *writes* by turning such a file into its own layout (``from_showers``).
A format with only one of the two is one-way (ATLAS CSV files are read, not written).

Built in, tried in this order when recognising inputs:

- ``hits``: hit files (``hits/...`` datasets; ``data.write_hits``): read by the voxeliser,
  written by voxels -> hits (``voxelise.invert_showers``);
- ``atlas-csv``: the ATLAS open-data FastCaloGAN inputs, one CSV file per energy point
  (``data.convert_atlas_csv``): read only;
- ``calochallenge``: any other file, read by ``data.iter_showers`` (so every layout that
  ``read_showers`` recognises comes in here) and rewritten with its geometry.

Another layout plugs in with :func:`register_format` (recognised before ``calochallenge``);
:func:`writer_format` makes the format of a layout that ``read_showers`` already reads from
its block writer (``append(incident_energies, showers, conditions)``, ``close(commit)``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._logging import ProgressCallback
from ..errors import ConfigError, DataFormatError
from .config import ConvertConfig

if TYPE_CHECKING:
    from ..geometry import Geometry

__all__ = [
    "HUB_FORMAT",
    "FormatReader",
    "FormatWriter",
    "ShowerFormat",
    "detect_format",
    "expand_inputs",
    "formats",
    "get_format",
    "register_format",
    "writer_format",
]

#: The format every conversion goes through.
HUB_FORMAT = "calochallenge"

#: ``to_showers(inputs, out, config, progress) -> events``: write a CaloChallenge file.
FormatReader = Callable[[Sequence[Path], Path, ConvertConfig, ProgressCallback | None], int]
#: ``from_showers(showers, out, config, progress) -> events``: write this format.
FormatWriter = Callable[[Path, Path, ConvertConfig, ProgressCallback | None], int]
#: ``open(path, geometry, attrs, condition_names)`` -> a block writer of a layout: it has
#: ``append(incident_energies, showers, conditions)`` and ``close(commit=True)``.
BlockWriterFactory = Callable[[Path, "Geometry", dict[str, Any], tuple[str, ...]], Any]
#: The same, once the output path is bound; also given the showers' storage dtype.
_Opener = Callable[["Geometry", dict[str, Any], tuple[str, ...], Any], Any]


@dataclass(frozen=True)
class ShowerFormat:
    """A file layout ``convert`` knows.

    Attributes:
        name: the name ``--to`` and ``--from`` take.
        description: a noun phrase for messages ("an ATLAS CSV file (one per energy point)").
        detect: whether the inputs (files; a folder is expanded first) are in this format;
            ``None``: never recognised, only named.
        reads_as_showers: commands read it directly as showers (``read_showers``), so they
            need no conversion first.
        to_showers: reads the format (``None``: write-only).
        from_showers: writes the format (``None``: read-only).
    """

    name: str
    description: str
    detect: Callable[[Sequence[Path]], bool] | None
    reads_as_showers: bool = False
    to_showers: FormatReader | None = None
    from_showers: FormatWriter | None = None

    @property
    def modes(self) -> str:
        """``read``, ``write`` or ``read, write``."""
        return ", ".join(
            m for m, f in (("read", self.to_showers), ("write", self.from_showers)) if f
        )


# ----- inputs --------------------------------------------------------------------------------
def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """The input files: folders are replaced by the CSV files they hold (sorted).

    Raises:
        DataFormatError: a path that does not exist, or a folder without CSV files.
    """
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv")
            if not found:
                raise DataFormatError(
                    f"{path}: a folder without CSV files (convert reads a folder of ATLAS CSV "
                    "files, one per energy point)"
                )
            out += found
        elif not path.exists():
            raise DataFormatError(f"{path}: no such file")
        else:
            out.append(path)
    if not out:
        raise DataFormatError("no input files given")
    return out


def _is_hit_file(paths: Sequence[Path]) -> bool:
    if len(paths) != 1 or paths[0].suffix.lower() == ".csv":
        return False
    import h5py

    try:
        if not h5py.is_hdf5(paths[0]):
            return False
        with h5py.File(paths[0], "r") as f:
            return "hits" in f and "showers" not in f
    except OSError:
        return False


def _is_csv(paths: Sequence[Path]) -> bool:
    return bool(paths) and all(p.suffix.lower() == ".csv" for p in paths)


def _is_single_file(paths: Sequence[Path]) -> bool:
    return len(paths) == 1 and paths[0].suffix.lower() != ".csv"


# ----- calochallenge (the hub) ---------------------------------------------------------------
def _single(paths: Sequence[Path], what: str) -> Path:
    if len(paths) != 1:
        raise ConfigError(f"{what} is read from one file; found {len(paths)} inputs")
    return paths[0]


def _copy_showers(
    path: Path,
    config: ConvertConfig,
    progress: ProgressCallback | None,
    open_writer: _Opener,
) -> int:
    """Stream any file ``iter_showers`` reads into a writer opened with its geometry."""
    import numpy as np

    from ..data import geometry_of_file, iter_showers, read_showers

    blocks = iter_showers(path, config.chunk_events)
    first = next(blocks, None)
    if first is None:
        first = read_showers(path)  # no events: the attributes and the voxel count
    geometry = _relabelled(
        geometry_of_file(
            {**first.attrs, "n_voxels": first.n_voxels},
            config.binning,
            particle=config.particle,
            source=str(path),
        ),
        config,
        first.attrs,
    )
    attrs = {
        k: v
        for k, v in first.attrs.items()
        if k not in ("geometry", "binning", "n_events", "n_voxels", "particle", "layout")
    }
    attrs.update(_labels(geometry))
    attrs.setdefault("source", str(path))
    floating = np.issubdtype(first.showers.dtype, np.floating)
    names = tuple(first.condition_names)
    writer = open_writer(geometry, attrs, names, first.showers.dtype if floating else np.float32)
    done = 0
    try:
        for block in chain([first], blocks):
            writer.append(
                block.incident_energies, block.showers, block.conditions if names else None
            )
            done += block.n_events
            if progress is not None:
                progress(done, done)
    except BaseException:
        writer.close(commit=False)
        raise
    writer.close()
    return done


def _showers_to_showers(
    paths: Sequence[Path], out: Path, config: ConvertConfig, progress: ProgressCallback | None
) -> int:
    """Any file ``iter_showers`` reads -> a CaloChallenge file carrying its geometry."""
    from ..data import ShowerWriter

    def open_writer(
        geometry: Geometry, attrs: dict[str, Any], names: tuple[str, ...], dtype: Any
    ) -> Any:
        return ShowerWriter(
            out, geometry.n_voxels, attrs, dtype=dtype, geometry=geometry, condition_names=names
        )

    return _copy_showers(_single(paths, "a shower file"), config, progress, open_writer)


def writer_format(
    name: str,
    description: str,
    open_writer: BlockWriterFactory,
    detect: Callable[[Sequence[Path]], bool] | None = None,
) -> ShowerFormat:
    """The format of a layout the shower readers recognise, written by its block writer.

    It reads as ``calochallenge`` does (through ``iter_showers``, which recognises the layout)
    and writes a CaloChallenge file's showers, conditions and labels through
    ``open_writer(out, geometry, attrs, condition_names)``.

    Args:
        name, description: as :class:`ShowerFormat`.
        open_writer: opens the layout's block writer.
        detect: recognises the layout's files (``None``: only named with ``--from``).

    Example (a layout module with a writer): ``register_format(writer_format("calogan",
    "a CaloGAN HDF5 file", lambda out, g, attrs, names: open_layout_writer("calogan", out, g,
    attrs)))``.
    """

    def from_showers(
        showers: Path, out: Path, config: ConvertConfig, progress: ProgressCallback | None
    ) -> int:
        def opened(
            geometry: Geometry, attrs: dict[str, Any], names: tuple[str, ...], dtype: Any
        ) -> Any:
            return open_writer(out, geometry, attrs, names)

        return _copy_showers(showers, config, progress, opened)

    return ShowerFormat(
        name,
        description,
        detect,
        reads_as_showers=True,
        to_showers=_showers_to_showers,
        from_showers=from_showers,
    )


def _relabelled(geometry: Geometry, config: ConvertConfig, attrs: Mapping[str, Any]) -> Geometry:
    """The geometry labelled with the particle and |eta| slice asked for, else the input's."""
    from ..geometry import get_particle

    particle = config.particle or attrs.get("particle") or geometry.particle
    eta = config.eta
    if eta is None and "eta_min" in attrs and "eta_max" in attrs:
        eta = (float(attrs["eta_min"]), float(attrs["eta_max"]))
    return geometry.relabel(particle=get_particle(str(particle)).name, eta=eta)


def _labels(geometry: Geometry) -> dict[str, Any]:
    eta = geometry.eta
    return {
        "particle": geometry.particle,
        **({"eta_min": float(eta[0]), "eta_max": float(eta[1])} if eta is not None else {}),
    }


# ----- ATLAS CSV ------------------------------------------------------------------------------
_PID_RE = re.compile(r"(?:^|[_\-])pid(\d+)(?=[_\-.]|$)", re.IGNORECASE)
_ETA_RE = re.compile(r"(?:^|[_\-])eta_?(\d+)_(\d+)(?=[_\-.]|$)", re.IGNORECASE)


def _from_names(paths: Sequence[Path]) -> tuple[str | None, tuple[float, float] | None]:
    """The particle (``pid22``) and |eta| slice (``eta_20_25``) the file names agree on."""
    from ..geometry import PARTICLES

    by_pdg = {p.pdg: p.name for p in PARTICLES.values()}
    particles: set[str | None] = set()
    etas: set[tuple[float, float] | None] = set()
    for path in paths:
        pid = _PID_RE.search(path.name)
        particles.add(by_pdg.get(int(pid.group(1))) if pid else None)
        eta = _ETA_RE.search(path.name)
        etas.add((int(eta.group(1)) / 100, int(eta.group(2)) / 100) if eta else None)
    if len(particles) > 1 or len(etas) > 1:
        raise ConfigError(
            f"the CSV files name different particles or |eta| slices ({sorted(map(str, paths))}); "
            "convert one particle and slice at a time, or set --particle and --eta"
        )
    return particles.pop(), etas.pop()


def _csv_columns(path: Path) -> int:
    """Columns of the first numeric row of a CSV file."""
    with path.open(newline="") as fh:
        for row in csv.reader(fh):
            if not row or all(not c.strip() for c in row):
                continue
            try:
                [float(c) for c in row]
            except ValueError:
                continue  # header
            return len(row)
    raise DataFormatError(f"{path}: holds no showers")


def _csv_geometry(paths: Sequence[Path], config: ConvertConfig) -> Geometry:
    from ..geometry import BUILTIN_GEOMETRIES, default_geometry, get_particle, load_geometry

    named_particle, named_eta = _from_names(paths)
    particle = config.particle or named_particle
    eta = config.eta or named_eta
    if config.binning is not None:
        geometry = load_geometry(config.binning, particle=particle, eta=eta)
    elif particle is not None:
        geometry = default_geometry(particle, eta)
    else:
        n_voxels = _csv_columns(paths[0]) - config.csv_leading_columns
        for name in BUILTIN_GEOMETRIES:
            geometry = load_geometry(name, eta=eta)
            if geometry.n_voxels == n_voxels:
                break
        else:
            raise ConfigError(
                f"{paths[0]}: rows of {n_voxels} voxels after {config.csv_leading_columns} "
                "leading columns match no built-in geometry; name it with --binning"
            )
    if particle is not None:
        geometry = geometry.relabel(particle=get_particle(particle).name)
    return geometry


def _csv_to_showers(
    paths: Sequence[Path], out: Path, config: ConvertConfig, progress: ProgressCallback | None
) -> int:
    """ATLAS per-energy CSV files of one particle and slice -> one CaloChallenge file."""
    import json

    from .. import __version__
    from ..data import convert_atlas_csv, read_atlas_csv, write_showers

    geometry = _csv_geometry(paths, config)
    if config.energy_mev is None:
        result = convert_atlas_csv(
            paths, geometry, out, n_leading=config.csv_leading_columns, attrs=_labels(geometry)
        )
        n = result.n_events
    else:
        path = _single(paths, "energy_mev (--energy) names the point of one CSV file, so it")
        data = read_atlas_csv(path, geometry, config.energy_mev, config.csv_leading_columns)
        attrs = {
            **_labels(geometry),
            "sources": json.dumps([str(path)]),
            "fastcalogan_version": __version__,
        }
        write_showers(out, data.incident_energies, data.showers, attrs, geometry=geometry)
        n = data.n_events
    if progress is not None:
        progress(n, n)
    return n


# ----- hits ----------------------------------------------------------------------------------
def _hits_to_showers(
    paths: Sequence[Path], out: Path, config: ConvertConfig, progress: ProgressCallback | None
) -> int:
    """Voxelise a hit file (``fastcalogan voxelise``)."""
    from ..voxelise import VoxeliseConfig, voxelise

    vox = VoxeliseConfig(
        binning=config.binning,
        particle=config.particle,
        eta=config.eta,
        relevant_layers=config.relevant_layers,
        chunk_events=min(config.chunk_events, 10_000),
    )
    return voxelise(vox, _single(paths, "a hit file"), out, progress=progress).n_events


def _showers_to_hits(
    showers: Path, out: Path, config: ConvertConfig, progress: ProgressCallback | None
) -> int:
    """Spread voxels back onto hits (``fastcalogan invert``)."""
    from ..voxelise import InvertConfig, invert_showers

    return invert_showers(
        InvertConfig(), showers, out, binning=config.binning, progress=progress
    ).n_events


def _layout_format(name: str, description: str) -> ShowerFormat:
    """A detector layout of ``data`` (read by ``iter_showers``, written by its block writer)."""

    def open_writer(
        out: Path, geometry: Geometry, attrs: dict[str, Any], names: tuple[str, ...]
    ) -> Any:
        from ..data import open_layout_writer

        return open_layout_writer(name, out, geometry, attrs, names)

    def detect(paths: Sequence[Path]) -> bool:
        from ..data import detect_layout

        try:
            return _is_single_file(paths) and detect_layout(paths[0]) == name
        except DataFormatError:  # neither HDF5 nor npz: another format's, or none
            return False

    return writer_format(name, description, open_writer, detect)


# ----- the registry --------------------------------------------------------------------------
_FORMATS: list[ShowerFormat] = [
    _layout_format("calogan", "a CaloGAN HDF5 file (layer_0..2 images, energy in GeV)"),
    _layout_format("lhcb", "an LHCb ECAL file (30x30 images with momentum and impact point)"),
    _layout_format("atlas-cells", "an ATLAS cells file (266 cells with their alignments)"),
    ShowerFormat(
        "hits",
        "a hit file (hits of each shower: r, alpha, layer, energy)",
        _is_hit_file,
        to_showers=_hits_to_showers,
        from_showers=_showers_to_hits,
    ),
    ShowerFormat(
        "atlas-csv",
        "ATLAS CSV (one file per energy point: phi-mod, eta, voxel energies)",
        _is_csv,
        to_showers=_csv_to_showers,
    ),
    ShowerFormat(
        HUB_FORMAT,
        "a shower file (CaloChallenge HDF5, or another layout read_showers reads)",
        _is_single_file,
        reads_as_showers=True,
        to_showers=_showers_to_showers,
    ),
]


def formats() -> tuple[ShowerFormat, ...]:
    """Every format, in the order inputs are recognised."""
    return tuple(_FORMATS)


def get_format(name: str) -> ShowerFormat:
    """The format called ``name``; ConfigError listing the known ones otherwise."""
    for fmt in _FORMATS:
        if fmt.name == name:
            return fmt
    known = ", ".join(f.name for f in _FORMATS)
    raise ConfigError(f"unknown format '{name}' (known: {known})")


def register_format(fmt: ShowerFormat) -> None:
    """Add a layout; it is recognised before the generic ``calochallenge`` reader.

    Raises:
        ConfigError: a format of that name exists.
    """
    if any(f.name == fmt.name for f in _FORMATS):
        raise ConfigError(f"format '{fmt.name}' is already registered")
    _FORMATS.insert(len(_FORMATS) - 1, fmt)


def detect_format(paths: Sequence[Path], strict: bool = True) -> ShowerFormat | None:
    """The format of the inputs (a folder stands for the CSV files it holds).

    Args:
        paths: the input files or folder.
        strict: raise when nothing matches (else return ``None``, also for missing paths).

    Raises:
        DataFormatError: (``strict``) missing inputs, or no format recognises them.
    """
    try:
        files = expand_inputs(paths)
    except DataFormatError:
        if strict:
            raise
        return None
    for fmt in _FORMATS:
        if fmt.detect is not None and fmt.detect(files):
            return fmt
    if strict:
        names = ", ".join(str(p) for p in paths)
        raise DataFormatError(
            f"{names}: not a format convert recognises (one shower or hit file, or ATLAS CSV "
            "files); name it with --from"
        )
    return None
