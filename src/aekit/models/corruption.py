"""Corruption processes C(x̃ | x) of the denoising autoencoder (Vincent et al. 2010).

- ``masking``: each cell is hidden with probability ``level`` and replaced by
  its column's fill value, the same value a missing cell gets, so the network
  learns to reconstruct hidden cells from the rest of the row (Abiri et al. 2019);
  a one-hot group is hidden as a whole.
- ``gaussian``: additive isotropic noise, ``x̃ = x + level · ε``, ε ~ N(0, I),
  in standardised units.
- ``salt_pepper``: each dimension is set, with probability ``level``, to its
  minimum or maximum observed value (each with probability 1/2).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

NOISES = ("masking", "gaussian", "salt_pepper")


class Corruption(nn.Module):
    """Draw x̃ ~ C(x̃ | x) for a batch of encoded rows.

    Parameters
    ----------
    kind : {"masking", "gaussian", "salt_pepper"}
    level : float
        Masking / salt-and-pepper probability, or Gaussian noise scale.
    column_of_dim : Tensor of shape (width,)
        Column index of each encoded dimension.
    fill : Tensor of shape (width,)
        Value of a hidden cell.
    low, high : Tensor of shape (width,)
        Salt-and-pepper values.
    """

    def __init__(self, kind: str, level: float, column_of_dim, fill, low, high):
        super().__init__()
        if kind not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}; got {kind!r}")
        self.kind, self.level = kind, float(level)
        self.n_columns = int(column_of_dim.max()) + 1 if len(column_of_dim) else 0
        self.register_buffer("column_of_dim", column_of_dim.long().clone())
        # every column one dimension (no categorical): the dimensions are the columns
        identity = torch.arange(len(column_of_dim), device=column_of_dim.device)
        self._one_dim_each = bool((self.column_of_dim == identity).all())
        self.register_buffer("fill", fill.float())
        self.register_buffer("low", low.float())
        self.register_buffer("high", high.float())

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Corrupt a batch.

        Parameters
        ----------
        x : Tensor (..., n, width)
        mask : Tensor (..., n, n_columns), bool, True where observed

        Returns
        -------
        x̃ : Tensor (..., n, width)
        mask : Tensor (..., n, n_columns), the cells still observed (masking hides some)
        """
        if self.kind == "masking":
            hide = torch.rand(*x.shape[:-1], self.n_columns, device=x.device) < self.level
            # each dimension's column: index_select, a quarter of an indexing's time here
            dims = hide if self._one_dim_each else hide.index_select(-1, self.column_of_dim)
            return torch.where(dims, self.fill, x), mask & ~hide
        if self.kind == "gaussian":
            return x + self.level * torch.randn_like(x), mask
        flip = torch.rand_like(x) < self.level
        salt = torch.rand_like(x) < 0.5
        return torch.where(flip, torch.where(salt, self.high, self.low), x), mask


def corrupt_hidden(h: Tensor, kind: str, level: float) -> Tensor:
    """The same corruption applied to a hidden representation (stacked DAE).

    Hidden units have no fill value or observed range, so masking forces a unit
    to 0 (as in Vincent et al. 2010) and salt-and-pepper uses the batch's
    per-unit minimum and maximum.
    """
    if kind == "gaussian":
        return h + level * torch.randn_like(h)
    flip = torch.rand_like(h) < level
    if kind == "masking":
        return torch.where(flip, torch.zeros_like(h), h)
    low, high = h.min(0).values, h.max(0).values
    salt = torch.rand_like(h) < 0.5
    return torch.where(flip, torch.where(salt, high, low), h)
