"""The demo behind ``make demo``: the lecture's five models on scikit-learn's
digits, and the imputer on a real table with missing values.

PCA (the linear baseline), AE, DAE, VAE and t-VAE, each with an 8-dimensional
code, are fitted on 80% of the digits and scored on the other 20%: held-out
reconstruction RMSE in pixel units (0-16) and, for the density models,
held-out log-likelihood in nats per image (PCA's is probabilistic PCA's).
Pixels are dequantised (U(0, 1) noise added) so that densities are
well-defined on integer data. Then the default imputer fills the missing
cells of the Palmer penguins table, and the missing blocks of the digits
seen as images (one 4x4 block hidden per image) by one convolutional DAE (the
default imputer's network; the default averages three), scored by SSIM against
the originals beside mean-pixel imputation. Everything goes into one HTML report.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from .data.datasets import load_digits, load_penguins
from .data.images import hide_pixels, load_digits_images, mask_images
from .estimators import VAE, Autoencoder, Imputer
from .metrics import rmse, ssim
from .report import Report, image_grid, imputation_grid, latent_map, training_curves

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
    """Fit, score, and write ``reconstructions.png`` and ``report.html`` into ``output_dir``.

    Returns
    -------
    table : DataFrame, one row per model
    figure : Path of the PNG
    report : Path of the HTML report
    n_filled : the number of missing penguins cells the imputer filled
    images : dict with the digit images' SSIM after imputation (``"aekit"``, and
        ``"mean"`` for mean-pixel imputation) and the ``"grid"`` PNG's path
    """
    X, y = load_digits(dequantize=True, random_state=seed)
    X_train, X_test, _, y_test = train_test_split(X, y, test_size=0.2, random_state=seed)
    n_importance = 10 if fast else 500
    rows, recon, fitted = [], {}, {}
    for name, model in models(fast=fast, seed=seed, verbose=verbose).items():
        start = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - start
        if isinstance(model, PCA):
            X_hat = model.inverse_transform(model.transform(X_test))
            loglik = model.score_samples(X_test)
        else:
            X_hat = model.reconstruct(X_test)
            fitted[name] = model
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
    grid = ([X_test[shown]] + [r[shown] for r in recon.values()], ["original", *recon])
    figure = image_grid(*grid, output_dir / "reconstructions.png", vmin=0, vmax=17)

    # the imputer on a table with real missing values
    penguins = load_penguins()
    small = dict(latent_dim=4, noise="masking", mask_input=True, hidden_dims=(32,), max_epochs=3)
    imputer = Imputer(
        Autoencoder(**small) if fast else None,  # None: the default imputer
        random_state=seed,
        verbose=verbose,
    )
    imputed = imputer.fit(penguins).transform(penguins)

    # the imputer on images: the digits with one 4x4 block missing from each
    digits, _ = load_digits_images()
    if fast:
        digits = digits[:200]
    holes = mask_images(digits, "blocks", 0.25, size=4, random_state=seed)
    holed = hide_pixels(digits, holes)
    # one network of the default's three: the demo stays within a minute and a half
    image_imputer = Imputer(
        Autoencoder(**small) if fast else None, n_models=1, random_state=seed, verbose=verbose
    ).fit(holed)
    filled = image_imputer.transform(holed)
    mean_filled = np.where(holes, np.nanmean(holed, axis=0), holed)
    images = {
        "aekit": float(np.mean(ssim(digits, filled, data_range=1.0))),
        "mean": float(np.mean(ssim(digits, mean_filled, data_range=1.0))),
        "grid": imputation_grid(holed, filled, digits, output_dir / "image-imputation.png"),
    }

    report = Report("aekit demo: the lecture's models on digits; imputing penguins and images")
    report.add_text(
        "Digits: 80/20 split, 8-d codes. RMSE in pixel units (0-16); log-likelihood in nats "
        "per image (probabilistic PCA for PCA, importance-weighted bound for the VAEs)."
    )
    report.add_heading("Digits")
    report.add_table(
        "Held-out reconstruction and density",
        table.rename(
            columns={
                "rmse": "RMSE (pixels)",
                "loglik_nats": "log-lik (nats/image)",
                "fit_seconds": "fit (s)",
            }
        ),
    )
    report.add_figure("Originals and reconstructions", image_grid(*grid, vmin=0, vmax=17))
    report.add_figure(
        "VAE codes of the held-out digits, coloured by digit",
        latent_map(fitted["VAE"], X_test, pd.Series(y_test, name="digit").astype(str)),
    )
    for name, model in fitted.items():
        report.add_figure(f"{name}: training", training_curves(model))
    n_missing = int(penguins.isna().sum().sum())
    report.add_heading("Penguins: imputation")
    report.add_text(
        f"The Palmer penguins table has {n_missing} missing cells in {len(penguins)} rows; "
        "the default imputer fills them. Its error is estimated on observed cells hidden "
        "during training."
    )
    report.add_model("Imputer", imputer, penguins, labels=penguins["species"])
    report.add_heading("Digits with missing blocks: image imputation")
    report.add_text(
        f"One 4x4 block of each 8x8 digit is hidden ({holes.mean():.0%} of the pixels) and "
        "one convolutional DAE, the network of the default imputer (which averages three), "
        f"fills it. Mean SSIM against the originals: {images['aekit']:.3f} "
        f"(mean-pixel imputation: {images['mean']:.3f})."
    )
    report.add_figure(
        "Originals, with holes (red) and imputed", imputation_grid(holed, filled, digits)
    )
    report.add_model("Image imputer", image_imputer, holed)
    path = report.write(output_dir / "report.html")
    n_filled = int(penguins.isna().sum().sum() - imputed.isna().sum().sum())
    return table, figure, path, n_filled, images
