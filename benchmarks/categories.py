"""The default imputer's fit on tables with categorical columns of many levels,
their groups reduced all at once (before) and run by run (now), alternately in
one process.

A categorical column's largest level, and the largest logit that steadies its
softmax, were taken for every column at once from a gather of each group padded
to the largest one (unless the padding outweighed the levels), and each group's
exponentials summed by a product with a 0/1 (levels, groups) matrix. A gather
along a row costs about two nanoseconds a value on a CPU, and a product with two
or three output columns runs slowly, so a column of hundreds of levels (a
storm's name, a product code, a country) made them a large part of a training
step; now groups of ``LARGE_GROUP`` levels or more are reduced over their own
runs of the row (views). The maxima are the same to the bit; the sums are added
in another order (as close to float64's as float32 allows), so the fits differ
by rounding: the table gives the largest difference of the imputed numbers
(standardised units) and the share of imputed categorical cells that differ.
The tables are built here: numbers driven by three factors, beside categorical
columns of the sizes given (one level of the first follows the first factor;
the others' levels are drawn at random), 15% of the cells missing completely at
random. Each is fitted and imputed for ``--epochs`` epochs with each rule in
turn, ``--repeats`` times; the table gives the faster of each. ``--whole`` fits
the first two tables to the default's own stopping instead, with a further 20%
of their cells hidden and scored, both rules in turn.

    python benchmarks/categories.py --threads 1 --repeats 3
    python benchmarks/categories.py --threads 1 --whole
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch

import aekit
from aekit.estimators.presets import preset
from aekit.models import likelihoods

LAYOUTS = {  # name: (rows, levels of each categorical column)
    "a name of 260 levels and a status of 4": (5000, (260, 4)),
    "three columns of 700, 680 and 100 levels": (2000, (700, 680, 100)),
    "six columns of 5 levels": (5000, (5,) * 6),
}


def table(rows: int, levels, seed: int = 0) -> pd.DataFrame:
    """Eight numeric columns of three factors and categorical columns of ``levels``."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(rows, 3))
    numbers = factors @ rng.normal(size=(3, 8)) + 0.3 * rng.normal(size=(rows, 8))
    df = pd.DataFrame(numbers, columns=[f"x{i}" for i in range(8)])
    for j, k in enumerate(levels):
        codes = rng.integers(0, k, rows)
        if j == 0:  # one level that the factors tell
            codes = np.where(factors[:, 0] > 1, 0, codes)
        df[f"c{j}"] = pd.Series(codes).map(lambda i, j=j: f"c{j}-{i}")
    return df.mask(rng.random(df.shape) < 0.15)


def fit(X, epochs: int | None, padded: bool):
    """(seconds, completed table, epochs of each network) of the default imputer's
    fit_transform for ``epochs`` epochs (None: its own stopping rule), its groups
    reduced all at once (the rule before) or not."""
    large = likelihoods.LARGE_GROUP
    likelihoods.LARGE_GROUP = 10**9 if padded else large
    try:
        model = preset("dae") if epochs is None else preset("dae", max_epochs=epochs)
        imputer = aekit.Imputer(model, random_state=0)
        start = time.perf_counter()
        filled = imputer.fit_transform(X)
        took = time.perf_counter() - start
        return took, filled, [len(m.history_) for m in imputer.models_]
    finally:
        likelihoods.LARGE_GROUP = large


def whole_fits(repeats: int) -> None:
    """Fits to the default's own stopping, both rules in turn ``repeats`` times, a
    further 20% of each table's cells hidden and scored: seconds, epochs, NRMSE
    of the numbers and error rate of the categories."""
    print("| table | rule | seconds | epochs of the three networks | NRMSE | error rate |")
    print("|---|---|---|---|---|---|")
    for name, (rows, levels) in list(LAYOUTS.items())[:2]:
        truth = table(rows, levels)
        X = aekit.ampute(truth, "mcar", 0.2, random_state=1)
        hidden = X.isna().to_numpy() & truth.notna().to_numpy()
        as_levels = {c: "category" for c in truth.columns if c.startswith("c")}
        for _ in range(repeats):
            for padded in (True, False):
                s, filled, epochs = fit(X, None, padded)
                nrmse = aekit.metrics.nrmse(truth, filled, hidden)
                wrong = aekit.metrics.error_rate(
                    truth.astype(as_levels), filled.astype(as_levels), hidden
                )
                rule = "all at once" if padded else "run by run"
                print(f"| {name} | {rule} | {s:.1f} | {epochs} | {nrmse:.5f} | {wrong:.5f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--whole", action="store_true", help="fits to the default's own stopping, scored"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=aekit.AekitWarning)
    fit(table(300, (3,)), 2, False)  # imports
    if args.whole:
        print(f"torch {torch.__version__}, {args.threads} thread(s)\n")
        whole_fits(args.repeats)
        return 0
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {args.epochs} epochs, "
        f"the faster of {args.repeats}\n"
    )
    print(
        "| table | rows | all at once, s | run by run, s | ratio "
        "| numbers' largest difference | categories that differ |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, (rows, levels) in LAYOUTS.items():
        X = table(rows, levels)
        seconds, filled = {True: [], False: []}, {}
        for _ in range(args.repeats):
            for padded in (True, False):
                s, filled[padded], _ = fit(X, args.epochs, padded)
                seconds[padded].append(s)
        a, b = min(seconds[True]), min(seconds[False])
        hidden = X.isna().to_numpy()
        numbers = [c for c in X.columns if c.startswith("x")]
        gap = (filled[True][numbers] - filled[False][numbers]).abs().to_numpy()[hidden[:, :8]]
        levels = [c for c in X.columns if c.startswith("c")]
        differ = (filled[True][levels] != filled[False][levels]).to_numpy()[hidden[:, 8:]]
        print(
            f"| {name} | {rows} | {a:.2f} | {b:.2f} | {b / a:.2f}x | {gap.max():.1e} "
            f"| {differ.mean():.1%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
