"""Capacity chosen on held-out rows: ``latent_dim="auto"`` and ``hidden_dims="auto"``.

A model too large for its table overfits it; one too small underfits. With
either parameter at "auto" (a VAE's defaults), fit holds out
``validation_fraction`` of the rows (:data:`SELECT_FRACTION` when that is 0),
fits each candidate on the others, each stopped early on the held-out rows'
loss, and keeps the one whose held-out log-likelihood per row
(``score_samples``: the importance-weighted bound, or the exact density, for a
VAE; the reconstruction likelihood for an autoencoder) is highest. The scores
are kept in ``capacity_scores_``; the sizes in ``latent_dim_`` and ``hidden_dims_``.

The candidates (:meth:`CapacitySelection._candidates`), chosen from the
training rows only:

- the latent size: for a complete numeric table in memory, the size of the
  linear Gaussian model with the best 5-fold cross-validated likelihood
  (:func:`linear_size`); else half the encoded width, at most 8;
- a linear network (``hidden_dims=()``). For a VAE on a complete numeric table
  it is fitted in closed form: with a linear decoder and Gaussian columns a VAE
  *is* probabilistic PCA (isotropic noise) or factor analysis (a noise per
  column) (Tipping & Bishop 1999), whose maximum-likelihood fit is known;
- there, the same linear decoder under a mixture-of-Gaussians prior fitted to
  the rows' codes (:func:`latent_mixture`): a mixture of Gaussians in the
  data space sharing the decoder's subspace, which captures clusters and skew
  that one Gaussian cannot;
- perceptrons of :data:`NONLINEAR_WIDTHS`; with the closed form they are
  wrapped around the linear model (affine skip connections) and trained from it.

So the chosen VAE is never worse on the held-out rows than the linear model that
cross-validation would pick, up to the noise of one split. Images take the
image networks (:data:`IMAGE_CAPACITY`): one candidate; so does a table with
fewer than two held-out rows (the linear network).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import KFold

from ..errors import AekitError
from .params import check_int, fit_seed

AUTO = "auto"
IMAGE_CAPACITY = (16, (32, 64))  # latent size, channels: the image networks
# hidden widths of the nonlinear candidates (the development half of
# benchmarks/unseen_tasks.py)
NONLINEAR_WIDTHS = ((64,),)
SELECT_FRACTION = 0.2  # rows held out to choose, when the estimator holds none out itself
CV_FOLDS = 5
# the least noise variance of a linear Gaussian model, in standardised units: columns
# that are exact linear functions of others (a unit converted) leave none
MIN_NOISE = 1e-6
# what fit chose, copied to the members of an ensemble
CAPACITY = ("latent_dim_", "hidden_dims_", "residual_", "mixture_")


def check_capacity(latent_dim, hidden_dims) -> None:
    """``latent_dim``: a positive int or "auto"; ``hidden_dims``: ints or "auto"."""
    if latent_dim != AUTO:
        check_int("latent_dim", latent_dim)
    if isinstance(hidden_dims, str) and hidden_dims == AUTO:
        return
    if isinstance(hidden_dims, (str, bytes)) or not hasattr(hidden_dims, "__iter__"):
        raise AekitError(
            f"hidden_dims must be a sequence of integers or 'auto'; got {hidden_dims!r}"
        )
    for w in hidden_dims:
        check_int("each of hidden_dims", w)


@dataclass(frozen=True)
class Candidate:
    """One network to try: its sizes, and for a closed-form linear fit the kind
    of noise ("isotropic": probabilistic PCA; "diagonal": factor analysis)."""

    latent_dim: int
    hidden_dims: tuple
    closed_form: str | None = None
    residual: bool = False  # perceptrons around the closed-form linear model, trained from it
    mixture: bool = False  # a mixture-of-Gaussians prior fitted to the linear model's codes

    @property
    def label(self) -> str:
        kind = {"isotropic": "PPCA", "diagonal": "FA", None: "linear"}[self.closed_form]
        if self.mixture:
            return f"{kind} + mixture prior"
        if not self.hidden_dims:
            return kind
        return f"{kind} + {self.hidden_dims}" if self.residual else f"{self.hidden_dims}"


def ppca_scores(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Mean log-likelihood of the ``test`` rows under probabilistic PCA fitted to
    ``train``, for every size k = 1 .. K (K below the rank of ``train``): one
    eigendecomposition for all sizes, the same model as scikit-learn's ``PCA(k)``
    (variances with n - 1)."""
    mean = train.mean(0)
    eigenvalues, vectors = np.linalg.eigh(np.cov(train, rowvar=False).reshape(len(mean), -1))
    eigenvalues, vectors = np.maximum(eigenvalues[::-1], 0.0), vectors[:, ::-1]
    d = len(mean)
    y2 = ((test - mean) @ vectors) ** 2  # squared coordinates in the eigenbasis
    rank = int((eigenvalues > eigenvalues[0] * 1e-10).sum())
    ks = np.arange(1, max(2, min(d, rank)))
    tail = np.cumsum(eigenvalues[::-1])[::-1]  # Σ_{i >= j} λ_i
    # the noise: the mean of the discarded eigenvalues, of the min(n, d) an SVD finds
    sigma2 = np.maximum(tail[ks] / (min(len(train), d) - ks), MIN_NOISE)
    log_lead = np.cumsum(np.log(eigenvalues[: ks[-1]]))[ks - 1]
    fit_lead = np.cumsum((y2[:, : ks[-1]] / eigenvalues[: ks[-1]]).mean(0))[ks - 1]
    rest = np.cumsum(y2.mean(0)[::-1])[::-1][ks]  # mean Σ_{i > k} y_i²
    return -0.5 * (
        d * np.log(2 * np.pi) + log_lead + (d - ks) * np.log(sigma2) + fit_lead + rest / sigma2
    )


