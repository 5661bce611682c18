"""2. Denoising with a DAE: digits with Gaussian and salt-and-pepper noise.

    python examples/dae_denoising.py [--fast] [--output-dir DIR]

A DAE learns E[clean | noisy] by training on corrupted inputs with clean
targets; each DAE is trained with the kind of noise it will clean. The error
against the clean images falls. Writes dae_denoising.png.
"""

from __future__ import annotations

import numpy as np
from _common import cli, save
from sklearn.model_selection import train_test_split

import aekit
from aekit.data.datasets import load_digits
from aekit.metrics import rmse
from aekit.report import image_grid


def add_noise(X: np.ndarray, kind: str, rng, sd: np.ndarray) -> np.ndarray:
    """Gaussian noise of half a pixel's standard deviation, or 20% of the pixels
    set to black or white."""
    if kind == "gaussian":
        return X + rng.normal(size=X.shape) * 0.5 * sd
    flip = rng.random(X.shape) < 0.2
    return np.where(flip, rng.choice([0.0, 17.0], X.shape), X)


def main(fast: bool = False, output_dir="examples-output") -> dict:
    X, _ = load_digits(dequantize=True)  # continuous pixels, 0-17
    X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
    rng = np.random.default_rng(0)
    results, rows, labels = {}, [X_test[:10]], ["clean"]
    for kind, level in (("gaussian", 0.5), ("salt_pepper", 0.2)):
        dae = aekit.Autoencoder(
            latent_dim=16,
            hidden_dims=(128,),
            noise=kind,
            noise_level=level,
            max_epochs=100 if fast else 300,
            patience=20,
            random_state=0,
        ).fit(X_train)
        noisy = add_noise(X_test, kind, rng, X_train.std(axis=0))
        cleaned = np.clip(dae.denoise(noisy), 0, 17)
        results[kind] = {"noisy": rmse(X_test, noisy), "denoised": rmse(X_test, cleaned)}
        print(
            f"{kind:<12} RMSE against the clean digits: noisy {results[kind]['noisy']:.2f}, "
            f"denoised {results[kind]['denoised']:.2f}"
        )
        rows += [noisy[:10], cleaned[:10]]
        labels += [f"{kind}", "denoised"]
    save(image_grid(rows, labels, vmin=0, vmax=17), output_dir, "dae_denoising.png")
    return results


if __name__ == "__main__":
    cli(__doc__, main)
