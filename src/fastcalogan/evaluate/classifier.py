"""Classifier two-sample test: a small MLP learns to tell reference from generated showers.

An AUC of 0.5 on held-out events means the network cannot separate the samples; 1.0 means
it always can (CaloChallenge, Krause et al., arXiv:2410.21611, section 4).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.stats
import torch
from torch import nn

from .config import ClassifierConfig

__all__ = ["ClassifierResult", "classifier_test", "roc_auc", "voxel_inputs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassifierResult:
    """Held-out result of the classifier test.

    Attributes:
        auc: ROC AUC on the test split (0.5: indistinguishable).
        auc_error: Hanley-McNeil standard error of the AUC.
        n_train, n_validation, n_test: events per split (both samples together).
        best_epoch: epoch (1-based) with the lowest validation loss, whose weights were used.
        test_loss: binary cross-entropy on the test split.
    """

    auc: float
    auc_error: float
    n_train: int
    n_validation: int
    n_test: int
    best_epoch: int
    test_loss: float


def voxel_inputs(
    showers: npt.NDArray[np.floating], incident_energies: npt.ArrayLike
) -> npt.NDArray[np.float32]:
    """Classifier inputs from voxels: ``log10(E_voxel / E_inc + 1e-6)`` and ``log10(E_inc)``.

    Args:
        showers: ``(n_events, n_voxels)`` MeV.
        incident_energies: ``(n_events,)`` MeV.

    Returns:
        ``(n_events, n_voxels + 1)`` float32.
    """
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1, 1)
    u = np.asarray(showers, dtype=np.float32) / inc.astype(np.float32)
    x = np.log10(np.clip(u, 0.0, None) + np.float32(1e-6))
    return np.concatenate([x, np.log10(inc).astype(np.float32)], axis=1)


def roc_auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> tuple[float, float]:
    """ROC AUC (Mann-Whitney U with tied ranks) and its Hanley-McNeil standard error.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])[0]
    1.0
    """
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan"), float("nan")
    ranks = scipy.stats.rankdata(s)
    auc = float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
    # Hanley & McNeil, Radiology 143 (1982) 29
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0)
    return auc, float(np.sqrt(max(var, 0.0)))


def _mlp(n_in: int, hidden: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
        width = h
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, torch.Tensor]:
    with torch.no_grad():
        logits = model(x).squeeze(1)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y)
    return float(loss), logits


def classifier_test(
    reference: npt.ArrayLike,
    generated: npt.ArrayLike,
    config: ClassifierConfig,
    seed: int = 0,
) -> ClassifierResult:
    """Train an MLP to separate ``reference`` (label 0) from ``generated`` (label 1).

    Both samples are cut to the same size (at most ``config.max_events`` each, seeded), mixed
    and split into train / validation / test; inputs are standardised with the training
    split's mean and std. The weights of the epoch with the lowest validation loss are
    evaluated on the test split.

    Args:
        reference: ``(n_ref, n_features)``.
        generated: ``(n_gen, n_features)``.
        config: network and training settings.
        seed: seeds the subsets, the split, the initialisation and the batch order.
    """
    rng = np.random.default_rng(seed)
    xr = np.asarray(reference, dtype=np.float32)
    xg = np.asarray(generated, dtype=np.float32)
    n = min(len(xr), len(xg), config.max_events)
    if n < 10:
        raise ValueError(f"classifier test needs >= 10 events per sample, found {n}")
    xr = xr[rng.choice(len(xr), n, replace=False)]
    xg = xg[rng.choice(len(xg), n, replace=False)]
    x = np.concatenate([xr, xg])
    y = np.concatenate([np.zeros(n, np.float32), np.ones(n, np.float32)])
    order = rng.permutation(2 * n)
    x, y = x[order], y[order]
    n_test = max(2, round(config.test_fraction * 2 * n))
    n_val = max(2, round(config.validation_fraction * 2 * n))
    n_train = 2 * n - n_test - n_val
    xtr = x[:n_train]
    mu = xtr.mean(axis=0)
    sd = xtr.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0).astype(np.float32)
    x = (x - mu) / sd

    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        return _train(x, y, n_train, n_val, config, seed, rng)
    finally:
        torch.set_num_threads(threads)


def _train(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.float32],
    n_train: int,
    n_val: int,
    config: ClassifierConfig,
    seed: int,
    rng: np.random.Generator,
) -> ClassifierResult:
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    ty = torch.from_numpy(y)
    x_tr, y_tr = t[:n_train], ty[:n_train]
    x_val, y_val = t[n_train : n_train + n_val], ty[n_train : n_train + n_val]
    x_te, y_te = t[n_train + n_val :], ty[n_train + n_val :]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _mlp(x.shape[1], config.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    best_loss, best_epoch = float("inf"), 0
    best_state = {k: v.clone() for k, v in model.state_dict().items()}
    for epoch in range(1, config.epochs + 1):
        model.train()
        perm = torch.from_numpy(rng.permutation(n_train))
        for start in range(0, n_train, config.batch_size):
            idx = perm[start : start + config.batch_size]
            logits = model(x_tr[idx]).squeeze(1)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        val_loss, _ = _loss(model, x_val, y_val)
        log.debug("classifier epoch %d: validation loss %.4f", epoch, val_loss)
        if val_loss < best_loss:
            best_loss, best_epoch = val_loss, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()
    test_loss, logits = _loss(model, x_te, y_te)
    auc, err = roc_auc(y_te.numpy(), logits.numpy())
    return ClassifierResult(auc, err, n_train, n_val, len(y_te), best_epoch, test_loss)
