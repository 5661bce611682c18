"""The default imputer's fit with autograd's gradients and with the written-out
ones (``AEModule.loss_and_gradients``), alternately in one process.

The two give the same fits to the bit, so the only difference is time; run
side by side in one process, the machine's drift from run to run cancels.
Each table is fitted and imputed (30% of cells missing completely at random,
seed 0) with the loop's autograd path and with its written-out one in turn,
``--repeats`` times each; the table gives the faster of each and whether the
imputations are equal.

    python benchmarks/by_hand.py --threads 1
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import torch

import aekit
from aekit.models.ae import AEModule

sys.path.insert(0, str(Path(__file__).resolve().parent))
import imputation

TABLES = [
    "modechoice",
    "seattle_weather",
    "stocks",
    "iris",
    "anes96",
    "grunfeld",
    "penguins",
]  # the tables nearest the speed issue's bound


def fit(X, by_hand: bool):
    """(seconds, completed table) of the default imputer's fit_transform."""
    written = AEModule.gradients_by_hand
    if not by_hand:
        AEModule.gradients_by_hand = lambda self, x: False
    try:
        start = time.perf_counter()
        filled = aekit.Imputer(random_state=0).fit_transform(X)
        return time.perf_counter() - start, filled
    finally:
        AEModule.gradients_by_hand = written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=TABLES)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=aekit.AekitWarning)
    data = imputation.imputation_data.load(args.tables)
    fit(aekit.ampute(next(iter(data.values())), "mcar", 0.3, random_state=1), True)  # imports
    print(f"torch {torch.__version__}, {args.threads} thread(s), the faster of {args.repeats}\n")
    print("| table | autograd, s | written out, s | ratio | the same imputation |")
    print("|---|---|---|---|---|")
    for name, X in data.items():
        X_miss = aekit.ampute(X, "mcar", 0.3, random_state=0)
        seconds, filled = {True: [], False: []}, {}
        for _ in range(args.repeats):
            for by_hand in (False, True):
                s, filled[by_hand] = fit(X_miss, by_hand)
                seconds[by_hand].append(s)
        a, b = min(seconds[False]), min(seconds[True])
        same = filled[False].equals(filled[True])
        print(f"| {name} | {a:.2f} | {b:.2f} | {b / a:.2f}x | {'yes' if same else 'no'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
