"""K independent MLP WGAN-GPs trained at once with stacked weights (batched matrix products).

An ensemble member is an ordinary :class:`~fastcalogan.models.wgan_gp_mlp.WganGpObjective`
(its generator, critic and optimisers, built and restored as for a single run). This module
copies the members' weights into stacked tensors ``(K, n_out, n_in)``, runs every member's
critic and generator steps as one batched product per layer (the critic with the written-out
step of :mod:`.fused`, the generator with autograd through ``baddbmm``), updates all members
with one fused Adam per network, and copies everything back into the members for their
checkpoints. The members never mix: each one's numbers are those of its own training, up to
the float rounding of the batched products (a test holds them together).

Members must share the architecture and the data's shape (the weights are stacked); the
critic must allow the written-out step (ReLUs, no spectral normalisation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ModelError
from .fused import CriticWorkspace, critic_backward, critic_input_gradient
from .gan import Critic, Generator
from .wgan_gp_mlp import WganGpObjective, fused_critic_supported

__all__ = ["StackedWganGp", "members_of"]


def _linears(net: nn.Sequential) -> list[nn.Linear]:
    return [m for m in net if isinstance(m, nn.Linear)]


def _stacked(tensors: Sequence[Tensor]) -> nn.Parameter:
    return nn.Parameter(torch.stack([t.detach() for t in tensors]).contiguous())


def _unstack(stacked: Tensor, members: Sequence[Tensor]) -> None:
    """Copy member ``k``'s part of ``stacked`` (``reshape(K, -1)[k]``) into ``members[k]``."""
    flat = stacked.detach().reshape(len(members), -1)
    for k, member in enumerate(members):
        member.data.copy_(flat[k].view_as(member))


def _restack(members: Sequence[Tensor], like: Tensor) -> Tensor:
    """The inverse of :func:`_unstack`: the members' tensors in ``like``'s layout."""
    return torch.cat([m.detach().reshape(1, -1) for m in members]).view_as(like).to(like.device)


