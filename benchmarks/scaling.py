"""Scaling: fit + impute time against rows, and the peak memory of streaming.

A table of 50 numeric columns (two latent factors and noise, 10% of cells
missing completely at random) at 10^4, 10^5 and 10^6 rows, imputed by the
default imputer (three DAEs trained as one batched network) for a fixed number
of epochs, so that time measures rows, not early stopping:

- in memory: ``Imputer().fit(df)`` then ``transform(df)``;
- streamed: ``Imputer().fit(TableFile(path, chunk_rows))`` then
  ``transform_file`` (Parquet in, Parquet out).

Every run is its own process, so its peak resident memory (``ru_maxrss``) is its
own. The memory check streams a file of one chunk and a file of ten chunks
with the same chunk size.

    python benchmarks/scaling.py                     # 10^4, 10^5, 10^6 rows
    python benchmarks/scaling.py --rows 10000 100000 --epochs 3
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = 50


def write_table(path: Path, n: int, seed: int = 0, block: int = 100_000) -> None:
    """n rows x 50 columns to Parquet, written block by block (never whole in memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    w = rng.normal(size=(2, COLUMNS))
    writer = None
    for start in range(0, n, block):
        m = min(block, n - start)
        X = rng.normal(size=(m, 2)) @ w + 0.3 * rng.normal(size=(m, COLUMNS))
        X[rng.random(X.shape) < 0.1] = np.nan
        table = pa.Table.from_pandas(
            pd.DataFrame(X, columns=[f"x{j}" for j in range(COLUMNS)]), preserve_index=False
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def run_one(mode: str, path: Path, epochs: int, chunk_rows: int, threads: int) -> dict:
    """In this process: fit and impute, timed."""
    import torch

    import aekit
    from aekit.estimators.presets import default_model

    torch.set_num_threads(threads)
    model = default_model("impute").set_params(max_epochs=epochs, patience=epochs + 1)
    imputer = aekit.Imputer(model, random_state=0)
    out = path.with_name(f"{path.stem}-{mode}-imputed.parquet")
    start = time.perf_counter()
    if mode == "memory":
        df = pd.read_parquet(path)
        imputer.fit(df)
        fitted = time.perf_counter()
        filled = imputer.transform(df)
        filled.to_parquet(out, index=False)
    else:
        source = aekit.TableFile(path, chunk_rows)
        imputer.fit(source)
        fitted = time.perf_counter()
        imputer.transform_file(source, out, force=True)
    end = time.perf_counter()
    out.unlink()
    return {
        "fit_s": fitted - start,
        "impute_s": end - fitted,
        "total_s": end - start,
        "epochs": int(imputer.model_.n_epochs_),
    }


def child(mode, path, epochs, chunk_rows, threads) -> dict:
    """run_one in a fresh process; its result with the process's peak memory."""
    cmd = [sys.executable, __file__, "--child", mode, str(path), str(epochs), str(chunk_rows)]
    cmd.append(str(threads))
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, path, epochs, chunk_rows, threads = args.child
        result = run_one(mode, Path(path), int(epochs), int(chunk_rows), int(threads))
        result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return 0
    chunk = args.chunk_rows
    print(
        f"{COLUMNS} columns, 10% MCAR, default imputer (3 DAEs), {args.epochs} epochs, "
        f"{args.threads} thread(s), chunks of {chunk:,} rows when streamed\n"
    )
    print("| rows | mode | fit s | impute s | total s | per 10^4 rows s | peak MiB |")
    print("|---|---|---|---|---|---|---|")
    totals = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            path = Path(tmp) / f"table-{n}.parquet"
            write_table(path, n)
            for mode in ("memory", "stream"):
                r = child(mode, path, args.epochs, chunk, args.threads)
                totals[(n, mode)] = r
                print(
                    f"| {n:,} | {mode} | {r['fit_s']:.1f} | {r['impute_s']:.1f} | "
                    f"{r['total_s']:.1f} | {r['total_s'] / n * 1e4:.2f} | {r['peak_mib']:.0f} |",
                    flush=True,
                )
            path.unlink()
        print()
        for a, b in zip(args.rows, args.rows[1:], strict=False):
            for mode in ("memory", "stream"):
                ratio = totals[(b, mode)]["total_s"] / totals[(a, mode)]["total_s"]
                print(f"{mode}: {b:,} rows take {ratio:.1f}x the time of {a:,} ({b // a}x rows)")
        one, ten = Path(tmp) / "one.parquet", Path(tmp) / "ten.parquet"
        write_table(one, chunk)
        write_table(ten, 10 * chunk)
        small = child("stream", one, 1, chunk, args.threads)
        large = child("stream", ten, 1, chunk, args.threads)
        print(
            f"\nstreamed peak memory, one epoch: a file of one chunk ({chunk:,} rows) "
            f"{small['peak_mib']:.0f} MiB, of ten chunks {large['peak_mib']:.0f} MiB "
            f"({large['peak_mib'] / small['peak_mib']:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
