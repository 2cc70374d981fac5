"""A locally connected 2-D layer: a convolution whose weights differ at every output position.

PyTorch has no such layer (``torch.nn`` offers ``Conv2d`` and ``Unfold``; Keras's
``LocallyConnected2D`` was removed in Keras 3) and no maintained package provides one (the
package index has none for PyTorch), so the CaloGAN family (Paganini, de Oliveira and
Nachman, PRD 97 (2018) 014021; after LAGAN, de Oliveira et al., arXiv:1701.05927) uses this
small module. ``tests/models/test_locally_connected.py`` checks it against an explicit loop
over output positions.

The windows are gathered by ``torch.nn.functional.unfold`` (im2col) and multiplied with a
per-position weight by one batched matrix product; the layer exports to ONNX (opset 17, the
TorchScript exporter) and matches torch there.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ModelError

__all__ = ["LocallyConnected2d", "locally_connected_output_shape"]


def _pair(value: int | tuple[int, int], what: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))
    if min(pair) < (0 if what == "padding" else 1):
        raise ModelError(f"locally connected layer: {what} must be positive, found {value}")
    return pair


def locally_connected_output_shape(
    in_shape: tuple[int, int],
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> tuple[int, int]:
    """Output ``(rows, columns)`` of a valid sliding window over the padded input.

    >>> locally_connected_output_shape((5, 98), 3, (1, 2))
    (3, 48)
    """
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    h, w = in_shape[0] + 2 * ph, in_shape[1] + 2 * pw
    if h < kh or w < kw:
        raise ModelError(
            f"locally connected layer: a {kh}x{kw} kernel does not fit an input of "
            f"{in_shape[0]}x{in_shape[1]} padded by {ph}x{pw}"
        )
    return ((h - kh) // sh + 1, (w - kw) // sw + 1)


class LocallyConnected2d(nn.Module):
    """Locally connected 2-D layer (unshared weights), channels first.

    ``out[b, o, i, j] = bias[o, i, j] + sum_{c, u, v} weight[i, j, (c, u, v), o] *
    x_pad[b, c, i * sh + u, j * sw + v]``, ``x_pad`` the input zero-padded by ``padding`` on
    each side.

    Args:
        in_channels: input channels ``C``.
        out_channels: output channels ``O``.
        in_shape: input ``(rows, columns)``; the layer is built for this size only.
        kernel_size: window ``(kh, kw)``.
        stride: ``(sh, sw)``.
        padding: zeros added on each side, ``(ph, pw)``.
        bias: add a bias per output channel and position.

    Shapes:
        input ``(B, C, rows, columns)`` -> output ``(B, O, *out_shape)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        in_shape: tuple[int, int],
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.in_shape = (int(in_shape[0]), int(in_shape[1]))
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.out_shape = locally_connected_output_shape(
            self.in_shape, self.kernel_size, self.stride, self.padding
        )
        n_positions = self.out_shape[0] * self.out_shape[1]
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        self.weight = nn.Parameter(torch.empty(n_positions, fan_in, self.out_channels))
        self.bias = nn.Parameter(torch.zeros(self.out_channels, *self.out_shape)) if bias else None
        self.reset_parameters()

    @property
    def fan_in(self) -> int:
        """Inputs of one output unit: ``C * kh * kw``."""
        return int(self.weight.shape[1])

    def reset_parameters(self, init: str = "glorot_uniform") -> None:
        """Initialise every position's kernel as a convolution's of the same window:
        ``glorot_uniform`` (default), ``he_uniform`` or ``glorot_normal`` with fan-in
        ``C kh kw`` and fan-out ``O kh kw``; bias zero."""
        fan_out = self.out_channels * self.kernel_size[0] * self.kernel_size[1]
        with torch.no_grad():
            if init == "he_uniform":
                limit = math.sqrt(6.0 / self.fan_in)
                self.weight.uniform_(-limit, limit)
            elif init == "glorot_normal":
                self.weight.normal_(0.0, math.sqrt(2.0 / (self.fan_in + fan_out)))
            elif init == "glorot_uniform":
                limit = math.sqrt(6.0 / (self.fan_in + fan_out))
                self.weight.uniform_(-limit, limit)
            else:
                raise ModelError(f"unknown initialisation {init!r}")
            if self.bias is not None:
                self.bias.zero_()

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """The input windows, ``(n_positions, B, C * kh * kw)`` in the weight's order."""
        # im2col: its backward (col2im) accumulates the windows' gradients in one pass
        cols = nn.functional.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)
        return cols.permute(2, 0, 1)  # (B, K, L) -> (L, B, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing() and (
            x.ndim != 4 or tuple(x.shape[1:]) != (self.in_channels, *self.in_shape)
        ):
            raise ModelError(
                f"locally connected layer built for (B, {self.in_channels}, "
                f"{self.in_shape[0]}, {self.in_shape[1]}), found {tuple(x.shape)}"
            )
        out = torch.matmul(self.patches(x), self.weight)  # (positions, B, O)
        out = out.permute(1, 2, 0).reshape(x.shape[0], self.out_channels, *self.out_shape)
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, in_shape={self.in_shape}, "
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"out_shape={self.out_shape}, bias={self.bias is not None}"
        )
