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


def _frames(X_true, X_imputed, mask):
    from .data.schema import as_frame

    a, _ = as_frame(X_true, name="X_true")
    b, _ = as_frame(X_imputed, name="X_imputed")
    if a.shape != b.shape:
        raise AekitError(f"X_true has shape {a.shape} but X_imputed has shape {b.shape}")
    m = np.asarray(mask, dtype=bool)
    if m.shape != a.shape:
        raise AekitError(f"mask has shape {m.shape}; expected {a.shape}")
    return a, b, m


def _is_numeric(s) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def nrmse(X_true, X_imputed, mask) -> float:
    """RMSE on the imputed cells of numeric columns, in standardised units.

    Each column is divided by its standard deviation in ``X_true`` (all rows),
    so columns count equally whatever their units: 1.0 is the error of a
    guess that is one standard deviation off.

    Parameters
    ----------
    X_true : DataFrame or array-like of shape (n_samples, n_features), complete
    X_imputed : same shape, the imputation
    mask : bool array of the same shape, True on the cells that were imputed
    """
    a, b, m = _frames(X_true, X_imputed, mask)
    cols = [j for j, c in enumerate(a.columns) if _is_numeric(a[c])]
    if not cols or not m[:, cols].any():
        raise AekitError("mask selects no numeric cells to score")
    t = a.iloc[:, cols].to_numpy(dtype=np.float64)
    p = b.iloc[:, cols].to_numpy(dtype=np.float64)
    std = np.nanstd(t, axis=0)
    err = (t - p) / np.where(std > 0, std, 1.0)
    return float(np.sqrt(np.mean(err[m[:, cols]] ** 2)))


def error_rate(X_true, X_imputed, mask) -> float:
    """Share of imputed cells of categorical (and boolean) columns that are wrong."""
    a, b, m = _frames(X_true, X_imputed, mask)
    cols = [j for j, c in enumerate(a.columns) if not _is_numeric(a[c])]
    if not cols or not m[:, cols].any():
        raise AekitError("mask selects no categorical cells to score")
    t = a.iloc[:, cols].astype(object).to_numpy()
    p = b.iloc[:, cols].astype(object).to_numpy()
    return float(np.mean(t[m[:, cols]] != p[m[:, cols]]))