class _StackedGenerator(nn.Module):
    """The members' generators as one module: ``forward(noise (K, B, L), label (K, B, C))``.

    Linear layers become ``baddbmm`` with weights ``(K, n_out, n_in)``; a batch norm of width
    ``n`` becomes one ``BatchNorm1d(K n)`` over ``(B, K n)``, whose channels are the members'
    channels: the same batch statistics and running averages as each member's own layer.
    """

    def __init__(self, generators: Sequence[Generator]) -> None:
        super().__init__()
        self.n_members = len(generators)
        first = generators[0]
        self.kinds: list[str] = []
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.norms = nn.ModuleList()
        for i, m in enumerate(first.net):
            layers: list[Any] = [g.net[i] for g in generators]
            if isinstance(m, nn.Linear):
                self.kinds.append("linear")
                self.weights.append(_stacked([x.weight for x in layers]))
                self.biases.append(_stacked([x.bias for x in layers]))
            elif isinstance(m, nn.BatchNorm1d):
                self.kinds.append("norm")
                norm = nn.BatchNorm1d(self.n_members * m.num_features, m.eps, m.momentum)
                with torch.no_grad():
                    for name in ("weight", "bias", "running_mean", "running_var"):
                        getattr(norm, name).copy_(torch.cat([getattr(x, name) for x in layers]))
                    tracked: Any = norm.num_batches_tracked
                    tracked.copy_(m.num_batches_tracked)
                self.norms.append(norm)
            elif isinstance(m, nn.SiLU):
                self.kinds.append("swish")
            elif isinstance(m, nn.ReLU):
                self.kinds.append("relu")
            else:  # pragma: no cover - the MLP generator has no other layers
                raise ModelError(f"cannot stack generator layer {type(m).__name__}")
        self.head = first.head
        self.n_features = first.n_features

    def forward(self, noise: Tensor, label: Tensor) -> Tensor:
        h = torch.cat([noise, label], dim=2)
        n_members, batch = h.shape[:2]
        linear, norm = 0, 0
        for kind in self.kinds:
            if kind == "linear":
                w, b = self.weights[linear], self.biases[linear]
                h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
                linear += 1
            elif kind == "norm":
                flat = h.transpose(0, 1).reshape(batch, -1)
                h = self.norms[norm](flat).view(batch, n_members, -1).transpose(0, 1)
                norm += 1
            elif kind == "swish":
                h = F.silu(h)
            else:
                h = torch.relu(h)
        out = self.head(h.reshape(n_members * batch, -1))
        return out.view(n_members, batch, -1)

    def pairs(self, generators: Sequence[Generator]) -> list[tuple[Tensor, list[Tensor]]]:
        """Every stacked parameter or batch-norm buffer with the members' tensors it holds
        (member ``k``'s values are ``stacked.reshape(K, -1)[k]``)."""
        out: list[tuple[Tensor, list[Tensor]]] = []
        linear, norm = 0, 0
        for i, kind in enumerate(self.kinds):
            layers: list[Any] = [g.net[i] for g in generators]
            if kind == "linear":
                out.append((self.weights[linear], [x.weight for x in layers]))
                out.append((self.biases[linear], [x.bias for x in layers]))
                linear += 1
            elif kind == "norm":
                stacked: Any = self.norms[norm]
                for name in ("weight", "bias", "running_mean", "running_var"):
                    out.append((getattr(stacked, name), [getattr(x, name) for x in layers]))
                norm += 1
        return out

    def unstack_into(self, generators: Sequence[Generator]) -> None:
        """Copy the stacked weights and batch-norm state back into the members."""
        with torch.no_grad():
            for stacked, members in self.pairs(generators):
                _unstack(stacked, members)
            norm = 0
            for i, kind in enumerate(self.kinds):
                if kind == "norm":
                    tracked: Any = self.norms[norm].num_batches_tracked
                    for g in generators:
                        member: Any = g.net[i]
                        member.num_batches_tracked.copy_(tracked)
                    norm += 1


def _head_sizes(generator: nn.Module) -> tuple[int, ...]:
    head: Any = generator.head
    return tuple(head.layer_sizes)


def _generators(objectives: Sequence[WganGpObjective]) -> list[Generator]:
    out = []
    for o in objectives:
        if not isinstance(o.sampler, Generator):  # pragma: no cover - members_of checks
            raise ModelError(f"expected a Generator, found {type(o.sampler).__name__}")
        out.append(o.sampler)
    return out


def _check_members(objectives: Sequence[WganGpObjective]) -> None:
    if not objectives:
        raise ModelError("an ensemble needs at least one member")
    first = objectives[0]
    if not fused_critic_supported(first.critic.config):
        raise ModelError(
            "ensembles need a critic with relu activations and no spectral normalisation "
            "(the written-out critic step); this preset's critic has "
            f"{first.critic.config.critic_activation} activations"
            + (" and spectral normalisation" if first.critic.config.critic_spectral_norm else "")
        )
    for k, o in enumerate(objectives[1:], start=1):
        same = (
            o.critic.config == first.critic.config
            and o.sampler.config == first.sampler.config
            and [p.shape for p in o.critic.parameters()]
            == [p.shape for p in first.critic.parameters()]
            and [p.shape for p in o.sampler.parameters()]
            == [p.shape for p in first.sampler.parameters()]
            and _head_sizes(o.sampler) == _head_sizes(first.sampler)
        )
        if not same:
            raise ModelError(
                f"ensemble member {k} has another architecture or data shape than member 0 "
                "(members share the preset, the model settings and the binning)"
            )
        if o.settings != first.settings or o.noise != first.noise:
            raise ModelError(f"ensemble member {k} has other objective settings than member 0")
        for a, b in ((o.opt_d, first.opt_d), (o.opt_g, first.opt_g)):
            if a.defaults["lr"] != b.defaults["lr"] or a.defaults["betas"] != b.defaults["betas"]:
                raise ModelError(f"ensemble member {k} has another learning rate than member 0")


