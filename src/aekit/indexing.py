"""Positions of encoded dimensions, read and written as views where they can be.

Shared by the data layer (the encoder writes each family of columns) and the
model layer (the likelihood reads them): a family whose positions form one run
is taken as a slice, a view in NumPy and torch alike, instead of a gather (whose
backward is a scatter, the costliest kernel of a wide row's training step).
"""

from __future__ import annotations


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
