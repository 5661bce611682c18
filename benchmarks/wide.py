"""The default imputer's numbers in bins against none, on tables wider than the
imputation benchmark's (whose widest has 54 numeric columns).

Each number of the default's input also enters as its piecewise-linear encoding
over 16 quantile bins (``numeric_bins``; chosen on the imputation benchmark's
development half, 4 to 30 numeric columns): 17 inputs a number. On a wide
table that makes the first layer 17 times wider, its products and Adam's
update the most of a step, and gives a few hundred rows 17 times the weights
to fit. This script fits ``preset("dae", numeric_bins=B)`` for each B of
``--bins`` on the same holes (20% of the cells, completely at random, each
``--seeds`` seed) and prints the NRMSE of the hidden cells (each column's error
in its standard deviations, averaged over the columns) and the seconds.

The tables, built here from data that ship with scikit-learn (no download):

- ``digits S``: scikit-learn's 1,797 8 x 8 digits resized to S x S (bilinear,
  rounded to 1e-4), one column a pixel, the pixels that never vary dropped, as
  a table (not as images): real, correlated, bounded columns; the first 1,000
  digits.
- ``factors N x P``: N rows of P columns, each a noisy function (linear, a
  tanh, an exponential or a step) of one of the projections of eight normal
  factors.

Split once, before any run: development ``digits 10``, ``digits 14``,
``digits 20``, ``factors 1000 x 300``; reporting ``digits 8``, ``digits 12``,
``digits 16``, ``factors 1000 x 100``, ``factors 300 x 2000``. The width
beyond which the default drops the bins is chosen on the development rows.

    python benchmarks/wide.py --half dev --save dev.csv
    python benchmarks/wide.py --half report --save report.csv
    python benchmarks/wide.py --tables-from dev.csv report.csv
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits

import aekit
from aekit.estimators.presets import preset

HALVES = {
    "dev": ["digits 10", "digits 14", "digits 20", "factors 1000 x 300"],
    "report": [
        "digits 8",
        "digits 12",
        "digits 16",
        "factors 1000 x 100",
        "factors 300 x 2000",
    ],
}


def digits(size: int, n: int = 1000) -> np.ndarray:
    """The first ``n`` digits resized to ``size`` x ``size``, one column a pixel
    (those that vary), in [0, 1]."""
    images = load_digits().images[:n] / 16.0
    if size != 8:
        big = torch.nn.functional.interpolate(
            torch.from_numpy(images)[:, None], size=(size, size), mode="bilinear"
        )
        images = big[:, 0].numpy()
    X = np.round(images.reshape(n, -1), 4)
    return X[:, X.std(0) > 0]


def factors(n: int, p: int, seed: int = 0) -> np.ndarray:
    """``n`` rows of ``p`` noisy functions of projections of eight normal factors."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, 8))
    cols = []
    for j in range(p):
        z = F @ rng.normal(size=8) / np.sqrt(8)
        kind = j % 4
        v = [z, np.tanh(2 * z), np.exp(0.7 * z), (z > 0.3) + 0.3 * z][kind]
        cols.append(v + 0.3 * rng.normal(size=n))
    return np.column_stack(cols)


def table(name: str) -> np.ndarray:
    kind, *rest = name.split()
    if kind == "digits":
        return digits(int(rest[0]))
    return factors(int(rest[0]), int(rest[2]))


def run(names, bins, seeds) -> pd.DataFrame:
    rows = []
    for name in names:
        X = table(name)
        for seed in seeds:
            rng = np.random.default_rng(seed)
            holes = rng.random(X.shape) < 0.2
            holes[:, holes.all(0)] = False  # every column keeps an observed cell
            Xm = np.where(holes, np.nan, X)
            sd = X.std(0)
            for b in bins:
                imputer = aekit.Imputer(preset("dae", numeric_bins=b), random_state=seed)
                start = time.perf_counter()
                filled = imputer.fit_transform(Xm)
                seconds = time.perf_counter() - start
                sq = np.where(holes, ((filled - X) / sd) ** 2, np.nan)
                nrmse = float(np.mean(np.sqrt(np.nanmean(sq, 0))))
                epochs = [m.n_epochs_ for m in imputer.models_]
                rows.append(
                    dict(
                        table=name,
                        columns=X.shape[1],
                        rows=X.shape[0],
                        seed=seed,
                        bins=b,
                        nrmse=nrmse,
                        seconds=seconds,
                        epochs=" ".join(map(str, epochs)),
                    )
                )
                print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def markdown(raw: pd.DataFrame) -> str:
    """Per table: mean NRMSE and seconds of each bin count over the seeds, and the
    bins' NRMSE and time against none."""
    t = raw.groupby(["table", "columns", "bins"])[["nrmse", "seconds"]].mean().unstack("bins")
    counts = sorted(raw["bins"].unique())
    head = ["table", "numeric columns"]
    head += [f"NRMSE, {b} bins" for b in counts] + [f"s, {b} bins" for b in counts]
    lines = ["| " + " | ".join([*head, "16 bins against none"]) + " |"]
    lines.append("|" + "---|" * (len(head) + 1))
    order = {n: i for i, n in enumerate(HALVES["dev"] + HALVES["report"])}
    for (name, cols), row in sorted(t.iterrows(), key=lambda kv: order.get(kv[0][0], 99)):
        cells = [name, str(cols)]
        cells += [f"{row['nrmse', b]:.4f}" for b in counts]
        cells += [f"{row['seconds', b]:.1f}" for b in counts]
        vs = ""
        if 16 in counts and 0 in counts:
            change = row["nrmse", 16] / row["nrmse", 0] - 1
            vs = f"{change:+.1%} NRMSE, {row['seconds', 16] / row['seconds', 0]:.2f}x the time"
        lines.append("| " + " | ".join([*cells, vs]) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=list(HALVES), default="dev")
    parser.add_argument("--tables", nargs="+", help="these tables instead of a half's")
    parser.add_argument("--bins", type=int, nargs="+", default=[16, 0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--save", help="the raw rows, as CSV")
    parser.add_argument("--tables-from", nargs="+", help="print the table of saved rows")
    args = parser.parse_args(argv)
    if args.tables_from:
        print(markdown(pd.concat(pd.read_csv(p) for p in args.tables_from)))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=aekit.AekitWarning)
    raw = run(args.tables or HALVES[args.half], args.bins, args.seeds)
    if args.save:
        raw.to_csv(args.save, index=False)
    print(markdown(raw))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
