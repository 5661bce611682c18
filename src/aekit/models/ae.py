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

from ..indexing import broadcast_shape
from .bins import NumericBins
from .corruption import Corruption, corrupt_hidden
from .gibbs import gibbs_sweeps
from .likelihoods import Likelihood
from .networks import MLP, EncoderDecoder
from .nll import nll_with_gradient


class AEModule(EncoderDecoder):
    """Autoencoder over encoded rows; a DAE when ``corruption`` is given.

    Parameters
    ----------
    likelihood : Likelihood
    hidden_dims : sequence of int
        Encoder widths; the decoder mirrors them.
    latent_dim : int
    corruption : Corruption, optional
    mask_input : bool
        Feed the encoder the per-column mask of observed (and, in training,
        uncorrupted) cells beside the values, so that a hidden cell is not
        mistaken for an observed value equal to the fill.
    members : int, optional
        Build an ensemble of that many independent autoencoders, trained as one
        batched network (see ``aekit.models.networks``); the likelihood must be
        built with the same ``members``. Its loss terms have shape (members,).
    image_shape : (C, H, W), optional
        Convolutional encoder and decoder for rows that are images (one
        likelihood column per pixel); ``hidden_dims`` are then channel counts.
    activation : str
        The nonlinearity between layers, a name of ``aekit.models.networks.ACTIVATIONS``.
    upsampling : {"transposed", "shuffle"}
        How the convolutional decoder reaches full resolution (see ``ConvDecoder``).
    numeric_bins : int
        Also feed the encoder each continuous cell's piecewise-linear encoding
        over this many quantile bins of its column (:class:`NumericBins`, whose
        edges :meth:`NumericBins.fit` sets; 0: none). Perceptrons only.
    """

    def __init__(
        self,
        likelihood: Likelihood,
        hidden_dims: Sequence[int],
        latent_dim: int,
        corruption: Corruption | None = None,
        mask_input: bool = False,
        members: int | None = None,
        image_shape: Sequence[int] | None = None,
        activation: str = "elu",
        upsampling: str = "transposed",
        numeric_bins: int = 0,
    ):
        in_dim = likelihood.width + (likelihood.n_columns if mask_input else 0)
        bins = None
        if numeric_bins and likelihood.continuous[0]:
            if image_shape is not None:
                raise ValueError("numeric_bins feeds a perceptron; images go to convolutions")
            bins = NumericBins(*likelihood.continuous, numeric_bins)
            in_dim += bins.out_dim
        super().__init__(
            likelihood,
            in_dim,
            hidden_dims,
            latent_dim,
            latent_dim,
            members,
            image_shape,
            activation=activation,
            upsampling=upsampling,
        )
        self.mask_input = mask_input
        self.corruption = corruption
        self.bins = bins

    def inputs(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """Encoder input: x, then with ``mask_input`` the mask (all observed if
        None), then with ``numeric_bins`` the continuous cells' bin encodings."""
        if not self.mask_input and self.bins is None:
            return x
        if mask is None:
            mask = x.new_ones(*x.shape[:-1], self.likelihood.n_columns)
        if x.shape[:-1] != mask.shape[:-1]:  # one of them still lacks the members dimension
            lead = broadcast_shape(x.shape[:-1], mask.shape[:-1])
            x, mask = x.expand(*lead, -1), mask.expand(*lead, -1)
        parts = [x]
        if self.mask_input:
            parts.append(mask.to(x.dtype))
        if self.bins is not None:
            parts.append(self.bins(x, mask))
        return torch.cat(parts, dim=-1)

    def encode(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """(n, width) → (n, latent_dim)."""
        return self.encoder(self.inputs(x, mask))

    def log_prob(self, x: Tensor, mask: Tensor) -> Tensor:
        """Per-cell log p(x_j | x̂) of the uncorrupted input, (n, n_columns)."""
        return self.likelihood.log_prob(self.decode(self.encode(x, mask)), x, mask)

    def impute(self, x: Tensor, mask: Tensor, n_iter: int = 10) -> Tensor:
        """Fill missing cells by iterative refinement (Abiri et al. 2019).

        Missing cells start at their fill value (they arrive so); each round
        reconstructs the row and writes the reconstruction into the missing cells
        only, so the next round encodes a better-completed row. Shape (n, width).
        """
        observed = self.likelihood.expand_mask(mask)
        current = x
        for _ in range(n_iter):
            current = torch.where(observed, x, self.reconstruct(current, mask))
        return current

    def draw_imputations(
        self, x: Tensor, mask: Tensor, fill: Tensor, *, n_iter=1, sweeps=10, donors=0
    ) -> Tensor:
        """One draw of the missing cells from ``p(x_mis | x_obs)``, (n, width), by
        Gibbs sampling over the network's one-column conditionals.

        The missing cells start at the refined conditional mean (:meth:`impute`
        with ``n_iter`` rounds). Each sweep visits the columns that have
        missing cells in a random order; column j is hidden in every row (its
        cells at ``fill``, its mask off) while the row's other cells hold their
        observed values or current draws, and its missing cells are drawn anew
        from ``p(x_j | x_-j)``: a level from the network's probabilities for a
        binary or categorical column; for a continuous one, Gaussian around
        the network's prediction recalibrated by a least-squares fit whose
        parameters are drawn from their posterior (:mod:`aekit.models.gibbs`).
        A unit column (a pixel) keeps its conditional mean. ``donors`` > 0:
        a continuous column's cells are observed values, by predictive mean
        matching (:func:`~aekit.models.gibbs.matched`). Needs a single network.
        """
        state = self.impute(x, mask, n_iter=n_iter)
        return gibbs_sweeps(self, state, x, mask, fill, sweeps, donors)

    def loss(self, x: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """Mean over the batch of ``-log p(x | f(g(x̃)))`` on observed cells.

        x, mask: (n, ·), or (members, n, ·) for an ensemble, whose terms are then
        one per member, shape (members,).
        """
        x_in, seen = (x, mask)
        if self.training and self.corruption is not None:
            x_in, seen = self.corruption(x, mask)
        params = self.decode(self.encode(x_in, seen))
        # the mean over rows of L(x, x̂) = -Σ_j m_j log p(x_j | x̂_j), shape (...)
        reconstruction = self.likelihood.nll(params, x, mask)
        return {"loss": reconstruction, "reconstruction": reconstruction}

    def gradients_by_hand(self, x: Tensor) -> bool:
        """Whether :meth:`loss_and_gradients` can train on the batch ``x``: a
        perceptron (see :meth:`MLP.by_hand <aekit.models.networks.MLP.by_hand>`)
        whose every parameter is trained."""
        nets = (self.encoder, self.decoder)
        if not all(isinstance(net, MLP) and net.by_hand(x) for net in nets):
            return False  # convolutions, or a shape they do not take
        return all(p.requires_grad for p in self.parameters())

    def loss_and_gradients(self, x: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """:meth:`loss` of a training batch, with the gradient of its sum in every
        parameter written to the parameter's ``.grad``, without autograd's graph
        (whose bookkeeping is about a tenth of a small network's step): the same
        values as ``loss(x, mask)["loss"].sum().backward()``, to the bit, where
        :meth:`gradients_by_hand` holds."""
        with torch.no_grad():
            x_in, seen = (x, mask)
            if self.training and self.corruption is not None:
                x_in, seen = self.corruption(x, mask)
            enc, dec = [], []  # what each network's backward pass needs
            code = self.encoder.forward_kept(self.inputs(x_in, seen), enc)
            params = self.decoder.forward_kept(code, dec)
            reconstruction, d_params, d_raw = nll_with_gradient(self.likelihood, params, x, mask)
            self.likelihood.raw_scale.grad = d_raw
            d_code = self.decoder.backward_kept(dec, d_params)
            self.encoder.backward_kept(enc, d_code, input_grad=False)
        return {"loss": reconstruction, "reconstruction": reconstruction}

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
        corrupt = self.training and ae.corruption is not None
        with torch.no_grad():  # frozen lower layers: h_{i-1}, (n, d_{i-1})
            h = ae.inputs(x, mask)
            for layer in ae.encoder.layers[: self.i]:
                h = act(layer(h))
        if self.i == 0:
            h_in = ae.inputs(*ae.corruption(x, mask)) if corrupt else h
        elif corrupt:
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
            # -log N(h | act(out), I) up to a constant, (n,); at i = 1 the target is the
            # first hidden layer, never the raw input
            reconstruction = 0.5 * (act(out) - h).pow(2).sum(-1)
        return {"loss": reconstruction.mean(), "reconstruction": reconstruction.mean()}
