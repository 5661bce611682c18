"""Each column's mean, standard deviation and extremes over its observed cells,
computed on blocks of the table that stay in cache rather than on copies of it
(the encoder's statistics of a table in memory; :mod:`aekit.data.scan` keeps the
same ones running over a file's chunks)."""

from __future__ import annotations

import numpy as np

from ..indexing import blocks

HUGE = 1e150  # columns with values beyond this are summarised in units of their largest value


def _blocks(values: np.ndarray):
    """:func:`~aekit.indexing.blocks` of ``values``, as float64 copies."""
    for cols, block in blocks(values):
        yield cols, block.astype(np.float64)


def _column_sums(values: np.ndarray, term) -> tuple[np.ndarray, np.ndarray]:
    """(count, sum) over the non-NaN cells of each column of ``term(block,
    columns)``, block by block (:func:`_blocks`), in the order, and so to the
    bit, of numpy's column-wise sum over the whole array."""
    d = values.shape[1]
    count, total = np.zeros(d, dtype=np.int64), np.zeros(d)
    for cols, block in _blocks(values):
        seen = ~np.isnan(block)
        block = term(block, cols)
        count[cols] += seen.sum(axis=0)
        if cols == slice(None):  # a block of rows: added after the rows before it
            stacked, seen = np.concatenate([total[None], block]), np.concatenate([seen[:1], seen])
            seen[0] = True
            total = np.add.reduce(stacked, axis=0, where=seen)
        else:
            total[cols] = np.add.reduce(block, axis=0, where=seen)
    return count, total


def column_summary(values: np.ndarray, *, std: bool = True):
    """``(mean, std, low, high, missing)`` of each column of ``values`` (n, d)
    over its non-NaN cells: the mean and (population) standard deviation as
    ``np.nanmean`` and ``np.nanstd`` give them (``std=False``: None), the
    smallest and largest value, and whether a cell is missing. Computed on
    blocks that stay in cache (:func:`_blocks`), not on copies of the whole
    table. A column with values beyond :data:`HUGE` is summed in units of its
    largest value, so that squares do not overflow."""
    d = values.shape[1]
    low, high = np.full(d, np.inf), np.full(d, -np.inf)

    def extremes(block, cols):  # fmin and fmax skip NaN
        low[cols] = np.fmin(low[cols], np.fmin.reduce(block, axis=0, initial=np.inf))
        high[cols] = np.fmax(high[cols], np.fmax.reduce(block, axis=0, initial=-np.inf))
        return block

    count, total = _column_sums(values, extremes)
    big = np.where(count > 0, np.fmax(np.abs(low), np.abs(high)), 0.0)
    unit = np.where(big > HUGE, big, 1.0)
    scaled = bool((unit != 1.0).any())

    def units(block, cols):
        return block / unit[cols] if scaled else block

    if scaled:  # summed again, in units of each column's largest value
        count, total = _column_sums(values, units)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    sd = None
    if std:

        def squares(block, cols):
            dev = units(block, cols) - mean[cols]
            return np.square(dev, out=dev)

        _, total = _column_sums(values, squares)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(total / count) * unit
    return mean * unit, sd, low, high, count < len(values)
