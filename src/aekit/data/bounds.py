"""The encoded extremes of a table's columns: the smallest and largest value
each encoded dimension takes over the fitted rows, filled cells included (what
salt-and-pepper noise draws, and how the encoder knows a column held one value)."""

from __future__ import annotations

import numpy as np


def numeric_bounds(low, high, missing, center, scale, fill=0.0):
    """The encoded extremes of numeric columns, ``(low, high)`` of shape
    (n_columns,): ``(min - center) / scale`` and ``(max - center) / scale`` of
    the observed extremes ``low`` and ``high``, widened to the encoded ``fill``
    of a column with ``missing`` cells."""
    low, high = (low - center) / scale, (high - center) / scale
    fill = np.broadcast_to(fill, low.shape)
    return np.where(missing, np.minimum(low, fill), low), np.where(
        missing, np.maximum(high, fill), high
    )


def level_bounds(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The encoded extremes of a one-hot group whose levels were observed
    ``counts`` times: a level's dimension is 1 in its rows, 0 in the other
    levels' rows, and its frequency where the cell is missing (a frequency that
    is 0 or 1 exactly where no observed 1 or 0 lies below or above it)."""
    counts = np.asarray(counts, dtype=np.float64)
    freq = counts / counts.sum()
    return np.where(counts < counts.sum(), 0.0, freq), np.where(counts > 0, 1.0, freq)
