"""A column of names or free text beside a table: modelled as categories, or left
out of the imputer's models (what aekit does since it was measured here).

Each development table of the imputation benchmark (``imputation_data.py``; the
reporting half is not used) gets a text column added: 60% of its cells a value
of their own (a title), the rest one of a few repeated names, either

- ``noise``: 100 names drawn at random, unrelated to the table, or
- ``informative``: a name for the decile of the table's first numeric column
  (three spellings a decile), so the repeated part tells something;

then 30% of all cells go missing completely at random. The default ``Imputer``
fits the table twice, with the text column as a pandas ``Categorical`` (which
aekit models as declared: the way to keep such a column in the models) and
without it, one thread, and imputes the same holes. The table gives the NRMSE
of the other columns' hidden cells, the ratio left out / modelled (below 1:
leaving the column out imputes the other columns better) and the seconds.

    python benchmarks/free_text.py                    # seeds 0, 1, 2
    python benchmarks/free_text.py --seeds 0 --tables penguins wine
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

import aekit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import imputation_data

SHARE_OWN = 0.6  # the share of the text column's cells that hold a value of their own


def text_column(X: pd.DataFrame, kind: str, seed: int) -> pd.Series:
    """The added column: titles of their own, else repeated names (see the docstring)."""
    rng = np.random.default_rng(200 + seed)
    n = len(X)
    if kind == "noise":
        repeated = [f"name{rng.integers(100)}" for _ in range(n)]
    else:
        first = X.select_dtypes("number").columns[0]
        decile = np.clip((X[first].rank(pct=True).to_numpy() * 10).astype(int), 0, 9)
        repeated = [f"name{d}_{rng.integers(3)}" for d in decile]
    own = [f"t{i}" for i in range(n)]
    return pd.Series(np.where(rng.random(n) < SHARE_OWN, own, repeated), index=X.index)


def fit(X: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, float]:
    start = time.perf_counter()
    out = aekit.Imputer(random_state=seed).fit_transform(X)
    return out, time.perf_counter() - start


def rows(tables: list[str], seeds: list[int]) -> pd.DataFrame:
    out = []
    for name, X in imputation_data.load(tables).items():
        for kind in ("noise", "informative"):
            for seed in seeds:
                full = X.assign(note=text_column(X, kind, seed))
                holed = aekit.ampute(full, "mcar", 0.3, random_state=seed)
                hidden = np.asarray(holed.isna()) & ~np.asarray(full.isna())
                hidden[:, -1] = False  # the text column itself is not scored
                modelled, s_in = fit(holed.assign(note=holed["note"].astype("category")), seed)
                left, s_out = fit(holed.drop(columns="note"), seed)
                a = aekit.metrics.nrmse(full, modelled.assign(note=full["note"]), hidden)
                b = aekit.metrics.nrmse(full, left.assign(note=full["note"]), hidden)
                row = dict(table=name, text=kind, seed=seed, modelled=a, left_out=b)
                out.append({**row, "ratio": b / a, "s_modelled": s_in, "s_left_out": s_out})
                print(
                    f"{name:14s} {kind:11s} seed {seed}  modelled {a:.4f} ({s_in:.1f} s)  "
                    f"left out {b:.4f} ({s_out:.1f} s)  ratio {b / a:.3f}",
                    file=sys.stderr,
                    flush=True,
                )
    return pd.DataFrame(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    dev = sorted(n for n, half in imputation_data.halves().items() if half == "dev")
    parser.add_argument("--tables", nargs="+", default=dev, choices=dev)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # the many-levels warnings of the modelled fits
    df = rows(args.tables, args.seeds)
    print(
        "| table | text | NRMSE modelled | NRMSE left out | left out / modelled "
        "| s modelled | s left out |"
    )
    print("|---|---|---|---|---|---|---|")
    for (name, kind), g in df.groupby(["table", "text"], sort=False):
        print(
            f"| {name} | {kind} | {g.modelled.mean():.4f} | {g.left_out.mean():.4f} | "
            f"{g.ratio.mean():.3f} | {g.s_modelled.mean():.1f} | {g.s_left_out.mean():.1f} |"
        )
    better = int((df.ratio < 1).sum())
    print(
        f"\nLeft out better in {better} of {len(df)} fits; mean ratio {df.ratio.mean():.3f}, "
        f"median {df.ratio.median():.3f}; seconds {df.s_left_out.sum():.0f} against "
        f"{df.s_modelled.sum():.0f}."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
