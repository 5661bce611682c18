"""Building blocks: the multilayer perceptron used by every model."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from torch import Tensor, nn


class MLP(nn.Module):
    """Affine maps with a nonlinearity between them (none after the last).

    ``MLP(64, [128, 32], 8)`` is ``64 → 128 → 32 → 8``. The layers are kept in
    ``self.layers`` so that a stacked denoising autoencoder can train them one
    at a time.
    """

    def __init__(self, in_dim: int, hidden_dims: Sequence[int], out_dim: int):
        super().__init__()
        dims = [in_dim, *hidden_dims, out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(dims))
        self.activation = nn.ELU()

    def forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            if i:
                x = self.activation(x)
            x = layer(x)
        return x
