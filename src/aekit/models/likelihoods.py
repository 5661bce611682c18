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

from ..indexing import broadcast_shape, contiguous

MIN_SCALE = 1e-3  # floor on the Gaussian scale, in standardised units
NEVER_LOGIT = -1e4  # the logit of a level no training row holds: probability 0 in float32
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
LARGE_GROUP = 16  # levels from which groups are reduced run by run (maxima, sums)
FAMILIES = ("cont", "bin", "cat")  # continuous, binary (and unit), categorical


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
        positions = dict(cont_cols=cont_cols, cont_dims=cont_dims, bin_cols=bin_cols)
        positions.update(bin_dims=bin_dims, unit_cols=unit_cols, unit_dims=unit_dims)
        for name, value in {**positions, "cat_cols": cat_cols}.items():
            self.register_buffer(name, torch.tensor(value, dtype=torch.long), persistent=False)
        self.register_buffer("cat_index", cat_index, persistent=False)
        # built from Python lists, not from tensors' values, so that a likelihood can be
        # built on the "meta" device (shapes only; see FittedModel.set_fitted_state)
        column_of_dim = [i for i, w in enumerate(widths) for _ in range(w)]
        self.register_buffer("column_of_dim", torch.tensor(column_of_dim), persistent=False)
        self.register_buffer("cat_valid", cat_valid, persistent=False)
        self.register_buffer("cat_never", cat_never, persistent=False)
        # the categorical dimensions (a view where they are one run), each one's
        # group as a (dims, groups) 0/1 matrix whose product sums a row's groups,
        # and each group's dimensions padded by repeating its last (for maxima)
        cat_dims = [
            d for i, lo in zip(cat_cols, cat_starts, strict=True) for d in range(lo, lo + widths[i])
        ]
        self.register_buffer("cat_dims", torch.tensor(cat_dims, dtype=torch.long), persistent=False)
        groups, pad, runs, at = [], [], [], 0
        for i in cat_cols:
            groups += [len(pad)] * widths[i]
            pad.append([at + min(k, widths[i] - 1) for k in range(k_max)])
            runs.append((at, widths[i]))
            at += widths[i]
        summed = [[float(g == h) for h in range(len(cat_cols))] for g in groups]
        self.register_buffer(
            "cat_groups", torch.tensor(summed).reshape(len(groups), len(cat_cols)), persistent=False
        )
        self.register_buffer(
            "cat_pad",
            torch.tensor(pad, dtype=torch.long).reshape(len(cat_cols), k_max),
            persistent=False,
        )
        # maxima over padded groups in one gather, unless the padding outweighs the levels
        # or a group is large (a gather costs ~2 ns a value): a loop over the groups' runs
        self._cat_runs, self._large_groups = runs, k_max >= LARGE_GROUP
        self._padded_maxima = len(cat_cols) * k_max <= 2 * len(cat_dims) and not self._large_groups
        never_dims = [d in never for d in cat_dims]
        self.register_buffer(
            "cat_never_dims", torch.tensor(never_dims, dtype=torch.bool), persistent=False
        )
        # the continuous columns' dimensions and cells as lists (a module built on the
        # "meta" device reads them without values)
        self.continuous = (cont_dims, cont_cols)
        # which families a row holds (Python truths: a tensor's len costs microseconds)
        self._has_cont, self._has_bin = bool(cont_cols), bool(bin_cols)
        self._has_unit, self._has_cat = bool(unit_cols), bool(cat_cols)
        self._families = [
            f for f, c in zip(FAMILIES, (cont_cols, bin_cols, cat_cols), strict=True) if c
        ]
        # a family whose dimensions (or cells) are one run (every column of an
        # all-numeric table, every pixel) is read and written as a view, not
        # gathered: a gather's backward is a scatter, the costliest kernel of a
        # wide row's step
        self._views = {
            family: (contiguous(dims), contiguous(cols))
            for family, dims, cols in zip(
                FAMILIES,
                (cont_dims, bin_dims, cat_dims),
                (cont_cols, bin_cols, cat_cols),
                strict=True,
            )
        }
        # Gaussian scale σ_j = softplus(raw_j) + MIN_SCALE, initialised at σ = 1
        init = math.log(math.expm1(1.0 - MIN_SCALE))
        shape = (len(cont_cols),) if members is None else (members, 1, len(cont_cols))
        self.raw_scale = nn.Parameter(torch.full(shape, init))

    def dims(self, family: str):
        """Where a family's dimensions are in an encoded row (``family`` one of
        :data:`FAMILIES`): a slice where they are one run, else their index."""
        view = self._views[family][0]
        return getattr(self, f"{family}_dims") if view is None else view

    def cells(self, family: str):
        """Where a family's cells are in a row of cells, as :meth:`dims`."""
        view = self._views[family][1]
        return getattr(self, f"{family}_cols") if view is None else view

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
        if self._has_cont:
            out["continuous"] = Normal(params[..., self.cont_dims], self.scale, validate_args=False)
        if self._has_bin:
            out["binary"] = Bernoulli(logits=params[..., self.bin_dims], validate_args=False)
        if self._has_cat:
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
        # written out rather than through torch.distributions, the gradient too
        # (:class:`_LogProb`): the same values in a few kernels, where autograd's
        # sixty for a mixed row were a third of a small network's training step
        return self._scored(params, x, mask, nll=False)

    def nll(self, params: Tensor, x: Tensor, mask: Tensor) -> Tensor:
        """The mean over rows of a row's negative log-likelihood,
        ``-log_prob(params, x, mask).sum(-1).mean(-1)``, shape (...): a training
        loss, summed and averaged inside :class:`_LogProb` (its gradient a
        constant per cell, not three more kernels and their gradients)."""
        return self._scored(params, x, mask, nll=True)

    def _scored(self, params: Tensor, x: Tensor, mask: Tensor, *, nll: bool) -> Tensor:
        if not self.n_columns:
            return params.new_zeros(params.shape[:-2] if nll else (*params.shape[:-1], 0))
        if params.dtype == x.dtype:
            return _LogProb.apply(self, params, x, mask, self.raw_scale, nll)
        # a network run under bfloat16 autocast: scored in x's precision, autocast off
        with torch.autocast(params.device.type, enabled=False):
            return _LogProb.apply(self, params.to(x.dtype), x, mask, self.raw_scale, nll)

    def expand_mask(self, mask: Tensor) -> Tensor:
        """Per-column mask (..., n_columns) → per-dimension mask (..., width)."""
        return mask[..., self.column_of_dim]

    def mean(self, params: Tensor) -> Tensor:
        """Expected encoded row: means, probabilities, level probabilities."""
        out = params.clone()
        if self._has_bin:
            dims = self.dims("bin")
            out[..., dims] = torch.sigmoid(params[..., dims])
        if self._has_cat:
            out[..., self.dims("cat")] = self._level_probabilities(params)
        return out

    def level_logits(self, params: Tensor) -> Tensor:
        """The logits of every categorical level, (..., levels); a level no
        training row holds at :data:`NEVER_LOGIT`."""
        logits = params[..., self.dims("cat")]
        if self._never:
            logits = logits.masked_fill(self.cat_never_dims, NEVER_LOGIT)
        return logits

    def group_exponentials(self, logits: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Each level's exponential shifted by its group's largest logit (..., levels),
        the groups' sums of them and largest logits (..., G), and the 0/1
        (levels, G) matrix whose product spreads a group's value over its levels."""
        summed = self.cat_groups.to(logits.dtype)
        if summed.shape[1] == 1:
            top = logits.detach().amax(-1, keepdim=True)
            exp = (logits - top).exp()
        else:
            top = self._by_group(logits.detach(), "amax")
            exp = (logits - top @ summed.mT).exp()
        return exp, self.group_sums(exp), top, summed

    def group_sums(self, values: Tensor) -> Tensor:
        """Each categorical group's sum of ``values`` (..., levels), shape (..., G): a
        product with the 0/1 (levels, G) matrix, or with a group of ``LARGE_GROUP``
        levels or more a sum over each group's run (with few groups such a product
        is slow: 0.24 ms against 0.03 for 256 rows of groups of 260 and 9)."""
        if not self._large_groups:
            return values @ self.cat_groups.to(values.dtype)
        return torch.stack([values[..., a : a + n].sum(-1) for a, n in self._cat_runs], -1)

    def _level_probabilities(self, params: Tensor) -> Tensor:
        """Each categorical group's softmax, (..., levels)."""
        logits = self.level_logits(params)
        if self.cat_groups.shape[1] == 1:
            return torch.softmax(logits, dim=-1)
        if self._large_groups:  # group by group, on views: the same values, no wide temporaries
            out = torch.empty_like(logits)
            for a, n in self._cat_runs:
                part = logits[..., a : a + n]
                exp = (part - part.amax(-1, keepdim=True)).exp_()
                torch.div(exp, exp.sum(-1, keepdim=True), out=out[..., a : a + n])
            return out
        exp, total, _, summed = self.group_exponentials(logits)
        return exp / (total @ summed.mT)

    def _levels(self, rows: Tensor) -> Tensor:
        """The largest level of each categorical group of encoded rows, (..., G)."""
        values = rows[..., self.dims("cat")]
        if self.cat_groups.shape[1] == 1:
            return values.argmax(-1, keepdim=True)
        return self._by_group(values, "argmax")

    def _by_group(self, values: Tensor, reduce: str) -> Tensor:
        """Each categorical group's ``reduce`` ("amax" or "argmax", the level's
        place in its group) of ``values`` (..., levels), shape (..., G)."""
        if self._padded_maxima:  # padding repeats a group's last level: same result
            pad = self.cat_pad  # gather: faster than index_select along a row
            index = pad.flatten().expand(*values.shape[:-1], -1)
            padded = values.gather(-1, index).unflatten(-1, pad.shape)
            return getattr(padded, reduce)(-1)
        parts = [getattr(values[..., a : a + n], reduce)(-1) for a, n in self._cat_runs]
        return torch.stack(parts, -1)

    def cell_errors(self, filled: Tensor, target: Tensor) -> Tensor:
        """The error of each cell of ``filled`` against ``target`` (both encoded rows,
        (..., n, width)), shape (..., n, n_columns): the squared difference in
        standardised units (continuous and unit columns), or 1 for a wrong level
        (binary: the side of 0.5; categorical: the largest of the group)."""
        errors = filled.new_zeros((*filled.shape[:-1], self.n_columns))
        if self._has_cont:
            dims = self.dims("cont")
            cols = self.cells("cont")
            errors[..., cols] = (filled[..., dims] - target[..., dims]).square_()
        if self._has_bin:
            dims = self.dims("bin")
            wrong = (filled[..., dims] > 0.5) != (target[..., dims] > 0.5)
            errors[..., self.cells("bin")] = wrong.to(filled.dtype)
        if self._has_unit:
            units = self.unit_dims
            errors[..., self.unit_cols] = (filled[..., units] - target[..., units]) ** 2
        if self._has_cat:
            wrong = self._levels(filled) != self._levels(target)
            errors[..., self.cells("cat")] = wrong.to(filled.dtype)
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


class _LogProb(torch.autograd.Function):
    """:meth:`Likelihood.log_prob` with its gradient written out, for a batch of
    decoder outputs ``params`` (..., n, width), data ``x`` and ``mask``
    broadcasting to it, and the Gaussian scales' ``raw_scale``.

    Continuous: ``-z²/2 - log σ - log √(2π)`` with ``z = (x - μ)/σ``, whose
    gradients are ``z/σ`` in μ and ``(z² - 1)/σ`` in σ. Binary (and unit):
    ``-BCE(l, x)``, gradient ``x - sigmoid(l)``. Categorical: the observed
    level's ``log_softmax``, gradient ``onehot - softmax`` (each group's
    levels summed by :meth:`Likelihood.group_sums`). A missing cell
    scores 0 and passes no gradient. The values are the expressions autograd
    would run; its backward through them took some sixty small kernels a mixed
    row, and a small network's training step is mostly such kernels."""

    @staticmethod
    def forward(ctx, lik: Likelihood, params: Tensor, x: Tensor, mask, raw: Tensor, nll: bool):
        shape = broadcast_shape(params.shape[:-1], x.shape[:-1], mask.shape[:-1])
        ctx.shapes = params.shape, raw.shape
        params = params.expand(*shape, lik.width)  # every part in the batch's shape
        parts, saved = [], {}
        if lik._has_cont:
            dims = lik.dims("cont")
            scale = F.softplus(raw) + MIN_SCALE
            z = (x[..., dims] - params[..., dims]).div_(scale)
            saved["cont"] = z, scale
            parts.append(torch.addcmul(-(scale.log() + HALF_LOG_2PI), z, z, value=-0.5))
        if lik._has_bin:
            dims = lik.dims("bin")
            logits = params[..., dims]
            target = x[..., dims].expand_as(logits)
            saved["bin"] = logits, target
            parts.append(-F.binary_cross_entropy_with_logits(logits, target, reduction="none"))
        if lik._has_cat:
            # log softmax of the observed level: sum_k x_k l_k - logsumexp(l) over each
            # group (x one-hot), the exponentials shifted by the group's largest logit
            logits = lik.level_logits(params)
            target = x[..., lik.dims("cat")].expand(*shape, -1)
            exp, total, top, summed = lik.group_exponentials(logits)
            saved["cat"] = exp, total, target, summed
            parts.append(lik.group_sums(target * logits) - total.log() - top)
        out = in_columns(lik, parts, (*shape, lik.n_columns))
        # a complete batch skips a kernel (a check that would sync a GPU)
        complete = mask.device.type == "cpu" and bool(mask.all())
        if not complete:
            out = torch.where(mask, out, torch.zeros((), dtype=out.dtype, device=out.device))
        ctx.lik, ctx.saved, ctx.complete = lik, saved, complete
        ctx.save_for_backward(mask, raw)
        ctx.cells = out.shape if nll else None
        return out.sum((-2, -1)).div_(-out.shape[-2]) if nll else out

    @staticmethod
    def backward(ctx, grad: Tensor):
        lik, saved = ctx.lik, ctx.saved
        mask, raw = ctx.saved_tensors
        params_shape, raw_shape = ctx.shapes
        if ctx.cells is not None:  # the gradient of -Σ cells / rows, in each cell
            grad = (grad / -ctx.cells[-2])[..., None, None].expand(ctx.cells)
        if not ctx.complete:
            grad = torch.where(mask, grad, torch.zeros((), dtype=grad.dtype, device=grad.device))
        d_params = grad.new_zeros((*grad.shape[:-1], lik.width))
        d_raw = None
        if "cont" in saved:
            z, scale = saved["cont"]
            g = grad[..., lik.cells("cont")]
            gz = g * z
            dims = lik.dims("cont")
            d_params[..., dims] = gz / scale
            # d/dσ = (z² - 1)/σ, and dσ/draw = sigmoid(raw)
            d_scale = (gz * z - g).sum_to_size(raw_shape)
            d_raw = d_scale.div_(scale).mul_(torch.sigmoid(raw))
        if "bin" in saved:
            logits, target = saved["bin"]
            g = grad[..., lik.cells("bin")]
            dims = lik.dims("bin")
            d_params[..., dims] = (target - torch.sigmoid(logits)).mul_(g)
        if "cat" in saved:
            exp, total, target, summed = saved["cat"]
            g = grad[..., lik.cells("cat")]
            # d/dl_k = g (x_k - softmax_k), the group's g and sum spread over its levels
            d_logits = (target - exp / (total @ summed.mT)).mul_(g @ summed.mT)
            if lik._never:  # held at NEVER_LOGIT: no gradient
                d_logits.masked_fill_(lik.cat_never_dims, 0.0)
            d_params[..., lik.dims("cat")] = d_logits
        return None, d_params.sum_to_size(params_shape), None, None, d_raw, None


def in_columns(lik: Likelihood, parts: list[Tensor], shape) -> Tensor:
    """The families' cells (continuous, binary, categorical: those present) as
    one (..., n, n_columns) tensor in column order: each written to its places."""
    if len(parts) == 1:
        return parts[0].expand(shape)
    out = parts[0].new_empty(shape)
    for part, family in zip(parts, lik._families, strict=True):
        out[..., lik.cells(family)] = part
    return out
