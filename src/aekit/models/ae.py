"""The autoencoder and the denoising autoencoder (Vincent et al. 2010).

Encoder ``z = g(x̃)``, decoder ``x̂ = f(z)``; the loss is the negative
log-likelihood of the *clean* row under the decoder's observation model,
summed over observed cells only::

    L(x, x̂) = -log p(x | x̂) = -Σ_j m_j log p(x_j | x̂_j)

where ``x̃ = x`` for a plain AE and ``x̃ ~ C(x̃ | x)`` for a DAE. A stacked DAE
pretrains the layers greedily, one shallow DAE per layer on the (frozen)
representation below it, then fine-tunes the whole network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..likelihoods import Likelihood
from .corruption import Corruption, corrupt_hidden
from .networks import MLP


class AEModule(nn.Module):
    """Autoencoder over encoded rows; a DAE when ``corruption`` is given.

    Parameters
    ----------
    likelihood : Likelihood
    hidden_dims : sequence of int
        Encoder widths; the decoder mirrors them.
    latent_dim : int
    corruption : Corruption, optional
    """

    def __init__(
        self,
        likelihood: Likelihood,
        hidden_dims: Sequence[int],
        latent_dim: int,
        corruption: Corruption | None = None,
    ):
        super().__init__()
        self.likelihood = likelihood
        self.encoder = MLP(likelihood.width, hidden_dims, latent_dim)
        self.decoder = MLP(latent_dim, list(hidden_dims)[::-1], likelihood.width)
        self.corruption = corruption

    def encode(self, x: Tensor) -> Tensor:
        """(n, width) → (n, latent_dim)."""
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """(..., latent_dim) → likelihood parameters (..., width)."""
        return self.decoder(z)

    def reconstruct(self, x: Tensor) -> Tensor:
        """Expected reconstruction E[x | x̂] in encoded space, (n, width)."""
        return self.likelihood.mean(self.decode(self.encode(x)))

    def log_prob(self, x: Tensor, mask: Tensor) -> Tensor:
        """Per-cell log p(x_j | x̂) of the uncorrupted input, (n, n_columns)."""
        return self.likelihood.log_prob(self.decode(self.encode(x)), x, mask)

    def loss(self, x: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """Mean over the batch of ``-log p(x | f(g(x̃)))`` on observed cells."""
        x_in = self.corruption(x) if self.training and self.corruption is not None else x
        params = self.decode(self.encode(x_in))
        # L(x, x̂) = -Σ_j m_j log p(x_j | x̂_j), shape (n,)
        reconstruction = -self.likelihood.log_prob(params, x, mask).sum(-1)
        return {"loss": reconstruction.mean(), "reconstruction": reconstruction.mean()}

    def layerwise(self, i: int) -> LayerwiseDAE:
        """Stage ``i`` of greedy layer-wise pretraining (shares this module's weights)."""
        return LayerwiseDAE(self, i)


class LayerwiseDAE(nn.Module):
    """One shallow DAE of a stacked DAE: encoder layer ``i`` and its mirror decoder layer.

    The layers below ``i`` are frozen and map the row to the clean input
    ``h_{i-1}`` of layer ``i``; the stage corrupts ``h_{i-1}``, encodes it with
    layer ``i``, decodes with the mirror layer of the full decoder, and scores the
    clean ``h_{i-1}``: with the row's likelihood for ``i = 0`` (observed cells only),
    with squared error (a unit-variance Gaussian) above it. Training a stage updates
    the parent autoencoder's weights in place, so fine-tuning starts from them.
    """

    def __init__(self, ae: AEModule, i: int):
        super().__init__()
        n_layers = len(ae.encoder.layers)
        if not 0 <= i < n_layers:
            raise ValueError(f"layer {i} out of range for {n_layers} layers")
        self.ae, self.i = ae, i
        self.enc = ae.encoder.layers[i]
        self.dec = ae.decoder.layers[n_layers - 1 - i]
        self.top = i == n_layers - 1  # the latent layer has no nonlinearity

    def loss(self, x: Tensor, mask: Tensor) -> dict[str, Tensor]:
        ae, act = self.ae, self.ae.encoder.activation
        with torch.no_grad():  # frozen lower layers: h_{i-1}, (n, d_{i-1})
            h = x
            for layer in ae.encoder.layers[: self.i]:
                h = act(layer(h))
        if not self.training:
            h_in = h
        elif self.i == 0 and ae.corruption is not None:
            h_in = ae.corruption(h)
        elif ae.corruption is not None:
            h_in = corrupt_hidden(h, ae.corruption.kind, ae.corruption.level)
        else:
            h_in = h
        code = self.enc(h_in)
        if not self.top:
            code = act(code)
        out = self.dec(code)
        if self.i == 0:
            # -log p(x | x̂) on observed cells, (n,)
            reconstruction = -ae.likelihood.log_prob(out, x, mask).sum(-1)
        else:
            # -log N(h | act(out), I) up to a constant, (n,)
            reconstruction = 0.5 * (act(out) - h).pow(2).sum(-1)
        return {"loss": reconstruction.mean(), "reconstruction": reconstruction.mean()}
