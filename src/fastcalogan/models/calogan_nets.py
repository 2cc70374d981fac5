"""The CaloGAN networks: per-layer image streams, in-painting attention, and a discriminator
with sparsity, minibatch discrimination and energy features.

After M. Paganini, L. de Oliveira and B. Nachman, PRL 120 (2018) 042003 and PRD 97 (2018)
014021 (sections III-IV and their figures of the generator and the discriminator), which build
on LAGAN (de Oliveira et al., arXiv:1701.05927). Written for this package; the layer sizes
follow the papers and the authors' public model description. Every stream is sized from its
layer's image shape ``(rows, columns)``, so any geometry whose layers are images works (the
CaloGAN calorimeter: 3 x 96, 12 x 12, 12 x 6).

Images inside the networks are in GeV when the label is ``E / 100 GeV`` (the preset pins
``preprocess.e_max`` to 100 GeV; in general the unit is ``e_max / energy_scale_gev``). The
generator returns them divided by the incident energy, the toolkit's ``fastcalogan``
preprocessing (``E_voxel / E_inc``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..errors import ModelError
from .locally_connected import LocallyConnected2d

if TYPE_CHECKING:
    from .calogan import CaloGanConfig

__all__ = [
    "AreaResize",
    "CaloGanDiscriminator",
    "CaloGanGenerator",
    "DiscriminatorStream",
    "GeneratorStream",
    "InpaintingAttention",
    "MinibatchDiscrimination",
    "area_weights",
    "energy_features",
    "soft_sparsity",
    "split_layers",
]


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    """Keras's batch normalisation: running averages with momentum 0.99, epsilon 1e-3."""
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


def split_layers(flat: torch.Tensor, layer_shapes: Sequence[tuple[int, int]]) -> list[torch.Tensor]:
    """``(B, n_voxels)`` showers as one ``(B, 1, rows, columns)`` image per layer."""
    sizes = [a * b for a, b in layer_shapes]
    parts = torch.split(flat, sizes, dim=1)
    return [p.reshape(-1, 1, a, b) for p, (a, b) in zip(parts, layer_shapes, strict=True)]