class StackedWganGp:
    """Members' generators, critics and Adams, stacked; one iteration for all of them.

    Args:
        objectives: the members, each built (and possibly restored) as for a single run, on
            one device.
        capturable: build the Adams with ``capturable=True`` (for CUDA graphs).
    """

    def __init__(self, objectives: Sequence[WganGpObjective], capturable: bool = False) -> None:
        _check_members(objectives)
        first = objectives[0]
        self.n_members = len(objectives)
        self.settings = first.settings
        self.device = first.device
        self.generator = _StackedGenerator(_generators(objectives)).to(self.device)
        self.generator.train()
        linears = [_linears(o.critic.net) for o in objectives]
        self.critic_weights = [
            _stacked([ls[i].weight for ls in linears]) for i in range(len(linears[0]))
        ]
        self.critic_biases = [
            _stacked([ls[i].bias for ls in linears]) for i in range(len(linears[0]))
        ]
        for p in (*self.critic_weights, *self.critic_biases):
            p.grad = torch.zeros_like(p)
        lr = first.opt_d.defaults["lr"]
        betas = first.opt_d.defaults["betas"]
        self.opt_g = torch.optim.Adam(
            self.generator.parameters(), lr=lr, betas=betas, fused=True, capturable=capturable
        )
        critic_params = [
            p for pair in zip(self.critic_weights, self.critic_biases, strict=True) for p in pair
        ]
        self.opt_d = torch.optim.Adam(
            critic_params, lr=lr, betas=betas, fused=True, capturable=capturable
        )
        self._load_optimizer_states(objectives)
        self._workspace = CriticWorkspace()

    # ----- members <-> stack -----------------------------------------------------------------
    def _pairs(
        self, objectives: Sequence[WganGpObjective]
    ) -> list[tuple[torch.optim.Optimizer, list[torch.optim.Optimizer], Tensor, list[Tensor]]]:
        """``(stacked optimiser, members' optimisers, stacked parameter, members' parameters)``
        for every trained parameter."""
        out: list[
            tuple[torch.optim.Optimizer, list[torch.optim.Optimizer], Tensor, list[Tensor]]
        ] = []
        opts: list[torch.optim.Optimizer] = [o.opt_g for o in objectives]
        for stacked, members in self.generator.pairs(_generators(objectives)):
            if isinstance(stacked, nn.Parameter):
                out.append((self.opt_g, opts, stacked, members))
        linears = [_linears(o.critic.net) for o in objectives]
        opts = [o.opt_d for o in objectives]
        for i, (w, b) in enumerate(zip(self.critic_weights, self.critic_biases, strict=True)):
            out.append((self.opt_d, opts, w, [ls[i].weight for ls in linears]))
            out.append((self.opt_d, opts, b, [ls[i].bias for ls in linears]))
        return out

    def _load_optimizer_states(self, objectives: Sequence[WganGpObjective]) -> None:
        """Stack the members' Adam moments (resumed runs); fresh members have none."""
        for opt, member_opts, stacked, members in self._pairs(objectives):
            states = [mo.state.get(m) for mo, m in zip(member_opts, members, strict=True)]
            if all(not s for s in states):
                continue
            steps = {float(s["step"]) if s else -1.0 for s in states}
            if len(steps) != 1:
                raise ModelError(
                    "ensemble members must resume from the same iteration (their optimiser "
                    f"steps are {sorted(steps)})"
                )
            first = states[0]
            assert first is not None
            opt.state[stacked] = {
                # the fused Adam keeps its step count on the parameter's device
                "step": first["step"].detach().clone().to(stacked.device),
                "exp_avg": _restack([s["exp_avg"] for s in states if s], stacked),
                "exp_avg_sq": _restack([s["exp_avg_sq"] for s in states if s], stacked),
            }

    def unstack_into(self, objectives: Sequence[WganGpObjective]) -> None:
        """Copy weights, batch-norm state and Adam moments back into the members (for their
        checkpoints)."""
        self.generator.unstack_into(_generators(objectives))
        with torch.no_grad():
            for _, _, stacked, members in self._pairs(objectives):
                _unstack(stacked, members)
        for opt, member_opts, stacked, members in self._pairs(objectives):
            state = opt.state.get(stacked)
            if not state:
                continue
            n = len(members)
            avg = state["exp_avg"].detach().reshape(n, -1)
            avg_sq = state["exp_avg_sq"].detach().reshape(n, -1)
            for k, (member_opt, member) in enumerate(zip(member_opts, members, strict=True)):
                member_opt.state[member] = {
                    "step": state["step"].detach().to(member.device).clone(),
                    "exp_avg": avg[k].view_as(member).clone(),
                    "exp_avg_sq": avg_sq[k].view_as(member).clone(),
                }

    # ----- one iteration ----------------------------------------------------------------------
    def critic_step(
        self, real: Tensor, label: Tensor, noise: Tensor, eps: Tensor
    ) -> tuple[Tensor, ...]:
        """One critic update of every member.

        Args:
            real: ``(K, B, F)`` showers; label ``(K, B, C)``; noise ``(K, B, L)``; eps
                ``(K, B, 1)``.

        Returns:
            ``(d_real, d_fake, penalty)``, each ``(K,)``.
        """
        with torch.no_grad():
            fake = self.generator(noise, label)
            terms = critic_backward(
                self.critic_weights,
                self.critic_biases,
                real,
                fake,
                label,
                eps,
                self.settings.gp_lambda,
                [p.grad for p in self.critic_weights],  # type: ignore[misc]
                [p.grad for p in self.critic_biases],  # type: ignore[misc]
                self._workspace,
            )
        self.opt_d.step()
        return tuple(terms)

    def generator_step(self, label: Tensor, noise: Tensor) -> Tensor:
        """One generator update of every member; returns the generator losses ``(K,)``."""
        batch = noise.shape[1]
        fake = self.generator(noise, label)
        with torch.no_grad():
            score, d_score = critic_input_gradient(
                [w.detach() for w in self.critic_weights],
                [b.detach() for b in self.critic_biases],
                fake.detach(),
                label,
            )
        self.opt_g.zero_grad(set_to_none=False)
        fake.backward(d_score * (-1.0 / batch))
        self.opt_g.step()
        return -score

    def step(
        self,
        real: Tensor,
        label: Tensor,
        noise: Tensor,
        eps: Tensor,
        label_g: Tensor,
        noise_g: Tensor,
    ) -> tuple[Tensor, ...]:
        """``n_critic`` critic steps and a generator step of every member.

        Args:
            real: ``(n_critic, K, B, F)``; label ``(n_critic, K, B, C)``; noise
                ``(n_critic, K, B, L)``; eps ``(n_critic, K, B, 1)``: the critic steps' inputs.
            label_g, noise_g: ``(K, B, C)``, ``(K, B, L)``: the generator step's.

        Returns:
            Per member ``(K,)``: critic loss, generator loss, penalty, Wasserstein estimate
            (the loss columns of the family).
        """
        terms: tuple[Tensor, ...] = ()
        for i in range(real.shape[0]):
            terms = self.critic_step(real[i], label[i], noise[i], eps[i])
        d_real, d_fake, penalty = terms
        loss_g = self.generator_step(label_g, noise_g)
        return (d_fake - d_real + penalty, loss_g, penalty, d_real - d_fake)


def members_of(objectives: Sequence[object]) -> list[WganGpObjective]:
    """The objectives as MLP WGAN-GP members, or a :class:`ModelError` naming the family."""
    out = []
    for o in objectives:
        if not isinstance(o, WganGpObjective) or not isinstance(o.critic, Critic):
            raise ModelError(
                f"ensembles train MLP WGAN-GPs (family wgan-gp-mlp), not {type(o).__name__}"
            )
        out.append(o)
    return out
