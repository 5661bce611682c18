"""Multiple-imputation draws by Gibbs sampling over a network's one-column
conditionals, recalibrated by least squares.

Both the autoencoder and the VAE draw their copies here (see
``AEModule.draw_imputations`` and ``aekit.Imputer.multiple_imputations``):
each sweep visits the columns with missing cells in a random order, hides
column j in every row, asks the network for ``p(x_j | x_-j)`` and draws the
missing cells of j anew. A continuous column's draw is Gaussian around the
network's prediction recalibrated by :func:`calibrated` (with fewer than two
observed cells per coefficient of that fit, a few new rows say, the network's
own Gaussian); a binary or categorical one is a level sampled from the
network's probabilities; a unit column (a pixel) is left as the state holds it.
With predictive mean matching (``donors``), a continuous column's missing
cells are observed values of the column instead (:func:`matched`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.distributions import Bernoulli, Categorical, Chi2, Normal

from .likelihoods import NEVER_LOGIT

RIDGE = 1e-8  # of a calibration's normal equations, relative to their mean diagonal


def calibrated(predicted, others, target, observed, *, draw=False) -> tuple[Tensor, Tensor]:
    """A continuous column's conditional mean and noise scale for a Gibbs draw.

    An early-stopped network's prediction of a hidden cell is shrunk towards
    the column's mean and blends the effects of correlated columns (on
    ``benchmarks/multiple_imputation.py``'s data, its conditional mean of y
    gave x1 a slope of 0.70-0.83 where the truth is 1), so draws around it bias
    the coefficients an analysis estimates. The mean is therefore a least
    squares fit of the observed ``target`` cells on ``[1, predicted, others]``
    (the network's prediction and the row's other cells): exact where the
    relation is linear, the network's where it is not. It is fitted on every
    row whose ``target`` is observed; the scale is its root mean squared
    error over its residual degrees of freedom.

    ``draw=True`` draws the fit's parameters from their posterior instead of
    taking the estimates, as chained equations' Bayesian linear regression
    does (van Buuren, *Flexible Imputation of Missing Data*, 2nd ed.,
    algorithm 3.1): ``sigma^2 = RSS / chi^2(dof)``, coefficients
    ``~ N(beta_hat, sigma^2 (A'A)^-1)``; the draws use torch's global
    generator. That carries the fit's own uncertainty into the copies when
    the network was not refitted for each (a fitted VAE's).

    Shapes: predicted, target, observed (bool) (n,); others (n, q).
    Returns (mean (n,), scale ()) in the dtype of ``predicted``.
    """
    phi = _design(predicted, others)
    fit = _LeastSquares(phi[observed], target.double()[observed])
    coef, variance = fit.drawn() if draw else (fit.coef, fit.rss / fit.dof)
    mean = (phi @ coef).squeeze(1)
    return mean.to(predicted.dtype), variance.sqrt().to(predicted.dtype)


def matched(predicted, others, target, observed, donors: int) -> Tensor:
    """Predictive mean matching: a value for each unobserved cell of a
    continuous column, the observed ``target`` of one of the ``donors`` observed
    cells whose predictions are nearest its own, chosen at random.

    The predictions are :func:`calibrated`'s least-squares fit on the
    network's prediction and the row's other cells: the observed cells' by
    the fit's estimates, the unobserved cells' by coefficients drawn from
    their posterior (type-1 matching, the default of R's ``mice``: van Buuren,
    *Flexible Imputation of Missing Data*, 2nd ed., section 3.4). The draws
    are observed values, so they keep the column's bounds, steps and skew.

    Shapes: predicted, target, observed (bool) (n,); others (n, q).
    Returns (number of unobserved cells,) in the dtype of ``target``.
    """
    phi = _design(predicted, others)
    fit = _LeastSquares(phi[observed], target.double()[observed])
    coef, _ = fit.drawn()
    fitted = (phi[observed] @ fit.coef).squeeze(1)
    wanted = (phi[~observed] @ coef).squeeze(1)
    return target[observed][nearest(fitted, wanted, donors)]


def nearest(fitted: Tensor, wanted: Tensor, donors: int) -> Tensor:
    """For each of ``wanted`` (r,), the position in ``fitted`` (n,) of one of
    its ``donors`` nearest values, chosen at random (torch's global generator);
    all of ``fitted`` when it holds fewer. Sorts once: O((n + r) log n)."""
    n = len(fitted)
    k = min(donors, n)
    order = torch.argsort(fitted)
    ranked = fitted[order]
    # the k nearest of a value lie among the k ranked on each side of its place
    window = torch.searchsorted(ranked, wanted)[:, None] + torch.arange(-k, k, device=fitted.device)
    inside = (window >= 0) & (window < n)
    gap = (ranked[window.clamp(0, n - 1)] - wanted[:, None]).abs().masked_fill(~inside, torch.inf)
    candidates = window.gather(1, gap.topk(k, dim=1, largest=False).indices)
    pick = torch.randint(k, (len(wanted), 1), device=fitted.device)
    return order[candidates.gather(1, pick).squeeze(1)]


def _design(predicted: Tensor, others: Tensor) -> Tensor:
    """The calibration's regressors ``[1, predicted, others]``, float64."""
    return torch.cat([torch.ones_like(predicted)[:, None], predicted[:, None], others], 1).double()


class _LeastSquares:
    """The fit of ``known`` (m,) on the rows ``seen`` (m, c) of a design."""

    def __init__(self, seen: Tensor, known: Tensor):
        gram = seen.T @ seen  # with a ridge: one-hot groups are collinear
        gram.diagonal().add_(RIDGE * (gram.diagonal().mean() + 1.0))
        self.gram = gram
        self.coef = torch.linalg.solve(gram, seen.T @ known[:, None])
        self.rss = (known - (seen @ self.coef).squeeze(1)).pow(2).sum()
        self.dof = max(len(known) - seen.shape[1], 1.0)

    def drawn(self) -> tuple[Tensor, Tensor]:
        """(coefficients, noise variance) drawn from their posterior (torch's
        global generator): ``sigma^2 = RSS / chi^2(dof)``, coefficients
        ``~ N(beta_hat, sigma^2 (A'A)^-1)``."""
        dof = torch.tensor(self.dof, dtype=torch.float64, device=self.rss.device)
        variance = self.rss / Chi2(dof).sample()
        root_inverse = torch.linalg.cholesky(
            torch.cholesky_inverse(torch.linalg.cholesky(self.gram))
        )
        return self.coef + variance.sqrt() * root_inverse @ torch.randn_like(self.coef), variance


def gibbs_sweeps(
    module, state: Tensor, x: Tensor, mask: Tensor, fill: Tensor, sweeps: int, donors: int = 0
) -> Tensor:
    """``state`` (n, width), the rows with their missing cells at a first
    guess, after ``sweeps`` Gibbs sweeps over ``module``'s one-column
    conditionals (modified in place and returned).

    ``module`` gives ``encode(x, mask)``, ``decode(z)`` and ``likelihood``;
    column j is hidden by setting its cells to ``fill`` and its mask off, and
    its conditional is the decoder's output at the code of the row so hidden.
    ``x`` and ``mask`` are the encoded rows and their observed cells; a
    continuous column's calibration is drawn from its posterior
    (:func:`calibrated` with ``draw=True``). ``donors`` > 0: a continuous
    column's missing cells are observed values instead, by predictive mean
    matching with that many donors (:func:`matched`; with too few observed
    cells for the calibration, matched on the network's own predictions).
    """
    lik = module.likelihood
    drawable = ~mask.all(0)
    drawable[lik.unit_cols] = False
    columns = torch.nonzero(drawable).flatten().tolist()
    pairs = zip(lik.cont_cols.tolist(), lik.cont_dims.tolist(), strict=True)
    gaussian = dict(pairs)  # continuous column -> its encoded dimension
    for _ in range(sweeps):
        for j in (columns[i] for i in torch.randperm(len(columns)).tolist()):
            dims = lik.column_of_dim == j
            hidden = mask.clone()
            hidden[:, j] = False
            params = module.decode(module.encode(torch.where(dims, fill, state), hidden))
            missing = ~mask[:, j]
            # a calibration needs two observed cells per coefficient
            fits = int(mask[:, j].sum()) >= 2 * (int((~dims).sum()) + 2)
            d = gaussian.get(j)
            if d is not None and fits and donors:
                values = matched(params[:, d], state[:, ~dims], x[:, d], ~missing, donors)
                state[missing, d] = values
            elif d is not None and fits:
                mean, scale = calibrated(
                    params[:, d], state[:, ~dims], x[:, d], ~missing, draw=True
                )
                state[missing, d] = (mean + scale * torch.randn_like(mean))[missing]
            elif d is not None and donors and bool(mask[:, j].any()):
                donor = nearest(params[~missing, d], params[missing, d], donors)
                state[missing, d] = x[~missing, d][donor]
            else:
                rows, cols = missing.nonzero(), dims.nonzero().T  # (r, 1), (1, width of j)
                state[rows, cols] = _drawn(lik, params[missing], j, dims)
    return state


def _drawn(lik, params: Tensor, j: int, dims: Tensor) -> Tensor:
    """A draw of column j (its encoded dimensions ``dims``, bool (width,)) from
    the network's outputs ``params`` (n, width), shape (n, its width): a level
    of a categorical column (one-hot), 0/1 of a binary one, a Normal value of a
    continuous one. As ``lik.sample`` draws it, without drawing the others (a
    column of a thousand levels drawn at every visit of every column was most
    of a sweep's time)."""
    values = params[:, dims]
    if j in lik.continuous[1]:
        scale = lik.scale[lik.continuous[1].index(j)]
        return Normal(values, scale, validate_args=False).sample()
    if bool((lik.bin_cols == j).any()):
        return Bernoulli(logits=values, validate_args=False).sample()
    group = int((lik.cat_cols == j).nonzero())
    never = lik.cat_never[group, : values.shape[1]]
    logits = values.masked_fill(never, NEVER_LOGIT) if bool(never.any()) else values
    level = Categorical(logits=logits, validate_args=False).sample()
    return F.one_hot(level, values.shape[1]).to(values.dtype)
