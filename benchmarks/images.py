"""Benchmark of image imputation: SSIM of images with missing pixels filled.

Images: scikit-learn's 8x8 digits (1797 images, pixel / 16), or the first
``--n-images`` images of an MNIST / Fashion-MNIST IDX file given with ``--idx``
(read from disk; nothing is downloaded). Missing pixels: one square block per
image, pixels hidden independently, or spatially correlated patches
(``aekit.data.images.mask_images``). Every method sees the images with their
holes and fills them; the score is the SSIM (``aekit.metrics.ssim``,
data_range=1, scikit-image's default 7x7 window) of each completed image against
the original, averaged over the images, then mean ± std over seeds.

Methods: the mean of each pixel over the images where it is observed, and
``aekit.Imputer`` with one network each (``n_models=1``, so that architectures
are compared one network against one): the AE, the DAE (the default imputer's
settings), the VAE and the t-VAE, each with convolutional and with perceptron
networks. The candidates for the default image imputer, three DAEs averaged
(``DAE conv x3`` trains its three networks one after another; ``DAE mlp x3``
trains them as one batched network), are compared on the masks of
``--default-masks``; ``--methods "Imputer()" "Imputer(), transposed"`` runs the
default image imputer itself, with its own epochs and patience, beside the same
with the decoder it had before ``upsampling="shuffle"`` (and ``"Imputer(),
10,000 steps, channels 16-32"``, a faster candidate that lost SSIM here).
``--reconstruction`` runs the comparison of the paper itself instead: the VAE
and the t-VAE reconstructing complete held-out images.

    python benchmarks/images.py                 # prints Markdown tables
    python benchmarks/images.py --write         # ... and writes benchmarks/README.md
    python benchmarks/images.py --quick         # a smoke test
    python benchmarks/images.py --idx train-images-idx3-ubyte.gz --n-images 5000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import aekit
from aekit.data.images import hide_pixels, load_digits_images, load_images, mask_images
from aekit.estimators.presets import preset
from aekit.metrics import ssim

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme import write_section


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ masks
MASKS = {  # name: (kind, rate, size)
    "block 3x3": ("blocks", None, 3),
    "block 4x4": ("blocks", None, 4),
    "pixels 25%": ("pixels", 0.25, None),
    "pixels 50%": ("pixels", 0.5, None),
    "patches 25%": ("patches", 0.25, None),
}


def make_mask(X, name, seed):
    kind, rate, size = MASKS[name]
    if kind == "blocks":  # one block of the given side per image (28x28: scaled up)
        side = size if X.shape[-1] <= 8 else round(size * X.shape[-1] / 8)
        rate = side * side / (X.shape[-2] * X.shape[-1])
        return mask_images(X, "blocks", rate, size=side, random_state=seed)
    return mask_images(X, kind, rate, random_state=seed)


# ------------------------------------------------------------------ methods
MLP = (128, 64)
CONV = (32, 64)


def _common(arch, quick):
    return dict(
        latent_dim=16,
        hidden_dims=CONV if arch == "conv" else MLP,
        architecture=arch,
        max_epochs=30 if quick else 300,
        patience=20,
        validation_fraction=0.0,
    )


def _model(kind, arch, quick):
    c = _common(arch, quick)
    if kind == "AE":
        return aekit.Autoencoder(learning_rate=3e-3, **c)
    if kind == "DAE":  # the default imputer's settings
        return aekit.Autoencoder(
            noise="masking", noise_level=0.25, mask_input=True, learning_rate=3e-3, **c
        )
    prior = "student-t" if kind == "t-VAE" else "normal"
    return aekit.VAE(prior=prior, objective="iwae", n_samples=5, learning_rate=1e-3, **c)


def mean_pixel(X_missing):
    fill = np.nanmean(X_missing, axis=0)
    fill = np.where(np.isnan(fill), np.nanmean(X_missing), fill)
    return np.where(np.isnan(X_missing), fill, X_missing)


def method_names(archs):
    """The single-network methods: "mean", then "AE conv", "AE mlp", ..."""
    return ["mean"] + [f"{k} {a}" for k in ("AE", "DAE", "VAE", "t-VAE") for a in archs]


DEFAULT_CANDIDATES = ["DAE conv x3", "DAE mlp x3"]
# the default image imputer as aekit.Imputer() fits it (its preset's epochs and
# patience, not this script's), with its decoder before upsampling="shuffle", and
# a candidate that failed here: narrower networks trained for a budget of 10,000
# steps of 64 images along a cosine step size; run with --methods
DEFAULTS = {
    "Imputer()": {},
    "Imputer(), transposed": {"upsampling": "transposed"},
    "Imputer(), 10,000 steps, channels 16-32": dict(
        hidden_dims=(16, 32), lr_schedule="cosine", max_steps=10_000
    ),
}


def run_method(name, X_missing, seed, quick):
    if name == "mean":
        return mean_pixel(X_missing)
    if name in DEFAULTS:
        shorter = dict(max_epochs=30) if quick else {}
        model = preset("dae", X_missing.shape[1:], **DEFAULTS[name], **shorter)
        return aekit.Imputer(model, random_state=seed).fit_transform(X_missing)
    n_models = 1
    if name.endswith(" x3"):
        name, n_models = name[: -len(" x3")], 3
    kind, arch = name.rsplit(" ", 1)
    imputer = aekit.Imputer(_model(kind, arch, quick), n_models=n_models, random_state=seed)
    return imputer.fit_transform(X_missing)


# ------------------------------------------------------------------ run
def run(X, masks, methods, seeds, quick, default_masks=()) -> pd.DataFrame:
    rows = []
    for mask_name in masks:
        for seed in seeds:
            mask = make_mask(X, mask_name, seed)
            X_missing = hide_pixels(X, mask)
            extra = [m for m in DEFAULT_CANDIDATES if mask_name in default_masks]
            for name in [*methods, *extra]:
                start = time.perf_counter()
                filled = run_method(name, X_missing, seed, quick)
                seconds = time.perf_counter() - start
                if not np.array_equal(filled[~mask], X[~mask]):
                    raise AssertionError(f"{name} changed observed pixels")
                score = float(np.mean(ssim(X, filled, data_range=1.0)))
                rmse = float(np.sqrt(np.mean((filled[mask] - X[mask]) ** 2)))
                rows.append(
                    dict(
                        mask=mask_name,
                        seed=seed,
                        method=name,
                        missing=float(mask.mean()),
                        ssim=score,
                        rmse=rmse,
                        seconds=seconds,
                    )
                )
                log(f"{mask_name:12s} seed {seed} {name:12s} SSIM {score:.4f} ({seconds:.1f} s)")
    return pd.DataFrame(rows)


RECONSTRUCTION = "held-out reconstruction"


def run_reconstruction(X, archs, seeds, quick) -> pd.DataFrame:
    """The paper's claim itself: VAE against t-VAE reconstructing complete images
    they were not trained on (80/20 split per seed; early stopping on 10% of the
    training images)."""
    from sklearn.model_selection import train_test_split

    rows = []
    for seed in seeds:
        X_train, X_test = train_test_split(X, test_size=0.2, random_state=seed)
        for kind in ("VAE", "t-VAE"):
            for arch in archs:
                name = f"{kind} {arch}"
                model = _model(kind, arch, quick).set_params(
                    validation_fraction=0.1, random_state=seed
                )
                start = time.perf_counter()
                recon = model.fit(X_train).reconstruct(X_test)
                seconds = time.perf_counter() - start
                score = float(np.mean(ssim(X_test, recon, data_range=1.0)))
                rmse = float(np.sqrt(np.mean((recon - X_test) ** 2)))
                rows.append(
                    dict(
                        mask=RECONSTRUCTION,
                        seed=seed,
                        method=name,
                        missing=0.0,
                        ssim=score,
                        rmse=rmse,
                        seconds=seconds,
                    )
                )
                log(f"reconstruction seed {seed} {name:12s} SSIM {score:.4f} ({seconds:.1f} s)")
    return pd.DataFrame(rows)


def reconstruction_table(results: pd.DataFrame) -> list[str]:
    if results.empty:
        return []
    agg = results.groupby("method")[["ssim", "rmse"]].agg(["mean", "std"])
    out = [
        "Reconstruction of complete held-out images (80/20 split per seed, the "
        "Abiri & Ohlsson 2020 comparison): mean SSIM and pixel RMSE ± std over "
        f"{results['seed'].nunique()} seed(s).",
        "",
        "| model | SSIM | RMSE |",
        "|---|---|---|",
    ]
    for method, row in agg.iterrows():
        out.append(
            f"| {method} | {row[('ssim', 'mean')]:.4f} ± {row[('ssim', 'std')]:.4f} "
            f"| {row[('rmse', 'mean')]:.4f} ± {row[('rmse', 'std')]:.4f} |"
        )
    wide = results.pivot_table(index="seed", columns="method", values="ssim")
    for arch in ("conv", "mlp"):
        a, b = f"t-VAE {arch}", f"VAE {arch}"
        if a in wide and b in wide:
            diff = (wide[a] - wide[b]).dropna()
            out.append(
                f"\nt-VAE {arch} − VAE {arch}: SSIM {diff.mean():+.4f}, t-VAE better in "
                f"{int((diff > 0).sum())} of {len(diff)} seeds."
            )
    return [*out, ""]


# ------------------------------------------------------------------ tables
def _cell(agg, mask, method, best):
    if (mask, method) not in agg.index:
        return "-"
    mean, std = agg.loc[(mask, method)]
    text = f"{mean:.3f} ± {0 if np.isnan(std) else std:.3f}"
    return f"**{text}**" if method == best else text


def _ssim_table(results, agg, masks, methods) -> list[str]:
    if not methods:
        return []
    out = ["| missing | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for mask in masks:
        share = results.loc[results["mask"] == mask, "missing"].mean()
        best = agg.loc[mask]["mean"].reindex(methods).idxmax()
        cells = [_cell(agg, mask, m, best) for m in methods]
        out.append(f"| {mask} ({share:.0%}) | " + " | ".join(cells) + " |")
    return [*out, ""]


def tables(results: pd.DataFrame, data_name: str, n_images: int) -> str:
    held_out = results[results["mask"] == RECONSTRUCTION]
    imputed = results[results["mask"] != RECONSTRUCTION]
    out = imputation_tables(imputed, data_name, n_images) if len(imputed) else []
    out += reconstruction_table(held_out)
    for part, label in ((imputed, "fit and imputation"), (held_out, "fit and reconstruction")):
        if len(part):
            times = part.groupby("method")["seconds"].median()
            times = times.reindex(sorted(times.index, key=_order().index))
            out += [
                f"Seconds per {label} (median, one thread per process): "
                + ", ".join(f"{m} {t:.1f}" for m, t in times.items())
                + ".",
                "",
            ]
    return "\n".join(out)


def _order() -> list[str]:
    """Every method name, in the order of the tables' columns."""
    return [*method_names(("conv", "mlp")), *DEFAULT_CANDIDATES, *DEFAULTS]


