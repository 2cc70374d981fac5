"""Observable suites: the figures of merit of one detector or one published study.

The general evaluation (:func:`~fastcalogan.evaluate.evaluate`) compares what every geometry
has: total and layer energies, centroids, widths, sparsity, distances, classifiers. A
published study adds its own figures of merit (CaloGAN's shower-shape table, the LHCb
study's cluster asymmetry against the conditions, the ATLAS 2018 note's lateral profiles).
Each is a :class:`Suite`, registered once with :func:`register_suite`; ``evaluate`` runs every
registered suite that applies to the files (or the ones ``EvaluateConfig.suites`` names) and
stores what it returns:

* ``metrics["suites"][name]``: the suite's JSON-safe metrics, plus ``title`` and ``note``
  (the report section's heading and text), ``labels`` (x-axis label per histogram) and an
  optional ``table`` (``{"header": [...], "rows": [[...], ...]}``);
* ``histograms.npz``: ``suite/<name>/<key>/{edges,reference,generated}`` for each 1-D
  histogram (optionally ``reference_flow`` and ``generated_flow``: entries below / above the
  edges), and ``suite/<name>/<key>/{reference_image,generated_image}`` for 2-D maps (e.g. an
  average shower image per layer).

The report draws every suite with one generic renderer: histograms with ratio panels, the
images side by side with their ratio, and the table. A suite therefore only computes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..data import ShowerData
from ..errors import ConfigError
from ..geometry import Geometry

__all__ = [
    "Suite",
    "SuiteResult",
    "histogram_entry",
    "register_suite",
    "registered_suites",
    "suites_for",
]


@dataclass
class SuiteResult:
    """What a suite computed.

    Attributes:
        metrics: JSON-safe numbers and lists (stored under ``metrics["suites"][name]``).
        histograms: arrays keyed ``<key>/edges``, ``<key>/reference``, ... (stored under
            ``suite/<name>/`` in ``histograms.npz``); build them with :func:`histogram_entry`.
        labels: x-axis label of each histogram key.
        table: an optional table for the report, ``{"header": [...], "rows": [[...]]}``.
    """

    metrics: dict[str, Any] = field(default_factory=dict)
    histograms: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    table: dict[str, Any] | None = None


class Suite(ABC):
    """The figures of merit of one detector or study.

    Subclasses set :attr:`name`, :attr:`title` and :attr:`note`, and implement
    :meth:`applies` and :meth:`compute`; :func:`register_suite` makes ``evaluate`` run them.
    """

    #: Key of the suite in ``metrics["suites"]`` and in ``EvaluateConfig.suites``.
    name: ClassVar[str]
    #: Heading of the report section.
    title: ClassVar[str]
    #: Text under the heading: what is compared and where it comes from (cite the source).
    note: ClassVar[str] = ""

    @abstractmethod
    def applies(self, geometry: Geometry, attrs: Mapping[str, Any]) -> bool:
        """Whether the suite makes sense for files of ``geometry`` with reference ``attrs``."""

    @abstractmethod
    def compute(
        self,
        reference: ShowerData,
        generated: ShowerData,
        geometry: Geometry,
        rng: np.random.Generator,
    ) -> SuiteResult:
        """Compare the two samples (MeV voxels in ``geometry``'s order, with conditions)."""


_SUITES: dict[str, Suite] = {}


def register_suite(suite: Suite) -> Suite:
    """Register ``suite`` under its name (a second suite of the same name is an error)."""
    if suite.name in _SUITES and type(_SUITES[suite.name]) is not type(suite):
        raise ConfigError(f"an observable suite named '{suite.name}' is already registered")
    _SUITES[suite.name] = suite
    return suite


def registered_suites() -> tuple[str, ...]:
    """Names of every registered suite."""
    return tuple(_SUITES)


def suites_for(
    geometry: Geometry, attrs: Mapping[str, Any], names: Sequence[str] | None = None
) -> list[Suite]:
    """The suites to run: those named (``names``), else every one that applies.

    Raises:
        ConfigError: a name that is not registered, or a named suite that does not apply.
    """
    if names is None:
        return [s for s in _SUITES.values() if s.applies(geometry, attrs)]
    unknown = [n for n in names if n not in _SUITES]
    if unknown:
        known = ", ".join(_SUITES) or "none"
        raise ConfigError(f"suites: unknown observable suite(s) {unknown} (registered: {known})")
    chosen = [_SUITES[n] for n in names]
    refused = [s.name for s in chosen if not s.applies(geometry, attrs)]
    if refused:
        raise ConfigError(f"suites: {refused} do not apply to files of geometry {geometry.name}")
    return chosen


def histogram_entry(
    key: str,
    reference: npt.ArrayLike,
    generated: npt.ArrayLike,
    edges: npt.ArrayLike,
) -> dict[str, npt.NDArray[Any]]:
    """The ``histograms`` entries of one 1-D comparison: counts on ``edges`` and the flows.

    Non-finite values are left out; values outside the edges are counted as under/overflow
    (``<key>/reference_flow`` and ``<key>/generated_flow``: ``[below, above]``), so the
    report shows them as such rather than folding them into the edge bins.

    >>> h = histogram_entry("x", [0.5, 2.0], [0.5, -1.0], [0.0, 1.0])
    >>> h["x/reference"].tolist(), h["x/generated_flow"].tolist()
    ([1.0], [1.0, 0.0])
    """
    e = np.asarray(edges, dtype=np.float64)
    out: dict[str, npt.NDArray[Any]] = {f"{key}/edges": e}
    for who, values in (("reference", reference), ("generated", generated)):
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        v = v[np.isfinite(v)]
        counts, _ = np.histogram(v, e)
        out[f"{key}/{who}"] = counts.astype(np.float64)
        out[f"{key}/{who}_flow"] = np.array([(v < e[0]).sum(), (v > e[-1]).sum()], np.float64)
    return out
