"""How the default imputer's multiple-imputation draws are recalibrated: ways
to fit a continuous column's conditional mean and noise compared on the same
fitted networks, in the simulation of ``multiple_imputation.py``.

``aekit.models.gibbs.calibrated`` fits each hidden cell's conditional mean as a
least-squares fit of the observed cells on [1, network prediction, the row's
other cells] and draws the cell around it. The variants differ in the rows
that fit uses and in whether its coefficients and noise are drawn:

- ``all-bayes``: the shipped one: every observed row, with the Bayesian
  linear-regression draw of chained equations (van Buuren, 2nd ed.,
  algorithm 3.1): sigma^2 = RSS / chi^2(dof), coefficients ~ N(beta_hat,
  sigma^2 (A'A)^-1);
- ``all``: every observed row, coefficients fixed, noise the root mean squared
  error over the residual degrees of freedom.

Two more were compared with these on seed 1 while the default drew them
(the script as of commit 3f75fc3; its results are in the saved CSVs):
``oob``, the fit on the rows out of the network's bootstrap resample,
coefficients fixed (the default until then), and ``oob-bayes``, the same rows
with the posterior draw.

Each replication fits the m bootstrap networks once and draws every variant's
copies from them, beside ``IterativeImputer(sample_posterior=True)`` on the
same data. The complete data's estimate is saved too, so a variant's bias can
be read paired against it ("dev": estimate minus the complete data's).
Run on seed 1 (the development seed of ``multiple_imputation.py``; its README
rows are seed 0's):

    python benchmarks/mi_calibration.py --mechanism mcar --reps 150 --seed 1 \
        --save benchmarks/results/mi-calibration-mcar-seed1.csv
    python benchmarks/mi_calibration.py --tables-from benchmarks/results/mi-calibration-*.csv
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import aekit
import aekit.models.gibbs as gibbs_module
from aekit.estimators.base import BaseAutoencoderEstimator

sys.path.insert(0, str(Path(__file__).resolve().parent))
import multiple_imputation as mi

VARIANTS = ["all-bayes", "all"]


def variant(kind: str, shipped):
    """``shipped`` (``calibrated``), its fit drawn from the posterior for "-bayes"."""

    def calibrate(predicted, others, target, observed, *, draw=False):
        return shipped(predicted, others, target, observed, draw=kind.endswith("bayes"))

    return calibrate


def run(mechanism: str, reps: int, variants: list[str], m: int, seed: int) -> pd.DataFrame:
    shipped, fit_copies = gibbs_module.calibrated, BaseAutoencoderEstimator.fit_copies
    fitted: dict = {}

    def fit_once(self, X, n, **kwargs):  # every variant draws from the same networks
        if "models" not in fitted:
            fitted["models"] = fit_copies(self, X, n, **kwargs)
        return fitted["models"]

    rows = []
    BaseAutoencoderEstimator.fit_copies = fit_once
    try:
        for rep in range(reps):
            rng = np.random.default_rng([seed, rep])
            full, holed = mi.simulate(rng, mechanism)
            fitted.clear()
            s = seed * 100_000 + rep
            base = mi.single(full)[0]
            results = {"IterativeImputer": mi.run_method(mi.method_names()[3], full, holed, m, s)}
            for kind in variants:
                gibbs_module.calibrated = variant(kind, shipped)
                copies = aekit.Imputer(random_state=s).multiple_imputations(holed, m)
                results[kind] = mi.pooled(copies)
            for name, (est, low, high) in results.items():
                rows.append(
                    dict(mechanism=mechanism, rep=rep, method=name, estimate=est,
                         low=low, high=high, complete=base)
                )  # fmt: skip
            mi.log(f"{mechanism} rep {rep + 1}/{reps}")
    finally:
        gibbs_module.calibrated, BaseAutoencoderEstimator.fit_copies = shipped, fit_copies
    return pd.DataFrame(rows)


def table(results: pd.DataFrame) -> str:
    out = []
    for mechanism, part in results.groupby("mechanism", sort=False):
        part = part.assign(
            dev=part.estimate - part.complete,
            covered=(part.low <= mi.TRUTH) & (part.high >= mi.TRUTH),
            width=part.high - part.low,
        )
        wide = part.pivot(index="rep", columns="method", values="estimate")
        n = len(wide)
        out += [
            f"{mechanism.upper()}, {n} replications (bias: mean estimate minus the truth; "
            "dev: minus the complete data's estimate, paired; ± one standard error)",
            "",
            "| method | bias | dev | minus chained equations, paired "
            "| minus oob (the old default), paired | coverage | width |",
            "|---|---|---|---|---|---|---|",
        ]

        def paired(name, other, wide=wide):
            diff = wide[name] - wide[other] if other in wide else wide[name] * np.nan
            return f"{diff.mean():+.4f} ± {diff.std() / np.sqrt(len(wide)):.4f}"

        for name, rows in part.groupby("method", sort=False):
            out.append(
                f"| {name} | {rows.estimate.mean() - mi.TRUTH:+.4f} "
                f"| {rows.dev.mean():+.4f} ± {rows.dev.std() / np.sqrt(n):.4f} "
                f"| {paired(name, 'IterativeImputer')} | {paired(name, 'oob')} "
                f"| {rows.covered.mean():.1%} | {rows.width.mean():.3f} |"
            )
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=150)
    parser.add_argument("--mechanism", default="mcar", choices=["mcar", "mar"])
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    parser.add_argument("--m", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save", type=Path, help="write the raw results as CSV")
    parser.add_argument("--tables-from", nargs="+", type=Path, help="tables from saved CSVs")
    args = parser.parse_args(argv)
    if args.tables_from:
        print(table(pd.concat([pd.read_csv(p) for p in args.tables_from], ignore_index=True)))
        return 0
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    results = run(args.mechanism, args.reps, args.variants, args.m, args.seed)
    if args.save:
        results.to_csv(args.save, index=False)
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
