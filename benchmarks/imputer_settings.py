"""Training settings of the default imputer against its time, on the development half.

The speed issue asks for the default ``Imputer`` at half missForest's time with
its accuracy kept. Its time is its optimiser steps (about 16 an epoch, a few
hundred epochs), so the settings that set the number of steps are the levers:
the early-stopping patience, the step size and the batch size. This script
fits the default imputer with each named set of changes on the development
tables of ``benchmarks/imputation.py`` (the same holes: ``aekit.ampute`` with
the seed of the row) and prints, per table, the mean NRMSE and the summed
seconds beside the unchanged default's. Times compare only within one run:
the settings of one process, or of processes run side by side. The reporting
half is never touched here.

    python benchmarks/imputer_settings.py --threads 1 --save raw.csv
    # or the default beside the others, one process each on two cores:
    python benchmarks/imputer_settings.py --settings default --save a.csv &
    python benchmarks/imputer_settings.py --settings "patience 25" \
        "patience 25, step 6e-3" --save b.csv; wait
    python benchmarks/imputer_settings.py --tables-from a.csv b.csv
    # the VAE imputer's three networks as one batched network beside one at a time:
    python benchmarks/imputer_settings.py --model vae --settings default --rates 0.3 \
        --save a.csv &
    python benchmarks/imputer_settings.py --model vae --settings default --rates 0.3 \
        --one-at-a-time --save b.csv; wait
    # the default beside the loop that kept stopped members in the batch:
    python benchmarks/imputer_settings.py --settings default --save a.csv &
    python benchmarks/imputer_settings.py --settings default --keep-stopped-members \
        --save b.csv; wait
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch

import aekit
from aekit.estimators.presets import names, preset

sys.path.insert(0, str(Path(__file__).resolve().parent))
import imputation

# name -> changes to the default imputer's model ("default": none). The rows committed
# before the default's networks were narrowed ran these from the default of their time:
# 128 and 64 wide at a step of 3e-3 (now "previous default")
SETTINGS = {
    "default": {},
    "patience 25": {"patience": 25},
    "patience 25, step 6e-3": {"patience": 25, "learning_rate": 6e-3},
    # screened on the 30% cells only (--rates 0.3)
    "patience 35, step 6e-3": {"patience": 35, "learning_rate": 6e-3},
    "step 6e-3": {"learning_rate": 6e-3},
    "step 1e-2": {"learning_rate": 1e-2},
    # screened from the default before the narrower networks (128 and 64 wide, step
    # 3e-3), whose changes they name; "hidden (64, 32), step 6e-3" is today's default
    "previous default": {"hidden_dims": (128, 64), "learning_rate": 3e-3},
    "hidden (64, 32)": {"hidden_dims": (64, 32), "learning_rate": 3e-3},
    "hidden (64, 32), step 6e-3": {"hidden_dims": (64, 32), "learning_rate": 6e-3},
    "hidden (96, 48)": {"hidden_dims": (96, 48), "learning_rate": 3e-3},
    # early stopping on a moving average of the weights over epochs (ema_decay)
    "ema 0.7, patience 25": {"ema_decay": 0.7, "patience": 25},
    "ema 0.7, patience 25, step 6e-3": {"ema_decay": 0.7, "patience": 25, "learning_rate": 6e-3},
    "ema 0.7, patience 35": {"ema_decay": 0.7, "patience": 35},
    "ema 0.85, patience 15": {"ema_decay": 0.85, "patience": 15},
    "ema 0.85, patience 20": {"ema_decay": 0.85, "patience": 20},
    "ema 0.85, patience 25": {"ema_decay": 0.85, "patience": 25},
    "ema 0.9, patience 15": {"ema_decay": 0.9, "patience": 15},
    "ema 0.9, patience 20": {"ema_decay": 0.9, "patience": 20},
    # the step size halved after 0.4 patience epochs without improvement, less patience
    "plateau, patience 20": {"lr_schedule": "plateau", "patience": 20},
    "plateau, patience 25": {"lr_schedule": "plateau", "patience": 25},
    "plateau, patience 30": {"lr_schedule": "plateau", "patience": 30},
    # the nonlinearity: ELU's exponential is a sixth of a small network's step on a CPU
    "relu": {"activation": "relu"},
    "leaky_relu": {"activation": "leaky_relu"},
    "silu": {"activation": "silu"},
    # the numbers' piecewise-linear encodings (16 bins in the default since a later
    # session; the rows committed before it ran these from the default without them)
    "no bins": {"numeric_bins": 0},
    "bins 4": {"numeric_bins": 4},
    "bins 8": {"numeric_bins": 8},
    "bins 32": {"numeric_bins": 32},
}
MAIN = ["default", "patience 25", "patience 25, step 6e-3"]  # run on all 81 cells


def run(settings, rates, seed: int, names=None, model: str = "dae") -> pd.DataFrame:
    data = imputation.datasets("dev")
    unknown = set(names or ()) - set(data)
    if unknown:
        raise SystemExit(f"not development tables: {sorted(unknown)}; they are {sorted(data)}")
    data = {k: v for k, v in data.items() if not names or k in names}
    # the first fit of a process imports torch's compiler stack: not timed
    aekit.Imputer(preset("dae", max_epochs=2)).fit(
        aekit.ampute(data[next(iter(data))], "mcar", 0.3)
    )
    rows = []
    for name, X in data.items():
        for mech in imputation.MECHANISMS:
            for rate in rates:
                X_miss = aekit.ampute(X, mech, rate, random_state=seed)
                cells = imputation.hidden_cells(X, X_miss)
                for label in settings:
                    start = time.perf_counter()
                    imputer = aekit.Imputer(preset(model, **SETTINGS[label]), random_state=seed)
                    filled = imputer.fit_transform(X_miss)
                    seconds = time.perf_counter() - start
                    nrmse, err = imputation.score(X, filled, cells)
                    epochs = max(len(m.history_) for m in imputer.models_)
                    imputation.log(
                        f"{name:14s} {mech} {rate:.1f} {label:24s} nrmse {nrmse:.4f} "
                        f"{seconds:6.1f}s {epochs} epochs"
                    )
                    rows.append(
                        dict(
                            dataset=name,
                            mechanism=mech,
                            rate=rate,
                            seed=seed,
                            model=model,
                            settings=label,
                            nrmse=nrmse,
                            error_rate=err,
                            seconds=seconds,
                            epochs=epochs,
                        )
                    )
    return pd.DataFrame(rows)


def table(raw: pd.DataFrame) -> str:
    """Per table: mean NRMSE and summed seconds of each setting, and the change
    against the default's (each imputer preset on its own)."""
    if "model" in raw and raw["model"].nunique() > 1:
        return "\n".join(f"model {m}\n\n{table(g)}" for m, g in raw.groupby("model"))
    keys = ["dataset", "mechanism", "rate", "seed"]
    base = raw[raw.settings == "default"].set_index(keys)
    lines = []
    for label in [s for s in raw.settings.unique() if s != "default"]:
        other = raw[raw.settings == label].set_index(keys)
        both = base.merge(other, left_index=True, right_index=True, suffixes=("_d", "_o"))
        per = both.groupby("dataset").agg(
            d=("nrmse_d", "mean"), o=("nrmse_o", "mean"), td=("seconds_d", "sum"),
            to=("seconds_o", "sum"),
        )  # fmt: skip
        lines += [
            f"{label} against the default ({len(both)} cells)",
            "",
            "| table | NRMSE default | NRMSE | change | seconds default | seconds | time ratio |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in per.iterrows():
            lines.append(
                f"| {name} | {r.d:.3f} | {r.o:.3f} | {100 * (r.o / r.d - 1):+.1f}% "
                f"| {r.td:.1f} | {r.to:.1f} | {r.to / r.td:.2f} |"
            )
        mean_d, mean_o = both.nrmse_d.mean(), both.nrmse_o.mean()
        ratio = both.seconds_o.sum() / both.seconds_d.sum()
        lines += [
            f"| **all** | {mean_d:.3f} | {mean_o:.3f} | {100 * (mean_o / mean_d - 1):+.1f}% "
            f"| {both.seconds_d.sum():.0f} | {both.seconds_o.sum():.0f} | {ratio:.2f} |",
            "",
        ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=MAIN, choices=list(SETTINGS))
    parser.add_argument("--rates", type=float, nargs="+", default=list(imputation.RATES))
    parser.add_argument("--datasets", nargs="+", help="development tables (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--model",
        default="dae",
        choices=[n for n in names("impute") if n != "default"],
        help="the imputer preset whose settings change (default: dae)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--keep-stopped-members",
        action="store_true",
        help="train as before stopped members left the batched ensemble (every member "
        "to the last one's end), for side-by-side timing; its settings are labelled so",
    )
    parser.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="train an imputer's models one after another, not as one batched network "
        "(as VAE imputers did before); its settings are labelled so",
    )
    parser.add_argument("--save", type=Path, help="save the raw results here (CSV)")
    parser.add_argument("--tables-from", type=Path, nargs="*", help="raw CSVs to tabulate")
    args = parser.parse_args(argv)
    if args.tables_from:
        print(table(pd.concat([pd.read_csv(p) for p in args.tables_from])))
        return 0
    torch.set_num_threads(args.threads)
    if args.keep_stopped_members:
        # the training loop's own switch (a private class: benchmarking only)
        aekit.training.loop._Steps.can_drop = property(lambda self: False)
    if args.one_at_a_time:  # the estimators' own switch (a private hook: benchmarking only)
        for cls in (aekit.Autoencoder, aekit.VAE):
            cls._batches = lambda self, table: False
    raw = run(args.settings, args.rates, args.seed, args.datasets, args.model)
    if args.keep_stopped_members:
        raw["settings"] = raw["settings"] + ", stopped members kept"
    if args.one_at_a_time:
        raw["settings"] = raw["settings"] + ", one at a time"
    if args.save:
        raw.to_csv(args.save, index=False)
    if "default" in args.settings:
        print(table(raw))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