def area_weights(n_in: int, n_out: int) -> torch.Tensor:
    """``(n_out, n_in)`` weights of an area resize along one axis: output bin ``i`` covers
    ``[i n_in / n_out, (i + 1) n_in / n_out)`` of the input bins and averages what it
    overlaps (rows sum to 1). 3 -> 12 repeats each row 4 times, 96 -> 12 averages 8.

    >>> area_weights(2, 4).tolist()
    [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]
    """
    w = torch.zeros(n_out, n_in, dtype=torch.float64)
    span = n_in / n_out
    for i in range(n_out):
        lo, hi = i * span, (i + 1) * span
        for k in range(int(lo), min(n_in, int(-(-hi // 1)))):
            w[i, k] = max(0.0, min(hi, k + 1) - max(lo, k)) / span
    return w.float()


class AreaResize(nn.Module):
    """Resize ``(B, C, rows, columns)`` images to ``out_shape`` by area averaging.

    CaloGAN carries layer 0 (3 x 96) to layer 1 (12 x 12) by 4x row upsampling and 8-column
    average pooling, and layer 1 to layer 2 (12 x 6) by 2-column pooling: this is that map
    for any pair of shapes (``R_rows @ image @ R_cols^T``), with the same numbers there.
    """

    def __init__(self, in_shape: tuple[int, int], out_shape: tuple[int, int]) -> None:
        super().__init__()
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.register_buffer("rows", area_weights(in_shape[0], out_shape[0]))
        self.register_buffer("columns", area_weights(in_shape[1], out_shape[1]).T.contiguous())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows: torch.Tensor = self.rows  # type: ignore[assignment]
        columns: torch.Tensor = self.columns  # type: ignore[assignment]
        return torch.matmul(torch.matmul(rows, x), columns)


class InpaintingAttention(nn.Module):
    """Trainable in-painting from the previous layer: ``W * I + (1 - W) * I'``.

    ``I`` is the layer's own image, ``I'`` the previous layer resized to it; ``W`` (per cell)
    is the softmax over two channels of a 3 x 3 locally connected layer (zero padding 1) that
    sees both images. The carried channel starts with bias -10, so the network begins with
    ``W`` close to 1 (no in-painting) and learns how much to take over.

    Shapes: ``primary``, ``carried`` ``(B, 1, rows, columns)`` -> ``(B, 1, rows, columns)``.
    """

    def __init__(self, shape: tuple[int, int], carried_bias: float = -10.0) -> None:
        super().__init__()
        self.weights_layer = LocallyConnected2d(2, 2, shape, 3, padding=1)
        with torch.no_grad():
            assert self.weights_layer.bias is not None
            self.weights_layer.bias[1].fill_(carried_bias)

    def weight(self, primary: torch.Tensor, carried: torch.Tensor) -> torch.Tensor:
        """``W``, ``(B, 1, rows, columns)`` in (0, 1): the share of the layer's own image."""
        both = torch.cat([primary, carried], dim=1)
        return torch.softmax(self.weights_layer(both), dim=1)[:, :1]

    def forward(self, primary: torch.Tensor, carried: torch.Tensor) -> torch.Tensor:
        w = self.weight(primary, carried)
        return w * primary + (1.0 - w) * carried


class GeneratorStream(nn.Module):
    """One layer's LAGAN-style stream: dense to ``(rows + 2) x (columns + 2)`` x channels, a
    2 x 2 convolution ("same"), leaky ReLU, batch normalisation, a 2 x 2 locally connected
    layer, leaky ReLU, and a 2 x 2 locally connected layer without bias to one channel of
    ``rows x columns`` (linear: the ReLU comes after the in-painting).
    """

    def __init__(self, n_in: int, shape: tuple[int, int], config: CaloGanConfig) -> None:
        super().__init__()
        rows, cols = shape
        self.channels = config.generator_dense_channels
        self.grid = (rows + 2, cols + 2)
        self.dense = nn.Linear(n_in, self.grid[0] * self.grid[1] * self.channels)
        # padding 1 all round, then the first row and column dropped: TensorFlow's "same"
        # padding of an even kernel (one zero row and column after), without an ONNX Pad
        self.conv = nn.Conv2d(self.channels, config.generator_conv_channels, 2, padding=1)
        self.norm = _batch_norm(config.generator_conv_channels)
        self.local1 = LocallyConnected2d(
            config.generator_conv_channels, config.generator_local_channels, self.grid, 2
        )
        self.local2 = LocallyConnected2d(
            config.generator_local_channels, 1, self.local1.out_shape, 2, bias=False
        )
        self.act = nn.LeakyReLU(config.leaky_slope)
        _glorot(self.dense)
        nn.init.kaiming_uniform_(self.conv.weight, a=0.0, nonlinearity="relu")  # he_uniform
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)
        self.local1.reset_parameters("he_uniform")
        self.local2.reset_parameters("glorot_normal")

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = self.dense(h).reshape(-1, self.channels, *self.grid)
        x = self.norm(self.act(self.conv(x)[:, :, 1:, 1:]))
        return self.local2(self.act(self.local1(x)))


class CaloGanGenerator(nn.Module):
    """The CaloGAN generator, the family's sampling network.

    ``h = z * label_E`` (the latent times the requested energy over ``energy_scale_gev``,
    CaloGAN's ``E / 100 GeV``; further condition columns, if any, are appended to ``h``);
    one :class:`GeneratorStream` per layer; layer ``i > 0`` is in-painted from layer ``i - 1``
    (:class:`InpaintingAttention` on the :class:`AreaResize`\\ d previous image, itself after
    its own in-painting); a ReLU on every image.

    ``forward(noise (B, latent), label (B, n_conditions))`` -> ``(B, n_voxels)``: cell
    energies over the incident energy (the ``fastcalogan`` preprocessing).
    """

    def __init__(
        self,
        config: CaloGanConfig,
        layer_shapes: Sequence[tuple[int, int]],
        n_conditions: int = 1,
    ) -> None:
        super().__init__()
        self.layer_shapes = tuple((int(a), int(b)) for a, b in layer_shapes)
        self.energy_scale_gev = float(config.energy_scale_gev)
        n_in = config.latent_dim + n_conditions - 1
        self.streams = nn.ModuleList(GeneratorStream(n_in, s, config) for s in self.layer_shapes)
        pairs = list(zip(self.layer_shapes[:-1], self.layer_shapes[1:], strict=True))
        self.attention = bool(config.attention)
        self.resize = nn.ModuleList(AreaResize(a, b) for a, b in pairs) if self.attention else None
        self.inpaint = (
            nn.ModuleList(InpaintingAttention(b) for _, b in pairs) if self.attention else None
        )

    def images(self, noise: torch.Tensor, label: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's image in GeV (``e_max / energy_scale_gev``), ``(B, 1, rows, cols)``."""
        h = noise * label[:, :1]
        if label.shape[1] > 1:
            h = torch.cat([h, label[:, 1:]], dim=1)
        out = [stream(h) for stream in self.streams]
        if self.resize is not None and self.inpaint is not None:
            for i in range(1, len(out)):
                out[i] = self.inpaint[i - 1](out[i], self.resize[i - 1](out[i - 1]))
        return [torch.relu(x) for x in out]

    def forward(self, noise: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        flat = torch.cat([x.flatten(1) for x in self.images(noise, label)], dim=1)
        energy_gev = label[:, :1].clamp_min(1e-9) * self.energy_scale_gev
        return flat / energy_gev


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al., arXiv:1606.03498), as CaloGAN uses it.

    The features ``f (B, n_in)`` are projected to ``M (B, kernels, dim)``; the output is
    ``tanh(sum_b' exp(-|M_b - M_b'|_1))`` per kernel, ``(B, kernels)`` (the sum includes the
    event itself). It tells the discriminator how alike the events of a batch are, against
    mode collapse.
    """

    def __init__(self, n_in: int, kernels: int = 10, dim: int = 10) -> None:
        super().__init__()
        self.kernels, self.dim = int(kernels), int(dim)
        self.project = nn.Linear(n_in, self.kernels * self.dim)
        _glorot(self.project)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        m = self.project(features).reshape(-1, self.kernels, self.dim)
        l1 = (m.unsqueeze(1) - m.unsqueeze(0)).abs().sum(dim=3)  # (B, B, kernels)
        return torch.tanh(torch.exp(-l1).sum(dim=1))


def soft_sparsity(image: torch.Tensor, scale: float) -> torch.Tensor:
    """Share of filled cells of each image, sub-differentiable: ``mean(clamp(E / scale, 0, 1))``.

    Equal to the count of cells above zero for cells at 0 or above ``scale``; linear in
    between, so that the generator gets a (sub)gradient from it (a plain count has none).

    >>> soft_sparsity(torch.tensor([[[[0.0, 0.5, 2.0, 3.0]]]]), 1.0).tolist()
    [[0.625]]

    Shapes: ``(B, 1, rows, cols)`` -> ``(B, 1)``.
    """
    return (image / scale).clamp(0.0, 1.0).flatten(1).mean(dim=1, keepdim=True)


def energy_features(
    images: Sequence[torch.Tensor], energy_gev: torch.Tensor, threshold_gev: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """CaloGAN's energy features of a batch.

    Args:
        images: each layer's image, ``(B, 1, rows, cols)``, GeV.
        energy_gev: requested (generated) or true (reference) incident energy, ``(B, 1)``.
        threshold_gev: the indicator's threshold (5 GeV in CaloGAN).

    Returns:
        ``(layer energies (B, n_layers), total (B, 1), |E - E_tot| (B, 1),
        indicator |E - E_tot| > threshold (B, 1) as 0/1)``.

    >>> img = [torch.full((1, 1, 2, 2), 1.0), torch.full((1, 1, 1, 2), 3.0)]
    >>> [t.tolist() for t in energy_features(img, torch.tensor([[20.0]]), 5.0)]
    [[[4.0, 6.0]], [[10.0]], [[10.0]], [[1.0]]]
    """
    layers = torch.cat([x.flatten(1).sum(dim=1, keepdim=True) for x in images], dim=1)
    total = layers.sum(dim=1, keepdim=True)
    well = (total - energy_gev).abs()
    return layers, total, well, (well > threshold_gev).to(layers.dtype)


class DiscriminatorStream(nn.Module):
    """One layer's feature stream: a 2 x 2 convolution ("same", 64 channels), then three
    locally connected layers (3 x 3 stride (1, 2), 2 x 2, 2 x 2 stride (1, 2); zero padding 1
    before each), each followed by leaky ReLU and batch normalisation; flattened."""

    def __init__(self, shape: tuple[int, int], config: CaloGanConfig) -> None:
        super().__init__()
        self.act = nn.LeakyReLU(config.leaky_slope)
        self.conv = nn.Conv2d(1, config.discriminator_conv_channels, 2)
        _glorot(self.conv)
        layers: list[nn.Module] = []
        channels, grid = config.discriminator_conv_channels, (int(shape[0]), int(shape[1]))
        kernels = ((3, (1, 2)), (2, (1, 1)), (2, (1, 2)))
        for width, (kernel, stride) in zip(
            config.discriminator_local_channels, kernels, strict=True
        ):
            local = LocallyConnected2d(channels, width, grid, kernel, stride, padding=1)
            layers += [local, nn.LeakyReLU(config.leaky_slope), _batch_norm(width)]
            channels, grid = width, local.out_shape
        self.local = nn.Sequential(*layers)
        self.n_features = channels * grid[0] * grid[1]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.act(self.conv(nn.functional.pad(image, (0, 1, 0, 1))))
        return self.local(x).flatten(1)


class CaloGanDiscriminator(nn.Module):
    """The CaloGAN discriminator.

    Per layer: the stream's features, minibatch discrimination on them, the (soft) sparsity
    and minibatch discrimination on it. Over the layers: the layer energies and the total
    (CaloGAN scales them by 1/10 and 1/100 GeV), minibatch discrimination on the layer
    energies, ``|E - E_tot|`` and 10 x the indicator ``|E - E_tot| > 5 GeV``. One linear unit
    on all of it gives the real/fake logit; the total energy is the second output, the
    "reconstructed energy" that the energy loss compares with the incident energy.

    ``forward(images, energy_gev, extra)`` -> ``(logit (B,), E_tot (B,))``; ``extra`` are
    condition columns beyond the energy (``(B, k)``, or ``None``), appended to the features.
    """

    def __init__(
        self,
        config: CaloGanConfig,
        layer_shapes: Sequence[tuple[int, int]],
        n_conditions: int = 1,
    ) -> None:
        super().__init__()
        self.layer_shapes = tuple((int(a), int(b)) for a, b in layer_shapes)
        self.sparsity_scale = config.sparsity_scale_mev / 1000.0  # GeV
        self.threshold_gev = float(config.energy_well_threshold_gev)
        k, d = config.mbd_kernels, config.mbd_kernel_dim
        streams = [DiscriminatorStream(s, config) for s in self.layer_shapes]
        sizes = [s.n_features for s in streams]
        self.streams = nn.ModuleList(streams)
        self.mbd_features = nn.ModuleList(MinibatchDiscrimination(n, k, d) for n in sizes)
        self.mbd_sparsity = nn.ModuleList(
            MinibatchDiscrimination(1, k, d) for _ in self.layer_shapes
        )
        n_layers = len(self.layer_shapes)
        self.mbd_energy = MinibatchDiscrimination(n_layers, k, d)
        n_features = sum(n + 2 * k + 1 for n in sizes)
        n_features += n_layers + 1 + 2 + k + (n_conditions - 1)
        self.output = nn.Linear(n_features, 1)
        _glorot(self.output)

    def forward(
        self,
        images: Sequence[torch.Tensor],
        energy_gev: torch.Tensor,
        extra: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if len(images) != len(self.streams):
            raise ModelError(
                f"discriminator built for {len(self.streams)} layers, got {len(images)}"
            )
        parts: list[torch.Tensor] = []
        for i, image in enumerate(images):
            f = self.streams[i](image)
            s = soft_sparsity(image, self.sparsity_scale)
            parts += [f, self.mbd_features[i](f), s, self.mbd_sparsity[i](s)]
        layers, total, well, too_far = energy_features(images, energy_gev, self.threshold_gev)
        parts += [layers / 10.0, total / 100.0, well, 10.0 * too_far, self.mbd_energy(layers)]
        if extra is not None and extra.shape[1]:
            parts.append(extra)
        return self.output(torch.cat(parts, dim=1)).squeeze(1), total.squeeze(1)


def _glorot(module: nn.Linear | nn.Conv2d) -> None:
    """Keras's default initialisation: Glorot-uniform weights, zero bias."""
    nn.init.xavier_uniform_(module.weight)
    if module.bias is not None:
        nn.init.zeros_(module.bias)