def linear_size(x: np.ndarray, seed: int) -> tuple[int, str]:
    """The latent size and noise kind of the linear Gaussian model with the best
    5-fold cross-validated log-likelihood on complete rows ``x``: the size by
    probabilistic PCA (every size at the cost of one eigendecomposition a fold),
    then PPCA against factor analysis at that size."""
    n = len(x)
    folds = list(KFold(min(CV_FOLDS, n), shuffle=True, random_state=seed % 2**32).split(x))
    per_fold = [ppca_scores(x[a], x[b]) for a, b in folds]
    sizes = min(len(s) for s in per_fold)
    best = int(np.argmax(np.mean([s[:sizes] for s in per_fold], axis=0))) + 1

    ppca = float(np.mean([s[best - 1] for s in per_fold]))  # PCA(best), cross-validated
    fa = FactorAnalysis(n_components=best, random_state=0)
    if np.mean([clone(fa).fit(x[a]).score(x[b]) for a, b in folds]) > ppca:
        return best, "diagonal"
    return best, "isotropic"


def linear_gaussian(x: np.ndarray, latent_dim: int, noise: str):
    """Maximum-likelihood ``x ≈ W z + μ + ε``, ``z ~ N(0, I)``, ``ε ~ N(0, diag(ψ))``:
    (W (d, L), μ (d,), ψ (d,)) by PCA (ψ equal) or factor analysis."""
    if noise == "isotropic":
        pca = PCA(n_components=latent_dim).fit(x)
        noise_variance = max(pca.noise_variance_, MIN_NOISE)
        gain = np.sqrt(np.maximum(pca.explained_variance_ - noise_variance, 0.0))
        psi = np.full(x.shape[1], noise_variance)
        return pca.components_.T * gain, pca.mean_, psi
    fa = FactorAnalysis(n_components=latent_dim, random_state=0).fit(x)
    return fa.components_.T, fa.mean_, np.maximum(fa.noise_variance_, MIN_NOISE)


