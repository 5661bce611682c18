"""Pooling m analyses: Barnard & Rubin's degrees of freedom worked by hand, and
``aekit.analyze`` fitting an analysis to each completed dataset."""

import types

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import aekit
from aekit import AekitError

# The first five imputations of SAS's PROC MIANALYZE Example 1 (means of Oxygen in
# the Fitness data and their standard errors; complete-data dof 30, 31 rows). The
# expected numbers were worked by hand in exact fractions from Rubin (1987) and
# Barnard & Rubin (1999): B, Ū, T, λ = (1 + 1/m) B / T, ν_m = (m - 1) / λ²,
# ν_obs = (ν_com + 1) / (ν_com + 3) ν_com (1 - λ), ν = ν_m ν_obs / (ν_m + ν_obs).
OXYGEN = [47.0120, 47.2407, 47.4995, 47.1485, 47.0042]
OXYGEN_SE = [0.95984, 0.93540, 1.00766, 0.95439, 0.96528]


def test_matches_the_printed_example_of_mice_pool_scalar():
    """R's mice 3.10.3, the Examples of ``?pool.scalar`` (its reference page, as
    printed): five imputations of nhanes, Q = the mean of bmi, U = its variance /
    25, ``pool.scalar(Q, U, n = 25, k = 1)``, i.e. complete-data dof n - k = 24."""
    q = [26.816, 26.184, 26.692, 27.076, 26.528]
    u = [0.7888227, 0.5449227, 0.7764973, 0.6764760, 0.5379173]
    p = aekit.pool(q, u, dof_complete=24)
    assert p.m == 5
    # every number mice prints, to the digits it prints them (R's 7 significant)
    assert float(f"{p.estimate:.7g}") == 26.6592
    assert float(f"{p.within:.7g}") == 0.6649272
    assert float(f"{p.between:.7g}") == 0.1106032
    assert float(f"{p.total:.7g}") == 0.797651
    assert float(f"{p.dof:.7g}") == 16.41929
    assert float(f"{p.riv:.7g}") == 0.1996066
    assert float(f"{p.fmi:.7g}") == 0.2522468


def test_barnard_rubin_degrees_of_freedom_by_hand():
    p = aekit.pool(OXYGEN, np.square(OXYGEN_SE), dof_complete=30)
    assert p.estimate == pytest.approx(47.18098, abs=1e-9)
    assert p.within == pytest.approx(0.93085408234, abs=1e-12)
    assert p.between == pytest.approx(0.041470457, abs=1e-12)
    assert p.total == pytest.approx(0.98061863074, abs=1e-12)
    assert p.lambda_ == pytest.approx(0.0507481164, abs=1e-9)
    assert p.riv == pytest.approx(0.0534611701, abs=1e-9)
    assert p.dof == pytest.approx(26.2986794, abs=1e-6)  # ν_m = 1553.17, ν_obs = 26.7516
    assert p.fmi == pytest.approx(0.1155463874, abs=1e-9)
    rubin = aekit.pool(OXYGEN, np.square(OXYGEN_SE))
    assert rubin.dof == pytest.approx(1553.1740897, abs=1e-6)
    assert aekit.pool(OXYGEN, np.square(OXYGEN_SE), dof_complete=np.inf).dof == rubin.dof
    # never above the complete data's dof; growing with them towards Rubin's
    dofs = [aekit.pool(OXYGEN, np.square(OXYGEN_SE), dof_complete=v).dof for v in (5, 30, 1e9)]
    assert dofs[0] < 5 and dofs[0] < dofs[1] < dofs[2]
    assert dofs[2] == pytest.approx(rubin.dof, rel=1e-5)
    low, high = p.interval(0.95)
    half = stats.t.ppf(0.975, p.dof) * np.sqrt(p.total)
    assert (low, high) == pytest.approx((47.18098 - half, 47.18098 + half))
    assert p.t == pytest.approx(47.18098 / np.sqrt(p.total))
    assert p.p_value == pytest.approx(2 * stats.t.sf(p.t, p.dof))
    # no between variance: as mice::pool, lambda is held at 1e-4 in the dof, and the
    # fraction of missing information is the limit of the formula as B falls to 0
    same = aekit.pool([1.0, 1.0], [0.2, 0.2], dof_complete=30)
    old, observed = (2 - 1) / 1e-4**2, 31 / 33 * 30 * (1 - 1e-4)
    assert same.dof == pytest.approx(old * observed / (old + observed), rel=1e-12)
    assert same.fmi == pytest.approx(2 / (same.dof + 3), rel=1e-12) and same.riv == 0
    almost = aekit.pool([1.0, 1.0 + 1e-12], [0.2, 0.2], dof_complete=30)
    assert almost.dof == pytest.approx(same.dof) and almost.fmi == pytest.approx(same.fmi)
    with pytest.raises(AekitError, match="dof_complete"):
        aekit.pool(OXYGEN, OXYGEN_SE, dof_complete=0)
    with pytest.raises(AekitError, match="level"):
        p.interval(95)


