"""Piecewise-linear encodings of numeric cells, as extra encoder inputs.

Gorishniy, Rubachev & Babenko (2022, "On embeddings for numerical features in
tabular deep learning") cut each numeric column at quantiles of its values
into bins ``[e_0, e_1], ..., [e_{T-1}, e_T]`` and encode a value ``x`` by how far
it has climbed through each of them::

    b_t(x) = clip((x - e_{t-1}) / (e_t - e_{t-1}), 0, 1),    t = 1..T

so that a perceptron's first layer is a piecewise-linear function of each value
with a knot at every edge. A threshold (a point mass at zero, a level that
decides a category) then costs the network a unit, not a steep slope of a
smooth activation, which is where forests beat perceptrons on tables.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..indexing import contiguous

MAX_VALUES = 1 << 20  # values of a column the quantiles are taken from (evenly spaced)


class NumericBins(nn.Module):
    """``bins`` piecewise-linear encodings of each continuous cell of a row.

    Parameters
    ----------
    dims : sequence of int
        Where the continuous columns are in an encoded row.
    cols : sequence of int
        The same columns' places among the row's cells (the mask's columns).
    bins : int
        Bins per column, cut at its quantiles (:meth:`fit`). Where quantiles
        coincide (a column of few values) the edges are merged, and the bins
        left over encode every value as 0.

    A missing cell, or one the corruption hid, encodes as zeros in every bin.
    The edges are buffers saved with the model: a module holds none until
    :meth:`fit` (every encoding 0 until then).
    """

    def __init__(self, dims, cols, bins: int):
        super().__init__()
        dims, cols = [int(d) for d in dims], [int(c) for c in cols]
        self.bins, self.n_columns = int(bins), len(cols)
        # positions as slices where they are one run (views, not gathers)
        self._dims, self._cols = contiguous(dims), contiguous(cols)
        self.register_buffer("dim_index", torch.tensor(dims, dtype=torch.long), persistent=False)
        self.register_buffer("col_index", torch.tensor(cols, dtype=torch.long), persistent=False)
        # bin t of column c spans [low, low + width]; an unused bin's width is
        # infinite, so that every finite value encodes as 0 in it
        self.register_buffer("low", torch.zeros(len(cols), self.bins))
        self.register_buffer("width", torch.full((len(cols), self.bins), float("inf")))

    @property
    def out_dim(self) -> int:
        """The encodings' width: ``bins`` numbers per continuous column."""
        return self.n_columns * self.bins

    @torch.no_grad()
    def fit(self, x: Tensor, mask: Tensor) -> NumericBins:
        """Edges at the quantiles ``0, 1/T, ..., 1`` of each column's observed
        encoded values in ``x`` (n, width), ``mask`` (n, n_columns) bool; at most
        :data:`MAX_VALUES` of them, evenly spaced, per column."""
        dims, cols = self.dim_index.tolist(), self.col_index.tolist()
        levels = torch.linspace(0, 1, self.bins + 1, dtype=torch.float64)
        low = torch.zeros(self.low.shape, dtype=torch.float64)
        width = torch.full_like(low, float("inf"))
        for c, (d, j) in enumerate(zip(dims, cols, strict=True)):
            values = x[mask[:, j], d].to(torch.float64)
            if not len(values):
                continue
            values = values[:: -(-len(values) // MAX_VALUES)]
            edges = torch.unique(torch.quantile(values, levels.to(values.device)).cpu())
            k = len(edges) - 1
            low[c, :k], width[c, :k] = edges[:-1], edges.diff()
        self.low.copy_(low)
        self.width.copy_(width)
        return self

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """The encodings of rows ``x`` (..., width) whose observed cells are
        ``mask`` (..., n_columns; None: all), shape (..., n_columns * bins)."""
        dims = self.dim_index if self._dims is None else self._dims
        out = ((x[..., dims, None] - self.low) / self.width).clamp_(0, 1)
        if mask is not None:
            cols = self.col_index if self._cols is None else self._cols
            out.mul_(mask[..., cols, None])  # by a bool: 0 or the encoding itself
        return out.flatten(-2)
