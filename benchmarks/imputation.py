"""Imputation benchmark: aekit's imputers against the methods users would otherwise pick.

Data: fifteen real tables (imputation_data.py) split once, by a fixed rule, into
a development half (defaults are chosen there) and a reporting half (the README
quotes it). Holes: aekit.ampute, MCAR / MAR / MNAR at 10%, 30% and 50%, over
several seeds; cells missing in the source are never scored. Imputers: column
mean (most frequent level for categories), KNNImputer, MICE (IterativeImputer +
BayesianRidge), missForest as published (the R package's algorithm and
defaults: 100-tree regression and classification forests, up to 10 rounds),
miceforest (LightGBM MICE, 5 datasets x 5 iterations), aekit's default imputer
and its presets. Scores: NRMSE on the hidden numeric cells (standardised
units), error rate on hidden categorical cells, and fit+transform seconds, all
measured side by side in one run.

Two published settings are rerun beside their reference numbers: the not-MIWAE
MNAR setting (Ipsen et al. 2021) and the MIWAE setting (Mattei & Frellsen 2019).

    python benchmarks/imputation.py --half report --write   # the reporting half
    python benchmarks/imputation.py --half dev              # the development half
    python benchmarks/imputation.py --datasets iris --seeds 1 --save-raw iris.csv
    python benchmarks/imputation.py --tables-from a.csv b.csv --write
    python benchmarks/imputation.py --quick                 # one small cell, for a smoke test
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import BayesianRidge
from sklearn.preprocessing import StandardScaler

import aekit
from aekit.estimators.presets import preset
from aekit.io import atomic_write

sys.path.insert(0, str(Path(__file__).resolve().parent))
import imputation_data
from readme import write_section

MECHANISMS, RATES = ("mcar", "mar", "mnar"), (0.1, 0.3, 0.5)
N_JOBS = 2  # threads for missForest's trees; --threads sets it and torch's together


# ------------------------------------------------------------------ imputers
def _numeric_baseline(make):
    """A scikit-learn imputer on ordinal codes; categories back by nearest valid code."""

    def run(X: pd.DataFrame | np.ndarray, seed: int):
        if not isinstance(X, pd.DataFrame):
            return make(seed, categorical=False).fit_transform(X)
        cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        codes = X.copy()
        for c in cats:
            codes[c] = X[c].cat.codes.replace(-1, np.nan).astype(float)
        numeric = codes.astype(float).to_numpy()
        filled = make(seed, categorical=bool(cats)).fit_transform(numeric)
        out = X.copy()
        for j, c in enumerate(X.columns):
            if c in cats:
                k = len(X[c].cat.categories)
                level = np.clip(np.rint(filled[:, j]), 0, k - 1).astype(int)
                out[c] = pd.Categorical.from_codes(level, dtype=X[c].dtype)
            else:
                out[c] = filled[:, j]
        return out

    return run


def _mean(seed, categorical):
    return SimpleImputer(strategy="most_frequent" if categorical else "mean")


def _mean_mixed(X, seed):
    if not isinstance(X, pd.DataFrame):
        return SimpleImputer().fit_transform(X)
    out = X.copy()
    for c in X.columns:
        fill = X[c].mode().iloc[0] if isinstance(X[c].dtype, pd.CategoricalDtype) else X[c].mean()
        out[c] = X[c].fillna(fill)
    return out


def _miceforest(X, seed):
    """miceforest (LightGBM chained equations): 5 datasets x 5 iterations; numbers
    are the mean of the 5 datasets, categories their most frequent draw."""
    import miceforest

    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1).reset_index(drop=True)
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]

    def fit(strategy):
        kernel = miceforest.ImputationKernel(
            frame, num_datasets=5, mean_match_strategy=strategy, random_state=seed
        )
        kernel.mice(5, verbose=False, num_threads=N_JOBS, verbosity=-1)
        return kernel

    try:
        kernel = fit("normal")  # its default
    except ValueError as exc:
        # its nearest-neighbour matching on log-odds fails when LightGBM gives a
        # category probability 1.0 (a rare class): its "fast" matching (a draw
        # from the class probabilities) for the categories, as its error advises
        log(f"miceforest: {str(exc)[:60]}; categories matched 'fast'")
        kernel = fit({c: ("fast" if c in cats else "normal") for c in frame.columns})
    copies = [kernel.complete_data(dataset=i) for i in range(5)]
    out = copies[0].copy()
    for c in frame.columns:
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            votes = pd.concat([d[c].astype(object) for d in copies], axis=1)
            out[c] = pd.Categorical(votes.mode(axis=1)[0], dtype=frame[c].dtype)
        else:
            out[c] = np.mean([d[c].to_numpy(dtype=float) for d in copies], axis=0)
    if not isinstance(X, pd.DataFrame):
        return out.to_numpy(dtype=float)
    return out.set_axis(X.columns, axis=1).set_axis(X.index, axis=0)


def _missforest(X, seed, trees: int = 100, max_iter: int = 10, n_jobs: int | None = None):
    """missForest as published (Stekhoven & Bühlmann 2012; the R package's defaults).

    Numbers start at their column's mean and categories at their most frequent
    level. Each round visits the columns with missing cells, fewest first: a
    random forest of ``trees`` trees, fitted on the rows where the column is
    observed with every other column as a predictor (categories by their codes),
    predicts its missing cells: a regression forest for numbers, a classification
    forest for categories (the package's ``nodesize`` of 1 and 5: a node of at
    most that many rows is not split), each split choosing among floor(sqrt(p))
    of the p columns (the package's ``mtry``). After each round the change is
    measured for each kind of column: the squared difference over the squared
    values for numbers, the share of changed cells for categories (over all
    their cells). The rounds stop when no kind's change fell, and the imputation
    before that round is returned (the last after ``max_iter``). ``n_jobs``: the
    forests' threads (default: the run's, ``N_JOBS``).
    """
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    is_cat = np.array([isinstance(frame[c].dtype, pd.CategoricalDtype) for c in frame.columns])
    values = np.column_stack(
        [
            frame[c].cat.codes.replace(-1, np.nan).to_numpy(float)
            if cat
            else frame[c].to_numpy(float)
            for c, cat in zip(frame.columns, is_cat, strict=True)
        ]
    )
    miss = np.isnan(values)
    filled = values.copy()
    for j in range(values.shape[1]):
        seen = values[~miss[:, j], j]
        if seen.size:
            levels, counts = np.unique(seen, return_counts=True)
            filled[miss[:, j], j] = levels[counts.argmax()] if is_cat[j] else seen.mean()
    n_miss = miss.sum(axis=0)
    order = [j for j in np.argsort(n_miss, kind="stable") if 0 < n_miss[j] < len(values)]
    mtry = max(1, int(np.sqrt(values.shape[1])))
    kinds = [k for k in (False, True) if any(is_cat[j] == k for j in order)]
    old_change = dict.fromkeys(kinds, np.inf)
    for _ in range(max_iter):
        previous = filled.copy()
        for j in order:
            seen, gone = ~miss[:, j], miss[:, j]
            others = np.delete(filled, j, axis=1)
            forest = (RandomForestClassifier if is_cat[j] else RandomForestRegressor)(
                n_estimators=trees,
                max_features=min(mtry, others.shape[1]),
                min_samples_split=6 if is_cat[j] else 2,
                n_jobs=n_jobs or N_JOBS,
                random_state=seed,
            )
            forest.fit(others[seen], filled[seen, j])
            filled[gone, j] = forest.predict(others[gone])
        change = {}
        for kind in kinds:
            cols = is_cat == kind
            if kind:  # categories: the share of their cells that changed
                change[kind] = np.mean(filled[:, cols] != previous[:, cols])
            else:
                change[kind] = np.sum((filled[:, cols] - previous[:, cols]) ** 2) / np.sum(
                    filled[:, cols] ** 2
                )
        if not any(change[k] < old_change[k] for k in kinds):
            filled = previous  # this round changed more than the one before: keep that one
            break
        old_change = change
    if not isinstance(X, pd.DataFrame):
        return filled
    out = X.copy()
    for j, c in enumerate(X.columns):
        if is_cat[j]:
            codes = np.nan_to_num(filled[:, j], nan=-1).astype(int)  # -1: missing
            out[c] = pd.Categorical.from_codes(codes, dtype=X[c].dtype)
        else:
            out[c] = filled[:, j]
    return out


def _aekit(name):
    def run(X, seed):
        return aekit.Imputer(preset(name), random_state=seed).fit_transform(X)

    return run


IMPUTERS = {
    "mean": _mean_mixed,
    "knn": _numeric_baseline(lambda seed, categorical: KNNImputer(n_neighbors=5)),
    "mice": _numeric_baseline(
        lambda seed, categorical: IterativeImputer(BayesianRidge(), max_iter=10, random_state=seed)
    ),
    "missforest": _missforest,  # as published: 100 trees, up to 10 rounds
    "miceforest": _miceforest,
    "aekit": _aekit("default"),
    "aekit-vae": _aekit("vae"),
}
DEFAULT = "aekit"


# ------------------------------------------------------------------- data
def datasets(half: str = "all") -> dict:
    """The benchmark's tables (imputation_data.py), of one half or all."""
    split = imputation_data.halves()
    return imputation_data.load([n for n in sorted(split) if half in ("all", split[n])])


def score(X, X_imp, mask) -> tuple[float, float]:
    """(NRMSE on numeric cells, error rate on categorical cells or NaN)."""
    err = np.nan
    if isinstance(X, pd.DataFrame) and any(
        isinstance(X[c].dtype, pd.CategoricalDtype) for c in X.columns
    ):
        err = aekit.metrics.error_rate(X, X_imp, mask)
    return aekit.metrics.nrmse(X, X_imp, mask), err


def hidden_cells(X, X_miss) -> np.ndarray:
    """The cells to score: missing after amputation, known in the source."""
    return np.asarray(pd.isna(X_miss)) & ~np.asarray(pd.isna(X))


def run_one(method, X, X_miss, seed) -> dict:
    mask = hidden_cells(X, X_miss)
    start = time.perf_counter()
    X_imp = IMPUTERS[method](X_miss, seed)
    seconds = time.perf_counter() - start
    nrmse, err = score(X, X_imp, mask)
    return {"nrmse": nrmse, "error_rate": err, "seconds": seconds, "threads": N_JOBS}


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# -------------------------------------------------------------------- grid
def grid(data: dict, methods, mechanisms, rates, seeds) -> pd.DataFrame:
    rows = []
    for name, X in data.items():
        for mech in mechanisms:
            for rate in rates:
                for seed in seeds:
                    try:
                        X_miss = aekit.ampute(X, mech, rate, random_state=seed)
                    except aekit.AekitError as exc:
                        log(f"skip {name} {mech} {rate}: {exc}")
                        continue
                    for method in methods:
                        try:
                            r = run_one(method, X, X_miss, seed)
                        except Exception as exc:  # a peer that fails scores nothing; say so
                            log(f"{name} {mech} {rate} seed {seed} {method} FAILED: {exc!r}")
                            r = {"nrmse": np.nan, "error_rate": np.nan, "seconds": np.nan}
                            r["threads"], r["failed"] = N_JOBS, repr(exc)[:200]
                        log(
                            f"{name:14s} {mech} {rate:.1f} seed {seed} {method:12s} "
                            f"nrmse {r['nrmse']:.4f} {r['seconds']:7.1f}s"
                        )
                        rows.append(
                            {
                                "dataset": name,
                                "mechanism": mech,
                                "rate": rate,
                                "seed": seed,
                                "method": method,
                                **r,
                            }
                        )
    return pd.DataFrame(rows)


def not_miwae_setting(methods, seeds) -> pd.DataFrame:
    """Breast cancer, standardised; in the first 15 features every value above the
    column mean goes missing (Ipsen et al. 2021)."""
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    mask = np.zeros_like(X, dtype=bool)
    mask[:, :15] = X[:, :15] > 0
    X_miss = np.where(mask, np.nan, X)
    imputers = {**IMPUTERS, "aekit-mnar": _aekit("mnar")}
    rows = []
    for seed in seeds:
        for method in [*methods, "aekit-mnar"]:
            start = time.perf_counter()
            X_imp = imputers[method](X_miss, seed)
            rmse = float(np.sqrt(np.mean((X_imp - X)[mask] ** 2)))
            seconds = time.perf_counter() - start
            log(f"not-MIWAE setting seed {seed} {method:12s} rmse {rmse:.4f} {seconds:.1f}s")
            rows.append({"method": method, "seed": seed, "rmse": rmse, "seconds": seconds})
    return pd.DataFrame(rows)


def miwae_setting(methods, seeds) -> pd.DataFrame:
    """Breast cancer, standardised, 50% MCAR (Mattei & Frellsen 2019)."""
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    rows = []
    for seed in seeds:
        X_miss = aekit.ampute(X, "mcar", 0.5, random_state=seed)
        mask = np.isnan(X_miss)
        for method in methods:
            start = time.perf_counter()
            X_imp = IMPUTERS[method](X_miss, seed)
            mse = float(np.mean((X_imp - X)[mask] ** 2))
            seconds = time.perf_counter() - start
            log(f"MIWAE setting seed {seed} {method:12s} mse {mse:.4f} {seconds:.1f}s")
            rows.append({"method": method, "seed": seed, "mse": mse, "seconds": seconds})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ tables
def _bold_min(values: pd.Series, fmt="{:.3f}") -> list[str]:
    best = values.min()
    return [("**" + fmt.format(v) + "**") if v == best else fmt.format(v) for v in values]


def _row_table(table: pd.DataFrame, methods, fmt="{:.3f}") -> list[str]:
    out = ["| table | mechanism | rate | " + " | ".join(methods) + " |"]
    out.append("|---|---|---|" + "---|" * len(methods))
    for (ds, mech, rate), row in table.iterrows():
        cells = _bold_min(row[list(methods)], fmt)
        out.append(f"| {ds} | {mech} | {rate:.0%} | " + " | ".join(cells) + " |")
    return out


def half_tables(results: pd.DataFrame, methods, half: str) -> str:
    """The tables of one half: NRMSE per cell, the summary, categories, losses."""
    res = results[results["dataset"].map(imputation_data.halves()) == half]
    if res.empty:
        return ""
    keys = ["dataset", "mechanism", "rate"]
    nrmse = res.groupby([*keys, "method"])["nrmse"].mean().unstack("method")[list(methods)]
    order = {m: i for i, m in enumerate(MECHANISMS)}
    nrmse = nrmse.sort_index(key=lambda k: k.map(order) if k.name == "mechanism" else k)
    seeds = res.groupby(keys)["seed"].nunique()
    n_seeds = f"{seeds.min()}" if seeds.min() == seeds.max() else f"{seeds.min()}-{seeds.max()}"
    ranks = nrmse.rank(axis=1, method="average")
    out = [
        f"### {'Reporting' if half == 'report' else 'Development'} half",
        "",
        f"Tables: {', '.join(sorted(res['dataset'].unique()))}; {len(nrmse)} cells "
        f"(table x mechanism x rate), {n_seeds} seed(s) each. "
        "NRMSE on the hidden numeric cells, mean over the seeds; best in bold.",
        "",
        *_row_table(nrmse, methods),
        "",
        "| method | mean rank | mean NRMSE | MCAR | MAR | MNAR | median s per cell |",
        "|---|---|---|---|---|---|---|",
    ]
    secs = res.groupby("method")["seconds"].median()
    by_mech = nrmse.groupby(level="mechanism").mean()
    for m in methods:
        mech = " | ".join(
            f"{by_mech.loc[k, m]:.3f}" if k in by_mech.index else "-"
            for k in ("mcar", "mar", "mnar")
        )
        out.append(
            f"| {m} | {ranks[m].mean():.2f} | {nrmse[m].mean():.3f} | {mech} | {secs[m]:.1f} |"
        )
    if DEFAULT in methods:
        out.append("")
        # each seed's cells too: a mean over seeds can hide a split
        per_seed = res.groupby([*keys, "seed", "method"])["nrmse"].mean().unstack("method")
        for peer in ("missforest", "miceforest", "mice"):
            if peer in methods:
                wins = int((nrmse[DEFAULT] < nrmse[peer]).sum())
                text = f"- {DEFAULT} beats {peer} on NRMSE in {wins} of {len(nrmse)} cells"
                if per_seed.index.get_level_values("seed").nunique() > 1:
                    both = per_seed[[DEFAULT, peer]].dropna()
                    text += (
                        f" (mean over seeds); in {int((both[DEFAULT] < both[peer]).sum())} "
                        f"of {len(both)} cell-seed pairs"
                    )
                out.append(text + ".")
        if "missforest" in methods:
            # side by side within a run: one ratio per thread count the runs used
            threads = res["threads"] if "threads" in res else pd.Series(N_JOBS, res.index)
            keys = [threads, res["run"].fillna("")] if "run" in res else [threads]
            for key, run in res.groupby(keys):
                n = key[0] if isinstance(key, tuple) else key
                # the seeds both ran in (a method rerun alone is not side by side)
                ran = run.groupby("seed")["method"].agg(set)
                both = ran.index[ran.map(lambda m: {DEFAULT, "missforest"} <= m)]
                run = run[run["seed"].isin(both)]
                per = run.groupby(["dataset", "method"])["seconds"].sum().unstack("method")
                if not {DEFAULT, "missforest"} <= set(per.columns):
                    continue  # the two did not run side by side
                ratio = per[DEFAULT] / per["missforest"]
                parts = ", ".join(f"{d} {r:.2f}x" for d, r in ratio.items())
                which = ", ".join(str(int(s)) for s in sorted(run["seed"].unique()))
                out.append(
                    f"- {DEFAULT}'s seconds / missforest's, per table ({int(n)} thread(s), "
                    f"seed(s) {which}): {parts}."
                )
        lost = nrmse[nrmse[DEFAULT] > nrmse.drop(columns=DEFAULT).min(axis=1)]
        if len(lost):
            best = lost.drop(columns=DEFAULT).idxmin(axis=1)
            rows = "; ".join(
                f"{ds} {mech} {rate:.0%} ({best[(ds, mech, rate)]} "
                f"{lost.loc[(ds, mech, rate)].drop(DEFAULT).min():.3f} against "
                f"{lost.loc[(ds, mech, rate), DEFAULT]:.3f})"
                for ds, mech, rate in lost.index
            )
            out.append(f"- Cells where {DEFAULT} is not best: {rows}.")
    cat = res.dropna(subset=["error_rate"])
    if len(cat):
        err = cat.groupby(["dataset", "method"])["error_rate"].mean().unstack("method")
        err = err[[m for m in methods if m in err.columns]]
        out += [
            "",
            "Error rate on the hidden categorical cells, mean over mechanisms, rates and seeds "
            "(mixed tables only).",
            "",
            "| table | " + " | ".join(err.columns) + " |",
            "|---|" + "---|" * len(err.columns),
        ]
        for ds, row in err.iterrows():
            out.append(f"| {ds} | " + " | ".join(_bold_min(row)) + " |")
        out.append("| mean | " + " | ".join(_bold_min(err.mean())) + " |")
    failed = res[res["nrmse"].isna()] if "nrmse" in res else res.iloc[:0]
    if len(failed):
        out += [
            "",
            f"Failed runs (scored nothing): {len(failed)}, "
            + ", ".join(sorted(set(failed["method"] + " on " + failed["dataset"])))
            + ".",
        ]
    return "\n".join(out) + "\n"


def tables(results: pd.DataFrame, methods, not_miwae=None, miwae=None) -> str:
    used = sorted(results["threads"].unique()) if "threads" in results else [N_JOBS]
    threads = " or ".join(str(int(n)) for n in used)
    out = [
        f"{os.cpu_count()} CPU cores; torch {torch.__version__}, missForest's and "
        f"miceforest's trees with {threads} thread(s) (the same for every method of a "
        "run). NRMSE: RMSE on the hidden numeric "
        "cells in standardised units (lower is better; 1.0 is about a guess one standard "
        "deviation off).",
        "",
    ]
    if len(results):
        out += [half_tables(results, methods, "report"), half_tables(results, methods, "dev")]
    if not_miwae is not None and len(not_miwae):
        # the paper's Table 1, breast row: its method beside ours
        paper = {
            "mean": ("mean", 1.82),
            "mice": ("MICE", 1.17),
            "missforest": ("missForest", 1.57),
            "aekit-vae": ("MIWAE", 1.20),
            "aekit-mnar": ("not-MIWAE", 0.74),
        }
        out += [
            "",
            "Not-MIWAE MNAR setting (breast cancer, standardised; in the first 15 features "
            "every value above its column mean is missing): RMSE on the missing cells, beside "
            "Ipsen, Mattei & Frellsen 2021, Table 1 (the paper's method that each of ours "
            "corresponds to). The paper's other tables (banknote, concrete, red and white "
            "wine quality, yeast) are UCI downloads that no installed package ships, so "
            "they cannot run offline.",
            "",
            "| method | RMSE (this run) | paper's method | paper's RMSE | seconds |",
            "|---|---|---|---|---|",
        ]
        agg = not_miwae.groupby("method", sort=False)[["rmse", "seconds"]].mean()
        for m, r in agg.iterrows():
            name, ref = paper.get(m, ("-", None))
            shown = "-" if ref is None else f"{ref:.2f}"
            out.append(f"| {m} | {r.rmse:.3f} | {name} | {shown} | {r.seconds:.1f} |")
    if miwae is not None and len(miwae):
        out += [
            "",
            "MIWAE setting (breast cancer, standardised, 50% MCAR): MSE on the missing cells. "
            "Reference: the MIWAE authors' demonstration reaches about 0.29.",
            "",
            "| method | MSE (this run) | seconds |",
            "|---|---|---|",
        ]
        agg = miwae.groupby("method", sort=False)[["mse", "seconds"]].mean()
        for m, r in agg.iterrows():
            out.append(f"| {m} | {r.mse:.3f} | {r.seconds:.1f} |")
    return "\n".join(out) + "\n"


def write_readme(text: str) -> None:
    write_section("imputation", "Imputation", text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=list(IMPUTERS), choices=list(IMPUTERS))
    parser.add_argument("--datasets", nargs="+", default=None)
    parser.add_argument("--half", choices=["dev", "report", "all"], default="report")
    parser.add_argument("--seed-start", type=int, default=0, help="first seed of the run")
    parser.add_argument(
        "--mechanisms", nargs="+", default=list(MECHANISMS), choices=list(MECHANISMS)
    )
    parser.add_argument("--quick", action="store_true", help="wine and penguins, MCAR 30%%")
    parser.add_argument("--no-reference", action="store_true", help="skip the published settings")
    parser.add_argument(
        "--reference-only", action="store_true", help="only the published settings, no grid"
    )
    parser.add_argument("--write", action="store_true", help="write benchmarks/README.md")
    parser.add_argument("--threads", type=int, default=None, help="threads for torch and trees")
    parser.add_argument("--save-raw", type=Path, help="save the raw results here (CSV)")
    parser.add_argument(
        "--run",
        help="a name saved with each raw row: where raw files name their runs, times are "
        "compared within a run only",
    )
    parser.add_argument(
        "--tables-from", type=Path, nargs="+", help="build the tables from saved raw results"
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if args.threads:
        global N_JOBS
        N_JOBS = args.threads
        torch.set_num_threads(args.threads)
    if args.tables_from:
        raw = pd.concat([pd.read_csv(p) for p in args.tables_from], ignore_index=True)
        parts = {k: g.drop(columns="table") for k, g in raw.groupby("table")}
        grid_rows = parts.get("grid", raw.iloc[:0]).dropna(axis=1, how="all")
        methods = [m for m in IMPUTERS if m in set(grid_rows.get("method", []))]
        text = tables(grid_rows, methods, parts.get("not_miwae"), parts.get("miwae"))
        print(text)
        if args.write:
            write_readme(text)
        return 0

    data = datasets(args.half)
    mechanisms, rates = tuple(args.mechanisms), RATES
    seeds = range(args.seed_start, args.seed_start + args.seeds)
    if args.quick:
        data = {k: v for k, v in datasets("all").items() if k in ("wine", "penguins")}
        mechanisms, rates, seeds = ("mcar",), (0.3,), range(1)
    if args.datasets:
        data = imputation_data.load(args.datasets)
    if args.reference_only:
        data = {}
    results = grid(data, args.methods, mechanisms, rates, seeds)
    ref = not (args.quick or args.no_reference)
    ref_methods = [m for m in args.methods if m != "knn"]
    nm = not_miwae_setting(ref_methods, seeds) if ref else None
    mw = miwae_setting(ref_methods, seeds) if ref else None
    text = tables(results, args.methods, nm, mw)
    print(text)
    if args.save_raw:
        frames = [results.assign(table="grid")]
        frames += [
            f.assign(table=k) for k, f in (("not_miwae", nm), ("miwae", mw)) if f is not None
        ]
        raw = pd.concat(frames, ignore_index=True)
        if args.run:
            raw["run"] = args.run
        atomic_write(args.save_raw, lambda tmp: raw.to_csv(tmp, index=False))
    if args.write:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
