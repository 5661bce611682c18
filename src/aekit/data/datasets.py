"""Small data sets for the demo and the tests, read from packages on disk (no downloads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
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


def load_penguins():
    """The Palmer penguins: 344 penguins, mixed types, with real missing values.

    Columns: ``species``, ``island``, ``sex`` (categories), ``bill_length_mm``,
    ``bill_depth_mm`` (float), ``flipper_length_mm``, ``body_mass_g``, ``year``
    (nullable integers). 19 cells are missing (two birds have no measurements;
    eleven have no recorded sex).

    Data: Gorman, Williams & Fraser (2014), Palmer Station LTER, via the
    palmerpenguins package (Horst, Hill & Gorman 2020), CC0. Shipped in aekit,
    read from disk.

    Returns
    -------
    DataFrame of shape (344, 8)
    """
    path = Path(__file__).with_name("penguins.csv")
    df = pd.read_csv(path)
    for col in ("species", "island", "sex"):
        df[col] = df[col].astype("category")
    for col in ("flipper_length_mm", "body_mass_g", "year"):
        df[col] = df[col].astype("Int64")
    return df
