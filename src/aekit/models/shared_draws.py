"""Posterior draws that every row shares: common random numbers.

An importance-weighted score draws ``z_j ~ q(z | x)`` for each row. Drawn as
``q.sample((k,))``, row i's draws are the i-th slice of one stream, so its
score depends on where it sits in the batch and on how many rows come with it:
scoring a row alone, or the rows in another order, gives other numbers.
Here every row takes its k draws from the same k standard draws of the
posterior's family, put through its own location and scale:

- Gaussian posterior: ``z_j = μ(x) + σ(x) ε_j``, ``ε_j ~ N(0, I)``;
- Student-t posterior: ``z_j = μ(x) + σ(x) t_j`` with ``t_j`` drawn by
  Bailey's polar method (Mathematics of Computation 62, 1994): ``U, V``
  uniform on (-1, 1) given ``W = U² + V² ≤ 1``, then
  ``t = U √(ν (W^(-2/ν) - 1) / W)`` is Student-t with ν degrees of freedom
  whatever ν, so the pairs ``(U, W)`` can be shared by rows whose ν differ.

For each row the k draws are still independent draws of its posterior, so
its score has the distribution it had; only the Monte-Carlo errors of
different rows are now alike, which makes their differences (what a ranking
of rows reads) less noisy.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Distribution, Normal, StudentT


def shared_sample(q: Distribution, k: int, generator: torch.Generator) -> Tensor:
    """k draws of ``q`` (an ``Independent`` Gaussian or Student-t of batch
    shape (n,), or (members, n) for an ensemble), shape (k, *batch, latent),
    every row's from the same standard draws of ``generator``."""
    base = q.base_dist
    loc, scale = base.loc, base.scale
    shape = (k, *[1] * (loc.dim() - 1), loc.shape[-1])
    if isinstance(base, StudentT):
        u, w = _polar_pairs(shape, generator, loc)
        df = base.df
        t = u * torch.sqrt(df * (w.pow(-2.0 / df) - 1.0) / w)
    elif isinstance(base, Normal):
        t = torch.randn(shape, generator=generator, dtype=loc.dtype, device=loc.device)
    else:
        raise TypeError(f"no shared draws for a {type(base).__name__} posterior")
    return loc + scale * t


def _polar_pairs(shape, generator: torch.Generator, like: Tensor) -> tuple[Tensor, Tensor]:
    """``(U, W)`` of the polar method, each of ``shape``: points uniform in the
    unit disc (0 excluded), their first coordinate and squared radius."""
    need = int(torch.Size(shape).numel())
    us, ws, found = [], [], 0
    while found < need:
        uv = torch.rand((2, 2 * need), generator=generator, dtype=like.dtype, device=like.device)
        uv = uv * 2 - 1
        w = uv[0] ** 2 + uv[1] ** 2
        inside = (w > 0) & (w <= 1)  # about π/4 of them
        us.append(uv[0][inside])
        ws.append(w[inside])
        found += int(inside.sum())
    return torch.cat(us)[:need].reshape(shape), torch.cat(ws)[:need].reshape(shape)
