"""``aekit.pool``: Rubin's rules for the m analyses of m imputed datasets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AekitError


@dataclass(frozen=True)
class PooledEstimate:
    """Rubin's rules applied to m analyses of m imputed datasets."""

    estimate: np.ndarray  # Q̄ = mean of the m estimates
    within: np.ndarray  # Ū = mean of the m variances
    between: np.ndarray  # B = variance of the m estimates (ddof=1)
    total: np.ndarray  # T = Ū + (1 + 1/m) B
    dof: np.ndarray  # ν = (m - 1) (1 + 1/r)², r = (1 + 1/m) B / Ū
    fmi: np.ndarray  # fraction of missing information, (r + 2/(ν + 3)) / (r + 1)

    @property
    def std_error(self) -> np.ndarray:
        return np.sqrt(self.total)


def pool(estimates, variances) -> PooledEstimate:
    """Pool m estimates and their variances by Rubin's rules (Rubin 1987).

    Parameters
    ----------
    estimates : array-like of shape (m,) or (m, n_params)
        The same quantity estimated on each of the m imputed datasets.
    variances : array-like, same shape
        Each estimate's squared standard error.

    Returns
    -------
    PooledEstimate with ``estimate``, ``within``, ``between``, ``total``,
    ``dof``, ``fmi`` and ``std_error``.
    """
    q = np.asarray(estimates, dtype=np.float64)
    u = np.asarray(variances, dtype=np.float64)
    if q.shape != u.shape:
        raise AekitError(f"estimates have shape {q.shape} but variances have shape {u.shape}")
    if q.ndim == 0 or q.shape[0] < 2:
        raise AekitError("pool needs estimates from at least m=2 imputed datasets")
    if not (np.isfinite(q).all() and np.isfinite(u).all()) or (u < 0).any():
        raise AekitError("estimates and variances must be finite, variances non-negative")
    m = q.shape[0]
    q_bar, u_bar = q.mean(0), u.mean(0)
    b = q.var(0, ddof=1)
    total = u_bar + (1 + 1 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (1 + 1 / m) * b / u_bar
        dof = np.where(b > 0, (m - 1) * (1 + 1 / r) ** 2, np.inf)
        fmi = np.where(b > 0, (r + 2 / (dof + 3)) / (r + 1), 0.0)
    return PooledEstimate(q_bar, u_bar, b, total, dof, fmi)
