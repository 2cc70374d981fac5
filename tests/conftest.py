"""Shared fixtures: a tiny 3-layer geometry, seeded showers, tiny shower files and training
configs for the GAN stages, and the optional ../shared folder."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import _h5, write_showers
from fastcalogan.geometry import Binning, write_geometry_yaml
from fastcalogan.models import get_preset
from fastcalogan.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--gpu", action="store_true", default=False, help="run tests marked gpu")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--gpu"):
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; run with --gpu")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Tiny test models run fastest on one thread; two oversubscribe a loaded 2-core machine."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def _no_fsync() -> Iterator[None]:
    """Test files need no flush to disk (about 10 ms each); tests of the flush turn it back on."""
    old = os.environ.get("FASTCALOGAN_FSYNC")
    os.environ["FASTCALOGAN_FSYNC"] = "0"
    yield
    if old is None:
        os.environ.pop("FASTCALOGAN_FSYNC", None)
    else:
        os.environ["FASTCALOGAN_FSYNC"] = old


@pytest.fixture(scope="session")
def demo_quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``fastcalogan demo --quick``, run once per session (the end-to-end test checks it, the
    quick start reads its run): its output folder ``.../demo-output`` and its output."""
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    result = CliRunner().invoke(cli, ["demo", "--quick", "-o", str(out)], terminal_width=200)
    assert result.exit_code == 0, (result.output, result.exception)
    return out, result.output


@pytest.fixture
def shared_dir() -> Path:
    """The team's ../shared folder; tests using it skip where a clone has none."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (only the team's checkouts have ../shared)")
    return SHARED


@pytest.fixture
def tiny_binning() -> Binning:
    """Three layers: layer 0 with 4 r bins, layer 1 with 2 alpha x 4 r bins, layer 2 with 4 r."""
    return Binning.from_layers(
        "tiny",
        "photon",
        (0.20, 0.25),
        [
            (0, [0, 10, 20, 50, 100], 1),
            (1, [0, 5, 10, 20, 40], 2),
            (2, [0, 10, 30, 60, 120], 1),
        ],
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def tiny_showers(tiny_binning: Binning) -> tuple[np.ndarray, np.ndarray]:
    """64 seeded showers on ``tiny_binning``: (incident_energies (64,), showers (64, 16)) MeV."""
    g = np.random.default_rng(7)
    energies = np.repeat(2.0 ** np.arange(10, 14), 16)
    frac = g.dirichlet(np.ones(tiny_binning.n_voxels), size=energies.size)
    showers = frac * energies[:, None] * g.uniform(0.8, 1.0, size=(energies.size, 1))
    return energies, showers.astype(np.float32)


#: A small architecture so that a training iteration takes milliseconds.
TINY_MODEL = {"latent_dim": 4, "generator_hidden": [8], "critic_hidden": [8]}
#: Tiny settings of each model family (architecture and family-only training settings).
TINY_FAMILY_SETTINGS: dict[str, dict[str, Any]] = {
    "wgan-gp-mlp": {"model": TINY_MODEL, "n_critic": 2},
    "vae-mlp": {"model": {"latent_dim": 3, "encoder_hidden": [8], "decoder_hidden": [8]}},
    # the tiny geometry's three layers; the energy alone (the tiny files have no alignment)
    "atlas18-vae": {
        "model": {"latent_dim": 3, "encoder_hidden": [8], "decoder_hidden": [8]},
        "objective": {"w_layers": [0.1, 0.6, 0.2]},
    },
    "atlas18-wgan": {
        "model": TINY_MODEL,
        "objective": {"n_critic": 2},
        "preprocess": {"kind": "caloshowergan"},
    },
    "flow-gan": {
        "model": {
            "flow_transforms": 1,
            "flow_hidden": 8,
            "flow_depth": 1,
            "flow_bins": 4,
            "energy_degree": 2,
            "latent": 4,
            "generator_hidden": [8],
            "critic_hidden": [8],
        },
        "objective": {"flow_steps": 2, "n_critic": 1, "fit_events": 64},
    },
}
#: A preset of each family, for tests parametrised over families.
FAMILY_PRESETS = {
    "wgan-gp-mlp": "fastcalogan",
    "vae-mlp": "vae-mlp",
    "flow-gan": "fast-photon",
    "atlas18-vae": "atlas18-vae",
    "atlas18-wgan": "atlas18-wgan",
}


def fabricate_showers(
    binning: Binning,
    n_per_point: int,
    seed: int,
    energies: tuple[float, ...] = (1024.0, 2048.0, 4096.0, 8192.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Dirichlet voxel fractions times E_inc times U(0.8, 1.0): (energies (N,), showers (N, n_vox))."""
    g = np.random.default_rng(seed)
    e = np.repeat(np.asarray(energies), n_per_point)
    frac = g.dirichlet(np.ones(binning.n_voxels), size=e.size)
    return e, (frac * e[:, None] * g.uniform(0.8, 1.0, size=(e.size, 1))).astype(np.float32)


