"""``aekit.pool`` and ``aekit.analyze``: Rubin's rules for the m analyses of m
imputed datasets, with Barnard & Rubin's small-sample degrees of freedom."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AekitError

MIN_LAMBDA = 1e-4  # λ's floor in the degrees of freedom, as in R's mice::pool
MIN_DOF = 0.001  # the t distribution's least degrees of freedom, as in mice::pool


@dataclass(frozen=True)
class PooledEstimate:
    """Rubin's rules applied to m analyses of m imputed datasets.

    With ``dof_complete`` (ν_com, the complete-data analysis's degrees of
    freedom) ``dof`` is Barnard & Rubin's (1999) ν̃ = ν_m ν_obs / (ν_m + ν_obs),
    ν_obs = (ν_com + 1) / (ν_com + 3) · ν_com · (1 - λ), never above ν_com (what
    R's ``mice::pool`` and SAS's ``PROC MIANALYZE EDF=`` use); without it,
    Rubin's (1987) ν_m = (m - 1) / λ², as if ν_com were infinite. As in
    ``mice::pool``, λ is taken as at least 1e-4 in these degrees of freedom (no
    division by zero when the m estimates agree: ``fmi`` is then 2 / (ν + 3),
    the value it tends to as B falls to zero), and the t distribution's degrees
    of freedom are at least 0.001 (ν_obs is 0 when every variance is 0).
    """

    estimate: np.ndarray  # Q̄ = mean of the m estimates
    within: np.ndarray  # Ū = mean of the m variances
    between: np.ndarray  # B = variance of the m estimates (ddof=1)
    total: np.ndarray  # T = Ū + (1 + 1/m) B
    dof: np.ndarray  # degrees of freedom of the t reference distribution (see above)
    fmi: np.ndarray  # fraction of missing information, (r + 2/(ν + 3)) / (r + 1)
    riv: np.ndarray  # r = (1 + 1/m) B / Ū, the relative increase in variance
    m: int = 2

    @property
    def std_error(self) -> np.ndarray:
        return np.sqrt(self.total)

    @property
    def lambda_(self) -> np.ndarray:
        """λ = (1 + 1/m) B / T, the share of the total variance due to missingness."""
        return self.riv / (1 + self.riv)

    @property
    def t(self) -> np.ndarray:
        """Q̄ / √T, the statistic of the test of Q = 0."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.estimate / self.std_error

    @property
    def p_value(self) -> np.ndarray:
        """Two-sided p-value of the test of Q = 0 on ``dof`` degrees of freedom."""
        return 2 * stats.t.sf(np.abs(self.t), np.maximum(self.dof, MIN_DOF))

    def interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """(low, high): the ``level`` confidence interval Q̄ ± t_ν √T."""
        if not 0 < level < 1:
            raise AekitError(f"level must lie in (0, 1); got {level!r}")
        half = stats.t.ppf(0.5 + level / 2, np.maximum(self.dof, MIN_DOF)) * self.std_error
        return self.estimate - half, self.estimate + half