def imputation_tables(results: pd.DataFrame, data_name: str, n_images: int) -> list[str]:
    seeds = results["seed"].nunique()
    everything = sorted(dict.fromkeys(results["method"]), key=_order().index)
    methods = [m for m in everything if m not in [*DEFAULT_CANDIDATES, *DEFAULTS]]
    masks = list(dict.fromkeys(results["mask"]))
    agg = results.groupby(["mask", "method"])["ssim"].agg(["mean", "std"])
    out = [
        f"{data_name}, {n_images} images, {seeds} seed(s) (mask and model), one network per "
        "imputer (`n_models=1`). Mean SSIM of the completed images against the originals "
        "(data_range=1, 7x7 window) ± its standard deviation over seeds; the best in each "
        "row in bold. Rows: share of pixels missing in parentheses.",
        "",
        *_ssim_table(results, agg, masks, methods),
    ]

    # conv against MLP, and t-VAE against VAE: per (mask, seed) pairs, side by side
    wide = results.pivot_table(index=["mask", "seed"], columns="method", values="ssim")

    def paired(a, b):
        both = wide[[a, b]].dropna() if a in wide and b in wide else None
        if both is None or both.empty:
            return None
        diff = both[a] - both[b]
        return diff.mean(), int((diff > 0).sum()), len(diff)

    singles = [m for m in methods if m != "mean"] or everything
    best_ours = max(singles, key=lambda m: agg.xs(m, level=1)["mean"].mean())
    pairs = [(f"{k} conv", f"{k} mlp") for k in ("AE", "DAE", "VAE", "t-VAE")]
    pairs += [(f"t-VAE {a}", f"VAE {a}") for a in ("conv", "mlp")]
    pairs += [(best_ours, "mean"), ("DAE conv x3", "DAE conv"), ("DAE mlp x3", "DAE mlp")]
    pairs += [tuple(DEFAULT_CANDIDATES), *(("Imputer()", other) for other in list(DEFAULTS)[1:])]
    out += [
        "Paired differences of SSIM over every mask and seed where both ran (first minus "
        f"second; {best_ours} is the best single network on average):",
        "",
        "| comparison | mean difference | first better in |",
        "|---|---|---|",
    ]
    for a, b in pairs:
        got = paired(a, b)
        if got is not None:
            diff, wins, n = got
            out.append(f"| {a} − {b} | {diff:+.4f} | {wins} of {n} |")
    out.append("")

    candidates = [m for m in DEFAULT_CANDIDATES if m in everything]
    if candidates:
        shown = [m for m in ("mean", "DAE conv", "DAE mlp", *candidates) if m in everything]
        cand_masks = list(dict.fromkeys(results.loc[results["method"].isin(candidates), "mask"]))
        out += [
            "Candidates for the default image imputer (three DAEs averaged, as "
            "`aekit.Imputer()` does), beside one network:",
            "",
            *_ssim_table(results, agg, cand_masks, shown),
        ]
    defaults = [m for m in DEFAULTS if m in everything]
    if defaults:
        shown = [m for m in ("mean", "DAE conv x3", *defaults) if m in everything]
        default_masks = list(dict.fromkeys(results.loc[results["method"].isin(defaults), "mask"]))
        out += [
            "The default image imputer as `aekit.Imputer()` fits it (its own epochs and "
            'patience), with its decoder before `upsampling="shuffle"`, and with '
            "networks 16 and 32 channels wide trained for 10,000 steps of 64 images "
            "along a cosine step size:",
            "",
            *_ssim_table(results, agg, default_masks, shown),
        ]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--masks", nargs="+", default=list(MASKS), choices=list(MASKS))
    parser.add_argument("--archs", nargs="+", default=["conv", "mlp"], choices=["conv", "mlp"])
    parser.add_argument("--methods", nargs="+", default=None, help="subset of the method names")
    parser.add_argument(
        "--default-masks",
        nargs="*",
        default=["block 4x4", "pixels 50%"],
        choices=list(MASKS),
        help="masks on which the default-imputer candidates (x3) also run",
    )
    parser.add_argument(
        "--reconstruction",
        action="store_true",
        help="run only the VAE against t-VAE reconstruction of held-out images",
    )
    parser.add_argument("--idx", type=Path, default=None, help="an MNIST-style IDX image file")
    parser.add_argument("--n-images", type=int, default=5000, help="images taken from --idx")
    parser.add_argument("--quick", action="store_true", help="few images, short training")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--save", type=Path, default=None, help="write the raw results (CSV)")
    parser.add_argument("--tables-from", nargs="+", type=Path, default=None, help="raw CSVs")
    parser.add_argument("--write", action="store_true", help="write benchmarks/README.md")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.idx is not None:
        X = load_images(args.idx)[: args.n_images]
        data_name = f"`{args.idx.name}`"
    else:
        X, _ = load_digits_images()
        data_name = "scikit-learn's 8x8 digits"
    if args.quick:
        X = X[:300]

    if args.tables_from:
        results = pd.concat([pd.read_csv(p) for p in args.tables_from], ignore_index=True)
    else:
        methods = args.methods or method_names(args.archs)
        seeds = list(range(args.seeds))
        if args.reconstruction:
            results = run_reconstruction(X, args.archs, seeds, args.quick)
        else:
            results = run(X, args.masks, methods, seeds, args.quick, args.default_masks)
        if args.save:
            results.to_csv(args.save, index=False)
    text = tables(results, data_name, len(X))
    print(text)
    if args.write:
        write_section("images", "Image imputation", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
