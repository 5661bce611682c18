"""Building blocks: the multilayer perceptron used by every model, and its
ensemble form (several independent networks evaluated as one batched network).

An *ensemble* module holds ``members`` copies of a network: every parameter has
a leading dimension of size ``members``, inputs are shaped ``(members, n, ...)``
(an input without that dimension is shared by all members), and member ``e`` of
the ensemble is exactly the single network whose parameters are the ``[e]``
slices (see :func:`member_state`). On small networks a training step costs
little more for three members than for one: the time goes to launching
kernels, not to arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import Tensor, nn


class EnsembleLinear(nn.Module):
    """``members`` independent affine maps, ``y_e = x_e W_eᵀ + b_e``.

    ``weight`` is (members, out, in) and ``bias`` (members, 1, out), so that
    ``weight[e]`` and ``bias[e]`` reshape to an ``nn.Linear``'s; initialised
    like ``nn.Linear`` (uniform on ±1/√in).
    """

    def __init__(self, members: int, in_dim: int, out_dim: int):
        super().__init__()
        self.members = members
        bound = 1 / math.sqrt(in_dim) if in_dim else 0.0
        self.weight = nn.Parameter(torch.empty(members, out_dim, in_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(members, 1, out_dim).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        """(members, n, in) or (n, in) → (members, n, out)."""
        if x.dim() == 2:
            x = x.expand(self.members, *x.shape)
        return torch.baddbmm(self.bias, x, self.weight.transpose(1, 2))


class MLP(nn.Module):
    """Affine maps with a nonlinearity between them (none after the last).

    ``MLP(64, [128, 32], 8)`` is ``64 → 128 → 32 → 8``. The layers are kept in
    ``self.layers`` so that a stacked denoising autoencoder can train them one
    at a time. With ``members``, an ensemble of that many such networks.
    """

    def __init__(
        self, in_dim: int, hidden_dims: Sequence[int], out_dim: int, members: int | None = None
    ):
        super().__init__()
        dims = [in_dim, *hidden_dims, out_dim]
        if members is None:
            layers = (nn.Linear(a, b) for a, b in pairwise(dims))
        else:
            layers = (EnsembleLinear(members, a, b) for a, b in pairwise(dims))
        self.layers = nn.ModuleList(layers)
        self.activation = nn.ELU()

    def forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            if i:
                x = self.activation(x)
            x = layer(x)
        return x


def member_state(ensemble: nn.Module, single: nn.Module, e: int) -> dict[str, Tensor]:
    """The state dict of ``single`` (a one-network module) holding member ``e`` of
    ``ensemble`` (the same module built with ``members``): parameters are the
    ``[e]`` slices, buffers are shared."""
    target = single.state_dict()
    params = dict(ensemble.named_parameters())
    out = {}
    for name, value in ensemble.state_dict().items():
        if name not in target:
            raise KeyError(f"{name} of the ensemble has no counterpart in the single module")
        if name in params:
            out[name] = value[e].reshape(target[name].shape).clone()
        else:
            out[name] = value.clone()
    return out
