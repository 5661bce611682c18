"""Multiple imputation with known truth: bias, coverage and width of the pooled
95% interval (van Buuren, Flexible Imputation of Missing Data, 2nd ed., 2.5).

Each replication draws n = 500 rows: x1..x4 standard normals with correlation
0.5, y = 1 + x1 + 0.5 x2 - 0.5 x3 + 0.25 x4 + N(0, 1). Then y and x1 each lose
about 30% of their values, either completely at random ("mcar") or at random
given the always-observed x2 ("mar": a cell is missing with probability
sigmoid(1.5 x2 + c), c set for a 30% rate), independently for y and x1. The
analysis is the least-squares fit of y on x1..x4; the target is the
coefficient of x1, whose truth is 1.

Methods: the complete data (before any value is hidden), complete cases,
mean imputation (one completed table, naive standard errors), scikit-learn's
``IterativeImputer(sample_posterior=True)`` with m seeds, statsmodels' chained
equations by predictive mean matching (``MICEData``, 5 donors, 10 sweeps of
burn-in and 2 between copies), and aekit's imputers:
the default imputer's ``multiple_imputations`` (m DAEs, each fitted to a
bootstrap resample, Gibbs draws from their calibrated conditionals; also with
``draws="pmm"``, predictive mean matching on those conditionals), the same
imputer's single completed table as a user who analyses its output would, and
the VAE presets' m copies (resampled posterior draws of the fitted VAEs, then
Gibbs sweeps with calibrations drawn from their posterior). The m analyses are
pooled by ``aekit.analyze`` with Barnard & Rubin's degrees of freedom
(``dof_complete`` = n - 5). ``--data skewed`` makes x1 log-normal (the
exponential of its normal), so that its missing cells lie in a long tail.

Settings of the default's and the VAE's draws were chosen on replications of
seed 1; the README quotes seed 0's.

    python benchmarks/multiple_imputation.py --reps 200 --mechanism mar
    python benchmarks/multiple_imputation.py --reps 200 --mechanism mcar --save results.csv
    python benchmarks/multiple_imputation.py --tables-from benchmarks/results/mi-*.csv --write
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats
from scipy.special import expit
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from statsmodels.imputation.mice import MICEData

import aekit
from aekit.estimators.presets import preset
from aekit.io import atomic_write

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme import publish

N, TRUTH, RATE = 500, 1.0, 0.3
COEF = np.array([1.0, 0.5, -0.5, 0.25])  # of x1..x4; intercept 1
COLUMNS = ["y", "x1", "x2", "x3", "x4"]
DOF = N - 5  # the complete-data analysis: 5 coefficients


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def simulate(
    rng: np.random.Generator, mechanism: str, data: str = "normal"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(complete table, the table with y and x1 partly missing); ``data="skewed"``
    makes x1 the exponential of its normal (log-normal: positive, skewed right)."""
    cov = np.full((4, 4), 0.5) + 0.5 * np.eye(4)
    x = rng.multivariate_normal(np.zeros(4), cov, size=N)
    if data == "skewed":
        x[:, 0] = np.exp(x[:, 0])
    y = 1.0 + x @ COEF + rng.normal(size=N)
    full = pd.DataFrame(np.column_stack([y, x]), columns=COLUMNS)
    holed = full.copy()
    for col in ("y", "x1"):
        if mechanism == "mcar":
            p = np.full(N, RATE)
        else:  # logit linear in the observed x2, shifted to the rate
            score = 1.5 * full["x2"].to_numpy()
            shift = _shift(score, RATE)
            p = expit(score + shift)
        holed.loc[rng.random(N) < p, col] = np.nan
    return full, holed


