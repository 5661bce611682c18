"""Positions of encoded dimensions, read and written as views where they can be,
the blocks in which a table's columns are summarised, and batches' shapes
broadcast against each other.

Shared by the data layer (the encoder writes each family of columns) and the
model layer (the likelihood reads them): a family whose positions form one run
is taken as a slice, a view in NumPy and torch alike, instead of a gather (whose
backward is a scatter, the costliest kernel of a wide row's training step).
"""

from __future__ import annotations

from itertools import zip_longest

import numpy as np
import torch

BLOCK_CELLS = 1 << 16  # cells of a block of a table processed at a time (float64: in cache)


def block_rows(width: int) -> int:
    """Rows of a block of :data:`BLOCK_CELLS` cells, for a table ``width`` wide."""
    return max(1, BLOCK_CELLS // max(width, 1))


def blocks(values: np.ndarray):
    """``(columns, block)``: views of ``values`` (n, d) of about :data:`BLOCK_CELLS`
    cells, in the order of the array's memory, so that each column's reductions
    run as in one pass over the whole array: blocks of rows of a row-major array
    (``columns`` is ``slice(None)``), blocks of whole columns of a column-major
    one (a pandas frame's) or of a single column (whose sums numpy takes
    pairwise along the column)."""
    n, d = values.shape
    if d == 1 or abs(values.strides[0]) < abs(values.strides[1]):  # column-major
        step = max(1, BLOCK_CELLS // max(n, 1))
        for s in range(0, d, step):
            yield slice(s, s + step), values[:, s : s + step]
    else:
        step = block_rows(d)
        for s in range(0, n, step):
            yield slice(None), values[s : s + step]


def contiguous(index) -> slice | None:
    """``slice(a, b)`` when ``index`` is the run a, a+1, ..., b-1 (or empty), else None."""
    index = [int(i) for i in index]
    if not index:
        return slice(0, 0)
    if index == list(range(index[0], index[0] + len(index))):
        return slice(index[0], index[0] + len(index))
    return None


def as_slice(index):
    """``index`` as a slice when it is one contiguous run, else as it is."""
    return contiguous(index) or index


def broadcast_shape(*shapes: torch.Size) -> torch.Size:
    """``torch.broadcast_shapes``, in plain Python: torch's costs tens of microseconds a
    call, and its first in a process imports sympy (half a second of a first fit)."""
    first = shapes[0]
    if all(shape == first for shape in shapes[1:]):
        return torch.Size(first)
    out: list[int] = []
    for sizes in zip_longest(*(reversed(shape) for shape in shapes), fillvalue=1):
        other = set(sizes) - {1}  # every size of a dimension is 1 or the same other one
        if len(other) > 1 or min(sizes) < 0:
            raise RuntimeError(f"shapes {[tuple(s) for s in shapes]} do not broadcast")
        out.append(other.pop() if other else 1)
    return torch.Size(reversed(out))
