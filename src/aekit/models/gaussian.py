"""A multivariate normal over encoded rows, fitted by EM with missing cells: the
linear end of the autoencoder family (probabilistic PCA keeping every
dimension), whose imputation is the conditional mean ``E[x_m | x_o]``.

The E-step conditions each row on its observed dimensions through the
precision matrix ``Λ = Σ⁻¹``: ``E[x_m | x_o] = μ_m - Λ_mm⁻¹ Λ_mo (x_o - μ_o)``
and ``Cov[x_m | x_o] = Λ_mm⁻¹``: one inverse per missingness pattern, of
``Λ_mm`` at its own size k x k, the patterns missing k dimensions batched
together (patterns, then their rows, in blocks of at most :data:`BLOCK`
numbers). The M-step takes the completed rows' mean and covariance plus the
conditional covariances (Little & Rubin, *Statistical Analysis with Missing Data*, 11.2),
and a ridge on the diagonal keeps Σ invertible (one-hot levels sum to one).
"""

from __future__ import annotations

import torch
from torch import Tensor

BLOCK = 1 << 22  # patterns (or rows) x k² numbers of a batch (32 MiB in float64)
TOL = 1e-5  # EM stops when no mean or covariance entry moves by more (standardised units)


def fit_normal(
    x: Tensor, seen: Tensor, *, iters: int = 20, ridge: float = 1e-2, start=None
) -> tuple[Tensor, Tensor]:
    """Mean and covariance of a normal fitted by EM to rows ``x`` (n, d), of which
    the dimensions ``seen`` (n, d, bool) are observed, float64: at most ``iters``
    steps, from ``start`` (a mean and covariance) or the observed moments."""
    x, seen = x.double(), seen.bool()
    n, d = x.shape
    patterns, index = torch.unique(seen, dim=0, return_inverse=True)
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    if start is None:
        mean = torch.where(seen, x, 0.0).sum(0) / seen.sum(0).clamp(min=1)
        filled = torch.where(seen, x, mean)
        cov = torch.cov(filled.T, correction=0).reshape(d, d) + ridge * eye
    else:
        mean, cov = (v.double() for v in start)
    for _ in range(iters):
        filled, spread = _conditional(x, seen, mean, cov, patterns, index)
        new_mean = filled.mean(0)
        centred = filled - new_mean
        new_cov = (centred.T @ centred + spread) / n + ridge * eye
        moved = max(float((new_mean - mean).abs().max()), float((new_cov - cov).abs().max()))
        mean, cov = new_mean, new_cov
        if moved < TOL:
            break
    return mean, cov


def conditional_mean(x: Tensor, seen: Tensor, mean: Tensor, cov: Tensor) -> Tensor:
    """Rows ``x`` with their unseen dimensions set to ``E[x_m | x_o]`` (float64)."""
    seen = seen.bool()
    patterns, index = torch.unique(seen, dim=0, return_inverse=True)
    return _conditional(x.double(), seen, mean, cov, patterns, index)[0]


def _conditional(x, seen, mean, cov, patterns, index) -> tuple[Tensor, Tensor]:
    """(rows completed by their conditional means, the sum of the rows'
    conditional covariances placed on their missing dimensions); ``patterns``
    are the distinct rows of ``seen``, ``index`` each row's. The patterns
    missing k dimensions are taken together, their ``Λ_mm`` inverted at size
    k x k, in blocks of at most :data:`BLOCK` numbers."""
    d = x.shape[1]
    precision = torch.linalg.inv(cov)
    filled, spread = torch.where(seen, x, mean), torch.zeros_like(precision)
    counts = torch.bincount(index, minlength=len(patterns)).to(x.dtype)
    o = seen.to(x.dtype)
    rhs = -(((x - mean) * o) @ precision) * (1.0 - o)  # -Λ_mo (x_o - μ_o), on missing dims
    n_missing = d - patterns.sum(1)
    slot = torch.full((len(patterns),), -1, device=x.device)  # place in the block at hand
    for k in n_missing.unique().tolist():
        group = torch.nonzero(n_missing == k).squeeze(1)
        step = max(1, BLOCK // max(k * k, 1))
        for block in group.split(step) if k else ():
            miss = torch.argsort(patterns[block].to(torch.int8), dim=1, stable=True)[:, :k]
            inverse = torch.linalg.inv(precision[miss[:, :, None], miss[:, None, :]])
            weighted = counts[block, None, None] * inverse
            spread.index_put_((miss[:, :, None], miss[:, None, :]), weighted, accumulate=True)
            slot[block] = torch.arange(len(block), device=x.device)
            for rows in torch.nonzero(slot[index] >= 0).squeeze(1).split(step):
                which = slot[index[rows]]
                cols = miss[which]
                shift = torch.einsum("rij,rj->ri", inverse[which], rhs[rows[:, None], cols])
                filled[rows[:, None], cols] = mean[cols] + shift
            slot[block] = -1
    return filled, spread
