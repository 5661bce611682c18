"""Metrics for reconstructions and imputations."""

from __future__ import annotations

import numpy as np

from .errors import AekitError


def rmse(X_true, X_pred, mask=None) -> float:
    """Root mean squared error, over the cells where ``mask`` is True (default: all).

    Parameters
    ----------
    X_true, X_pred : array-like of shape (n_samples, n_features)
    mask : array-like of bool, same shape, optional
        Cells to score, e.g. the ones that were hidden before imputation.
    """
    a = np.asarray(X_true, dtype=np.float64)
    b = np.asarray(X_pred, dtype=np.float64)
    if a.shape != b.shape:
        raise AekitError(f"X_true has shape {a.shape} but X_pred has shape {b.shape}")
    m = np.ones(a.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != a.shape:
        raise AekitError(f"mask has shape {m.shape}; expected {a.shape}")
    if not m.any():
        raise AekitError("mask selects no cells to score")
    return float(np.sqrt(np.mean((a[m] - b[m]) ** 2)))
