"""Training is pinned to the values the code before the model-family seam produced.

The digests and loss logs below were computed on ``main`` at commit cd49d98 (before the
family refactor) with this exact setup: a short run of each published preset on the tiny
fixture file. Any change of initialisation, random-number order or update arithmetic shows
up here. The digests hash the raw float32 bytes, so they also depend on the CPU's kernels
(they were made on the project's x86-64 CI machines, one torch thread).

The pinned path is the reference critic step (``objective.critic_step: autograd``); the
written-out step (``fused``, the default where the critic allows it) sums its products in
another order, so its numbers differ by float rounding: ``tests/models/test_models_fused.py``
holds it to the reference.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from fastcalogan.train import TrainConfig, list_checkpoints, load_checkpoint, train

PINNED = {
    "fastcalogan": (
        "0135cddbfa18f953",
        "3e6edfbb1dd32112",
        "1,8.07839,-0.336168,8.07323,-0.00515673,1\n2,8.15286,-0.337525,8.14454,-0.00831276,1\n"
        "3,8.21028,-0.328969,8.2055,-0.00478199,2\n4,8.15616,-0.331117,8.14935,-0.00681254,2\n"
        "5,8.182,-0.324895,8.17542,-0.00657794,3\n6,7.9759,-0.325573,7.9733,-0.00259647,3\n",
    ),
    "caloshowergan-photon": (
        "435eb60acf5e4396",
        "670c85765c4cbab5",
        "1,0.314081,-0.175322,0.325856,0.011775,4\n2,0.390557,-0.154959,0.417058,0.0265012,4\n"
        "3,0.539811,-0.157839,0.558481,0.0186697,4\n4,0.608534,-0.145825,0.630667,0.0221331,4\n"
        "5,0.614558,-0.145943,0.62956,0.0150025,4\n6,0.243161,-0.150047,0.286585,0.0434238,4\n",
    ),
    "caloshowergan-pion": (
        "9731eae6eb93ae58",
        "1ca185645508e450",
        "1,5.28697,-0.128807,5.25395,-0.0330124,4\n2,6.38489,-0.132484,6.3464,-0.0384894,4\n"
        "3,6.87307,-0.110457,6.86007,-0.0130012,4\n4,6.35389,-0.135553,6.35059,-0.00329962,4\n"
        "5,7.03578,-0.126211,7.00642,-0.029355,4\n6,6.60569,-0.138684,6.58389,-0.0217943,4\n",
    ),
}
HEADER = "iteration,critic_loss,generator_loss,gradient_penalty,wasserstein,active_points\n"


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(tensors):
        h.update(key.encode())
        h.update(tensors[key].detach().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("preset", sorted(PINNED))
def test_short_run_equals_main(
    preset: str, tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    config = tiny_config(
        preset=preset,
        iterations=6,
        checkpoint_every=3,
        injection_every=2,
        objective={"critic_step": "autograd"},
    )
    train(config, tiny_file, tmp_path / "run")
    generator, critic, losses = PINNED[preset]
    assert (tmp_path / "run" / "losses.csv").read_text() == HEADER + losses
    state = load_checkpoint(list_checkpoints(tmp_path / "run")[-1])
    assert _digest(state["generator"]) == generator
    assert state["family"] == "wgan-gp-mlp"
    assert _digest(state["objective"]["critic"]) == critic
