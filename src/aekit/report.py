"""Figures, written as PNG with matplotlib (no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .io import atomic_write


def image_grid(
    rows: Sequence[np.ndarray],
    labels: Sequence[str],
    path,
    *,
    image_shape: tuple[int, int] = (8, 8),
    vmin: float | None = None,
    vmax: float | None = None,
) -> Path:
    """Write a grid of images: one row per array in ``rows``, labelled on the left.

    Parameters
    ----------
    rows : sequence of ndarray of shape (n_images, H*W)
        E.g. originals, then each model's reconstructions of the same images.
    labels : sequence of str, one per row
    path : str or Path of the PNG to write (atomically)
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(0.9 * n_cols + 1.2, 0.9 * n_rows), squeeze=False
    )
    for i, (images, label) in enumerate(zip(rows, labels, strict=True)):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j < len(images):
                ax.imshow(
                    np.asarray(images[j]).reshape(image_shape), cmap="gray_r", vmin=vmin, vmax=vmax
                )
        axes[i, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return path
