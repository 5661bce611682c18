"""New rows imputed by a fitted imputer: how far past the range of fit's values a
number may reach its networks (``aekit.data.tabular.BEYOND_FIT``).

An imputer is fitted once and then imputes rows it has not seen, as in use. A
number of a new row beyond every value of its column in fit sends a
perceptron's output off linearly; aekit holds the networks' input at
``BEYOND_FIT`` ranges past the ends (the output keeps the number as given).
Two settings, for each table of a half of the imputation benchmark
(``imputation_data.py``) and each seed:

- ``new rows``: the table's rows shuffled, the first three quarters fitted
  (30% of their cells missing completely at random), the last quarter imputed
  (30% missing too); NRMSE of its hidden cells under each reach (``inf``: no
  hold, as before). Nothing grows here: this shows what the hold costs where
  new rows are like the old ones, beyond them only by chance.
- ``numbered``: the same, the table given a record number ``id`` (0, 1, ... in
  the fitted rows), the new rows numbered from 1, 10 and 100 times the number
  of fitted rows (a later month's records): NRMSE of the other columns' hidden
  cells, with the hold and without.

One thread. The reach is set on the module between transforms of the same
fitted imputer, so every column of a row compares the same fit.

    python benchmarks/new_rows.py --half dev        # chooses the reach
    python benchmarks/new_rows.py --half report     # reports it
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
import aekit.data.tabular as tabular

sys.path.insert(0, str(Path(__file__).resolve().parent))
import imputation_data

REACHES = (float("inf"), 1.0, 0.5, 0.25, 0.1, 0.0)  # the first: no hold
STARTS = (1, 10, 100)  # the new rows' first record number, in fitted rows


def split(X: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(X))
    cut = int(0.75 * len(X))
    return X.iloc[order[:cut]], X.iloc[order[cut:]]


def imputed(imputer, holed: pd.DataFrame, truth: pd.DataFrame, reach: float) -> float:
    """NRMSE of the hidden cells of ``truth``'s columns, ``holed`` imputed at ``reach``."""
    kept = tabular.BEYOND_FIT
    tabular.BEYOND_FIT = reach
    try:
        out = imputer.transform(holed)[truth.columns]
    finally:
        tabular.BEYOND_FIT = kept
    hidden = np.asarray(holed[truth.columns].isna()) & ~np.asarray(truth.isna())
    return aekit.metrics.nrmse(truth, out, hidden)


def rows(tables: list[str], seeds: list[int]) -> pd.DataFrame:
    out = []
    for name, X in imputation_data.load(tables).items():
        for seed in seeds:
            old, new = split(X, seed)
            holed_old = aekit.ampute(old, "mcar", 0.3, random_state=seed)
            holed_new = aekit.ampute(new, "mcar", 0.3, random_state=seed + 100)
            imputer = aekit.Imputer(random_state=seed).fit(holed_old)
            for reach in REACHES:
                nrmse = imputed(imputer, holed_new, new, reach)
                out.append(
                    dict(table=name, seed=seed, setting="new rows", reach=reach, nrmse=nrmse)
                )
            numbered = holed_old.assign(id=np.arange(len(old), dtype=float))
            imputer = aekit.Imputer(random_state=seed).fit(numbered)
            for start in STARTS:
                given = holed_new.assign(id=start * len(old) + np.arange(len(new), dtype=float))
                for reach in (float("inf"), tabular.BEYOND_FIT):
                    nrmse = imputed(imputer, given, new, reach)
                    setting = f"numbered from {start} x"
                    out.append(
                        dict(table=name, seed=seed, setting=setting, reach=reach, nrmse=nrmse)
                    )
            print(f"{name} seed {seed}", file=sys.stderr, flush=True)
    return pd.DataFrame(out)


def report(df: pd.DataFrame) -> None:
    new = df[df.setting == "new rows"].pivot_table(
        index=["table", "seed"], columns="reach", values="nrmse"
    )
    ratio = new.div(new[float("inf")], axis=0)
    print("New rows like the fitted ones: NRMSE under each reach over no hold (inf)\n")
    print("| reach | mean ratio | cells worse | cells better | largest ratio |")
    print("|---|---|---|---|---|")
    for reach in REACHES:
        r = ratio[reach]
        print(
            f"| {reach} | {r.mean():.4f} | {int((r > 1.0001).sum())} | "
            f"{int((r < 0.9999).sum())} | {r.max():.4f} |"
        )
    numbered = df[df.setting != "new rows"].pivot_table(
        index="setting", columns="reach", values="nrmse", aggfunc="mean"
    )
    print(f"\nNew rows with a record number: mean NRMSE over {len(ratio)} fits\n")
    print(f"| new rows numbered from | no hold | held at reach {tabular.BEYOND_FIT} |")
    print("|---|---|---|")
    for setting, r in numbered.iterrows():
        print(
            f"| {setting[len('numbered from ') :]} the fitted rows | {r[float('inf')]:.4f} | "
            f"{r[tabular.BEYOND_FIT]:.4f} |"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("dev", "report"), default="dev")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--save", type=Path, help="also write the rows as CSV")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    tables = sorted(n for n, half in imputation_data.halves().items() if half == args.half)
    df = rows(tables, args.seeds)
    if args.save:
        df.to_csv(args.save, index=False)
    report(df)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
