"""The convolutional networks of the LHCb ECAL GAN: generator, critic and regressor.

After Chekalina et al., "Generative Models for Fast Calorimeter Simulation: the LHCb case",
EPJ Web Conf. 214 (2019) 02034 (arXiv:1812.01319), with the sizes of issue 17 for a 30 x 30
cell image:

* generator: noise (512) and the condition label, a dense layer to 256 x 4 x 4, transposed
  convolutions to 128 x 8 x 8, 64 x 16 x 16 and 32 x 32 x 32 with ReLU, a last convolution
  to one channel, cropped to 30 x 30;
* critic: the mirror (30 x 30 padded to 32 x 32 -> 32 x 32 x 32 -> 64 x 16 x 16 ->
  128 x 8 x 8 -> 256 x 4 x 4 -> score) with leaky ReLU;
* regressor: the critic's convolutional trunk with a dense head predicting the conditions.

Widths are ``channels`` (generator order, ``(256, 128, 64, 32)`` in the paper); with ``k``
widths the image grows ``k - 1`` times by 2 from ``ceil(H / 2^(k-1)) x ceil(W / 2^(k-1))``,
so any single image (H, W) works: the generator crops the centre of the grown image, the
critic and the regressor pad the image to it with zeros. Shapes are ``(batch, n_cells)``
at the boundary, cells row-major as in shower files.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError
from .family import ModelShape

__all__ = ["ConvTrunk", "CriticNet", "GeneratorNet", "RegressorNet", "image_shape"]


def image_shape(shape: ModelShape) -> tuple[int, int]:
    """The one image ``(H, W)`` the networks are built for.

    A geometry with one layer gives its cells; a shape without layer shapes (tests, other
    data) is read as one row of ``n_features`` cells.

    Raises:
        ModelError: several layers, or features that are not the image's cells (a
            layer-normalised preprocessing).
    """
    if shape.head_layer_sizes:
        raise ModelError(
            "the LHCb ECAL networks generate cell energies, not the layer-normalised features "
            "of preprocess.layer_norm; use kind fastcalogan without layer_norm"
        )
    if not shape.layer_shapes:
        return (1, shape.n_features)
    if len(shape.layer_shapes) != 1:
        raise ModelError(
            f"the LHCb ECAL networks take one image of cells; the geometry has "
            f"{len(shape.layer_shapes)} layers {[tuple(s) for s in shape.layer_shapes]}"
        )
    h, w = shape.layer_shapes[0]
    if h * w != shape.n_features:
        raise ModelError(
            f"an image of {h} x {w} cells needs {h * w} features, not {shape.n_features}"
        )
    return (int(h), int(w))


def _grid(image: tuple[int, int], n_widths: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The smallest grid and the grown one (``2^(n_widths - 1)`` times larger)."""
    factor = 2 ** (n_widths - 1)
    base = (math.ceil(image[0] / factor), math.ceil(image[1] / factor))
    return base, (base[0] * factor, base[1] * factor)


def _check_widths(channels: Sequence[int]) -> tuple[int, ...]:
    widths = tuple(int(c) for c in channels)
    if len(widths) < 2 or min(widths) < 1:
        raise ModelError(f"channels must be at least two positive widths, found {list(widths)}")
    return widths


