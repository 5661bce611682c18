"""Jobs side by side: the default imputer's fit of one small table, alone and as
several processes at once, each with torch's default threads (one a core) or
with its share of the cores (``aekit --threads``, ``torch.set_num_threads``).

Threads that outnumber the cores wait for each other at every parallel
product of a training step, and a small table's fit is thousands of steps of
small products. Every configuration runs ``--repeats`` times; the table gives
the median seconds of one fit (each job's, averaged over the jobs of a run).

    python benchmarks/concurrency.py                 # anes96, 30% MCAR, two jobs
    python benchmarks/concurrency.py --jobs 4 --table iris
    python benchmarks/concurrency.py --alone --table modechoice fair   # 1 thread or all
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def worker(table: str, threads: int | None) -> None:
    """One fit + transform; prints its seconds."""
    import torch
    from imputation_data import load

    import aekit

    if threads:
        torch.set_num_threads(threads)
    warnings.filterwarnings("ignore")
    X = load([table])[table]
    holed = aekit.ampute(X, "mcar", 0.3, random_state=1)
    start = time.perf_counter()
    aekit.Imputer(random_state=1).fit_transform(holed)
    print(f"{time.perf_counter() - start:.3f}")


def run(table: str, jobs: int, threads: int | None) -> float:
    """The mean seconds of ``jobs`` fits started at once."""
    cmd = [sys.executable, __file__, "--worker", "--table", table]
    if threads:
        cmd += ["--threads", str(threads)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(jobs)]
    times = [float(p.communicate()[0].split()[-1]) for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit("a worker failed")
    return sum(times) / len(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", nargs="+", default=["anes96"])
    parser.add_argument("--alone", action="store_true", help="one job: 1 thread or the default")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.table[0], args.threads)
        return 0
    cores = os.cpu_count() or 1
    share = max(1, cores // args.jobs)
    configs = [("alone, default threads", 1, None), ("alone, 1 thread", 1, 1)]
    if not args.alone:
        configs += [
            (f"{args.jobs} at once, default threads", args.jobs, None),
            (f"{args.jobs} at once, {share} thread(s) each", args.jobs, share),
        ]
    print(f"{cores} CPU cores; 30% MCAR; median of {args.repeats}.\n")
    print("| table | jobs | s a fit | against one job alone |")
    print("|---|---|---|---|")
    for table in args.table:
        seconds = {name: [] for name, _, _ in configs}
        for _ in range(args.repeats):  # the configurations in turn, so that drift hits all
            for name, jobs, threads in configs:
                seconds[name].append(run(table, jobs, threads))
        base = statistics.median(seconds[configs[0][0]])
        for name, _, _ in configs:
            s = statistics.median(seconds[name])
            print(f"| {table} | {name} | {s:.2f} | {s / base:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
