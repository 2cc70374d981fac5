"""The locally connected layer against an explicit loop over output positions."""

from __future__ import annotations

import pytest
import torch

from fastcalogan.errors import ModelError
from fastcalogan.models import LocallyConnected2d


def _naive(layer: LocallyConnected2d, x: torch.Tensor) -> torch.Tensor:
    """out[b, o, i, j] = bias[o, i, j] + sum_{c,u,v} w[i*ow+j, (c,u,v), o] x_pad[b, c, i sh + u, j sw + v]."""
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    xp = torch.nn.functional.pad(x, (pw, pw, ph, ph))
    oh, ow = layer.out_shape
    out = torch.zeros(x.shape[0], layer.out_channels, oh, ow, dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            window = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]  # (B, C, kh, kw)
            w = layer.weight[i * ow + j].reshape(layer.in_channels, kh, kw, layer.out_channels)
            out[:, :, i, j] = torch.einsum("bcuv,cuvo->bo", window, w)
            if layer.bias is not None:
                out[:, :, i, j] += layer.bias[:, i, j]
    return out


@pytest.mark.parametrize(
    ("in_shape", "kernel", "stride", "padding", "bias"),
    [
        ((5, 7), 2, 1, 0, True),
        ((3, 12), 3, (1, 2), 1, True),
        ((4, 6), (2, 3), (2, 1), (0, 1), False),
        ((1, 5), 2, (1, 2), 1, True),
    ],
)
def test_matches_an_explicit_loop_with_gradients(
    in_shape: tuple[int, int],
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int],
    padding: int | tuple[int, int],
    bias: bool,
) -> None:
    torch.manual_seed(0)
    layer = LocallyConnected2d(3, 4, in_shape, kernel, stride, padding, bias).double()
    if bias:
        assert layer.bias is not None
        with torch.no_grad():
            layer.bias.normal_()  # zero at initialisation: make it count
    x = torch.randn(5, 3, *in_shape, dtype=torch.float64, requires_grad=True)
    fast, slow = layer(x), _naive(layer, x)
    assert fast.shape == (5, 4, *layer.out_shape)
    torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12)
    probe = torch.randn_like(fast)
    g_fast = torch.autograd.grad((fast * probe).sum(), [x, layer.weight])
    g_slow = torch.autograd.grad((slow * probe).sum(), [x, layer.weight])
    for a, b in zip(g_fast, g_slow, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_weights_are_not_shared_between_positions() -> None:
    layer = LocallyConnected2d(1, 1, (1, 3), (1, 1), bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([1.0, 2.0, 3.0]).reshape(3, 1, 1))
    assert layer(torch.ones(1, 1, 1, 3)).flatten().tolist() == [1.0, 2.0, 3.0]


def test_shapes_and_bad_input_are_one_line_errors() -> None:
    layer = LocallyConnected2d(2, 3, (3, 96), 3, (1, 2), 1)
    assert layer.out_shape == (3, 48) and layer.weight.shape == (144, 18, 3)
    with pytest.raises(ModelError, match=r"built for \(B, 2, 3, 96\), found \(4, 2, 3, 95\)"):
        layer(torch.zeros(4, 2, 3, 95))
    with pytest.raises(ModelError, match="a 3x3 kernel does not fit an input of 1x5"):
        LocallyConnected2d(1, 1, (1, 5), 3)
