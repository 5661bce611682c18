"""Drawing: figures outside pyplot's registry, PNG bytes and files, and grids of
images (missing pixels in red). Arrays in, figures out: no models here."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import AekitError
from ..io import atomic_write


def subplots(nrows: int = 1, ncols: int = 1, *, figsize, squeeze: bool = True):
    """A figure outside pyplot's registry (nothing to close, no display needed)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def write_png(fig, path) -> Path:
    path = Path(path)
    data = png_bytes(fig)
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    return path


MISSING_COLOUR = (0.85, 0.1, 0.1)  # how a missing pixel is drawn


def _images(images, image_shape) -> np.ndarray:
    """Images to draw, (n, H, W) or (n, H, W, 3): flat rows are reshaped to
    ``image_shape`` ((H, W) or (C, H, W)); channels go last; one channel is dropped."""
    a = np.asarray(images, dtype=np.float64)
    if a.ndim == 2:
        a = a.reshape(len(a), *image_shape)
    if a.ndim == 4:
        a = a.transpose(0, 2, 3, 1)  # (n, H, W, C)
        if a.shape[3] == 1:
            a = a[..., 0]
        elif a.shape[3] != 3:
            raise AekitError(f"images with {a.shape[3]} channels cannot be drawn (1 or 3)")
    if a.ndim not in (3, 4):
        raise AekitError(f"images of shape {np.shape(images)} cannot be drawn")
    return a


def image_grid(
    rows: Sequence[np.ndarray],
    labels: Sequence[str],
    path=None,
    *,
    image_shape: tuple[int, ...] = (8, 8),
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "gray_r",
):
    """A grid of images: one row per array in ``rows``, labelled on the left.

    Parameters
    ----------
    rows : sequence of arrays of shape (n_images, H*W), (n_images, H, W) or (n_images, C, H, W)
        E.g. originals, then each model's reconstructions of the same images.
        Flat rows are reshaped to ``image_shape``. A NaN pixel (missing) is
        drawn in red.
    labels : sequence of str, one per row
    path : str or Path, optional
        Write the PNG there (atomically) and return the path; without it,
        return the figure.
    vmin, vmax, cmap
        The grey scale of one-channel images (``"gray_r"``: high values dark,
        as ink; ``"gray"``: high values light). Colour images are drawn as
        they are, with values in [0, 1].
    """
    from matplotlib import colormaps

    images = [_images(r, image_shape) for r in rows]
    greys = colormaps[cmap].with_extremes(bad=MISSING_COLOUR)
    n_rows, n_cols = len(images), max(len(r) for r in images)
    fig, axes = subplots(n_rows, n_cols, figsize=(0.9 * n_cols + 1.2, 0.9 * n_rows), squeeze=False)
    for i, (row, label) in enumerate(zip(images, labels, strict=True)):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j >= len(row):
                continue
            image = row[j]
            if image.ndim == 3:  # colour: missing pixels in red, values clipped to [0, 1]
                hidden = np.isnan(image).any(axis=2)
                image = np.clip(np.nan_to_num(image), 0, 1)
                image[hidden] = MISSING_COLOUR
                ax.imshow(image)
            else:
                ax.imshow(np.ma.masked_invalid(image), cmap=greys, vmin=vmin, vmax=vmax)
        axes[i, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig if path is None else write_png(fig, path)


def imputation_grid(X_missing, X_imputed, X_true=None, path=None, *, n: int = 10):
    """Images with holes (missing pixels in red) above their imputations, and the
    originals on top when they are known (e.g. when the holes were made by
    :func:`aekit.data.images.mask_images`). The first ``n`` images that have
    a missing pixel are shown.

    Parameters
    ----------
    X_missing : array of shape (n, H, W) or (n, C, H, W), NaN where missing
    X_imputed : array of the same shape, e.g. ``Imputer.transform(X_missing)``
    X_true : array of the same shape, optional
    path : str or Path, optional
        Write the PNG there and return the path; else return the figure.
    """
    X_missing = np.asarray(X_missing, dtype=np.float64)
    if np.shape(X_imputed) != X_missing.shape or (
        X_true is not None and np.shape(X_true) != X_missing.shape
    ):
        raise AekitError("the images with holes, imputed and original must have one shape")
    holed = np.isnan(X_missing).reshape(len(X_missing), -1).any(axis=1)
    shown = np.flatnonzero(holed)[:n] if holed.any() else np.arange(min(n, len(X_missing)))
    rows = [X_missing[shown], np.asarray(X_imputed)[shown]]
    labels = ["with holes", "imputed"]
    if X_true is not None:
        rows, labels = [np.asarray(X_true)[shown], *rows], ["original", *labels]
    return image_grid(rows, labels, path, vmin=0, vmax=1, cmap="gray")


def image_rows(images, path=None, *, per_row: int = 10):
    """Images in [0, 1] laid out ``per_row`` to a row, unlabelled (e.g. samples)."""
    images = np.asarray(images)
    rows = [images[i : i + per_row] for i in range(0, len(images), per_row)]
    return image_grid(rows, [""] * len(rows), path, vmin=0, vmax=1, cmap="gray")