def pool(estimates, variances, *, dof_complete: float | None = None) -> PooledEstimate:
    """Pool m estimates and their variances by Rubin's rules (Rubin 1987).

    Parameters
    ----------
    estimates : array-like of shape (m,) or (m, n_params)
        The same quantity estimated on each of the m imputed datasets. A
        sequence of pandas Series (or a DataFrame) is matched by its labels:
        every copy must name the same parameters, in any order.
    variances : array-like, same shape
        Each estimate's squared standard error (labelled like ``estimates``).
    dof_complete : float, optional
        The degrees of freedom of the analysis on complete data (n - p for a
        linear regression with p coefficients): the degrees of freedom are then
        Barnard & Rubin's (1999) small-sample ones, as in R's ``mice::pool``
        (the printed example of ``mice::pool.scalar`` is reproduced to its
        digits in ``tests/test_pooling.py``). None (or inf): Rubin's
        large-sample ones.

    Returns
    -------
    PooledEstimate with ``estimate``, ``within``, ``between``, ``total``,
    ``dof``, ``fmi``, ``riv``, ``std_error``, ``t``, ``p_value`` and
    ``interval(level)``.
    """
    q, u = _by_label(estimates, variances)
    if q.shape != u.shape:
        raise AekitError(f"estimates have shape {q.shape} but variances have shape {u.shape}")
    if q.ndim == 0 or q.shape[0] < 2:
        raise AekitError("pool needs estimates from at least m=2 imputed datasets")
    if not (np.isfinite(q).all() and np.isfinite(u).all()) or (u < 0).any():
        raise AekitError("estimates and variances must be finite, variances non-negative")
    if dof_complete is not None and not (
        isinstance(dof_complete, numbers.Real)
        and not isinstance(dof_complete, bool)
        and dof_complete > 0
    ):
        raise AekitError(f"dof_complete must be a positive number; got {dof_complete!r}")
    m = q.shape[0]
    q_bar, u_bar = q.mean(0), u.mean(0)
    b = q.var(0, ddof=1)
    total = u_bar + (1 + 1 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(b > 0, (1 + 1 / m) * b / u_bar, 0.0)  # inf when every variance is 0
        lam = np.where(b > 0, (1 + 1 / m) * b / total, 0.0)
        lam = np.maximum(lam, MIN_LAMBDA)
        dof = (m - 1) / lam**2  # Rubin (1987): (m - 1)(1 + 1/r)²
        if dof_complete is not None and np.isfinite(dof_complete):
            nu = float(dof_complete)
            observed = (nu + 1) / (nu + 3) * nu * (1 - lam)
            dof = dof * observed / (dof + observed)
        fmi = np.where(np.isinf(r), 1.0, (r + 2 / (dof + 3)) / (r + 1))
    return PooledEstimate(q_bar, u_bar, b, total, dof, fmi, r, m)


def _by_label(estimates, variances) -> tuple[np.ndarray, np.ndarray]:
    """``estimates`` and ``variances`` as float arrays, labelled ones (Series per
    copy, or DataFrames) put in the first copy's order of labels."""
    series = [_copies_of(given) for given in (estimates, variances)]
    if series == [None, None]:
        return np.asarray(estimates, dtype=np.float64), np.asarray(variances, dtype=np.float64)
    if None in series:
        raise AekitError(
            "estimates and variances must both be labelled (Series or DataFrames) or both "
            "plain arrays"
        )
    order = list(series[0][0].index)
    for name, copies in zip(("estimates", "variances"), series, strict=True):
        for i, s in enumerate(copies):
            if not s.index.is_unique or len(s) != len(order) or set(s.index) != set(order):
                raise AekitError(
                    f"{name}[{i}] names the parameters {list(s.index)}; the first copy's "
                    f"estimates name {order}"
                )
    return tuple(np.stack([s.loc[order].to_numpy(dtype=np.float64) for s in c]) for c in series)


def _copies_of(given) -> list | None:
    """The copies' labelled values (a Series each), or None for plain arrays."""
    if isinstance(given, pd.DataFrame):
        return [row for _, row in given.iterrows()]
    if isinstance(given, (list, tuple)) and given and all(isinstance(s, pd.Series) for s in given):
        return list(given)
    return None


def analyze(
    copies: Sequence[pd.DataFrame], fit: Callable, *, dof_complete: float | None = None
) -> pd.DataFrame:
    """Fit an analysis to each of m imputed datasets and pool it, as
    ``pool(with(imp, fit))`` does in R's mice.

    Parameters
    ----------
    copies : sequence of DataFrames, or one DataFrame in long format
        The m completed datasets (``Imputer.multiple_imputations``), or the
        long table ``aekit impute --m`` writes: its ``.imp`` column numbers the
        copies (``.imp`` and ``.id`` are dropped before ``fit`` sees a copy).
    fit : callable
        ``fit(copy)`` returns either a fitted statsmodels-like result (with
        ``params``, ``bse`` and, for the degrees of freedom, ``df_resid``) or a
        pair ``(estimates, standard_errors)`` (Series or arrays, one entry per
        parameter).
    dof_complete : float, optional
        The complete-data degrees of freedom; by default the results'
        ``df_resid`` when they have it, else infinite (Rubin's rules without
        the small-sample correction).

    Returns
    -------
    DataFrame, one row per parameter: ``estimate``, ``std_error``, ``t``,
    ``dof``, ``p_value``, ``ci_low`` and ``ci_high`` (95%), ``fmi`` and ``riv``.

    Examples
    --------
    >>> import statsmodels.formula.api as smf                          # doctest: +SKIP
    >>> copies = imputer.multiple_imputations(df, m=20)                 # doctest: +SKIP
    >>> aekit.analyze(copies, lambda d: smf.ols("y ~ x1 + x2", d).fit())  # doctest: +SKIP
    """
    if isinstance(copies, pd.DataFrame):
        if ".imp" not in copies.columns:
            raise AekitError(
                "copies must be a sequence of DataFrames, or one DataFrame in long format "
                "with an '.imp' column numbering the copies (as aekit impute --m writes)"
            )
        rows = copies.drop(columns=[c for c in (".imp", ".id") if c in copies.columns])
        copies = [part.reset_index(drop=True) for _, part in rows.groupby(copies[".imp"])]
    elif isinstance(copies, Iterable) and not isinstance(copies, (str, bytes)):
        copies = list(copies)  # a generator of copies, too
    else:
        raise AekitError(
            f"copies must be a sequence of DataFrames or one long DataFrame; got "
            f"{type(copies).__name__}"
        )
    if len(copies) < 2:
        raise AekitError("analyze needs at least m=2 imputed datasets")
    names, estimates, errors, dof = None, [], [], []
    for i, copy in enumerate(copies):
        result = fit(copy)
        if isinstance(result, tuple) and len(result) == 2:
            est, err = result
        elif hasattr(result, "params") and hasattr(result, "bse"):
            est, err = result.params, result.bse
            dof.append(getattr(result, "df_resid", None))
        else:
            raise AekitError(
                "fit must return a result with params and bse (statsmodels) or a pair "
                f"(estimates, standard errors); copy {i} gave {type(result).__name__}"
            )
        est_names = list(est.index) if isinstance(est, pd.Series) else None
        if names is None:
            names = est_names
        elif est_names != names:
            raise AekitError(f"copy {i} gave parameters {est_names}; copy 0 gave {names}")
        estimates.append(np.asarray(est, dtype=np.float64).reshape(-1))
        errors.append(np.asarray(err, dtype=np.float64).reshape(-1))
    if dof_complete is None and dof and all(d is not None for d in dof):
        dof_complete = float(np.mean(dof))  # the same rows in every copy: one value
    pooled = pool(np.stack(estimates), np.stack(errors) ** 2, dof_complete=dof_complete)
    low, high = pooled.interval(0.95)
    index = names if names is not None else range(len(estimates[0]))
    return pd.DataFrame(
        {
            "estimate": pooled.estimate,
            "std_error": pooled.std_error,
            "t": pooled.t,
            "dof": pooled.dof,
            "p_value": pooled.p_value,
            "ci_low": low,
            "ci_high": high,
            "fmi": pooled.fmi,
            "riv": pooled.riv,
        },
        index=pd.Index(index, name="term"),
    )
