"""Speed: aekit's fits beside the methods users time them against, with the
compute floor and where the time goes.

Measured side by side in one run, on the threads given (``--threads``; every
peer gets the same, missForest's trees one thread each as the issue states):

- ``tables``: the default ``Imputer`` on the imputation benchmark's tables
  (30% of cells missing completely at random, seed 0) beside scikit-learn's
  ``IterativeImputer`` (MICE, BayesianRidge) and missForest as published
  (100 trees, up to 10 rounds);
- ``vae``: ``Imputer(preset("vae"))`` fitted on a 500 x 5 table, then
  ``multiple_imputations(X, m=10)``, beside ``IterativeImputer(
  sample_posterior=True)`` run with 10 seeds;
- ``detector``: the default ``AnomalyDetector`` (fit and scores) on breast
  cancer beside IsolationForest and PCA's reconstruction error;
- ``scaling``: the default imputer, MICE and missForest on 2-factor
  tables of 10^3, 10^4 and 10^5 rows x 20 columns (missForest at 10^3 rows
  only: at 10^4 it takes tens of minutes on one thread);
- ``images``: the default image imputer's three networks on 4,000 images of
  28 x 28 (the digits scaled up and shifted, a 12 x 12 block missing in each),
  fitted for 8 epochs (medians of 3, in turn, each profiled), with its decoder
  and with the transposed one it had before: seconds an epoch (training
  steps and monitor), the rest of the fit, and the epochs five minutes allow;
- ``demo``: ``aekit demo`` as ``make demo`` runs it, once ``.venv`` exists.

Each aekit row has a profile (a second, profiled run: the share of time in
training steps, the held-out-cell monitor, imputation and encoding) and the
compute floor: the floating-point operations of its training steps divided by
this machine's float32 matrix rate at the networks' shapes, measured in the
same run. The first fit of a process also imports torch's compiler stack
(about a second, once); every contender runs once untimed first.

    python benchmarks/speed.py --threads 2                  # every section
    python benchmarks/speed.py --threads 2 --only tables vae
    python benchmarks/speed.py --write                      # ... into benchmarks/README.md
    python benchmarks/speed.py --device cuda --only tables vae detector images --no-missforest

``--device`` places aekit's networks (the peers run on the CPU); the matrix
rate and the floors are then the device's. ``--full-images`` also times the
default image imputer's whole fit (not only 8 epochs) with its SSIM.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.linear_model import BayesianRidge
from sklearn.preprocessing import StandardScaler
from torch.utils.flop_counter import FlopCounterMode

import aekit
from aekit.data.images import hide_pixels, load_digits_images, mask_images
from aekit.estimators.presets import default_model, preset
from aekit.training import resolve_device

sys.path.insert(0, str(Path(__file__).resolve().parent))
import imputation
from readme import publish

SECTIONS = ("tables", "vae", "detector", "scaling", "images", "demo")
DEVICE = "auto"  # where aekit's networks train (--device)
# where a fit's time goes: (label, file suffix, function) of the profiled run
PARTS = [
    ("training steps", "training/loop.py", "epoch"),
    ("monitor", "training/loop.py", "_watch"),
    ("imputation", "estimators/impute.py", "_fill"),
    ("imputation", "estimators/impute.py", "multiple_imputations"),
    ("encoding", "data/tabular.py", "encode"),
    ("encoding", "data/tabular.py", "fit"),
]


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# ------------------------------------------------------------ measurements
def device() -> torch.device:
    """Where aekit's networks train: :data:`DEVICE` resolved as the estimators do."""
    return resolve_device(DEVICE)


def synchronize() -> None:
    if device().type == "cuda":
        torch.cuda.synchronize()


def model(task: str = "impute", image_shape=None, name=None, **params):
    """The model aekit picks for ``task`` (or the preset ``name``), on :data:`DEVICE`."""
    if name is not None:
        return preset(name, image_shape, device=DEVICE, **params)
    return default_model(task, image_shape).set_params(device=DEVICE, **params)


def matrix_rate(rows: int = 512, width: int = 128, repeats: int = 200) -> float:
    """GFLOP/s of float32 products at a small network's shapes (rows x width by
    width x width): the rate a training step's arithmetic could reach here."""
    a, b = (torch.randn(n, width, device=device()) for n in (rows, width))
    for _ in range(10):
        a @ b
    synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronize()
    return 2 * rows * width * width * repeats / (time.perf_counter() - start) / 1e9


