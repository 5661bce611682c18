"""The variational autoencoder (Kingma & Welling 2013) and the VAE with a
Student's t prior (Abiri & Ohlsson 2020).

Inference model ``q_φ(z|x)``, generative model ``p_θ(x, z) = p_θ(x|z) p(z)``;
training maximises the evidence lower bound::

    ELBO = E_q[log p_θ(x|z)] - KL(q_φ(z|x) || p(z))

with reparameterised samples (K per row). The KL term is the closed form where
``torch.distributions`` has one (Gaussian posterior, N(0, I) prior), otherwise a
Monte Carlo estimate ``mean_k [log q(z_k|x) - log p(z_k)]`` (Student-t).

The density estimate is the importance-weighted bound (Burda et al. 2016)::

    log p(x) ≥ log (1/k) Σ_j p_θ(x, z_j) / q_φ(z_j|x),   z_j ~ q_φ(z|x)

which is the ELBO at k = 1 and tightens as k grows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import (
    Categorical,
    Distribution,
    Independent,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
    StudentT,
    kl_divergence,
)

from .gibbs import gibbs_sweeps
from .likelihoods import MIN_SCALE as SCALE_FLOOR
from .likelihoods import Likelihood
from .missingness import SelfMasking
from .networks import EncoderDecoder
from .shared_draws import shared_sample

MIN_SCALE = 1e-4  # floor on posterior scales
UNUSED = -1e4  # the logit of an unused component of a mixture prior (exp(-1e4) = 0)


def monte_carlo_kl(q: Distribution, p: Distribution, z: Tensor) -> Tensor:
    """KL(q || p) ≈ mean_k [log q(z_k) - log p(z_k)] over samples z of shape (K, n, L)."""
    return (q.log_prob(z) - p.log_prob(z)).mean(0)


class VAEModule(EncoderDecoder):
    """VAE with Gaussian posterior ``Π N(z_i | μ_i(x), σ_i²(x))`` and prior N(0, I).

    Parameters
    ----------
    likelihood, hidden_dims, latent_dim
        As in :class:`~aekit.models.AEModule`.
    n_samples : int
        K, posterior samples per row in the training objective.
    objective : {"elbo", "iwae"}
        "elbo" averages the ELBO over K samples; "iwae" trains on the
        importance-weighted bound with K samples (MIWAE, Mattei & Frellsen 2019).
    missingness : SelfMasking, optional
        A model of the missingness itself (missing not at random).
    image_shape : (C, H, W), optional
        Convolutional encoder and decoder for image rows (see ``AEModule``).
    skip : bool
        Perceptrons with an affine skip connection: a nonlinear network around a
        linear one (see :meth:`set_linear_gaussian`).
    activation, upsampling : str
        As in ``AEModule``.
    members : int, optional
        An ensemble of that many independent VAEs of perceptrons, trained as
        one batched network (see ``aekit.models.networks``), without a
        missingness model; the likelihood must be built with the same
        ``members``. Posteriors then have batch shape (members, n), draws
        (k, members, n, ·), and the loss one value per member, (members,).
    """

    n_posterior_params = 2  # μ and σ per latent dimension

    def __init__(
        self,
        likelihood: Likelihood,
        hidden_dims: Sequence[int],
        latent_dim: int,
        n_samples: int = 1,
        objective: str = "elbo",
        missingness: SelfMasking | None = None,
        image_shape: Sequence[int] | None = None,
        skip: bool = False,
        activation: str = "elu",
        upsampling: str = "transposed",
        members: int | None = None,
    ):
        if members is not None and missingness is not None:
            raise ValueError("a missingness model has no batched-ensemble form")
        code = latent_dim * self.n_posterior_params  # the posterior's parameters
        super().__init__(
            likelihood,
            likelihood.width,
            hidden_dims,
            code,
            latent_dim,
            members,
            image_shape=image_shape,
            skip=skip,
            activation=activation,
            upsampling=upsampling,
        )
        self.latent_dim = latent_dim
        self.n_samples, self.objective = n_samples, objective
        self.missingness = missingness

    # -- the terms a variant may override ---------------------------------
    def posterior(self, x: Tensor) -> Distribution:
        """q_φ(z|x), batch shape (n,), event shape (latent_dim,)."""
        loc, raw_scale = _full(self.encoder(x), x).chunk(2, dim=-1)
        return Independent(Normal(loc, F.softplus(raw_scale) + MIN_SCALE), 1)

    def prior(self, q: Distribution) -> Distribution:
        """p(z) = N(0, I), shaped like q."""
        loc = torch.zeros_like(q.mean)
        return Independent(Normal(loc, torch.ones_like(loc)), 1)

    def generative_prior(self, n: int) -> Distribution:
        """p(z) for drawing new rows, batch shape (n,)."""
        loc = next(self.decoder.parameters()).new_zeros(n, self.latent_dim)
        return Independent(Normal(loc, torch.ones_like(loc)), 1)

    def kl(self, q: Distribution, p: Distribution, z: Tensor) -> Tensor:
        """KL(q(z|x) || p(z)) per row, (n,): closed form if known, else Monte Carlo."""
        try:
            return kl_divergence(q, p)
        except NotImplementedError:
            return monte_carlo_kl(q, p, z)

    def set_linear_gaussian(self, weight: Tensor, mean: Tensor, noise_var: Tensor) -> None:
        """Become the linear Gaussian model ``x = W z + μ + ε``, ``ε ~ N(0, diag(ψ))``
        (probabilistic PCA or factor analysis) with its exact posterior.

        Needs a VAE whose columns are all continuous, without hidden layers or
        with skip connections: these then hold the linear model, and the last
        layers of the perceptrons are zeroed, so that training starts from it.
        ``W`` is rotated so that ``Wᵀ Ψ⁻¹ W`` is diagonal (the model is unchanged):
        the posterior ``N(M⁻¹ Wᵀ Ψ⁻¹ (x - μ), M⁻¹)``, ``M = I + Wᵀ Ψ⁻¹ W``, then
        has independent coordinates, which the encoder represents exactly, so the
        ELBO and the importance-weighted bound equal ``log p(x)``.
        """
        encoder, decoder = self.encoder, self.decoder
        linear = encoder.skip is None and len(encoder.layers) == len(decoder.layers) == 1
        if not (linear or encoder.skip is not None) or self.likelihood.width != len(mean):
            raise ValueError("a linear Gaussian model needs linear maps and numbers only")
        if encoder.skip is not None:
            with torch.no_grad():
                for net in (encoder, decoder):
                    net.layers[-1].weight.zero_()
                    net.layers[-1].bias.zero_()
        encoder, decoder = (n.layers[0] if n.skip is None else n.skip for n in (encoder, decoder))
        w, mu, psi = (t.to(torch.float64) for t in (weight, mean, noise_var))
        psi = psi.clamp_min(1e-6)
        eigenvalues, rotation = torch.linalg.eigh(w.T @ (w / psi[:, None]))
        w = w @ rotation
        post_var = 1.0 / (1.0 + eigenvalues.clamp_min(0))
        gain = post_var[:, None] * (w.T / psi)  # (L, d): the posterior mean's map
        with torch.no_grad():
            encoder.weight.copy_(torch.cat([gain, torch.zeros_like(gain)]))
            encoder.bias.copy_(
                torch.cat([-gain @ mu, _softplus_inverse(post_var.sqrt() - MIN_SCALE)])
            )
            decoder.weight.copy_(w)
            decoder.bias.copy_(mu)
            self.likelihood.raw_scale.copy_(_softplus_inverse(psi.sqrt() - SCALE_FLOOR))

    # -- shared by every variant -------------------------------------------
    def encode(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Posterior location, (n, latent_dim): the latent code of a row."""
        return self.posterior(x).base_dist.loc

    def observation_log_prob(self, params: Tensor, x: Tensor, mask: Tensor):
        """log p_θ(x_obs | z) [+ log p(m | x) with a missingness model], (k, n);
        and the expected completed rows under each draw, (k, n, width)."""
        log_px = self.likelihood.log_prob(params, x, mask).sum(-1)
        if self.missingness is None:
            return log_px, None
        log_pm, filled = self.missingness(self.likelihood, params, x, mask)
        return log_px + log_pm, filled

    def elbo_terms(self, x: Tensor, mask: Tensor, k: int = 1) -> dict[str, Tensor]:
        """The two ELBO terms per row, each of shape (n,), from k reparameterised samples.

        ``reconstruction`` = mean_k log p_θ(x | z_k) on observed cells (plus the
        missingness term when one is modelled); ``kl`` = KL(q_φ(z|x) || p(z)).
        """
        q = self.posterior(x)
        z = q.rsample((k,))  # (k, n, latent_dim)
        p = self.prior(q)
        log_px, _ = self.observation_log_prob(self.decode(z), x, mask)  # (k, n)
        return {"reconstruction": log_px.mean(0), "kl": self.kl(q, p, z)}

    def importance_sample(
        self, x: Tensor, mask: Tensor, k: int, *, reparameterize=False, shared=None
    ):
        """k draws z_j ~ q(z|x) with their log weights and decoded rows; with a
        torch.Generator ``shared``, every row's from the same standard draws
        (:func:`~aekit.models.shared_draws.shared_sample`).

        Returns
        -------
        log_w : Tensor (k, n)
            log p_θ(x_obs, z_j) - log q_φ(z_j|x) (with log p(m|x) when modelled).
        completed : Tensor (k, n, width)
            Expected row under each draw (the drawn missing values when a
            missingness model is used).
        params : Tensor (k, n, width)
            Decoder outputs.
        """
        q = self.posterior(x)
        if shared is not None:
            z = shared_sample(q, k, shared)
        else:
            z = q.rsample((k,)) if reparameterize else q.sample((k,))
        p = self.prior(q)
        params = self.decode(z)
        log_obs, filled = self.observation_log_prob(params, x, mask)
        log_w = log_obs + p.log_prob(z) - q.log_prob(z)
        completed = self.likelihood.mean(params) if filled is None else filled
        return log_w, completed, params

    def loss(self, x: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """Negative ELBO (or negative IWAE bound) averaged over the batch, with its
        terms; one per member for an ensemble, (members,)."""
        if self.objective == "iwae":
            log_w, _, _ = self.importance_sample(x, mask, self.n_samples, reparameterize=True)
            # IWAE = log (1/K) Σ_k p(x, z_k) / q(z_k|x)
            bound = torch.logsumexp(log_w, dim=0) - math.log(self.n_samples)
            return {"loss": -bound.mean(-1)}
        terms = self.elbo_terms(x, mask, self.n_samples)
        # ELBO = E_q[log p_θ(x|z)] - KL(q_φ(z|x) || p(z))
        elbo = terms["reconstruction"] - terms["kl"]
        return {
            "loss": -elbo.mean(-1),
            "reconstruction": -terms["reconstruction"].mean(-1),
            "kl": terms["kl"].mean(-1),
        }

    def log_weights(self, x: Tensor, mask: Tensor, k: int, shared=None) -> Tensor:
        """log p_θ(x, z_j) - log q_φ(z_j|x) for k draws z_j ~ q, shape (k, n)."""
        return self.importance_sample(x, mask, k, shared=shared)[0]

    def log_likelihood(
        self, x: Tensor, mask: Tensor, k: int = 100, chunk: int = 64, shared=None
    ) -> Tensor:
        """Importance-weighted estimate of log p(x), (n,), from k samples in chunks
        (with ``shared``, a torch.Generator, from draws every row shares)."""
        log_w = torch.cat(
            [self.log_weights(x, mask, min(chunk, k - s), shared) for s in range(0, k, chunk)]
        )
        # log (1/k) Σ_j w_j
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    def impute(self, x: Tensor, mask: Tensor, k: int = 100) -> Tensor:
        """Conditional mean of the missing cells, self-normalised importance sampling.

        ``E[x_mis | x_obs] ≈ Σ_j w̃_j E[x_mis | z_j]``, ``w̃ = softmax(log w)``; shape (n, width).
        """
        log_w, completed, _ = self.importance_sample(x, mask, k)
        weights = torch.softmax(log_w, dim=0).unsqueeze(-1)  # (k, n, 1)
        mean = (weights * completed).sum(0)
        return torch.where(self.likelihood.expand_mask(mask), x, mean)

    def draw_imputations(self, x: Tensor, mask: Tensor, m: int, k: int = 100) -> Tensor:
        """m draws from p(x_mis | x_obs) by sampling-importance-resampling, (m, n, width).

        Each draw picks z_j with probability w̃_j, then samples x_mis ~ p_θ(x_mis | z_j)
        (categories are sampled, not argmax).
        """
        log_w, completed, params = self.importance_sample(x, mask, k)
        n = x.shape[0]
        pick = Categorical(logits=log_w.T).sample((m,))  # (m, n)
        rows = torch.arange(n, device=x.device)
        draws = self.likelihood.sample(params[pick, rows])  # (m, n, width)
        if self.missingness is not None:  # the missing values drawn inside the weights
            dims = self.likelihood.cont_dims
            draws[..., dims] = completed[pick, rows][..., dims]
        return torch.where(self.likelihood.expand_mask(mask), x, draws)

    def redraw(
        self, state: Tensor, x: Tensor, mask: Tensor, fill: Tensor, sweeps: int, donors: int = 0
    ) -> Tensor:
        """A copy drawn by :meth:`draw_imputations` (``state``, (n, width)) after
        ``sweeps`` Gibbs sweeps over this VAE's one-column conditionals
        (:func:`~aekit.models.gibbs.gibbs_sweeps`; column j's conditional is
        the decoder at the posterior mean of the row with j hidden), each
        continuous column's recalibrated with its parameters drawn from their
        posterior (``draw=True``), since this network was fitted once for all
        the copies. In ``benchmarks/multiple_imputation.py`` the VAE's own
        draws shrink the coefficient of x1 (truth 1) to 0.81-0.85; after the
        sweeps its bias is +0.005 (MCAR) and -0.000 (MAR). With a
        missingness model the copy is returned as drawn: the recalibration
        assumes the cells are missing at random. ``donors`` > 0: a continuous
        column's cells are observed values, by predictive mean matching.
        """
        if self.missingness is not None:
            return state
        return gibbs_sweeps(self, state, x, mask, fill, sweeps, donors)

    def sample(self, n: int) -> Tensor:
        """Draw n new encoded rows: z ~ p(z), x ~ p_θ(x|z), shape (n, width)."""
        z = self.generative_prior(n).sample()
        return self.likelihood.sample(self.decode(z))


class StudentTVAEModule(VAEModule):
    """t-VAE (Abiri & Ohlsson 2020): Student-t posterior and Student-t prior.

    The encoder also emits the degrees of freedom ``ν = softplus(·) + 3`` per
    latent dimension; the prior ``p(z) = Π t_ν(z_i | 0, 1)`` shares them. No
    closed-form KL exists, so :meth:`kl` falls back to Monte Carlo. For drawing
    new rows the prior uses ``prior_df``, the mean ν over the training data.
    """

    n_posterior_params = 3  # μ, σ and ν per latent dimension
    MIN_DF = 3.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_buffer("prior_df", torch.full((self.latent_dim,), 10.0))

    def posterior(self, x: Tensor) -> Distribution:
        loc, raw_scale, raw_df = _full(self.encoder(x), x).chunk(3, dim=-1)
        df = F.softplus(raw_df) + self.MIN_DF
        return Independent(StudentT(df, loc, F.softplus(raw_scale) + MIN_SCALE), 1)

    def prior(self, q: Distribution) -> Distribution:
        df = q.base_dist.df
        return Independent(StudentT(df, torch.zeros_like(df), torch.ones_like(df)), 1)

    def generative_prior(self, n: int) -> Distribution:
        df = self.prior_df.expand(n, self.latent_dim)
        return Independent(StudentT(df, torch.zeros_like(df), torch.ones_like(df)), 1)


class MixturePriorVAEModule(VAEModule):
    """VAE whose prior is a mixture of Gaussians, ``p(z) = Σ_c π_c N(z | m_c, S_c)``
    (Dilokthanakul et al. 2016), with room for :data:`COMPONENTS` components
    (unused ones weigh nothing). With a linear decoder and Gaussian columns it
    is a mixture of Gaussians in the data space whose components share the
    decoder's subspace, ``p(x) = Σ_c π_c N(x | W m_c + b, W S_c Wᵀ + Ψ)``, and
    :meth:`log_likelihood` is that exact density (on the observed cells);
    otherwise the importance-weighted bound. The KL term is Monte Carlo.
    """

    COMPONENTS = 5

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        c, d = self.COMPONENTS, self.latent_dim
        self.prior_logits = nn.Parameter(torch.zeros(c))
        self.prior_loc = nn.Parameter(torch.zeros(c, d))
        self.prior_tril = nn.Parameter(torch.eye(d).repeat(c, 1, 1))

    def _mixture(self, batch: tuple) -> Distribution:
        c, d = self.COMPONENTS, self.latent_dim
        tril = torch.tril(self.prior_tril)
        return MixtureSameFamily(
            Categorical(logits=self.prior_logits.expand(*batch, c)),
            MultivariateNormal(
                self.prior_loc.expand(*batch, c, d), scale_tril=tril.expand(*batch, c, d, d)
            ),
        )

    def prior(self, q: Distribution) -> Distribution:
        return self._mixture(q.batch_shape)

    def generative_prior(self, n: int) -> Distribution:
        return self._mixture((n,))

    def set_prior(self, weights: Tensor, means: Tensor, covariances: Tensor) -> None:
        """Set the mixture (at most :data:`COMPONENTS` components; the rest get no weight)."""
        used = len(weights)
        with torch.no_grad():
            logits = torch.full_like(self.prior_logits, UNUSED)
            logits[:used] = weights.log()
            self.prior_logits.copy_(logits)
            self.prior_loc.zero_()
            self.prior_loc[:used] = means
            self.prior_tril.copy_(torch.eye(self.latent_dim).expand_as(self.prior_tril))
            self.prior_tril[:used] = torch.linalg.cholesky(covariances)

    def log_likelihood(
        self, x: Tensor, mask: Tensor, k: int = 100, chunk: int = 64, shared=None
    ) -> Tensor:
        decoder = self.decoder
        linear = decoder.skip is None and len(decoder.layers) == 1
        if not linear or len(self.likelihood.cont_cols) != self.likelihood.width:
            return super().log_likelihood(x, mask, k, chunk, shared)
        w, b = decoder.layers[0].weight, decoder.layers[0].bias  # (d, L), (d,)
        tril = torch.tril(self.prior_tril)
        loc = self.prior_loc @ w.T + b  # (C, d)
        cov = w @ tril @ tril.transpose(-1, -2) @ w.T + torch.diag(self.likelihood.scale**2)
        # in float64 and symmetric: in float32 the products' rounding left a table
        # with near-constant columns (the digits' blank pixels) not positive definite
        cov = cov.double()
        cov, loc = (cov + cov.transpose(-1, -2)) / 2, loc.double()
        log_weights = torch.log_softmax(self.prior_logits, 0).double()
        out = x.new_empty(len(x))
        patterns, which = torch.unique(mask, dim=0, return_inverse=True)
        for p, seen in enumerate(patterns):  # each pattern of observed cells in turn
            rows, o = which == p, seen.nonzero().squeeze(1)
            part = MultivariateNormal(loc[:, o], cov[:, o][:, :, o])
            log_p = part.log_prob(x[rows][:, o].unsqueeze(1).double())  # (n_p, C)
            out[rows] = torch.logsumexp(log_p + log_weights, dim=1).to(out.dtype)
        return out


def _full(out: Tensor, x: Tensor) -> Tensor:
    """A network's output in its input's precision (it is bfloat16 under autocast):
    the posterior, its samples and the KL are computed in full precision."""
    return out if out.dtype == x.dtype else out.to(x.dtype)


def _softplus_inverse(y: Tensor) -> Tensor:
    """x with softplus(x) = y (y floored at 1e-6)."""
    y = y.clamp_min(1e-6)
    return y + torch.log(-torch.expm1(-y))
