"""The WGAN-GP critic update of an MLP critic with ReLUs, forward and backward written out.

:func:`~fastcalogan.models.critic_terms` with autograd does one backward pass through the
whole ``3B``-row forward, although the interpolates ``x_hat`` (the last ``B`` rows) reach the
loss only through the penalty's input gradient, whose ReLU slopes are constant: their rows of
every weight-gradient and input-gradient product are zeros, a sixth of an iteration's FLOPs
for the FastCaloGAN critic. Here the backward is written out: the real and fake rows (2B)
go back through the layers, and each weight's two gradient terms (loss rows and penalty
chain) are one product over ``3B`` rows, ``[dA_k; P_k]^T [H_{k-1}; dG_k]``.

Every tensor carries a leading member axis ``K``: the same code trains one critic (``K = 1``,
views of its ``nn.Linear`` weights) and an ensemble of ``K`` independent critics with stacked
weights ``(K, n_out, n_in)`` (batched matrix products). Members never mix: each one's
numbers are those of its own one-member step (up to the float rounding of the products).

Notation, per member: ``H_0 = [real; fake; x_hat | label]`` ``(3B, F + C)``; hidden layer
``k``: ``A_k = H_{k-1} W_k^T + b_k``, ``H_k = relu(A_k)``; ``score = H_{L-1} W_L^T + b_L``.
The penalty's input gradient at ``x_hat``: ``G_L = W_L``, ``P_k = G_{k+1} * [A_k > 0]``,
``G_k = P_k W_k``, ``grad_x = G_1[:, :F]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from .gan import STACK_ROWS

__all__ = ["CriticWorkspace", "StackedCriticTerms", "critic_backward", "critic_input_gradient"]


class StackedCriticTerms(NamedTuple):
    """Per-member terms of the critic loss ``d_fake - d_real + penalty``, each ``(K,)``."""

    d_real: Tensor
    d_fake: Tensor
    penalty: Tensor


def _relu_grad(grad: Tensor, post: Tensor) -> Tensor:
    """``grad`` where the ReLU output ``post`` is positive, else 0 (one kernel)."""
    return torch.ops.aten.threshold_backward(grad, post, 0.0)


def _forward(weights: Sequence[Tensor], biases: Sequence[Tensor], h: Tensor) -> list[Tensor]:
    """``[H_0, H_1, ..., H_{L-1}, score]`` of the rows ``h`` ``(K, R, F + C)``."""
    outs = [h]
    for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
        a = torch.baddbmm(b.unsqueeze(1), outs[-1], w.transpose(1, 2))
        outs.append(a if k == len(weights) - 1 else torch.relu_(a))
    return outs


def critic_input_gradient(
    weights: Sequence[Tensor], biases: Sequence[Tensor], x: Tensor, label: Tensor
) -> tuple[Tensor, Tensor]:
    """Mean critic score and each row's score gradient with respect to its shower.

    Args:
        weights, biases: the critic's layers, ``(K, n_out, n_in)`` and ``(K, n_out)``.
        x: showers ``(K, B, F)``.
        label: their conditions ``(K, B, C)``.

    Returns:
        ``mean_b D(x_b)`` ``(K,)`` and ``dD(x_b)/dx_b`` ``(K, B, F)``.
    """
    n_features = x.shape[2]
    outs = _forward(weights, biases, torch.cat([x, label], dim=2))
    grad = weights[-1].expand(x.shape[0], x.shape[1], -1)
    for k in range(len(weights) - 2, -1, -1):
        grad = torch.bmm(_relu_grad(grad, outs[k + 1]), weights[k])
    return outs[-1].mean(dim=(1, 2)), grad[..., :n_features]


class CriticWorkspace:
    """Buffers of :func:`critic_backward`, kept between calls of the same shapes.

    Every intermediate of the step lives here, so a step allocates (almost) nothing: no page
    faults from freed and re-mapped memory, and fixed addresses (a CUDA graph can replay the
    step). Rows ``[0, B)`` are real showers, ``[B, 2B)`` fake, ``[2B, 3B)`` the interpolates.
    """

    def __init__(self) -> None:
        self.key: tuple[object, ...] | None = None

    def get(self, weights: Sequence[Tensor], batch: int) -> CriticWorkspace:
        """This workspace, (re)allocated for ``weights`` and ``batch`` if they changed."""
        w = weights[0]
        key = (tuple(x.shape for x in weights), batch, w.dtype, w.device)
        if key == self.key:
            return self
        self.key = key
        n_members, rows = w.shape[0], 3 * batch
        widths = [x.shape[2] for x in weights] + [weights[-1].shape[1]]

        def buffer(*shape: int) -> Tensor:
            return torch.zeros(shape, dtype=w.dtype, device=w.device)

        #: H_0 .. H_{L-1}, then the score; after the forward the interpolates' rows of H_k
        #: are overwritten by dG_{k+1} (the penalty chain's backward)
        self.h = [buffer(n_members, rows, n) for n in widths]
        #: [dA_k; P_k] of every layer; the last is the constant [d loss / d score; 1]
        self.left = [buffer(n_members, rows, n) for n in widths[1:]]
        self.left[-1][:, :batch] = -1.0 / batch
        self.left[-1][:, batch : 2 * batch] = 1.0 / batch
        self.left[-1][:, 2 * batch :] = 1.0
        #: T_k = [dH_k; G_{k+1}] of the top-down pass, G_0 at x_hat, dP_k of the chain's
        #: backward
        self.top = [buffer(n_members, rows, n) for n in widths[1:-1]]
        self.grad_x = buffer(n_members, batch, widths[0])
        self.d_p = [buffer(n_members, batch, n) for n in widths[1:-1]]
        return self


def critic_backward(
    weights: Sequence[Tensor],
    biases: Sequence[Tensor],
    real: Tensor,
    fake: Tensor,
    label: Tensor,
    eps: Tensor,
    gp_lambda: float,
    weight_grads: Sequence[Tensor],
    bias_grads: Sequence[Tensor],
    workspace: CriticWorkspace | None = None,
) -> StackedCriticTerms:
    """The WGAN-GP critic loss and its parameter gradients, written into the given tensors.

    The same quantities as :func:`~fastcalogan.models.critic_terms` followed by a backward
    pass of ``d_fake - d_real + penalty`` (tested against it in float64); the gradients
    overwrite ``weight_grads`` and ``bias_grads`` (nothing is accumulated).

    Args:
        weights, biases: the critic's layers ``(K, n_out, n_in)``, ``(K, n_out)``; every
            hidden layer is followed by a ReLU.
        real, fake: ``(K, B, F)`` showers.
        label: ``(K, B, C)`` conditions, shared by real, fake and interpolated rows.
        eps: ``(K, B, 1)`` interpolation coefficients, ``x_hat = eps real + (1 - eps) fake``.
        gp_lambda: weight of the gradient penalty.
        weight_grads, bias_grads: outputs, shaped as ``weights`` and ``biases``.
        workspace: buffers kept between calls (a new one when not given).

    Returns:
        ``(mean D(real), mean D(fake), penalty)``, each ``(K,)``.
    """
    n_members, batch, n_features = real.shape
    ws = (workspace or CriticWorkspace()).get(weights, batch)
    h, left, n_hidden = ws.h, ws.left, len(weights) - 1
    b2 = 2 * batch
    # H_0 = [real; fake; x_hat | label], x_hat with critic_terms' arithmetic
    h[0][:, :batch, :n_features] = real
    h[0][:, batch:b2, :n_features] = fake
    x_hat = h[0][:, b2:, :n_features]
    torch.mul(eps, real, out=x_hat)
    x_hat.add_((1.0 - eps) * fake)
    for rows in (slice(0, batch), slice(batch, b2), slice(b2, None)):
        h[0][:, rows, n_features:] = label
    # forward: one product of 3B rows per layer while that stays in cache (STACK_ROWS)
    groups = (
        [slice(None)]
        if 3 * batch <= STACK_ROWS
        else [slice(i * batch, (i + 1) * batch) for i in range(3)]
    )
    for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
        for rows in groups:
            torch.baddbmm(b.unsqueeze(1), h[k][:, rows], w.transpose(1, 2), out=h[k + 1][:, rows])
        if k < n_hidden:
            h[k + 1].relu_()
    means = h[-1].view(n_members, 3, batch).mean(dim=2)
    # top-down over all 3B rows at once: the loss rows' backward (top gradient d loss / d
    # score) and the penalty's input gradient at x_hat (top gradient 1) are one recursion,
    # T_k = [dH_k; G_{k+1}], left_k = T_k * [A_k > 0] = [dA_k; P_k], T_{k-1} = left_k W_k
    if n_hidden:
        top = torch.mul(left[-1], weights[-1], out=ws.top[-1])
        for k in range(n_hidden, 0, -1):
            torch.ops.aten.threshold_backward.grad_input(top, h[k], 0.0, grad_input=left[k - 1])
            if k > 1:
                top = torch.bmm(left[k - 1], weights[k - 1], out=ws.top[k - 2])
        # the first layer's input gradient only at x_hat (the showers need none)
        grad = torch.bmm(left[0][:, b2:], weights[0], out=ws.grad_x)
    else:
        grad = weights[-1].expand(n_members, batch, -1)
    grad_x = grad[..., :n_features]
    norm = grad_x.norm(dim=2, keepdim=True)
    penalty = gp_lambda * ((norm - 1.0) ** 2).mean(dim=(1, 2))
    # dG_1 = d penalty / d G_1 (zero in the label columns) into H_0's interpolate rows, then
    # dG_{k+1} = (dG_k W_k^T) * [A_k > 0] into H_k's
    scale = torch.where(norm > 0, (2.0 * gp_lambda / batch) * (norm - 1.0) / norm, 0.0)
    torch.mul(scale, grad_x, out=h[0][:, b2:, :n_features])
    h[0][:, b2:, n_features:] = 0.0
    for k in range(1, n_hidden + 1):
        d_p = torch.bmm(h[k - 1][:, b2:], weights[k - 1].transpose(1, 2), out=ws.d_p[k - 1])
        target = h[k][:, b2:]
        torch.ops.aten.threshold_backward.grad_input(d_p, target, 0.0, grad_input=target)
    # each weight's gradient is one product over 3B rows: [dA_k; P_k]^T [H_{k-1}; dG_k]
    for k in range(n_hidden, -1, -1):
        torch.sum(left[k][:, :b2], dim=1, out=bias_grads[k])
        torch.bmm(left[k].transpose(1, 2), h[k], out=weight_grads[k])
    return StackedCriticTerms(means[:, 0], means[:, 1], penalty)