@pytest.fixture
def disk_of(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``disk_of(n_bytes)``: HDF5 writers get ENOSPC once ``n_bytes`` are written."""

    def limit(n_bytes: int) -> None:
        original = _h5._GuardedFile.__init__

        def init(self: Any, path: Path) -> None:
            original(self, path)
            raw, budget = self._f, [n_bytes]

            class Full:
                def __getattr__(self, name: str) -> Any:
                    return getattr(raw, name)

                def write(self, data: Any) -> int:
                    if budget[0] < len(data):
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    budget[0] -= len(data)
                    return int(raw.write(data))

            self._f = Full()

        monkeypatch.setattr(_h5._GuardedFile, "__init__", init)

    return limit


@pytest.fixture
def fabricate() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """``fabricate(binning, n_per_point, seed, energies)``: see :func:`fabricate_showers`."""
    return fabricate_showers


@pytest.fixture
def tiny_file(tmp_path: Path, tiny_binning: Binning) -> Path:
    """A CaloChallenge file with 4 energy points x 32 events on the tiny binning."""
    binning_path = tmp_path / "tiny-binning.yaml"
    write_geometry_yaml(tiny_binning, binning_path)
    e, s = fabricate_showers(tiny_binning, 32, seed=3)
    attrs = {"particle": "photon", "eta_min": 0.2, "eta_max": 0.25, "binning": str(binning_path)}
    return write_showers(tmp_path / "tiny.h5", e, s, attrs)


@pytest.fixture
def tiny_config() -> Callable[..., TrainConfig]:
    """``tiny_config(**fields)``: a fast CPU training config (tiny sizes of the preset's family)."""

    def make(**fields: Any) -> TrainConfig:
        family = fields.get("family") or get_preset(fields.get("preset", "fastcalogan")).family
        base: dict[str, Any] = {
            **TINY_FAMILY_SETTINGS[family],
            "iterations": 4,
            "batch_size": 16,
            "checkpoint_every": 2,
            "log_every": 1,
            "injection_every": 2,
            "device": "cpu",
            "seed": 5,
        }
        base.update(fields)
        return TrainConfig.model_validate(base)

    return make


#: Conditions of :func:`fabricate_conditioned`: a continuous one, an integer code and one
#: that no model uses.
CONDITION_NAMES = ("depth", "side", "unused")
#: How a model is conditioned on them (``PreprocessConfig.conditions``).
CONDITIONS_CONFIG = {"depth": "standardise", "side": {"transform": "one_hot", "n": 3}}


def fabricate_conditioned(
    binning: Binning, n: int, seed: int, continuous: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Showers whose shape depends visibly on a continuous condition and an integer code.

    ``depth`` ~ U(-1, 1) moves energy from the last layer to the first (layer fractions
    0.3 + 0.2 depth, 0.4, 0.3 - 0.2 depth); ``side`` in 0..2 puts the middle layer's energy
    in alpha bin 0, bin 1, or half in each. Energies log-uniform in 1-8 GeV (``continuous``)
    or the four points 1, 2, 4, 8 GeV; E_tot = E_inc x U(0.8, 1.0).

    Returns:
        ``(energies (n,), showers (n, 16), conditions (n, 3))`` for ``CONDITION_NAMES``.
    """
    g = np.random.default_rng(seed)
    if continuous:
        e = np.exp(g.uniform(np.log(1024.0), np.log(8192.0), n))
    else:
        e = np.repeat([1024.0, 2048.0, 4096.0, 8192.0], -(-n // 4))[:n]
    depth = g.uniform(-1.0, 1.0, n)
    side = g.integers(0, 3, n)
    layer_frac = np.stack([0.3 + 0.2 * depth, np.full(n, 0.4), 0.3 - 0.2 * depth], axis=1)
    radial = g.dirichlet(np.full(4, 4.0), size=(n, 3))  # (n, layer, r)
    alpha = np.stack([side == 0, side == 1], axis=1) + 0.5 * (side == 2)[:, None]
    middle = alpha[:, :, None] * radial[:, 1, None, :]  # (n, alpha, r)
    showers = np.concatenate(
        [
            radial[:, 0] * layer_frac[:, :1],
            middle.reshape(n, 8) * layer_frac[:, 1:2],
            radial[:, 2] * layer_frac[:, 2:],
        ],
        axis=1,
    )
    showers *= (e * g.uniform(0.8, 1.0, n))[:, None]
    conditions = np.stack([depth, side.astype(float), g.normal(size=n)], axis=1)
    return e, showers.astype(np.float32), conditions


@pytest.fixture(name="fabricate_conditioned")
def fabricate_conditioned_fixture() -> Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``fabricate_conditioned(binning, n, seed, continuous)``: see :func:`fabricate_conditioned`."""
    return fabricate_conditioned


@pytest.fixture
def conditions_config() -> dict[str, Any]:
    """``PreprocessConfig.conditions`` of a model of :func:`fabricate_conditioned`'s data."""
    return dict(CONDITIONS_CONFIG)


@pytest.fixture
def conditioned_file(tmp_path: Path, tiny_binning: Binning) -> Path:
    """A shower file of 256 events of :func:`fabricate_conditioned` (continuous energies)."""
    binning_path = tmp_path / "tiny-binning.yaml"
    write_geometry_yaml(tiny_binning, binning_path)
    e, s, c = fabricate_conditioned(tiny_binning, 256, seed=4)
    attrs = {"particle": "photon", "eta_min": 0.2, "eta_max": 0.25, "binning": str(binning_path)}
    return write_showers(
        tmp_path / "conditioned.h5", e, s, attrs, conditions=c, condition_names=CONDITION_NAMES
    )
