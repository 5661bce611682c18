"""Missingness simulation: hide cells of a complete table by MCAR, MAR or MNAR."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ..errors import AekitError
from .schema import as_frame

MECHANISMS = ("mcar", "mar", "mnar")
SLOPE = 2.0  # logistic slope of MAR and MNAR, per standard deviation of the driving value


def _intercept(score: np.ndarray, rate: float) -> float:
    """b such that mean(sigmoid(score + b)) = rate, by bisection (the mean is monotone in b)."""
    lo, hi = -50.0, 50.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(score + mid)))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _standardised(values: np.ndarray) -> np.ndarray:
    std = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(std > 0, std, 1.0)


def ampute(X, mechanism="mcar", rate=0.3, *, random_state=None, observed_fraction=0.3):
    """Return a copy of ``X`` with cells hidden (set to NaN) by a missingness mechanism.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        Complete data (cells already missing stay missing and are not counted).
    mechanism : {"mcar", "mar", "mnar"}
        - ``"mcar"``, missing completely at random: each cell is hidden with
          probability ``rate``, independently of everything.
        - ``"mar"``, missing at random: a share ``observed_fraction`` of the
          numeric columns (at least one) is never hidden; every other cell is
          hidden with probability ``sigmoid(2 · s_i + b_j)``, where ``s_i`` is a
          standardised random linear combination of row i's always-observed
          values, so missingness depends only on observed data. ``b_j`` is set
          so that the share of hidden cells in the whole table is ``rate``.
        - ``"mnar"``, missing not at random (self-masking): each numeric cell is
          hidden with probability ``sigmoid(2 · z_ij + b_j)``, ``z_ij`` its own
          standardised value, so large values go missing more often; ``b_j``
          gives each column the rate ``rate``.
        Non-numeric columns are hidden completely at random at ``rate`` under
        every mechanism.
    rate : float in (0, 1)
        Share of cells to hide.
    random_state : int, RandomState or None
    observed_fraction : float in (0, 1), default=0.3
        MAR only: share of numeric columns kept fully observed.

    Returns
    -------
    DataFrame or ndarray like X, with NaN in the hidden cells. X is not modified.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(1000, 4))
    >>> X_miss = aekit.ampute(X, "mnar", rate=0.3, random_state=0)
    >>> round(float(np.isnan(X_miss).mean()), 1)
    0.3
    """
    if mechanism not in MECHANISMS:
        raise AekitError(f"mechanism must be one of {list(MECHANISMS)}; got {mechanism!r}")
    if not isinstance(rate, (int, float)) or not 0 < rate < 1:
        raise AekitError(f"rate must be a number in (0, 1); got {rate!r}")
    if not 0 < observed_fraction < 1:
        raise AekitError(f"observed_fraction must be in (0, 1); got {observed_fraction!r}")
    df, is_frame = as_frame(X)
    rng = check_random_state(random_state)
    n, p = df.shape
    numeric = [
        j
        for j, c in enumerate(df.columns)
        if pd.api.types.is_numeric_dtype(df[c].dtype) and not pd.api.types.is_bool_dtype(df[c])
    ]
    values = df.iloc[:, numeric].to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.where(np.isnan(values), np.nanmean(values, axis=0), values)
    prob = np.full((n, p), float(rate))

    if mechanism == "mar":
        if len(numeric) < 2:
            raise AekitError("mechanism='mar' needs at least two numeric columns")
        n_keep = max(1, round(observed_fraction * len(numeric)))
        order = rng.permutation(len(numeric))
        keep, drive = order[:n_keep], order[n_keep:]
        z = _standardised(values[:, keep])
        score = _standardised(z @ rng.normal(size=len(keep))[:, None])[:, 0]
        amputed = [numeric[j] for j in drive] + [j for j in range(p) if j not in numeric]
        # the hidden share of the whole table is rate: amputed columns carry all of it
        target = rate * p / len(amputed)
        if target >= 1:
            raise AekitError(
                f"rate={rate} is too high for MAR with {n_keep} fully observed column(s); "
                "lower rate or observed_fraction"
            )
        prob[:, [numeric[j] for j in keep]] = 0.0
        b = _intercept(SLOPE * score, target)
        for j in amputed:
            prob[:, j] = 1 / (1 + np.exp(-(SLOPE * score + b)))
    elif mechanism == "mnar":
        z = _standardised(values)
        for k, j in enumerate(numeric):
            b = _intercept(SLOPE * z[:, k], rate)
            prob[:, j] = 1 / (1 + np.exp(-(SLOPE * z[:, k] + b)))

    hide = rng.random_sample((n, p)) < prob
    out = df.mask(hide)
    if is_frame:
        return out
    return out.to_numpy(dtype=np.float64)
