"""Building blocks shared by the MLP families: activations and the generator's output head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["OutputHead", "activation"]


def activation(name: str) -> nn.Module:
    """``swish`` (SiLU) or ``relu``."""
    return nn.SiLU() if name == "swish" else nn.ReLU()


class OutputHead(nn.Module):
    """Final activation of the generator.

    Without ``layer_sizes`` a ReLU (energies are non-negative). With them, the input of width
    ``n_voxels + n_layers + 1`` is split into per-layer softmaxes, a softmax over layers and a
    ReLU on the last node.
    """

    def __init__(self, layer_sizes: Sequence[int] | None = None) -> None:
        super().__init__()
        self.layer_sizes = tuple(int(n) for n in layer_sizes) if layer_sizes else ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.layer_sizes:
            return torch.relu(x)
        n_vox, n_lay = sum(self.layer_sizes), len(self.layer_sizes)
        chunks = torch.split(x[:, :n_vox], list(self.layer_sizes), 1)
        parts = [torch.softmax(p, dim=1) for p in chunks]
        parts.append(torch.softmax(x[:, n_vox : n_vox + n_lay], dim=1))
        parts.append(torch.relu(x[:, n_vox + n_lay :]))
        return torch.cat(parts, dim=1)
