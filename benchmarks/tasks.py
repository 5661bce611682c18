"""Benchmark of the other tasks: anomaly detection, density, codes and clustering.

- Anomaly detection: one class of a scikit-learn data set is normal, the
  detector is trained on 70% of its rows and scores the other 30% together with
  as many rows of the other classes (digits: each digit in turn; breast cancer:
  benign normal, malignant rare; wine: classes 0 and 1 normal, class 2 rare).
  aekit's detectors against IsolationForest, LocalOutlierFactor (novelty) and
  PCA reconstruction error; ROC-AUC and average precision.
- Density: held-out log-likelihood in nats per dimension on the dequantised
  digits, VAE and t-VAE against probabilistic PCA (best over its size).
- Codes: a logistic regression trained on 8-d codes (PCA, AE, VAE) and scored
  on held-out rows.
- Clustering: adjusted Rand index of a Gaussian mixture on VAE codes against
  k-means on the standardised data.

    python benchmarks/tasks.py            # prints Markdown tables
    python benchmarks/tasks.py --write    # ... and writes benchmarks/README.md
    python benchmarks/tasks.py --quick    # a smoke test
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, average_precision_score, roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler

import aekit
from aekit.data.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme import write_section

CODE = 8  # size of the codes compared in the probe and the detectors


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ models
SETTINGS = dict(latent_dim=CODE, hidden_dims=(128, 64), max_epochs=300, patience=20)


def _ae(seed, **kw):
    return aekit.Autoencoder(**{**SETTINGS, "random_state": seed, **kw})


def _vae(seed, **kw):
    return aekit.VAE(**{**SETTINGS, "random_state": seed, **kw})


def _pca_error(train, test, seed):
    pca = PCA(n_components=min(CODE, train.shape[1] - 1), random_state=seed).fit(train)
    return ((test - pca.inverse_transform(pca.transform(test))) ** 2).sum(1)


def _detector(model):
    def run(train, test, seed):
        det = aekit.AnomalyDetector(model(seed), random_state=seed).fit(train)
        return -det.score_samples(test)

    return run


DETECTORS = {  # each returns an anomaly score per test row, higher = stranger
    "isolation-forest": lambda tr, te, s: (
        -IsolationForest(random_state=s).fit(tr).score_samples(te)
    ),
    "lof": lambda tr, te, s: -LocalOutlierFactor(novelty=True).fit(tr).score_samples(te),
    "pca-error": _pca_error,
    "aekit-ae": _detector(_ae),
    "aekit-dae": _detector(lambda s: _ae(s, noise="gaussian", noise_level=0.2)),
    "aekit-vae": _detector(lambda s: None),  # None: the AnomalyDetector default, a VAE
}
AEKIT_DETECTORS = [m for m in DETECTORS if m.startswith("aekit")]


# -------------------------------------------------------------- anomaly data
def anomaly_settings(quick: bool) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, normal rows, anomalous rows)."""
    digits, labels = load_digits()
    out = []
    for d in (0, 3) if quick else range(10):
        out.append((f"digits {d}", digits[labels == d], digits[labels != d]))
    cancer = load_breast_cancer()
    out.append(("breast cancer", cancer.data[cancer.target == 1], cancer.data[cancer.target == 0]))
    wine = load_wine()
    out.append(("wine", wine.data[wine.target < 2], wine.data[wine.target == 2]))
    return out


def anomaly_table(methods, seeds, quick: bool) -> pd.DataFrame:
    rows = []
    for name, normal, odd in anomaly_settings(quick):
        for seed in seeds:
            rng = np.random.default_rng(seed)
            train, test_normal = train_test_split(normal, test_size=0.3, random_state=seed)
            n_odd = min(len(test_normal), len(odd))
            test_odd = odd[rng.choice(len(odd), size=n_odd, replace=False)]
            scaler = StandardScaler().fit(train)
            # (StandardScaler leaves constant pixels unscaled)
            tr, te = scaler.transform(train), scaler.transform(np.r_[test_normal, test_odd])
            truth = np.r_[np.zeros(len(test_normal)), np.ones(len(test_odd))]
            for method in methods:
                start = time.perf_counter()
                score = DETECTORS[method](tr, te, seed)
                seconds = time.perf_counter() - start
                auc = roc_auc_score(truth, score)
                ap = average_precision_score(truth, score)
                rows.append(dict(setting=name, seed=seed, method=method, auc=auc, ap=ap, s=seconds))
                log(f"{name:14s} seed {seed} {method:17s} AUC {auc:.3f} AP {ap:.3f} {seconds:.1f}s")
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ density
def draws(quick: bool) -> int:
    """Importance samples behind each VAE log-likelihood."""
    return 50 if quick else 500


