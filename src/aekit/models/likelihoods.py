"""Per-column observation models p(x | x̂) over ``torch.distributions``, with masks.

A decoder emits one parameter vector per row, laid out like the encoded row
(see ``aekit.data.tabular``):

- continuous column: the mean of a Normal whose scale is learned per feature;
- binary column: the logit of a Bernoulli;
- unit column (a pixel intensity in [0, 1]): the logit of a Bernoulli whose
  log-probability at a value in [0, 1] is the binary cross-entropy, the usual
  pixel model of image VAEs (its mean is the predicted intensity);
- categorical column with K levels: K logits of a Categorical.

``log_prob`` returns one log-likelihood per *cell* (row × original column) and
zero for a missing cell, so every task reuses the same numbers: the AE/DAE loss
``-Σ_j m_j log p(x_j | x̂)``, the VAE's ``log p_θ(x|z)``, anomaly scores and
imputation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Bernoulli, Categorical, Normal

from ..indexing import contiguous

MIN_SCALE = 1e-3  # floor on the Gaussian scale, in standardised units
NEVER_LOGIT = -1e4  # the logit of a level no training row holds: probability 0 in float32
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class Likelihood(nn.Module):
    """Observation model of a mixed-type row.

    Parameters
    ----------
    kinds : sequence of {"continuous", "binary", "categorical", "unit"}
        Kind of each original column.
    widths : sequence of int
        Encoded width of each column (1, or K for a categorical).
    members : int, optional
        For an ensemble (see ``aekit.models.networks``): one learned Gaussian
        scale per member, for parameters shaped (members, n, width).
    never : sequence of int, optional
        Encoded dimensions of categorical levels that no training row holds (a
        category of the column's dtype left unused): their logits are held at
        ``NEVER_LOGIT``, so they get no probability to be drawn or imputed.
    """

    def __init__(
        self,
        kinds: Sequence[str],
        widths: Sequence[int],
        members: int | None = None,
        never: Sequence[int] = (),
    ):
        super().__init__()
        kinds, widths = list(kinds), [int(w) for w in widths]
        starts = [0]
        for w in widths[:-1]:
            starts.append(starts[-1] + w)
        self.n_columns = len(kinds)
        self.width = sum(widths)

        def pick(*names):
            cols = [i for i, k in enumerate(kinds) if k in names]
            return cols, [starts[i] for i in cols]

        cont_cols, cont_dims = pick("continuous")
        # unit columns share the Bernoulli terms of binary ones (bin_*); unit_* picks
        # them out where they differ (a draw is the mean; an error is squared)
        bin_cols, bin_dims = pick("binary", "unit")
        unit_cols, unit_dims = pick("unit")
        cat_cols, cat_starts = pick("categorical")
        k_max = max([widths[i] for i in cat_cols], default=1)
        # cat_index[g, k]: encoded dimension of level k of group g (padding repeats dim 0)
        cat_index = torch.zeros(len(cat_cols), k_max, dtype=torch.long)
        cat_valid = torch.zeros(len(cat_cols), k_max, dtype=torch.bool)
        cat_never = torch.zeros(len(cat_cols), k_max, dtype=torch.bool)
        never, self._never = {int(d) for d in never}, False  # any level never seen
        for g, (i, lo) in enumerate(zip(cat_cols, cat_starts, strict=True)):
            cat_index[g, : widths[i]] = torch.arange(lo, lo + widths[i])
            cat_valid[g, : widths[i]] = True
            unseen = [d in never for d in range(lo, lo + widths[i])]
            cat_never[g, : widths[i]] = torch.tensor(unseen)
            self._never |= any(unseen)
        for name, value in [
            ("cont_cols", cont_cols),
            ("cont_dims", cont_dims),
            ("bin_cols", bin_cols),
            ("bin_dims", bin_dims),
            ("unit_cols", unit_cols),
            ("unit_dims", unit_dims),
            ("cat_cols", cat_cols),
        ]:
            self.register_buffer(name, torch.tensor(value, dtype=torch.long), persistent=False)
        self.register_buffer("cat_index", cat_index, persistent=False)
        # built from Python lists, not from tensors' values, so that a likelihood can be
        # built on the "meta" device (shapes only; see FittedModel.set_fitted_state)
        column_of_dim = [i for i, w in enumerate(widths) for _ in range(w)]
        self.register_buffer("column_of_dim", torch.tensor(column_of_dim), persistent=False)
        self.register_buffer("cat_valid", cat_valid, persistent=False)
        self.register_buffer("cat_never", cat_never, persistent=False)
        # log_prob concatenates [continuous, binary, categorical] cells; this puts
        # them back in column order
        family_order = cont_cols + bin_cols + cat_cols
        order = sorted(range(len(family_order)), key=family_order.__getitem__)
        self.register_buffer(
            "column_order", torch.tensor(order, dtype=torch.long), persistent=False
        )
        # a family whose dimensions are one contiguous run (every column of an
        # all-numeric table, every pixel) is read as a view, not gathered: a
        # gather's backward is a scatter, the costliest kernel of a wide row's step
        self._cont = contiguous(cont_dims)
        self._bin = contiguous(bin_dims)
        self._in_order = order == list(range(len(order)))
        # Gaussian scale σ_j = softplus(raw_j) + MIN_SCALE, initialised at σ = 1
        init = math.log(math.expm1(1.0 - MIN_SCALE))
        shape = (len(cont_cols),) if members is None else (members, 1, len(cont_cols))
        self.raw_scale = nn.Parameter(torch.full(shape, init))

    @property
    def scale(self) -> Tensor:
        """Per-feature Gaussian scale, shape (n_continuous,) (or (members, 1, n_continuous))."""
        return F.softplus(self.raw_scale) + MIN_SCALE

    def _cat_logits(self, params: Tensor) -> Tensor:
        # (..., width) -> (..., G, K_max), padding at -inf
        logits = params[..., self.cat_index].masked_fill(~self.cat_valid, float("-inf"))
        if self._never:  # finite: a row that holds such a level still gets a score
            logits = logits.masked_fill(self.cat_never, NEVER_LOGIT)
        return logits

    def distributions(self, params: Tensor) -> dict:
        """The families present, for a batch of decoder outputs (..., width).

        Arguments are not validated per batch: the decoder's outputs are finite
        reals by construction and the scale is positive by its softplus.
        """
        out = {}
        if len(self.cont_cols):
            out["continuous"] = Normal(params[..., self.cont_dims], self.scale, validate_args=False)
        if len(self.bin_cols):
            out["binary"] = Bernoulli(logits=params[..., self.bin_dims], validate_args=False)
        if len(self.cat_cols):
            out["categorical"] = Categorical(logits=self._cat_logits(params), validate_args=False)
        return out

    def log_prob(self, params: Tensor, x: Tensor, mask: Tensor) -> Tensor:
        """Per-cell log-likelihood, zero where a cell is missing.

        Parameters
        ----------
        params : Tensor of shape (..., n, width)
            Decoder outputs; leading dimensions (e.g. K posterior samples) broadcast.
        x : Tensor of shape (n, width)
            Encoded data (missing cells hold any finite fill value).
        mask : Tensor of shape (n, n_columns), bool
            True where the cell is observed.

        Returns
        -------
        Tensor of shape (..., n, n_columns)
            log p(x_j | params) for observed cells, 0 for missing ones.
        """
        # written out rather than through torch.distributions: the same values
        # with fewer kernels, which is most of a small network's training step
        if params.dtype != x.dtype:  # a network run under bfloat16 autocast: score in x's
            params = params.to(x.dtype)
        parts = []
        if len(self.cont_cols):
            scale = self.scale
            dims = self.cont_dims if self._cont is None else self._cont
            parts.append(_GaussianLogProb.apply(x[..., dims], params[..., dims], scale))
        if len(self.bin_cols):
            dims = self.bin_dims if self._bin is None else self._bin
            logits = params[..., dims]
            target = x[..., dims].expand_as(logits)
            parts.append(-F.binary_cross_entropy_with_logits(logits, target, reduction="none"))
        if len(self.cat_cols):
            # the observed level is the argmax of the one-hot group, shape (n, G)
            level = x[..., self.cat_index].masked_fill(~self.cat_valid, -1.0).argmax(-1)
            log_p = torch.log_softmax(self._cat_logits(params), dim=-1)
            level = level.expand(log_p.shape[:-1])
            parts.append(log_p.gather(-1, level.unsqueeze(-1)).squeeze(-1))
        if not parts:
            return params.new_zeros((*params.shape[:-1], 0))
        shape = broadcast_shape(*(p.shape[:-1] for p in parts))
        if len(parts) == 1:
            out = parts[0].expand(*shape, parts[0].shape[-1])
        else:
            out = torch.cat([p.expand(*shape, p.shape[-1]) for p in parts], -1)
        if not self._in_order:
            out = out[..., self.column_order]
        if mask.device.type == "cpu" and bool(mask.all()):  # (a check that syncs a GPU)
            return out  # nothing to zero: a complete batch skips a kernel and its gradient
        return torch.where(mask, out, torch.zeros((), dtype=out.dtype, device=out.device))

    def expand_mask(self, mask: Tensor) -> Tensor:
        """Per-column mask (..., n_columns) → per-dimension mask (..., width)."""
        return mask[..., self.column_of_dim]

    def mean(self, params: Tensor) -> Tensor:
        """Expected encoded row: means, probabilities, level probabilities."""
        out = params.clone()
        out[..., self.bin_dims] = torch.sigmoid(params[..., self.bin_dims])
        if len(self.cat_cols):
            probs = torch.softmax(self._cat_logits(params), dim=-1)
            out[..., self.cat_index[self.cat_valid]] = probs[..., self.cat_valid]
        return out

    def cell_errors(self, filled: Tensor, target: Tensor) -> Tensor:
        """The error of each cell of ``filled`` against ``target`` (both encoded rows,
        (..., n, width)), shape (..., n, n_columns): the squared difference in
        standardised units (continuous and unit columns), or 1 for a wrong level
        (binary: the side of 0.5; categorical: the largest of the group)."""
        errors = filled.new_zeros((*filled.shape[:-1], self.n_columns))
        cont, bins, units = self.cont_dims, self.bin_dims, self.unit_dims
        errors[..., self.cont_cols] = (filled[..., cont] - target[..., cont]) ** 2
        wrong = (filled[..., bins] > 0.5) != (target[..., bins] > 0.5)
        errors[..., self.bin_cols] = wrong.to(filled.dtype)
        errors[..., self.unit_cols] = (filled[..., units] - target[..., units]) ** 2
        if len(self.cat_cols):
            pad = ~self.cat_valid
            guess = filled[..., self.cat_index].masked_fill(pad, -1.0).argmax(-1)
            truth = target[..., self.cat_index].masked_fill(pad, -1.0).argmax(-1)
            errors[..., self.cat_cols] = (guess != truth).to(filled.dtype)
        return errors

    def sample(self, params: Tensor) -> Tensor:
        """One draw of an encoded row: Normal values, 0/1, one-hot levels; a unit
        cell (a pixel) gets its expected value, as image models show samples (the
        cross-entropy is not a density on [0, 1] to draw from)."""
        dist = self.distributions(params)
        out = params.new_zeros(params.shape)
        if "continuous" in dist:
            out[..., self.cont_dims] = dist["continuous"].sample()
        if "binary" in dist:
            out[..., self.bin_dims] = dist["binary"].sample()
            if len(self.unit_dims):
                out[..., self.unit_dims] = torch.sigmoid(params[..., self.unit_dims])
        if "categorical" in dist:
            level = dist["categorical"].sample()  # (..., G)
            onehot = F.one_hot(level, self.cat_index.shape[1]).to(params.dtype)
            out[..., self.cat_index[self.cat_valid]] = onehot[..., self.cat_valid]
        return out


def broadcast_shape(*shapes: torch.Size) -> torch.Size:
    """The shape ``shapes`` broadcast to: ``torch.broadcast_shapes``, whose Python
    costs tens of microseconds a call (a step of a small network's training calls
    it twice), skipped when the shapes are all the same."""
    first = shapes[0]
    if all(shape == first for shape in shapes[1:]):
        return torch.Size(first)
    return torch.broadcast_shapes(*shapes)


class _GaussianLogProb(torch.autograd.Function):
    """``log N(x | mu, scale)`` per cell, with the gradient written out: the
    same values as the expression ``-z²/2 - log scale - log √(2π)`` with
    ``z = (x - mu) / scale``, in three kernels forward and five backward
    instead of the fourteen autograd runs for it (a small network's training
    step is mostly such elementwise kernels). ``x`` is data (no gradient);
    ``mu`` (..., n, d) and ``scale`` (d,) or (members, 1, d) broadcast."""

    @staticmethod
    def forward(ctx, x: Tensor, mu: Tensor, scale: Tensor) -> Tensor:
        z = (x - mu).div_(scale)
        ctx.save_for_backward(z, scale)
        ctx.shapes = mu.shape, scale.shape
        return torch.addcmul(-(scale.log() + HALF_LOG_2PI), z, z, value=-0.5)

    @staticmethod
    def backward(ctx, grad: Tensor):
        z, scale = ctx.saved_tensors
        mu_shape, scale_shape = ctx.shapes
        gz = grad * z
        d_mu = (gz / scale).sum_to_size(mu_shape)  # d/dmu = z / scale
        # d/dscale = (z² - 1) / scale
        d_scale = (gz * z - grad).sum_to_size(scale_shape) / scale
        return None, d_mu, d_scale