def timed(fn, *args, **kwargs):
    """(seconds, result) of ``fn(*args, **kwargs)``, the device's queued work included."""
    synchronize()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    synchronize()
    return time.perf_counter() - start, out


def profile(fn, *args) -> dict:
    """Share of the time of ``fn(*args)`` in each part of :data:`PARTS` (a profiled run)."""
    prof = cProfile.Profile()
    prof.enable()
    fn(*args)
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = max(v[3] for v in stats.values())
    shares: dict[str, float] = {}
    for (file, _, func), (_, _, _, cumulative, _) in stats.items():
        for label, suffix, name in PARTS:
            if func == name and file.replace(os.sep, "/").endswith(suffix):
                shares[label] = shares.get(label, 0.0) + cumulative / total
    return shares


def profile_text(shares: dict) -> str:
    labels = ["training steps", "monitor", "imputation", "encoding"]
    return ", ".join(f"{label} {shares.get(label, 0):.0%}" for label in labels)


def floor_seconds(models, n_rows: int, rate: float) -> float:
    """Seconds the training steps of fitted models need at ``rate`` GFLOP/s: the
    floating-point operations of the loss's forward pass on a row (counted by
    ``torch.utils.flop_counter``), three times over (forward, and the two
    products of the backward pass), for every row of every epoch trained."""
    total = 0.0
    for model in models:
        module, rows = model.module_, 64
        width, columns = module.likelihood.width, module.likelihood.n_columns
        where = next(module.parameters()).device
        x = torch.zeros(rows, width, device=where)
        mask = torch.ones(rows, columns, dtype=torch.bool, device=where)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module.loss(x, mask)
        total += 3.0 * counter.get_total_flops() / rows * n_rows * model.n_epochs_
    return total / (rate * 1e9)


# ------------------------------------------------------------------ sections
def _missforest(X, seed=0):
    """missForest as published (``imputation._missforest``), its trees on one thread."""
    return imputation._missforest(X, seed, n_jobs=1)


def _mice():
    return IterativeImputer(BayesianRidge(), max_iter=10, random_state=0)


def tables(rate: float, missforest: bool = True, names=None) -> list[dict]:
    rows = []
    data = imputation.imputation_data.load(names) if names else imputation.datasets()
    warm = aekit.ampute(next(iter(data.values())), "mcar", 0.3, random_state=1)
    aekit.Imputer(model(), random_state=0).fit_transform(warm)  # imports, allocations: untimed
    for name, X in data.items():
        X_miss = aekit.ampute(X, "mcar", 0.3, random_state=0)
        mask = imputation.hidden_cells(X, X_miss)
        peers = {"mice": imputation._numeric_baseline(lambda s, categorical: _mice())}
        if missforest:
            peers["missforest"] = _missforest
        times = {"missforest": np.nan}
        for peer, run in peers.items():
            times[peer], _ = timed(run, X_miss, 0)
        imputer = aekit.Imputer(model(), random_state=0)
        seconds, filled = timed(imputer.fit_transform, X_miss)
        nrmse = imputation.score(X, filled, mask)[0]
        shares = profile(aekit.Imputer(model(), random_state=0).fit_transform, X_miss)
        floor = floor_seconds(imputer.models_, len(X), rate)
        rows.append(
            dict(
                table=f"{name} ({len(X)} x {X.shape[1]})",
                aekit_s=seconds,
                mice_s=times["mice"],
                missforest_s=times["missforest"],
                ratio=seconds / times["missforest"],
                nrmse=nrmse,
                floor_s=floor,
                profile=profile_text(shares),
            )
        )
        log(rows[-1])
    return rows