def density_table(seeds, quick: bool) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        X, _ = load_digits(dequantize=True, random_state=seed)
        train, test = train_test_split(X, test_size=0.2, random_state=seed)
        dims = X.shape[1]
        best = max(
            (PCA(k, random_state=seed).fit(train).score(test), k)
            for k in ((8, 16) if quick else (4, 8, 16, 24, 32, 48))
        )
        rows.append(dict(seed=seed, model=f"probabilistic PCA (best k={best[1]})", nats=best[0]))
        for name, prior in (("aekit VAE", "normal"), ("aekit t-VAE", "student-t")):
            vae = _vae(seed, prior=prior, max_epochs=50 if quick else 500).fit(train)
            nats = float(np.mean(vae.score_samples(test, n_importance=draws(quick))))
            rows.append(dict(seed=seed, model=name, nats=nats))
        log(f"density seed {seed}: " + ", ".join(f"{r['model']} {r['nats']:.1f}" for r in rows))
    out = pd.DataFrame(rows)
    out["nats_per_dim"] = out["nats"] / dims
    return out


# --------------------------------------------------------- codes, clusters
def probe_data():
    digits, labels = load_digits()
    cancer, wine = load_breast_cancer(), load_wine()
    return {
        "digits": (digits, labels),
        "breast cancer": (cancer.data, cancer.target),
        "wine": (wine.data, wine.target),
    }


def probe_table(seeds, quick: bool) -> pd.DataFrame:
    rows = []
    for name, (X, y) in probe_data().items():
        for seed in seeds:
            split = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
            Xtr, Xte, ytr, yte = split
            scaler = StandardScaler().fit(Xtr)
            Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
            encoders = {
                "PCA": PCA(CODE, random_state=seed),
                "aekit AE": _ae(seed, max_epochs=30 if quick else 300),
                "aekit VAE": _vae(seed, max_epochs=30 if quick else 300),
            }
            for method, enc in encoders.items():
                enc.fit(Xtr)
                clf = LogisticRegression(max_iter=2000).fit(enc.transform(Xtr), ytr)
                acc = clf.score(enc.transform(Xte), yte)
                rows.append(dict(data=name, seed=seed, method=method, accuracy=acc))
            log(f"probe {name} seed {seed}: {rows[-3:]}")
    return pd.DataFrame(rows)


def cluster_table(seeds, quick: bool) -> pd.DataFrame:
    rows = []
    data = probe_data()
    data["iris"] = (load_iris().data, load_iris().target)
    for name, (X, y) in data.items():
        k = len(np.unique(y))
        Xs = StandardScaler().fit_transform(X)
        for seed in seeds:
            raw = KMeans(k, n_init=10, random_state=seed).fit_predict(Xs)
            rows.append(dict(data=name, seed=seed, method="k-means, raw", ari=ari(y, raw)))
            vae = _vae(seed, max_epochs=30 if quick else 300).set_params(latent_dim=2)
            codes = vae.fit_transform(Xs)
            gmm = GaussianMixture(k, n_init=5, random_state=seed).fit_predict(codes)
            rows.append(dict(data=name, seed=seed, method="GMM, VAE codes", ari=ari(y, gmm)))
            km = KMeans(k, n_init=10, random_state=seed).fit_predict(codes)
            rows.append(dict(data=name, seed=seed, method="k-means, VAE codes", ari=ari(y, km)))
            log(f"clusters {name} seed {seed}: {rows[-3:]}")
    return pd.DataFrame(rows)


def ari(y, labels) -> float:
    return float(adjusted_rand_score(y, labels))


# ------------------------------------------------------------------ tables
def _bold_max(values: pd.Series) -> list[str]:
    best = values.max()
    return [f"**{v:.3f}**" if v == best else f"{v:.3f}" for v in values]


