"""1. PCA against an autoencoder on a curved manifold.

    python examples/pca_vs_ae.py [--fast] [--output-dir DIR]

Points on a one-dimensional curve in 3-D: PCA's best line misses the bend, a
non-linear autoencoder with a 1-d code follows it. Writes pca_vs_ae.png.
"""

from __future__ import annotations

import numpy as np
from _common import cli, save
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

import aekit
from aekit.metrics import rmse


def curve(n: int = 600, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = rng.uniform(-np.pi, np.pi, n)
    X = np.column_stack([np.sin(t), np.cos(2 * t), t / np.pi])
    return X + 0.02 * rng.normal(size=X.shape)


def main(fast: bool = False, output_dir="examples-output") -> dict:
    X = curve()
    pca = PCA(1).fit(X)
    ae = aekit.Autoencoder(
        latent_dim=1,
        hidden_dims=(64, 32),
        max_epochs=20 if fast else 600,
        patience=40,
        learning_rate=3e-3,
        random_state=0,
    ).fit(X)
    fits = {
        "PCA (1 component)": pca.inverse_transform(pca.transform(X)),
        "AE (1-d code)": ae.reconstruct(X),
    }
    results = {name: rmse(X, X_hat) for name, X_hat in fits.items()}
    for name, err in results.items():
        print(f"{name:<18} reconstruction RMSE {err:.3f}")

    fig = Figure(figsize=(10, 4))
    for i, (name, X_hat) in enumerate(fits.items()):
        ax = fig.add_subplot(1, 2, i + 1, projection="3d")
        ax.scatter(*X.T, s=3, alpha=0.3, label="data")
        ax.scatter(*X_hat.T, s=3, color="C3", label="reconstruction")
        ax.set_title(f"{name}: RMSE {results[name]:.3f}")
        ax.legend(fontsize=8)
    save(fig, output_dir, "pca_vs_ae.png")
    return results


if __name__ == "__main__":
    cli(__doc__, main)
