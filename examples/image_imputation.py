"""8. Images: missing blocks of digits filled in, and new digits drawn.

    python examples/image_imputation.py [--fast] [--output-dir DIR]

The digits as 8x8 images with one 4x4 block hidden in each (a quarter of the
pixels). The column mean of each pixel, a DAE with convolutional networks and
one with perceptrons fill the blocks; SSIM against the originals says how
well. Then a convolutional VAE is fitted on the complete images and new digits
are drawn from it. Writes image_imputation.png and image_samples.png.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _common import cli

import aekit
from aekit.data.images import hide_pixels, load_digits_images, mask_images
from aekit.metrics import ssim
from aekit.report import imputation_grid, sample_grid


def main(fast: bool = False, output_dir="examples-output") -> dict:
    X, _ = load_digits_images()
    if fast:
        X = X[:150]
    mask = mask_images(X, "blocks", 0.25, size=4, random_state=0)
    X_missing = hide_pixels(X, mask)
    epochs = dict(max_epochs=5 if fast else 300, patience=20)
    dae = dict(noise="masking", noise_level=0.25, mask_input=True, latent_dim=16, **epochs)
    imputers = {
        "DAE, convolutions": aekit.Autoencoder(architecture="conv", hidden_dims=(32, 64), **dae),
        "DAE, perceptrons": aekit.Autoencoder(architecture="mlp", hidden_dims=(128, 64), **dae),
    }
    filled = {"pixel mean": np.where(mask, np.nanmean(X_missing, axis=0), X_missing)}
    for name, model in imputers.items():
        imputer = aekit.Imputer(model, n_models=1, random_state=0)
        filled[name] = imputer.fit_transform(X_missing)
    results = {name: float(np.mean(ssim(X, f, data_range=1.0))) for name, f in filled.items()}
    for name, score in results.items():
        print(f"{name:<18} SSIM {score:.3f}")
    best = max(results, key=results.get)
    print(f"best: {best}")

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    imputation_grid(X_missing, filled[best], X, out / "image_imputation.png")
    vae = aekit.VAE(latent_dim=8, hidden_dims=(32, 64), random_state=0, **epochs).fit(X)
    sample_grid(vae, out / "image_samples.png")
    print(f"figures: {out / 'image_imputation.png'}, {out / 'image_samples.png'}")
    return results


if __name__ == "__main__":
    cli(__doc__, main)