def _shift(score: np.ndarray, rate: float) -> float:
    """c such that the mean of sigmoid(score + c) is ``rate`` (bisection)."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expit(score + mid).mean() < rate else (lo, mid)
    return (lo + hi) / 2


def ols(frame: pd.DataFrame) -> tuple[float, float, int]:
    """(coefficient of x1, its standard error, residual dof) of y on x1..x4."""
    X = np.column_stack([np.ones(len(frame)), frame[["x1", "x2", "x3", "x4"]].to_numpy()])
    y = frame["y"].to_numpy()
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    dof = len(frame) - X.shape[1]
    resid = y - X @ beta
    cov = resid @ resid / dof * np.linalg.inv(X.T @ X)
    return float(beta[1]), float(np.sqrt(cov[1, 1])), dof


def single(frame: pd.DataFrame) -> tuple[float, float, float]:
    """(estimate, low, high) of one analysed table, with its t interval."""
    est, se, dof = ols(frame)
    half = stats.t.ppf(0.975, dof) * se
    return est, est - half, est + half


def pooled(copies) -> tuple[float, float, float]:
    """(estimate, low, high) of the m analysed copies, pooled by ``aekit.analyze``."""
    row = aekit.analyze(copies, lambda d: ols(d)[:2], dof_complete=DOF).iloc[0]
    return float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])


def method_names() -> list[str]:
    return [
        "complete data",
        "complete cases",
        "mean (single)",
        "IterativeImputer(sample_posterior) x m",
        "statsmodels MICEData (pmm) x m",
        "aekit default x m",
        "aekit default pmm x m",
        "aekit default (single)",
        "aekit default with bins x m",
        "aekit vae x m",
        "aekit vae pmm x m",
        "aekit tvae x m",
    ]


def run_method(name: str, full, holed, m: int, seed: int):
    if name == "complete data":
        return single(full)
    if name == "complete cases":
        return single(holed.dropna())
    if name == "mean (single)":
        return single(holed.fillna(holed.mean()))
    if name.startswith("IterativeImputer"):
        copies = []
        for i in range(m):
            imp = IterativeImputer(sample_posterior=True, random_state=seed * 1000 + i)
            copies.append(pd.DataFrame(imp.fit_transform(holed), columns=COLUMNS))
        return pooled(copies)
    if name.startswith("statsmodels"):  # chained equations by predictive mean matching
        np.random.seed(seed % 2**32)  # noqa: NPY002 (MICEData draws from the global generator)
        chained = MICEData(holed.copy(), k_pmm=5)  # 5 donors, as mice and aekit
        chained.update_all(10)  # burn-in
        copies = []
        for _ in range(m):
            chained.update_all(2)
            copies.append(chained.data.copy())
        return pooled(copies)
    if name == "aekit default (single)":
        return single(aekit.Imputer(random_state=seed).fit_transform(holed))
    if name == "aekit default x m":  # fits its own m models: no fit first
        return pooled(aekit.Imputer(random_state=seed).multiple_imputations(holed, m))
    if name == "aekit default pmm x m":  # the same, numbers by predictive mean matching
        imputer = aekit.Imputer(random_state=seed)
        return pooled(imputer.multiple_imputations(holed, m, draws="pmm"))
    if name == "aekit default with bins x m":  # networks that read the numbers in bins too
        imputer = aekit.Imputer(preset("dae"), random_state=seed)
        return pooled(imputer.multiple_imputations(holed, m))
    kind = name.split()[1]  # "vae", "tvae"
    imputer = aekit.Imputer(preset(kind), random_state=seed).fit(holed)
    draws = "pmm" if " pmm " in name else "normal"
    return pooled(imputer.multiple_imputations(holed, m, random_state=seed, draws=draws))


def run(
    mechanism: str,
    reps: int,
    methods: list[str],
    m: int,
    seed: int,
    first: int = 0,
    keep=None,
    data: str = "normal",
) -> pd.DataFrame:
    """Replications ``first`` .. ``first + reps - 1``: each one's data and seeds
    depend on its number alone, so runs of consecutive ranges add up to one run.
    ``keep``, if given, is called with the rows so far after each replication."""
    rows = []
    for rep in range(first, first + reps):
        rng = np.random.default_rng([seed, rep])
        full, holed = simulate(rng, mechanism, data)
        for name in methods:
            start = time.perf_counter()
            est, low, high = run_method(name, full, holed, m, seed * 100_000 + rep)
            rows.append(
                dict(
                    data=data,
                    mechanism=mechanism,
                    rep=rep,
                    method=name,
                    estimate=est,
                    low=low,
                    high=high,
                    seconds=time.perf_counter() - start,
                )
            )
        log(f"{mechanism} rep {rep + 1}/{first + reps}: " + ", ".join(
            f"{r['method']} {r['estimate']:.3f}" for r in rows[-len(methods):]
        ))  # fmt: skip
        if keep is not None:
            keep(pd.DataFrame(rows))
    return pd.DataFrame(rows)


def table(results: pd.DataFrame) -> str:
    out = []
    results = results.assign(data=results.get("data", "normal")).fillna({"data": "normal"})
    for (data, mechanism), part in results.groupby(["data", "mechanism"], sort=False):
        skewed = ", x1 log-normal" if data == "skewed" else ""
        out.append(
            f"{mechanism.upper()}{skewed} (truth β_x1 = {TRUTH}; nominal coverage 95%; each "
            "method's replications in its coverage column):\n"
        )
        out.append("| method | bias of β_x1 | 95% CI coverage | CI width | s per replication |")
        out.append("|---|---|---|---|---|")
        order = [m for m in method_names() if m in set(part["method"])]
        for name in order:
            r = part[part["method"] == name]
            covered = ((r["low"] <= TRUTH) & (TRUTH <= r["high"])).mean()
            out.append(
                f"| {name} | {r['estimate'].mean() - TRUTH:+.3f} | {covered:.1%} "
                f"({round(covered * len(r))}/{len(r)}) | {(r['high'] - r['low']).mean():.3f} "
                f"| {r['seconds'].mean():.2f} |"
            )
        out.append("")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--first-rep", type=int, default=0, help="number of the first replication")
    parser.add_argument("--mechanism", nargs="+", default=["mcar", "mar"], choices=["mcar", "mar"])
    parser.add_argument("--methods", nargs="+", default=method_names(), choices=method_names())
    parser.add_argument(
        "--data", default="normal", choices=["normal", "skewed"], help="skewed: x1 log-normal"
    )
    parser.add_argument("--m", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--save", type=Path, help="write the raw results as CSV")
    parser.add_argument("--tables-from", nargs="+", type=Path, help="tables from saved CSVs")
    parser.add_argument("--write", action="store_true", help="write benchmarks/README.md")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    if args.tables_from:
        results = pd.concat([pd.read_csv(p) for p in args.tables_from], ignore_index=True)
    else:
        done: list[pd.DataFrame] = []

        def keep(partial: pd.DataFrame) -> None:  # a long run keeps what it has done
            if args.save:
                frame = pd.concat([*done, partial], ignore_index=True)
                atomic_write(args.save, lambda tmp: frame.to_csv(tmp, index=False))

        for mech in args.mechanism:
            first = args.first_rep
            done.append(
                run(mech, args.reps, args.methods, args.m, args.seed, first, keep, args.data)
            )
        results = pd.concat(done, ignore_index=True)
    text = table(results)
    return publish(text, args.write, "multiple-imputation", "Multiple imputation")


if __name__ == "__main__":
    raise SystemExit(main())
