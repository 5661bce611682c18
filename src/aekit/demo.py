"""The demo behind ``make demo``: the lecture's five models on scikit-learn's digits.

PCA (the linear baseline), AE, DAE, VAE and t-VAE, each with an 8-dimensional
code, are fitted on 80% of the digits and scored on the other 20%: held-out
reconstruction RMSE in pixel units (0-16) and, for the density models,
held-out log-likelihood in nats per image (PCA's is probabilistic PCA's).
Pixels are dequantised (U(0, 1) noise added) so that densities are
well-defined on integer data.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from .data.datasets import load_digits
from .estimators import VAE, Autoencoder
from .metrics import rmse
from .report import image_grid

LATENT_DIM = 8


def models(*, fast: bool = False, seed: int = 0, verbose: bool = False) -> dict:
    """The five models, with the settings the demo uses."""
    shared = dict(
        latent_dim=LATENT_DIM,
        hidden_dims=(128,),
        max_epochs=3 if fast else 300,
        patience=20,
        learning_rate=2e-3,
        random_state=seed,
        verbose=verbose,
    )
    return {
        "PCA": PCA(n_components=LATENT_DIM, random_state=seed),
        "AE": Autoencoder(**shared),
        "DAE": Autoencoder(noise="masking", noise_level=0.25, **shared),
        "VAE": VAE(**shared),
        "t-VAE": VAE(prior="student-t", **shared),
    }


def run_demo(output_dir, *, fast: bool = False, seed: int = 0, verbose: bool = False):
    """Fit, score, and write ``reconstructions.png`` into ``output_dir``.

    Returns
    -------
    table : DataFrame, one row per model
    figure : Path of the PNG
    """
    X, _ = load_digits(dequantize=True, random_state=seed)
    X_train, X_test = train_test_split(X, test_size=0.2, random_state=seed)
    n_importance = 10 if fast else 500
    rows, recon = [], {}
    for name, model in models(fast=fast, seed=seed, verbose=verbose).items():
        start = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - start
        if isinstance(model, PCA):
            X_hat = model.inverse_transform(model.transform(X_test))
            loglik = model.score_samples(X_test)
        else:
            X_hat = model.reconstruct(X_test)
            loglik = (
                model.score_samples(X_test, n_importance=n_importance)
                if isinstance(model, VAE)
                else None
            )
        recon[name] = X_hat
        rows.append(
            {
                "model": name,
                "rmse": rmse(X_test, X_hat),
                "loglik_nats": None if loglik is None else float(np.mean(loglik)),
                "epochs": getattr(model, "n_epochs_", None),
                "fit_seconds": seconds,
            }
        )
    table = pd.DataFrame(rows)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    shown = slice(0, 12)
    figure = image_grid(
        [X_test[shown]] + [r[shown] for r in recon.values()],
        ["original", *recon],
        output_dir / "reconstructions.png",
        vmin=0,
        vmax=17,
    )
    return table, figure