def vae_table(seed: int = 0, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """n x 5 correlated normals with 30% of cells missing at random."""
    rng = np.random.default_rng(seed)
    cov = 0.5 + 0.5 * np.eye(5)
    X = rng.multivariate_normal(np.zeros(5), cov, size=n)
    return X, aekit.ampute(X, "mar", 0.3, random_state=seed)


def vae(rate: float) -> list[dict]:
    X, X_miss = vae_table()
    aekit.Imputer(model(name="vae", max_epochs=2), random_state=0).fit(X_miss)  # untimed

    def ours():
        fit_s, imputer = timed(aekit.Imputer(model(name="vae"), random_state=0).fit, X_miss)
        copies_s, _ = timed(imputer.multiple_imputations, X_miss, m=10)
        return imputer, fit_s, copies_s

    def theirs():
        return [
            IterativeImputer(sample_posterior=True, max_iter=10, random_state=s).fit_transform(
                X_miss
            )
            for s in range(10)
        ]

    imputer, fit_s, copies_s = ours()
    peer_s, _ = timed(theirs)
    shares = profile(ours)
    return [
        dict(
            method="aekit VAE imputer, fit + m=10",
            seconds=fit_s + copies_s,
            fit_s=fit_s,
            peer_s=peer_s,
            floor_s=floor_seconds(imputer.models_, len(X), rate),
            profile=profile_text(shares),
        )
    ]


def detector(rate: float) -> list[dict]:
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    aekit.AnomalyDetector(model("detect"), random_state=0).fit(X[:100])  # untimed

    def ours():
        det = aekit.AnomalyDetector(model("detect"), random_state=0).fit(X)
        return det, det.score_samples(X)

    seconds, (det, _) = timed(ours)
    iso, _ = timed(lambda: IsolationForest(random_state=0).fit(X).score_samples(X))
    pca, _ = timed(lambda: PCA(5).fit(X).score_samples(X))
    return [
        dict(
            method=f"AnomalyDetector (breast cancer {X.shape[0]} x {X.shape[1]})",
            seconds=seconds,
            isolation_forest_s=iso,
            pca_s=pca,
            floor_s=floor_seconds([det.model_], len(X), rate),
            profile=profile_text(profile(ours)),
        )
    ]


def factor_table(n: int, p: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) @ rng.normal(size=(2, p)) + 0.5 * rng.normal(size=(n, p))
    X = StandardScaler().fit_transform(X)
    return X, aekit.ampute(X, "mcar", 0.3, random_state=seed)


def scaling(rate: float, sizes=(1_000, 10_000, 100_000)) -> list[dict]:
    rows = []
    for n in sizes:
        _, X_miss = factor_table(n)
        imputer = aekit.Imputer(model(), random_state=0)
        seconds, _ = timed(imputer.fit_transform, X_miss)
        mice_s, _ = timed(_mice().fit_transform, X_miss)
        mf_s = timed(_missforest, X_miss)[0] if n <= 1_000 else np.nan
        rows.append(
            dict(
                rows=n,
                aekit_s=seconds,
                mice_s=mice_s,
                missforest_s=mf_s,
                floor_s=floor_seconds(imputer.models_, n, rate),
                epochs=[m.n_epochs_ for m in imputer.models_],
            )
        )
        log(rows[-1])
    return rows


def large_digits(n: int = 4000, seed: int = 0) -> np.ndarray:
    """n images of 28 x 28 in [0, 1]: the 8 x 8 digits scaled up (bilinear) and
    shifted by up to 2 pixels, a stand-in for MNIST that ships with scikit-learn."""
    digits, _ = load_digits_images()
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(digits), n)
    big = torch.nn.functional.interpolate(
        torch.from_numpy(digits[pick]).float()[:, None], size=(24, 24), mode="bilinear"
    )[:, 0].numpy()
    out = np.zeros((n, 28, 28))
    dy, dx = rng.integers(0, 5, n), rng.integers(0, 5, n)
    for i in range(n):
        out[i, dy[i] : dy[i] + 24, dx[i] : dx[i] + 24] = big[i]
    return np.clip(out, 0.0, 1.0)


def profiled(fn, *args) -> tuple[float, dict]:
    """(wall seconds, seconds in each part of :data:`PARTS`) of one profiled run of
    ``fn(*args)``."""
    prof = cProfile.Profile()
    took, _ = timed(prof.runcall, fn, *args)
    parts: dict[str, float] = {}
    for (file, _, func), (_, _, _, cumulative, _) in pstats.Stats(prof).stats.items():
        for label, suffix, name in PARTS:
            if func == name and file.replace(os.sep, "/").endswith(suffix):
                parts[label] = parts.get(label, 0.0) + cumulative
    return took, parts


