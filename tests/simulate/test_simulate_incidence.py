"""The incidences' shared parts: one draw (Beam), the |eta| slice of the barrel and the cells
(EtaRange), and the shower models' shared components (Primaries)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from fastcalogan.errors import SimulationError
from fastcalogan.geometry import get_particle
from fastcalogan.simulate import (
    AtlasCellsIncidence,
    EtaSlice,
    FaceIncidence,
    Incidence,
    NormalIncidence,
    Tracks,
    simulate_showers,
)
from fastcalogan.simulate.deposits import Primaries
from fastcalogan.simulate.detector import Beam, layer_response
from fastcalogan.simulate.em import ACCORDION
from fastcalogan.simulate.material import BARREL, TrackMap


def test_beam_counts_and_momenta():
    energies = np.array([1_000.0, 5_000.0])
    beam = Beam(energies, (0, 1, 2), mass_mev=0.0)
    assert beam.n == 2 and beam.n_layers == 3
    assert beam.momentum is energies  # e.m. particles: |p| = E
    pion = Beam(energies, (0,), mass_mev=139.57)
    np.testing.assert_allclose(pion.momentum, np.sqrt(energies * (energies + 2 * 139.57)))


def test_face_incidence_stores_the_beam_momentum():
    energies = np.array([2_000.0, 8_000.0, 30_000.0])
    inc = FaceIncidence(slope_x=(-0.1, 0.1), slope_y=(0.0, 0.2))
    tracks = inc.draw(np.random.default_rng(1), energies, (0,), 139.57)
    p = np.linalg.norm(tracks.conditions[:, :3], axis=1)
    np.testing.assert_allclose(p, Beam(energies, (0,), 139.57).momentum)
    assert tracks.origin_mm is not None and tracks.origin_mm.shape == (3, 1, 2)


def test_barrel_and_cells_share_their_eta_slice():
    energies = np.full(50, 10_000.0)
    barrel = EtaSlice(0.2, 0.6).draw(np.random.default_rng(4), energies, (2,), 0.0)
    cells = AtlasCellsIncidence(0.2, 0.6).draw(np.random.default_rng(4), energies, (2,), 0.0)
    # |eta| is the first draw of both, so the same seed gives the same path lengths
    np.testing.assert_array_equal(barrel.path_scale, cells.path_scale)
    assert np.all((barrel.path_scale >= np.cosh(0.2)) & (barrel.path_scale <= np.cosh(0.6)))
    fixed = EtaSlice(0.3, 0.3).draw(np.random.default_rng(0), energies, (2,), 0.0)
    np.testing.assert_array_equal(fixed.path_scale, np.full(50, np.cosh(0.3)))
    for cls in (EtaSlice, AtlasCellsIncidence):
        with pytest.raises(SimulationError, match="outside the barrel validity"):
            cls(0.2, 1.5)
        with pytest.raises(SimulationError, match=r"found \(0.4, 0.2\)"):
            cls(0.4, 0.2)
        moved = cls(0.2, 0.25).with_eta(0.5, 0.6)
        assert type(moved) is cls and moved.eta == (0.5, 0.6)
    assert EtaSlice(0.2, 0.25).centred and not AtlasCellsIncidence(0.2, 0.25).centred
    assert AtlasCellsIncidence(0.2, 0.25).describe().startswith(EtaSlice(0.2, 0.25).describe())


def test_an_incidence_may_still_override_draw():
    @dataclass(frozen=True)
    class OldStyle(Incidence):
        def draw(
            self,
            rng: np.random.Generator,
            energies: np.ndarray,
            layer_ids: tuple[int, ...],
            mass_mev: float,
            first_event: int = 0,
        ) -> Tracks:
            return Tracks(np.ones(energies.shape[0]))

        def describe(self) -> str:
            return "old style"

        @property
        def centred(self) -> bool:
            return True

    energies = np.full(20, 5_000.0)
    old = simulate_showers("calogan", "photon", energies, seed=3, incidence=OldStyle())
    new = simulate_showers("calogan", "photon", energies, seed=3, incidence=NormalIncidence())
    np.testing.assert_array_equal(old.showers, new.showers)

    class Neither(Incidence):
        def describe(self) -> str:
            return "neither"

    with pytest.raises(NotImplementedError, match="Neither implements neither"):
        Neither().draw(np.random.default_rng(0), energies, (0,), 0.0)


def test_track_components_have_hits_only_where_energy_was_deposited():
    track = TrackMap(np.ones(2), BARREL)
    primaries = Primaries(
        get_particle("pion"),
        np.array([1e4, 2e4]),
        track,
        ACCORDION,
        layer_response(track.media, "em-scale"),
    )
    deposited = np.zeros((2, primaries.n_layers))
    deposited[0, 1] = 3.0
    comp = primaries.track_component(2.0 * deposited, deposited, hits=3, radius_mm=1.5)
    assert comp.kind == "track" and comp.depth_unit == "x0"
    assert comp.counts.dtype == np.int64 and comp.counts.sum() == 3 and comp.counts[0, 1] == 3
    np.testing.assert_array_equal(comp.radius_mm, np.full(7, 1.5))  # the barrel's 7 layers
    np.testing.assert_array_equal(comp.energy, 2.0 * deposited)
