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

__all__ = ["StackedCriticTerms", "critic_backward", "critic_input_gradient"]


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

    Returns:
        ``(mean D(real), mean D(fake), penalty)``, each ``(K,)``.
    """
    n_members, batch, n_features = real.shape
    x_hat = eps * real + (1.0 - eps) * fake
    rows = torch.cat([real, fake, x_hat], dim=1)
    outs = _forward(weights, biases, torch.cat([rows, label.repeat(1, 3, 1)], dim=2))
    score, posts = outs[-1], outs[:-1]
    n_hidden = len(weights) - 1
    # the penalty's input gradient at x_hat, layer by layer from the top (P_k kept)
    chain: list[Tensor] = [torch.empty(0)] * (n_hidden + 1)
    grad = weights[-1].expand(n_members, batch, -1)
    for k in range(n_hidden, 0, -1):
        chain[k] = _relu_grad(grad, posts[k][:, 2 * batch :])
        grad = torch.bmm(chain[k], weights[k - 1])
    grad_x = grad[..., :n_features]
    norm = grad_x.norm(dim=2, keepdim=True)
    penalty = gp_lambda * ((norm - 1.0) ** 2).mean(dim=(1, 2))
    # d penalty / d G_1 (zero in the label columns), then back down the chain: dG_k
    scale = torch.where(norm > 0, (2.0 * gp_lambda / batch) * (norm - 1.0) / norm, 0.0)
    d_chain: list[Tensor] = [torch.empty(0)] * (n_hidden + 2)
    d_chain[1] = torch.zeros_like(grad)
    d_chain[1][..., :n_features] = scale * grad_x
    for k in range(1, n_hidden + 1):
        d_p = torch.bmm(d_chain[k], weights[k - 1].transpose(1, 2))
        d_chain[k + 1] = _relu_grad(d_p, posts[k][:, 2 * batch :])
    # loss rows: d loss / d score is -1/B for real, +1/B for fake
    d_score = torch.full((n_members, 2 * batch, 1), 1.0 / batch, dtype=real.dtype)
    d_score = d_score.to(real.device)
    d_score[:, :batch] = -1.0 / batch
    top = posts[n_hidden][:, : 2 * batch]
    torch.bmm(d_score.transpose(1, 2), top, out=weight_grads[-1])
    weight_grads[-1].add_(d_chain[n_hidden + 1].sum(dim=1, keepdim=True))
    torch.sum(d_score, dim=1, out=bias_grads[-1])
    d_h = d_score * weights[-1]
    for k in range(n_hidden, 0, -1):
        d_a = _relu_grad(d_h, posts[k][:, : 2 * batch])
        torch.sum(d_a, dim=1, out=bias_grads[k - 1])
        left = torch.cat([d_a, chain[k]], dim=1)
        right = torch.cat([posts[k - 1][:, : 2 * batch], d_chain[k]], dim=1)
        torch.bmm(left.transpose(1, 2), right, out=weight_grads[k - 1])
        if k > 1:
            d_h = torch.bmm(d_a, weights[k - 1])
    means = score.view(n_members, 3, batch).mean(dim=2)
    return StackedCriticTerms(means[:, 0], means[:, 1], penalty)