def images(rate: float, n: int = 4000, epochs: int = 8, full: bool = False, repeats: int = 3):
    """The default image imputer's cost on n 28 x 28 images: its three networks
    fitted for ``epochs`` epochs, imputation included, with the default's decoder
    (``upsampling="shuffle"``) and the one before it, in turn ``repeats`` times,
    each fit profiled. An epoch's seconds are those of its training steps and
    its held-out-pixel monitor, summed over the three networks (medians); the
    rest is the fit's other cost (refinement rounds on the held-out pixels,
    the imputation), which shrinks as the networks train (a network barely
    trained keeps refining for more rounds); the epochs five minutes allow
    follow. ``full``: the default's whole fit + transform is timed as well,
    with its mean SSIM on the hidden blocks' images."""
    X = large_digits(n)
    mask = mask_images(X, "blocks", 144 / 784, size=12, random_state=0)
    X_miss = hide_pixels(X, mask)
    decoders = ("transposed", "shuffle")  # before, and the default's
    for upsampling in decoders:  # one-time costs (kernels for these shapes): untimed
        warm = model("impute", X.shape[1:], upsampling=upsampling, max_epochs=1, patience=2)
        aekit.Imputer(warm, random_state=0).fit_transform(X_miss)
    per_epoch, rest, fitted = {}, {}, {}  # decoder -> each repeat's seconds
    for _ in range(repeats):
        for upsampling in decoders:
            fit = model("impute", X.shape[1:], upsampling=upsampling, max_epochs=epochs)
            imputer = aekit.Imputer(fit.set_params(patience=epochs + 1), random_state=0)
            took, parts = profiled(imputer.fit_transform, X_miss)
            epoch_s = parts.get("training steps", 0.0) + parts.get("monitor", 0.0)
            per_epoch.setdefault(upsampling, []).append(epoch_s / epochs)
            rest.setdefault(upsampling, []).append(took - epoch_s)
            fitted[upsampling] = imputer
    rows = []
    for upsampling in decoders:
        s_epoch, other = float(np.median(per_epoch[upsampling])), float(np.median(rest[upsampling]))
        rows.append(
            dict(
                images=f"{n} x 28 x 28, 12 x 12 block",
                upsampling=upsampling,
                s_per_epoch=s_epoch,
                floor_s_per_epoch=floor_seconds(fitted[upsampling].models_, n, rate) / epochs,
                other_s=other,
                epochs_in_5_min=max(0, int((300 - other) / s_epoch)),
            )
        )
        log(rows[-1])
    row = rows[-1]
    if full:
        imputer = aekit.Imputer(model("impute", X.shape[1:]), random_state=0)
        row["full_fit_s"], filled = timed(imputer.fit_transform, X_miss)
        row["epochs"] = [m.n_epochs_ for m in imputer.models_]
        row["ssim"] = float(np.mean(aekit.metrics.ssim(X, filled, data_range=1.0)))
        log(row)
    return rows


def demo(rate: float) -> list[dict]:
    aekit_bin = Path(sys.executable).parent / "aekit"
    with tempfile.TemporaryDirectory() as tmp:
        seconds, done = timed(
            lambda: subprocess.run(
                [str(aekit_bin), "demo", "--output-dir", tmp], capture_output=True, text=True
            )
        )
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return [dict(command="aekit demo (as make demo, .venv present)", seconds=seconds)]


# ------------------------------------------------------------------ output
def _cell(value) -> str:
    if isinstance(value, float):
        return "-" if np.isnan(value) else f"{value:.3g}"
    return str(value)


def markdown(name: str, rows: list[dict]) -> str:
    """A Markdown table of ``rows`` (one dict each), headed by ``name``."""
    keys = list(dict.fromkeys(k for r in rows for k in r))  # every row's, in order
    lines = [f"**{name}**", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_cell(r.get(k, "-")) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--write", action="store_true", help="write benchmarks/README.md")
    parser.add_argument("--device", default="auto", help='aekit\'s device: "auto", "cpu", "cuda"')
    parser.add_argument("--no-missforest", action="store_true", help="tables: skip missForest")
    parser.add_argument("--tables", nargs="+", default=None, help="tables: these (default all)")
    parser.add_argument("--full-images", action="store_true", help="images: the whole fit too")
    args = parser.parse_args(argv)
    global DEVICE
    DEVICE = args.device
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    rate = matrix_rate()
    where = f"{os.cpu_count()} CPU cores, {args.threads} thread(s)"
    if device().type == "cuda":
        where += f"; aekit on {torch.cuda.get_device_name()}"
    out = [
        f"{where}; torch {torch.__version__}; float32 matrix rate at a small network's "
        f"shapes ({device().type}): {rate:.1f} GFLOP/s.\n"
    ]
    runs = {
        "tables": lambda r: tables(r, not args.no_missforest, args.tables),
        "vae": vae,
        "detector": detector,
        "scaling": lambda r: scaling(r, args.rows),
        "images": lambda r: images(r, full=args.full_images),
        "demo": demo,
    }
    for name in args.only:
        log(f"-- {name}")
        out.append(markdown(name, runs[name](rate)))
    text = "\n".join(out)
    return publish(text, args.write, "speed", "Speed")


if __name__ == "__main__":
    raise SystemExit(main())