class GeneratorNet(nn.Module):
    """Noise and label -> cell values in the preprocessed space, ``(B, H * W)``.

    Args:
        image: ``(H, W)``.
        latent_dim: noise width.
        n_conditions: label width.
        channels: widths from the dense layer's map up (paper: 256, 128, 64, 32).
        batch_norm: batch normalisation after each transposed convolution.
    """

    def __init__(
        self,
        image: tuple[int, int],
        latent_dim: int,
        n_conditions: int,
        channels: Sequence[int],
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        widths = _check_widths(channels)
        self.image = image
        self.base, self.grown = _grid(image, len(widths))
        self.dense = nn.Linear(latent_dim + n_conditions, widths[0] * self.base[0] * self.base[1])
        blocks: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(widths):
            blocks.append(nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(c_out))
            blocks.append(nn.ReLU())
        blocks.append(nn.Conv2d(widths[-1], 1, kernel_size=3, padding=1))
        self.convs = nn.Sequential(*blocks)
        self.widths = widths

    def forward(self, noise: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """``noise`` (B, latent_dim), ``label`` (B, n_conditions) -> (B, H * W)."""
        h = torch.relu(self.dense(torch.cat([noise, label], dim=1)))
        h = self.convs(h.reshape(-1, self.widths[0], *self.base))
        top = (self.grown[0] - self.image[0]) // 2
        left = (self.grown[1] - self.image[1]) // 2
        h = h[:, 0, top : top + self.image[0], left : left + self.image[1]]
        return h.reshape(h.shape[0], -1)


class ConvTrunk(nn.Module):
    """The critic's convolutions: cells ``(B, H * W)`` -> features ``(B, n_features)``.

    The image is padded with zeros to the generator's grown grid, a 3 x 3 convolution makes
    ``channels[-1]`` maps, and strided 4 x 4 convolutions halve the grid up to
    ``channels[0]`` maps of the smallest grid (the generator in reverse); leaky ReLU after
    each.

    Args:
        image: ``(H, W)``.
        channels: the generator's widths (the trunk runs through them backwards).
        leaky_slope: negative slope of the leaky ReLUs.
    """

    def __init__(
        self, image: tuple[int, int], channels: Sequence[int], leaky_slope: float = 0.2
    ) -> None:
        super().__init__()
        widths = _check_widths(channels)[::-1]
        self.image = image
        base, self.grown = _grid(image, len(widths))
        self.leaky_slope = float(leaky_slope)
        self.first = nn.Conv2d(1, widths[0], kernel_size=3, padding=1)
        self.downs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, kernel_size=4, stride=2, padding=1)
            for c_in, c_out in itertools.pairwise(widths)
        )
        self.n_features = widths[-1] * base[0] * base[1]

    def forward(self, cells: torch.Tensor) -> torch.Tensor:
        """``(B, H * W)`` -> ``(B, n_features)``."""
        h = cells.reshape(-1, 1, *self.image)
        top = (self.grown[0] - self.image[0]) // 2
        left = (self.grown[1] - self.image[1]) // 2
        pad = (left, self.grown[1] - self.image[1] - left, top, self.grown[0] - self.image[0] - top)
        h = F.leaky_relu(self.first(F.pad(h, pad)), self.leaky_slope)
        for conv in self.downs:
            h = F.leaky_relu(conv(h), self.leaky_slope)
        return h.flatten(1)


class CriticNet(nn.Module):
    """Cells and label -> unbounded score ``(B, 1)``.

    ``score = w . f + b``, plus with ``projection`` the term ``f . (V label)`` of a projection
    discriminator (Miyato and Koyama, ICLR 2018): a label entering a linear last layer only
    adds a constant per label, which cancels in the Wasserstein estimate, so the critic
    could not judge whether an image fits its conditions; the bilinear term lets it.

    Args:
        image: ``(H, W)``.
        n_conditions: label width.
        channels: the generator's widths.
        leaky_slope: of the leaky ReLUs.
        projection: add the projection term (else the critic sees no label).
    """

    def __init__(
        self,
        image: tuple[int, int],
        n_conditions: int,
        channels: Sequence[int],
        leaky_slope: float = 0.2,
        projection: bool = True,
    ) -> None:
        super().__init__()
        self.trunk = ConvTrunk(image, channels, leaky_slope)
        self.score = nn.Linear(self.trunk.n_features, 1)
        self.project = (
            nn.Linear(n_conditions, self.trunk.n_features, bias=False) if projection else None
        )

    def forward(self, cells: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """``cells`` (B, H * W), ``label`` (B, n_conditions) -> (B, 1)."""
        f = self.trunk(cells)
        out = self.score(f)
        if self.project is not None:
            out = out + (f * self.project(label)).sum(dim=1, keepdim=True)
        return out


class RegressorNet(nn.Module):
    """Cells -> the conditions (in the label's standardised units), ``(B, n_outputs)``.

    The critic's trunk and one dense layer. :meth:`features` is the trunk's output, the
    representation compared by the perceptual conditioning term.

    Args:
        image: ``(H, W)``.
        n_outputs: conditions predicted (the label's columns after the energy).
        channels: the generator's widths (the regressor has the critic's architecture).
        leaky_slope: of the leaky ReLUs.
    """

    def __init__(
        self,
        image: tuple[int, int],
        n_outputs: int,
        channels: Sequence[int],
        leaky_slope: float = 0.2,
    ) -> None:
        super().__init__()
        if n_outputs < 1:
            raise ModelError(
                "the regressor predicts the conditions beyond the incident energy; the "
                "preprocessing has none (set preprocess.conditions)"
            )
        self.trunk = ConvTrunk(image, channels, leaky_slope)
        self.head = nn.Linear(self.trunk.n_features, n_outputs)

    def features(self, cells: torch.Tensor) -> torch.Tensor:
        """The trunk's output ``(B, n_features)``."""
        return self.trunk(cells)

    def forward(self, cells: torch.Tensor) -> torch.Tensor:
        """``(B, H * W)`` -> ``(B, n_outputs)``."""
        return self.head(self.trunk(cells))
