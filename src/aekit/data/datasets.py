"""Small data sets for the demo and the tests, read from packages on disk (no downloads)."""

from __future__ import annotations

import numpy as np
from sklearn import datasets


def load_digits(*, dequantize: bool = False, random_state: int = 0):
    """scikit-learn's 8x8 handwritten digits: 1797 images, pixel values 0-16.

    Parameters
    ----------
    dequantize : bool, default=False
        Add uniform noise U(0, 1) to every pixel, the standard way to fit a
        continuous density to integer-valued data (without it, a density can
        grow without bound on pixels that never change).
    random_state : int
        Seed of the dequantisation noise.

    Returns
    -------
    X : ndarray of shape (1797, 64), float64
    y : ndarray of shape (1797,), the digit shown
    """
    bunch = datasets.load_digits()
    X = bunch.data.astype(np.float64)
    if dequantize:
        X = X + np.random.default_rng(random_state).uniform(size=X.shape)
    return X, bunch.target