def latent_mixture(codes: np.ndarray, posterior_var: np.ndarray, most: int):
    """A Gaussian mixture for the prior of a linear Gaussian model's codes: fitted to
    the posterior means ``codes`` (1 to ``most`` components, diagonal or full
    covariances, by BIC), each component widened by the posterior variance (the
    spread of a code around its mean). Returns (weights, means, covariances)."""
    fits = [
        GaussianMixture(k, covariance_type=kind, reg_covar=1e-4, random_state=0).fit(codes)
        for kind in ("diag", "full")
        for k in range(1, min(most, len(codes) // 2) + 1)
    ]
    gmm = min(fits, key=lambda g: g.bic(codes))
    cov = gmm.covariances_
    cov = np.stack([np.diag(c) for c in cov]) if gmm.covariance_type == "diag" else cov
    return gmm.weights_, gmm.means_, cov + np.diag(posterior_var)


class CapacitySelection:
    """Mixed into the estimators: resolves "auto" sizes at fit time into the fitted
    ``latent_dim_`` and ``hidden_dims_``; the selection's scores are
    ``capacity_scores_`` (a DataFrame, one row per candidate)."""

    def _auto(self) -> bool:
        return self.latent_dim == AUTO or (
            isinstance(self.hidden_dims, str) and self.hidden_dims == AUTO
        )

    def _capacity(self) -> tuple[int, tuple]:
        """(latent_dim, hidden_dims): the parameters, or what fit chose for "auto"."""
        if self._auto():
            return self.latent_dim_, tuple(self.hidden_dims_)
        return self.latent_dim, tuple(self.hidden_dims)

    def _closed_form(self) -> bool:
        """Whether a linear candidate on a complete numeric table is fitted in closed form."""
        return False

    def _candidates(self, table, encoder, seed: int) -> list[Candidate]:
        """A linear network and :data:`NONLINEAR_WIDTHS` (or the given widths), at
        ``latent_dim`` or, for "auto", the size that cross-validated linear Gaussian
        models choose on a complete numeric table in memory, else half the encoded
        width (at most 8). Images: the image networks (:data:`IMAGE_CAPACITY`)."""
        auto_latent = self.latent_dim == AUTO
        auto_hidden = isinstance(self.hidden_dims, str)
        if self._conv_shape() is not None:
            latent, hidden = IMAGE_CAPACITY
            return [
                Candidate(
                    latent if auto_latent else self.latent_dim,
                    hidden if auto_hidden else tuple(self.hidden_dims),
                )
            ]
        size, noise = max(1, min(8, encoder.width // 2)), None
        if table.in_memory and len(encoder.continuous) == encoder.width > 1:
            with table.rows(encoder, "cpu") as rows:
                x, complete = rows.x.double().numpy(), bool(rows.mask.all())
            if complete and len(x) > 2 * CV_FOLDS:
                size, noise = linear_size(x, seed)
        latent = size if auto_latent else self.latent_dim
        if not auto_hidden:
            return [Candidate(latent, tuple(self.hidden_dims))]
        closed = noise if self._closed_form() else None
        # with a closed form, the nonlinear networks start from the linear model
        mixture = [Candidate(latent, (), closed, mixture=True)] if closed else []
        return [
            Candidate(latent, (), closed),
            *mixture,
            *(Candidate(latent, w, closed, closed is not None) for w in NONLINEAR_WIDTHS),
        ]

    def _select_capacity(self, table, encoder, *, checkpoint, context, plain: bool):
        """Choose the sizes; return the fitted winner when ``plain`` (a fit with no
        monitor, resample or copies: it can be adopted as it is), else None."""
        # one seed for every candidate (the same held-out rows), rank 0's under torchrun
        seed = fit_seed(self.random_state, self.device)
        share = self.validation_fraction or SELECT_FRACTION
        with table.sharing():  # a file's: its split drawn and its rows encoded once for all
            return self._fit_candidates(table, encoder, seed, share, checkpoint, context, plain)

    def _fit_candidates(self, table, encoder, seed, share, checkpoint, context, plain: bool):
        """:meth:`_select_capacity` once the seed and validation share are set."""
        held, rest = table.split(share, fit_seed(seed, self.device))
        candidates = self._candidates(rest, encoder, seed)  # chosen on the training rows
        if len(held) < 2:  # too few rows to compare models: the simplest, the linear one
            candidates = candidates[:1]
        if len(candidates) == 1 and not plain:
            self._resolve(candidates[0])
            return None
        rows, fitted = [], []
        for i, c in enumerate(candidates):
            start = time.perf_counter()
            est = clone(self).set_params(
                latent_dim=c.latent_dim,
                hidden_dims=c.hidden_dims,
                random_state=seed,
                validation_fraction=share,
            )
            est._chosen = c  # read (once) by its fit: see _take_candidate
            est.fit_with(
                table,
                checkpoint=None if checkpoint is None else checkpoint.below(f"candidate{i}"),
                context=context,
            )
            score = float(np.mean(est.score_samples(held))) if len(candidates) > 1 else np.nan
            fitted.append(est)
            rows.append(
                {
                    "candidate": c.label,
                    "latent_dim": c.latent_dim,
                    "hidden_dims": c.hidden_dims,
                    "held_out_log_likelihood": score,
                    "seconds": time.perf_counter() - start,
                }
            )
        scores = pd.DataFrame(rows)
        best = int(np.nanargmax(scores["held_out_log_likelihood"])) if len(rows) > 1 else 0
        self._resolve(candidates[best])
        self.capacity_scores_ = scores.assign(chosen=np.arange(len(rows)) == best)
        if not plain:
            return None
        winner = fitted[best]
        if candidates[best].closed_form and not candidates[best].residual:
            # the linear model in closed form: refitted on every row at no cost
            winner = clone(winner).set_params(validation_fraction=0.0)
            winner._chosen = candidates[best]
            winner.fit_with(table, context=context)
        return winner

    def _take_candidate(self) -> None:
        """Before a fit with given sizes: the closed-form settings of the candidate
        it fits for a choice (``_chosen``, set by :meth:`_select_capacity`), or none;
        nothing is left from an earlier "auto" fit of this estimator."""
        chosen = self.__dict__.pop("_chosen", None)
        for name in ("latent_dim_", "hidden_dims_", "capacity_scores_"):
            self.__dict__.pop(name, None)
        self._set_form(chosen or Candidate(0, ()))  # none: no closed form, no extras

    def _resolve(self, chosen: Candidate) -> None:
        self.latent_dim_, self.hidden_dims_ = chosen.latent_dim, tuple(chosen.hidden_dims)
        self._set_form(chosen)

    def _set_form(self, chosen: Candidate) -> None:
        """How the networks of ``chosen`` are built and fitted (read by the estimator)."""
        self.closed_form_, self.residual_ = chosen.closed_form, chosen.residual
        self.mixture_ = chosen.mixture

    def _adopt_fit(self, winner) -> None:
        """Take the fitted state of ``winner`` (a candidate clone, fitted with the
        chosen sizes as its parameters) as this estimator's."""
        for name, value in vars(winner).items():
            if (name.endswith("_") and not name.startswith("__")) or name == "_pandas_out":
                setattr(self, name, value)
