"""7. Codes from a VAE: a linear probe against PCA, and clustering by BIC.

    python examples/latent_codes.py [--fast] [--output-dir DIR]   # about a minute

1. Dimensionality reduction: PCA and a VAE each compress the digits (64 pixels)
   to 8 numbers; a logistic regression trained on those codes shows how much of
   the class information each kept.
2. Clustering: a Gaussian mixture on 2-d VAE codes, fitted for k = 2..12
   clusters; the Bayesian information criterion picks k. Writes latent_bic.png.
"""

from __future__ import annotations

from _common import cli, save
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import aekit
from aekit.data.datasets import load_digits


def main(fast: bool = False, output_dir="examples-output") -> dict:
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    epochs = 5 if fast else 300

    # 1. a linear probe on 8-d codes
    results = {}
    for name, reducer in {
        "PCA": PCA(8, random_state=0),
        "VAE": aekit.VAE(latent_dim=8, hidden_dims=(128, 64), max_epochs=epochs, random_state=0),
    }.items():
        probe = make_pipeline(StandardScaler(), reducer, LogisticRegression(max_iter=2000))
        results[name] = probe.fit(X_train, y_train).score(X_test, y_test)
        print(f"{name:>3} codes (8-d): logistic-regression accuracy {results[name]:.3f}")

    # 2. the number of clusters by BIC on 2-d codes
    vae = aekit.VAE(latent_dim=2, hidden_dims=(128, 64), max_epochs=epochs, random_state=0)
    codes = make_pipeline(StandardScaler(), vae).fit_transform(X)
    bic = {
        k: GaussianMixture(k, n_init=3, random_state=0).fit(codes).bic(codes) for k in range(2, 13)
    }
    best = min(bic, key=bic.get)
    labels = GaussianMixture(best, n_init=3, random_state=0).fit_predict(codes)
    print("BIC by number of clusters:", {k: round(v) for k, v in bic.items()})
    ari = adjusted_rand_score(y, labels)
    print(f"BIC picks k={best}; adjusted Rand index against the digits {ari:.3f}")
    results.update(best_k=best, bic=bic, ari=ari)
    fig = Figure(figsize=(9, 3.5))
    left, right = fig.subplots(1, 2)
    left.plot(list(bic), list(bic.values()), marker="o")
    left.axvline(best, color="C3", lw=1)
    left.set(xlabel="clusters k", ylabel="BIC (lower is better)", title="Choosing k")
    for k in range(best):
        left_out = codes[labels == k]
        right.scatter(left_out[:, 0], left_out[:, 1], s=4, color=f"C{k % 10}")
    right.set(xlabel="latent 0", ylabel="latent 1", title=f"{best} clusters, ARI {ari:.2f}")
    save(fig, output_dir, "latent_bic.png")
    return results


if __name__ == "__main__":
    cli(__doc__, main)
