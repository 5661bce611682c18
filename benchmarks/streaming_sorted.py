"""Streaming a file sorted by a column: the default imputer fitted on it in chunks
against the same rows in memory and the same file shuffled.

A synthetic table (20,000 rows of six numeric columns, nonlinear in two latent
factors, 20% of cells missing completely at random; fixed seeds) is written as
CSV sorted by its first factor (as a file sorted by time or by an id often is)
and, for reference, in random order. The default ``Imputer`` is fitted

- in memory (the sorted table: the order does not matter there);
- streamed, ``TableFile(path, 2000)`` (ten chunks), from the sorted file;
- streamed from the shuffled file;

and each completes the same holes. The table gives the NRMSE of the hidden
cells (RMSE in standard deviations of each column), the networks' alone (the
linear part left out: ``imputer.linear_ = None``), the share of the networks in
the blend the imputer chose, and the seconds of the fit, one thread.

    python benchmarks/streaming_sorted.py                 # seeds 0 and 1
    python benchmarks/streaming_sorted.py --seeds 0 --rows 5000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import aekit


def table(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(the complete table sorted by its first factor, the table with holes, the holes)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    values = np.tanh(z @ rng.normal(size=(2, 6))) * 3 + z[:, :1] ** 2
    full = pd.DataFrame(values + 0.3 * rng.normal(size=(n, 6)), columns=[f"x{j}" for j in range(6)])
    full = full.iloc[np.argsort(z[:, 0])].reset_index(drop=True)
    holes = rng.random(full.shape) < 0.2
    return full, full.mask(holes), holes


def nrmse(out: pd.DataFrame, full: pd.DataFrame, holes: np.ndarray) -> float:
    errors = (out.to_numpy() - full.to_numpy()) / full.to_numpy().std(axis=0)
    return float(np.sqrt(np.mean(errors[holes] ** 2)))


def rows(n: int, seeds: list[int]) -> list[dict]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            full, holed, holes = table(n, seed)
            sorted_path, shuffled_path = Path(tmp) / "sorted.csv", Path(tmp) / "shuffled.csv"
            holed.to_csv(sorted_path, index=False)
            order = np.random.default_rng(seed + 100).permutation(n)
            holed.iloc[order].to_csv(shuffled_path, index=False)
            for fit, data in (
                ("in memory", holed),
                ("streamed, sorted file", aekit.TableFile(sorted_path, n // 10)),
                ("streamed, shuffled file", aekit.TableFile(shuffled_path, n // 10)),
            ):
                with warnings.catch_warnings():  # rows without an observed cell: said
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    imputer = aekit.Imputer(random_state=0).fit(data)
                    seconds = time.perf_counter() - start
                    blend = nrmse(imputer.transform(holed), full, holes)
                    share = imputer.linear_.share if imputer.linear_ is not None else np.nan
                    imputer.linear_ = None  # the networks alone
                    networks = nrmse(imputer.transform(holed), full, holes)
                out.append(
                    {
                        "seed": seed,
                        "fit": fit,
                        "nrmse": blend,
                        "networks": networks,
                        "share": share,
                        "seconds": seconds,
                    }
                )
                print(f"  {seed} {fit}: {blend:.4f} ({seconds:.1f} s)", file=sys.stderr, flush=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(
        f"{args.rows:,} rows x 6 numeric columns (20% MCAR), sorted by a latent factor; "
        f"chunks of {args.rows // 10:,} rows when streamed; default Imputer, 1 thread\n"
    )
    print("| seed | fit | NRMSE | networks alone | networks' share | seconds |")
    print("|---|---|---|---|---|---|")
    formats = {"seed": "{}", "fit": "{}", "nrmse": "{:.4f}", "networks": "{:.4f}"}
    formats.update(share="{:.2f}", seconds="{:.1f}")
    for r in rows(args.rows, args.seeds):
        print("| " + " | ".join(f.format(r[k]) for k, f in formats.items()) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
