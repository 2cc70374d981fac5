"""The flow-gan family: energy features, the sampling network, training and a pinned run."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from fastcalogan._config import load
from fastcalogan.errors import ModelError
from fastcalogan.models import Batch, FlowGan, FlowGanConfig, FlowGanObjectiveConfig, ModelShape
from fastcalogan.models.flow_gan_nets import FlowGanSampler
from fastcalogan.preprocess import EnergyDecoder, fit_standardisation
from fastcalogan.preprocess.energy_features import dequantise, energy_parts
from fastcalogan.train import TrainConfig, TrainedGenerator, train

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY = FlowGanConfig(
    flow_transforms=1,
    flow_hidden=8,
    flow_depth=1,
    flow_bins=4,
    energy_degree=2,
    latent=4,
    generator_hidden=(8,),
    critic_hidden=(8,),
)
SHAPE = ModelShape(
    n_features=16 + 3 + 1, head_layer_sizes=(4, 8, 4), layer_shapes=((1, 4), (2, 4), (1, 4))
)


def _layer_norm_batch(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Layer-normalised showers ``(n, 20)`` at 4 labels, with empty first and last layers."""
    g = np.random.default_rng(seed)
    label = np.repeat(np.linspace(0.0, 1.0, 4), n // 4)[:, None]
    layers = g.dirichlet(np.ones(3), size=n)
    layers[::5, 0] = 0.0  # no energy in the first layer
    layers[1::7, 2] = 0.0  # nothing in the last layer
    layers /= layers.sum(1, keepdims=True)
    voxels = np.concatenate([g.dirichlet(np.ones(k), size=n) for k in (4, 8, 4)], axis=1)
    response = g.uniform(0.8, 1.0, size=(n, 1)) * (0.9 + 0.1 * label)
    x = np.concatenate([voxels, layers, response], axis=1)
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(label, dtype=torch.float32)


def test_energy_features_decode_back_exactly() -> None:
    """fractions and response -> dequantised, standardised features -> the same, zeros exact."""
    x, label = _layer_norm_batch(400, seed=1)
    fractions, response = x[:, 16:19], x[:, 19]
    parts = energy_parts(fractions, response)
    assert parts.state[::5, 0].eq(1).all() and parts.state[1::7, 1].eq(2).all()
    raw = dequantise(parts, torch.Generator().manual_seed(0))
    decoder = EnergyDecoder(3, degree=2)
    decoder.set_standardisation(*fit_standardisation(label[:, 0].numpy(), raw.numpy(), 2))
    y = decoder.standardise(raw, label)
    assert abs(float(y.mean())) < 0.1 and abs(float(y.std()) - 1.0) < 0.1
    out = decoder(y, label)
    torch.testing.assert_close(out[:, :3], fractions, atol=2e-6, rtol=1e-4)
    torch.testing.assert_close(out[:, 3], response, atol=0, rtol=1e-5)
    assert out[::5, 0].eq(0).all() and out[1::7, 2].eq(0).all()


def test_standardisation_handles_few_groups_and_continuous_labels() -> None:
    c = np.repeat([0.0, 1.0], 10)
    y = np.stack([c * 2 + 1, np.where(c > 0, 3.0, 1.0) * np.tile([-1.0, 1.0], 10)], axis=1)
    mean, logstd = fit_standardisation(c, y, degree=4)
    assert mean.shape == (5, 2) and np.all(mean[:3] == 0)  # degree 1: leading zeros
    np.testing.assert_allclose(mean[3:, 0], [2.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(np.exp(logstd[3:].sum(0)), [1e-6, 3.0], rtol=1e-5, atol=1e-9)
    mean, _ = fit_standardisation(np.linspace(0, 1, 500), np.linspace(0, 1, 500)[:, None], 1)
    np.testing.assert_allclose(mean[:, 0], [1.0, 0.0], atol=0.01)


def test_sampler_noise_and_shapes() -> None:
    family = FlowGan()
    noise = family.noise(TINY, SHAPE)
    assert (noise.distribution, noise.width) == ("normal", 3 + 4)
    with pytest.raises(ModelError, match="needs the data's layers"):
        family.noise(TINY)
    with pytest.raises(ModelError, match="layer-energy normalisation"):
        family.build_sampler(TINY, ModelShape(n_features=16))
    sampler = family.build_sampler(TINY, SHAPE, seed=3).eval()
    assert isinstance(sampler, FlowGanSampler)
    out = sampler(noise.sample(8, torch.Generator().manual_seed(0)), torch.rand(8, 1))
    assert out.shape == (8, 20) and (out[:, :16] >= 0).all()
    # each layer's voxel fractions and the layer fractions sum to 1
    for lo, hi in ((0, 4), (4, 12), (12, 16), (16, 19)):
        torch.testing.assert_close(out[:, lo:hi].sum(1), torch.ones(8))
    before = torch.get_rng_state()
    again = family.build_sampler(TINY, SHAPE, seed=3)
    assert torch.equal(torch.get_rng_state(), before)
    for a, b in zip(sampler.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


class _Source:
    """A BatchSource over fixed tensors, seeded."""

    def __init__(self, x: torch.Tensor, label: torch.Tensor, batch_size: int) -> None:
        self.x, self.label, self.batch_size = x, label, batch_size
        self.device = torch.device("cpu")
        self.rng = np.random.default_rng(0)

    def draw(self) -> Batch:
        idx = torch.from_numpy(self.rng.integers(0, len(self.x), self.batch_size))
        return Batch(self.x[idx], self.label[idx])

    def draw_conditions(self) -> torch.Tensor:
        return self.draw().condition


def test_the_flow_learns_the_response_in_a_hundred_steps() -> None:
    """Flow phase alone: the sampled E_tot / E_inc takes the data's uniform shape, which the
    standardisation alone (an untrained flow: a Gaussian of the right mean and width) misses."""
    x, label = _layer_norm_batch(2000, seed=2)
    family = FlowGan()
    settings = FlowGanObjectiveConfig(
        flow_steps=100, flow_lr=3e-3, flow_first=True, fit_events=2000
    )
    config = TINY.model_copy(update={"flow_hidden": 16, "flow_bins": 6})
    objective = family.build_objective(config, settings, SHAPE, 1e-3, 0, torch.device("cpu"))
    source, gen = _Source(x, label, 64), torch.Generator().manual_seed(1)
    rows = [objective.step(source, gen)]
    untrained = copy.deepcopy(objective.sampler).eval()  # fitted standardisation, 1 flow step
    rows += [objective.step(source, gen) for _ in range(99)]
    assert all(torch.isnan(r[1]) for r in rows)  # flow_first: no GAN step yet
    assert float(rows[-1][0]) < float(rows[0][0]) - 0.5
    noise = family.noise(config, SHAPE).sample(4000, torch.Generator().manual_seed(2))

    def outside(sampler: torch.nn.Module, c: float) -> float:
        """Fraction of sampled responses outside the data's range at label ``c``."""
        real = x[label[:, 0] == c, 19]
        with torch.no_grad():
            response = sampler(noise, torch.full((4000, 1), c))[:, 19]
        lo, hi = float(real.min()), float(real.max())
        return float(((response < lo) | (response > hi)).float().mean())

    for c in (0.0, 1.0):
        before, after = outside(untrained, c), outside(objective.sampler.eval(), c)
        assert before > 0.05 and after < 0.5 * before, (c, before, after)


def test_objective_resumes_from_its_state() -> None:
    x, label = _layer_norm_batch(200, seed=4)
    family = FlowGan()
    settings = FlowGanObjectiveConfig(flow_steps=2, n_critic=1, fit_events=64)
    a = family.build_objective(TINY, settings, SHAPE, 1e-3, 0, torch.device("cpu"))
    source, gen = _Source(x, label, 16), torch.Generator().manual_seed(1)
    losses = [a.step(source, gen) for _ in range(3)]
    assert not torch.isnan(losses[0][0]) and not torch.isnan(losses[0][1])  # both phases
    assert torch.isnan(losses[2][0]) and not torch.isnan(losses[2][1])  # flow frozen
    b = family.build_objective(TINY, settings, SHAPE, 1e-3, 7, torch.device("cpu"))
    b.sampler.load_state_dict(a.sampler.state_dict())
    b.load_state_dict(copy.deepcopy(a.state_dict()))  # as through a checkpoint file
    state = dict(source.rng.bit_generator.state)
    gen_state = gen.get_state()
    la = a.step(source, gen)
    source.rng.bit_generator.state = state
    gen.set_state(gen_state)
    lb = b.step(source, gen)
    for u, v in zip(la[1:], lb[1:], strict=True):
        assert torch.equal(u, v)


def test_the_example_config_loads() -> None:
    config = load(CONFIGS / "train-fast.yaml", TrainConfig).resolved()
    assert (config.family, config.preset, config.threads) == ("flow-gan", "fast-photon", 1)
    assert config.preprocess is not None and config.preprocess.layer_norm
    assert config.objective["flow_steps"] == 6000 and config.lr == 5e-4


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(tensors):
        h.update(key.encode())
        h.update(tensors[key].detach().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


#: Sampler weights after 4 iterations of the tiny run below (x86-64, one torch thread).
PINNED_DIGEST = "48ce8e42766c6f47"


def test_short_run_is_pinned_and_generates_full_showers(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    result = train(tiny_config(preset="fast-photon", iterations=4), tiny_file, tmp_path / "run")
    model = TrainedGenerator.from_checkpoint(result.checkpoints[-1], "cpu")
    assert _digest(model.generator.state_dict()) == PINNED_DIGEST
    energies = np.repeat([1024.0, 8192.0], 50)
    showers = model.sample(energies, torch.Generator().manual_seed(0), 64)
    assert showers.shape == (100, 16) and (showers >= 0).all() and np.isfinite(showers).all()
    # the voxels add up to the flow's E_tot; it is near the data's (U(0.8, 1.0) x E_inc)
    response = showers.sum(1) / energies
    assert 0.5 < response.min() and response.max() < 1.5
    rows = (tmp_path / "run" / "losses.csv").read_text().splitlines()
    assert rows[0].startswith("iteration,flow_nll,critic_loss,generator_loss")
    assert rows[-1].split(",")[1] == "nan"  # flow frozen after its 2 steps