def tables(anomaly, density, probe, clusters, n_seeds, draws) -> str:
    threads = torch.get_num_threads()
    out = [
        f"Mean over {n_seeds} seed(s); torch {torch.__version__} with {threads} thread(s). "
        "Produced by `python benchmarks/tasks.py --write`.",
        "",
        "### Anomaly detection",
        "",
        "ROC-AUC (higher is better; 0.5 is chance). Best in each row in bold.",
        "",
    ]
    methods = list(dict.fromkeys(anomaly["method"]))
    auc = anomaly.pivot_table(index="setting", columns="method", values="auc", sort=False)[methods]
    ap = anomaly.pivot_table(index="setting", columns="method", values="ap", sort=False)[methods]
    out += ["| setting | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for setting, row in auc.iterrows():
        out.append(f"| {setting} | " + " | ".join(_bold_max(row)) + " |")
    out.append("| **mean** | " + " | ".join(_bold_max(auc.mean())) + " |")
    out.append("| mean average precision | " + " | ".join(_bold_max(ap.mean())) + " |")
    seconds = anomaly.groupby("method", sort=False)["s"].mean()[methods]
    out.append("| mean seconds (fit + score) | " + " | ".join(f"{v:.2f}" for v in seconds) + " |")
    ours = [m for m in methods if m in AEKIT_DETECTORS]
    rivals = auc.mean().drop(ours)
    out.append("")
    if ours and len(rivals):  # --methods may leave out one side
        best = auc.mean()[ours].idxmax()
        out += [
            f"Best aekit detector: {best} (mean ROC-AUC {auc.mean()[best]:.3f}); best other: "
            f"{rivals.idxmax()} ({rivals.max():.3f}).",
            "",
        ]
    out += [
        "### Density: held-out log-likelihood of the dequantised digits",
        "",
        "| model | nats per image | nats per dimension |",
        "|---|---|---|",
    ]
    dens = density.assign(model=density["model"].str.replace(r" \(best k=\d+\)", "", regex=True))
    ks = density["model"].str.extract(r"best k=(\d+)")[0].dropna().unique()
    for model, g in dens.groupby("model", sort=False):
        out.append(f"| {model} | {g['nats'].mean():.1f} | {g['nats_per_dim'].mean():.3f} |")
    out += [
        "",
        "Probabilistic PCA is scikit-learn's `PCA.score` at its best size on the test rows "
        f"(k = {', '.join(ks)}); the VAEs' figure is the importance-weighted bound "
        f"(k={draws} draws).",
        "",
        f"### Codes: accuracy of a logistic regression on {CODE}-d codes (held-out 30%)",
        "",
    ]
    acc = probe.pivot_table(index="data", columns="method", values="accuracy", sort=False)
    out += ["| data | " + " | ".join(acc.columns) + " |", "|---" * (len(acc.columns) + 1) + "|"]
    for name, row in acc.iterrows():
        out.append(f"| {name} | " + " | ".join(_bold_max(row)) + " |")
    out += ["", "### Clustering: adjusted Rand index against the classes", ""]
    ari_t = clusters.pivot_table(index="data", columns="method", values="ari", sort=False)
    out += ["| data | " + " | ".join(ari_t.columns) + " |", "|---" * (len(ari_t.columns) + 1) + "|"]
    for name, row in ari_t.iterrows():
        out.append(f"| {name} | " + " | ".join(_bold_max(row)) + " |")
    out.append("")
    out.append("VAE codes are 2-d (latent_dim=2), on standardised data.")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a few settings, short training")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--methods", nargs="+", default=list(DETECTORS), choices=list(DETECTORS))
    parser.add_argument("--write", action="store_true", help="write benchmarks/README.md")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    seeds = range(1 if args.quick else args.seeds)
    anomaly = anomaly_table(args.methods, seeds, args.quick)
    density = density_table(seeds, args.quick)
    probe = probe_table(seeds, args.quick)
    clusters = cluster_table(seeds, args.quick)
    text = tables(anomaly, density, probe, clusters, len(seeds), draws(args.quick))
    print(text)
    if args.write:
        write_section("tasks", "Anomaly detection, density, codes and clustering", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
