"""Streaming: a fit on a file against the same fit on the table in memory.

A synthetic table (20,000 rows by default; six numeric columns driven by two
latent factors, two 0/1 columns, two categorical columns of four levels, 10% of
cells missing completely at random; built with a fixed seed) is written as CSV
and as Parquet, then fitted

- in memory: the file read whole (``pd.read_csv`` / ``pd.read_parquet``) and
  ``fit(df)``;
- streamed: ``fit(TableFile(path, n_rows // 10))`` (ten chunks), with the
  encoded chunks cached on disk after the first epoch (``cached``: aekit's
  default) and, for reference, read and encoded from the file on every epoch
  (``uncached``: ``aekit.data.rows.CACHE = False``);

for ``Autoencoder(max_epochs=E, patience=E + 1, validation_fraction=0.1,
random_state=0)`` and for ``Imputer`` with its default model at ``E`` fixed
epochs (three DAEs trained as one batched network). Every fit runs in a fresh
process (after a small warm-up fit), repetitions interleaved (A B C, A B C,
...); the table gives the median seconds (reading included), their ratio to
the in-memory fit of the same model, and the increase of the process's peak
resident memory over the fit (``ru_maxrss``).

    python benchmarks/streaming.py                       # 20,000 rows, 10 epochs
    python benchmarks/streaming.py --rows 5000 --epochs 3 --repeats 1 --threads 1

``streaming_rows(n_rows, epochs, threads)`` returns the rows of the table as
dicts, for another script to print.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import aekit
from aekit.data import rows
from aekit.estimators.presets import default_model

FORMATS = ("csv", "parquet")
# (label, mode, file format, cache) of every contender
CONTENDERS = [("in memory", "memory", "csv", True)] + [
    (f"streamed {fmt}, {'cached' if cache else 'uncached'}", "stream", fmt, cache)
    for fmt in FORMATS
    for cache in (True, False)
]


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    """n rows of mixed columns: 6 numeric (two latent factors), 2 binary, 2 categorical."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    numeric = z @ rng.normal(size=(2, 6)) + 0.3 * rng.normal(size=(n, 6))
    df = pd.DataFrame(numeric, columns=[f"x{j}" for j in range(6)])
    for j in range(2):
        df[f"b{j}"] = (z[:, j] + 0.5 * rng.normal(size=n) > 0).astype(float)
        levels = np.digitize(z[:, j] + 0.5 * rng.normal(size=n), [-1.0, 0.0, 1.0])
        df[f"c{j}"] = np.array(["low", "mid", "high", "top"])[levels]
    return df.mask(rng.random(df.shape) < 0.1)


def estimator(model: str, epochs: int):
    """The estimator timed: an Autoencoder, or an Imputer of the default model."""
    if model == "autoencoder":
        return aekit.Autoencoder(
            max_epochs=epochs, patience=epochs + 1, validation_fraction=0.1, random_state=0
        )
    member = default_model("impute").set_params(max_epochs=epochs, patience=epochs + 1)
    return aekit.Imputer(member, random_state=0)


def run_one(model: str, mode: str, path: Path, epochs: int, chunk_rows: int, cache: bool) -> dict:
    """In this process: one fit, timed, and the rise of the peak memory over it."""
    rows.CACHE = cache
    estimator(model, 1).fit(synthetic(200, seed=1))  # one-time costs, not timed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if mode == "memory":
        df = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
        estimator(model, epochs).fit(df)
    else:
        estimator(model, epochs).fit(aekit.TableFile(path, chunk_rows))
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mib": (after - before) / 1024}


def child(model: str, mode: str, path: Path, epochs: int, cache: bool, threads: int) -> dict:
    """run_one in a fresh process, streaming chunks of a tenth of the rows."""
    chunk_rows = max(1, len(pd.read_parquet(path.with_suffix(".parquet"), columns=["x0"])) // 10)
    cmd = [sys.executable, __file__, "--child", model, mode, str(path), str(epochs)]
    cmd += [str(chunk_rows), str(int(cache)), str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def streaming_rows(n_rows: int, epochs: int, threads: int, repeats: int = 3) -> list[dict]:
    """One dict per (model, contender): median seconds, ratio to in memory, peak MiB."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        df = synthetic(n_rows)
        paths = {fmt: Path(tmp) / f"table.{fmt}" for fmt in FORMATS}
        df.to_csv(paths["csv"], index=False)
        df.to_parquet(paths["parquet"], index=False)
        for model in ("autoencoder", "imputer"):
            runs = {c[0]: [] for c in CONTENDERS}
            for _ in range(repeats):  # interleaved: A B C, A B C, ...
                for label, mode, fmt, cache in CONTENDERS:
                    runs[label].append(child(model, mode, paths[fmt], epochs, cache, threads))
            memory = statistics.median(r["seconds"] for r in runs["in memory"])
            for label, *_ in CONTENDERS:
                seconds = [r["seconds"] for r in runs[label]]
                median = statistics.median(seconds)
                out.append(
                    {
                        "model": model,
                        "fit": label,
                        "seconds": median,
                        "low": min(seconds),
                        "high": max(seconds),
                        "ratio": median / memory,
                        "peak_mib": statistics.median(r["peak_mib"] for r in runs[label]),
                    }
                )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        model, mode, path, epochs, chunk_rows, cache, threads = args.child
        torch.set_num_threads(int(threads))
        result = run_one(model, mode, Path(path), int(epochs), int(chunk_rows), cache == "1")
        print(json.dumps(result))
        return 0
    print(
        f"{args.rows:,} rows x 10 columns (6 numeric, 2 binary, 2 categorical; 10% MCAR), "
        f"{args.epochs} epochs, {args.threads} thread(s), chunks of {args.rows // 10:,} rows "
        f"when streamed; median of {args.repeats} (range), each fit in its own process\n"
    )
    print("| model | fit | seconds | ratio to in memory | peak RSS increase MiB |")
    print("|---|---|---|---|---|")
    for r in streaming_rows(args.rows, args.epochs, args.threads, args.repeats):
        print(
            f"| {r['model']} | {r['fit']} | {r['seconds']:.2f} ({r['low']:.2f}-{r['high']:.2f}) "
            f"| {r['ratio']:.2f}x | {r['peak_mib']:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
