"""4. A VAE: its latent space and new digits drawn from it.

    python examples/vae_sampling.py [--fast] [--output-dir DIR]

A VAE with a 2-d code on the digits: the codes of the digits, coloured by
class, and new images decoded from draws of the prior. Writes
vae_latent.png and vae_samples.png.
"""

from __future__ import annotations

import pandas as pd
from _common import cli, save

import aekit
from aekit.data.datasets import load_digits
from aekit.report import image_grid, latent_map


def main(fast: bool = False, output_dir="examples-output") -> dict:
    X, y = load_digits(dequantize=True)
    vae = aekit.VAE(
        latent_dim=2,
        hidden_dims=(256, 128),
        max_epochs=5 if fast else 400,
        patience=20,
        learning_rate=2e-3,
        random_state=0,
    ).fit(X)
    save(latent_map(vae, X, pd.Series(y, name="digit").astype(str)), output_dir, "vae_latent.png")
    new = vae.sample(40, random_state=0)
    save(
        image_grid([new[i : i + 10] for i in range(0, 40, 10)], [""] * 4, vmin=0, vmax=17),
        output_dir,
        "vae_samples.png",
    )
    loglik = float(vae.score(X))
    print(f"VAE with a 2-d code: {vae.n_epochs_} epochs, log-likelihood {loglik:.1f} nats/image")
    return {"loglik": loglik, "samples": new}


if __name__ == "__main__":
    cli(__doc__, main)
