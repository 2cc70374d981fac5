"""The model-family seam: registry, presets, config validation per family, shapes and noise."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from click.testing import CliRunner

from fastcalogan._config import parse
from fastcalogan.cli import cli
from fastcalogan.errors import ConfigError, ModelError
from fastcalogan.models import (
    ModelShape,
    NoiseSpec,
    VaeMlp,
    VaeMlpConfig,
    WganGpMlp,
    families,
    get_family,
    get_preset,
    preset_names,
    register_family,
)
from fastcalogan.models.adversarial import AdversarialObjective
from fastcalogan.models.family import cpu_state, seeded
from fastcalogan.train import TrainConfig


def test_registry_lists_the_built_in_families() -> None:
    assert [f.name for f in families()] == [
        "wgan-gp-mlp",
        "vae-mlp",
        "flow-gan",
        "calogan",
        "lhcb-wgan-gp",
        "lhcb-regressor",
        "atlas18-vae",
        "atlas18-wgan",
    ]
    assert preset_names() == (
        "fastcalogan",
        "caloshowergan-photon",
        "caloshowergan-pion",
        "vae-mlp",
        "fast-photon",
        "fast-pion",
        "calogan",
        "lhcb-wgan-gp",
        "lhcb-regressor",
        "atlas18-vae",
        "atlas18-wgan",
    )
    assert get_preset("caloshowergan-pion").particle == "pion"
    assert get_preset("fast-pion").particle == "pion"
    assert get_family("vae-mlp").default_preset().name == "vae-mlp"
    with pytest.raises(
        ModelError,
        match=r"unknown model family 'gan' \(registered: wgan-gp-mlp, vae-mlp, flow-gan, calogan",
    ):
        get_family("gan")
    with pytest.raises(ModelError, match="unknown preset 'x'"):
        get_preset("x")
    with pytest.raises(ModelError, match="'wgan-gp-mlp' is already registered"):
        register_family(WganGpMlp())


def test_models_command_lists_one_line_per_family() -> None:
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 8
    assert lines[0].startswith("wgan-gp-mlp") and lines[0].endswith(
        "presets: fastcalogan, caloshowergan-photon, caloshowergan-pion"
    )
    assert lines[1].startswith("vae-mlp") and lines[1].endswith("presets: vae-mlp")
    assert lines[2].startswith("flow-gan") and lines[2].endswith("presets: fast-photon, fast-pion")
    assert lines[3].startswith("calogan") and lines[3].endswith("presets: calogan")
    assert lines[4].startswith("lhcb-wgan-gp") and lines[4].endswith("presets: lhcb-wgan-gp")
    assert lines[5].startswith("lhcb-regressor") and lines[5].endswith("presets: lhcb-regressor")
    assert lines[6].startswith("atlas18-vae") and lines[7].startswith("atlas18-wgan")


def test_preset_and_family_pick_each_other() -> None:
    assert TrainConfig().family == "wgan-gp-mlp" and TrainConfig().preset == "fastcalogan"
    vae = TrainConfig(family="vae-mlp")
    assert vae.preset == "vae-mlp"
    assert TrainConfig(preset="vae-mlp").family == "vae-mlp"
    resolved = vae.resolved()
    assert resolved.model == VaeMlpConfig().model_dump(mode="json")
    assert resolved.objective == {"schema_version": 1, "beta_kl": 1.0}
    assert (resolved.lr, resolved.batch_size, resolved.injection) == (1e-3, 128, False)
    # the WGAN-GP-only settings stay unset for another family
    assert (resolved.n_critic, resolved.gp_lambda, resolved.beta1, resolved.beta2) == (None,) * 4
    gan = TrainConfig(objective={"n_critic": 3}).resolved()
    assert gan.n_critic == 3 and gan.objective["n_critic"] == 3 and gan.objective["gp_lambda"] == 10


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"family": "gan"},
            r"t\.yaml: family: Input should be 'wgan-gp-mlp', 'vae-mlp', 'flow-gan', 'calogan'",
        ),
        (
            {"family": "vae-mlp", "preset": "fastcalogan"},
            "preset fastcalogan is a recipe of family wgan-gp-mlp, not vae-mlp",
        ),
        ({"preset": "vae-mlp", "n_critic": 3}, "n_critic is not a setting of model family vae-mlp"),
        (
            {"preset": "vae-mlp", "model": {"critic_hidden": [4]}},
            r"unknown model field\(s\) \['critic_hidden'\]",
        ),
        (
            {"preset": "vae-mlp", "objective": {"beta_kl": -1}},
            r"objective\.beta_kl: Input should be greater than or equal to 0 \(found -1\)",
        ),
        (
            {"n_critic": 3, "objective": {"n_critic": 4}},
            "n_critic is 3 at the top level but objective.n_critic is 4",
        ),
        ({"objective": {"beta_kl": 1.0}}, r"unknown objective field\(s\) \['beta_kl'\]"),
    ],
)
def test_settings_are_checked_against_the_family(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(fields, TrainConfig, "t.yaml")


def test_model_shape_round_trip_and_old_form() -> None:
    shape = ModelShape(20, 2, (3, 5), ((1, 3), (1, 5)))
    assert ModelShape.from_dict(shape.to_dict()) == shape
    # checkpoints before model families stored n_features and the head's layer sizes only
    assert ModelShape.from_dict({"n_features": 16, "layer_sizes": []}) == ModelShape(16)


def test_noise_description_round_trip() -> None:
    for spec in (NoiseSpec("uniform", 5), NoiseSpec("normal", 3, 0.5, 0.5)):
        assert NoiseSpec.from_description(spec.describe(), "s.json") == spec
    with pytest.raises(ModelError, match=r"s\.json: unreadable noise description"):
        NoiseSpec.from_description({"distribution": "cauchy", "latent_dim": 3}, "s.json")
    z = NoiseSpec("normal", 4, 0.5, 0.5).sample(1000, torch.Generator().manual_seed(0))
    assert z.shape == (1000, 4) and abs(float(z.mean()) - 0.5) < 0.05


def test_wider_conditions_fit_both_families() -> None:
    """The seam does not assume a label of width 1 (LHCb's five parameters, ATLAS codes)."""
    heads = ModelShape(n_features=14, n_conditions=5, head_layer_sizes=(3, 5, 2))
    # CaloGAN's networks are per-layer images: the same 14 cells as two small images
    images = ModelShape(n_features=14, n_conditions=5, layer_shapes=((2, 4), (3, 2)))
    # the ATLAS 2018 families work on plain cells of four layers (no layer normalisation)
    cells = ModelShape(14, 5, layer_shapes=((1, 3), (2, 2), (1, 3), (2, 2)))
    for family in families():
        if family.name.startswith("lhcb"):
            continue  # 30x30 images of their own: tests/models/test_lhcb.py
        fits = {"calogan": images, "atlas18-vae": cells, "atlas18-wgan": cells}.get(
            family.name, heads
        )
        config = family.default_preset().model.model_copy(update={"latent_dim": 4})
        sampler = family.build_sampler(config, fits).eval()
        noise = family.noise(config, fits).sample(6, torch.Generator().manual_seed(1))
        out = sampler(noise, torch.rand(6, 5))
        assert out.shape == (6, 14)
        objective = family.build_objective(
            config, family.default_preset().objective, fits, 1e-3, 0, torch.device("cpu")
        )
        assert objective.sampler is not None and objective.state_dict()


def test_vae_export_module_is_the_decoder() -> None:
    family = VaeMlp()
    config = VaeMlpConfig(latent_dim=3, encoder_hidden=(8,), decoder_hidden=(8,))
    decoder = family.build_sampler(config, ModelShape(10), seed=2).eval()
    exported = family.export_module(decoder)
    z, label = torch.randn(4, 3), torch.rand(4, 1)
    torch.testing.assert_close(exported(z, label), decoder(z, label), rtol=0, atol=0)
    # the same seed, the same weights; the global RNG is left alone
    before = torch.get_rng_state()
    again = family.build_sampler(config, ModelShape(10), seed=2)
    assert torch.equal(torch.get_rng_state(), before)
    for a, b in zip(decoder.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


_GAN_CASES = [
    (
        "wgan-gp-mlp",
        {"generator_hidden": [8], "critic_hidden": [8], "latent_dim": 4},
        ModelShape(6),
        "critic",
        True,
    ),
    (
        "atlas18-wgan",
        {"generator_hidden": [8], "critic_hidden": [8], "latent_dim": 4},
        ModelShape(6, 1, (), ((2, 3),)),
        "critic",
        None,
    ),
    (
        "calogan",
        {
            "latent_dim": 4,
            "generator_dense_channels": 2,
            "generator_conv_channels": 2,
            "generator_local_channels": 2,
            "discriminator_conv_channels": 2,
            "discriminator_local_channels": [2, 2, 2],
            "mbd_kernels": 2,
            "mbd_kernel_dim": 2,
        },
        ModelShape(8, 1, (), ((2, 2), (2, 2))),
        "discriminator",
        None,
    ),
    (
        "lhcb-wgan-gp",
        {"latent_dim": 4, "channels": [4, 2]},
        ModelShape(64, 6, (), ((8, 8),)),
        "critic",
        True,
    ),
]


@pytest.mark.parametrize(("name", "model", "shape", "key", "fused"), _GAN_CASES)
def test_gan_objectives_share_one_state_layout(
    name: str,
    model: dict[str, Any],
    shape: ModelShape,
    key: str,
    fused: bool | None,
) -> None:
    """Every GAN family's objective keeps its checkpoint keys through the shared base."""
    family = get_family(name)
    config = family.network_config.model_validate(model)
    settings = family.objective_config()
    built = family.build_objective(config, settings, shape, 1e-3, 0, torch.device("cpu"))
    assert isinstance(built, AdversarialObjective)
    state = built.state_dict()
    expected = [key, "optimizer_generator", f"optimizer_{key}"]
    assert list(state)[:3] == expected
    assert all(v.device.type == "cpu" for v in state[key].values())
    assert all(g["fused"] is fused for o in (built.opt_g, built.opt_d) for g in o.param_groups)
    # a second objective from another seed takes the state back exactly
    other = family.build_objective(config, settings, shape, 1e-3, 1, torch.device("cpu"))
    other.load_state_dict(state)
    assert all(
        torch.equal(a, b)
        for a, b in zip(state[key].values(), cpu_state(other.critic).values(), strict=True)
    )
    with pytest.raises(KeyError, match=f"optimizer_{key}"):
        other.load_state_dict({k: v for k, v in state.items() if k != f"optimizer_{key}"})


def test_seeded_builds_repeat_and_leave_the_global_generator_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with seeded(7):
        a = torch.nn.Linear(3, 2).weight.detach().clone()
    with seeded(7):
        b = torch.nn.Linear(3, 2).weight.detach().clone()
    assert torch.equal(a, b)
    assert torch.equal(torch.rand(3), expected)
