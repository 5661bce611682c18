"""What an epoch of the default imputer costs under other settings: fits of a
fixed number of epochs (no early stopping), the settings one after the other
in turn, the median of the repeats. With the epochs a setting needs (from
``imputer_settings.py``), it tells the time a setting saves before its whole
fits are run.

    python benchmarks/epoch_cost.py --settings "previous default" default --threads 1

Tables: the reporting half's (``--half``), 30% missing completely at random
(seed 1).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import torch

import aekit
from aekit.estimators.presets import preset

sys.path.insert(0, str(Path(__file__).resolve().parent))
import imputation
from imputer_settings import SETTINGS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["default"], choices=list(SETTINGS))
    parser.add_argument("--half", choices=["dev", "report"], default="report")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=aekit.AekitWarning)  # rows with no cell left
    data = imputation.datasets(args.half)
    aekit.Imputer(preset("dae", max_epochs=2)).fit(aekit.ampute(data["iris"], "mcar", 0.3))
    print(f"| table | {' | '.join(f'{s}, s' for s in args.settings)} | ratio to the first |")
    print(f"|---|{'---|' * len(args.settings)}---|")
    for name, X in data.items():
        holes = aekit.ampute(X, "mcar", 0.3, random_state=1)
        times = {s: [] for s in args.settings}
        for _ in range(args.repeats):
            for s in args.settings:
                model = preset("dae", max_epochs=args.epochs, patience=10**6, **SETTINGS[s])
                start = time.perf_counter()
                aekit.Imputer(model, random_state=1).fit_transform(holes)
                times[s].append(time.perf_counter() - start)
        median = [sorted(t)[len(t) // 2] for t in times.values()]
        ratios = " / ".join(f"{m / median[0]:.2f}" for m in median[1:]) or "-"
        print(f"| {name} | {' | '.join(f'{m:.3f}' for m in median)} | {ratios} |", flush=True)


if __name__ == "__main__":
    main()