def _ols(frame):
    """Least squares of y on x, as a statsmodels-like result (params, bse, df_resid)."""
    X = np.column_stack([np.ones(len(frame)), frame["x"]])
    y = frame["y"].to_numpy()
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    dof = len(frame) - 2
    cov = resid @ resid / dof * np.linalg.inv(X.T @ X)
    names = ["Intercept", "x"]
    return types.SimpleNamespace(
        params=pd.Series(beta, names), bse=pd.Series(np.sqrt(np.diag(cov)), names), df_resid=dof
    )


@pytest.fixture(scope="module")
def copies():
    rng = np.random.default_rng(0)
    out = []
    for _ in range(5):
        x = rng.normal(size=40)
        out.append(pd.DataFrame({"x": x, "y": 1.0 + 2.0 * x + rng.normal(size=40)}))
    return out


def test_analyze_fits_each_copy_and_pools_with_the_results_dof(copies):
    table = aekit.analyze(copies, _ols)
    fits = [_ols(c) for c in copies]
    estimates = [f.params.to_numpy() for f in fits]
    variances = [f.bse.to_numpy() ** 2 for f in fits]
    by_hand = aekit.pool(estimates, variances, dof_complete=38)  # the results' df_resid
    assert list(table.index) == ["Intercept", "x"]
    assert list(table.columns) == [
        "estimate", "std_error", "t", "dof", "p_value", "ci_low", "ci_high", "fmi", "riv"
    ]  # fmt: skip
    np.testing.assert_allclose(table["estimate"], by_hand.estimate)
    np.testing.assert_allclose(table["std_error"], by_hand.std_error)
    np.testing.assert_allclose(table["dof"], by_hand.dof)
    np.testing.assert_allclose(table["ci_low"], by_hand.interval(0.95)[0])
    assert (table["dof"] <= 38).all()
    assert table.loc["x", "ci_low"] < 2.0 < table.loc["x", "ci_high"]
    assert table.loc["x", "p_value"] < 0.01  # the copies differ: B is large here
    # (estimates, standard errors) pairs carry no dof: Rubin's large-sample ones
    pairs = aekit.analyze(copies, lambda d: (_ols(d).params, _ols(d).bse))
    np.testing.assert_allclose(pairs["dof"], aekit.pool(estimates, variances).dof)
    given = aekit.analyze(copies, _ols, dof_complete=10)
    np.testing.assert_allclose(given["dof"], aekit.pool(estimates, variances, dof_complete=10).dof)


def test_analyze_refuses_what_it_cannot_pool(copies):
    with pytest.raises(AekitError, match="params and bse"):
        aekit.analyze(copies, lambda d: 1.0)
    with pytest.raises(AekitError, match="at least m=2"):
        aekit.analyze(copies[:1], _ols)
    renamed = [copies[0], copies[1].rename(columns={"x": "x"})]

    def odd(d):
        result = _ols(d)
        if d is renamed[1]:
            result.params.index = result.bse.index = ["Intercept", "slope"]
        return result

    with pytest.raises(AekitError, match="copy 1 gave parameters"):
        aekit.analyze(renamed, odd)


def test_analyze_takes_the_long_table_of_the_command_line(copies):
    long = pd.concat(
        [c.rename_axis(".id").reset_index().assign(**{".imp": i + 1}) for i, c in enumerate(copies)]
    )[[".imp", ".id", "x", "y"]]
    seen = []

    def fit(d):
        seen.append(list(d.columns))
        return _ols(d)

    pd.testing.assert_frame_equal(aekit.analyze(long, fit), aekit.analyze(copies, _ols))
    assert seen == [["x", "y"]] * 5
    with pytest.raises(AekitError, match=r"an '\.imp' column"):
        aekit.analyze(copies[0], _ols)
