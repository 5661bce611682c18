"""The encoded extremes of a table's columns: the smallest and largest value
each encoded dimension takes over the fitted rows, filled cells included (what
salt-and-pepper noise draws, how the encoder knows a column held one value, and
which numbers of new rows lie beyond anything fit saw)."""

from __future__ import annotations

import numpy as np

# a number further than FAR times its column's range from the values fit saw is one the
# model cannot speak to: new rows read it as missing; over-imputation never holds one out
# (on the benchmark's tables, 40 draws of each cell's held-out cells: 18 times at most)
FAR = 1000


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


def beyond(values, low, high):
    """Where ``values`` (n, k) lie further than :data:`FAR` times their column's
    range ``high - low`` (shape (k,)) outside ``[low, high]``; never in a column
    that held one value, nor where a value is NaN or infinite (refused elsewhere)."""
    reach = FAR * (high - low)
    far = (values < low - reach) | (values > high + reach)
    return far & (reach > 0) & np.isfinite(values)
