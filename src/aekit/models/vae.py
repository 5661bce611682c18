"""The variational autoencoder (Kingma & Welling 2013) and the VAE with a
Student's t prior (Abiri & Ohlsson 2020).

Inference model ``q_φ(z|x)``, generative model ``p_θ(x, z) = p_θ(x|z) p(z)``;
training maximises the evidence lower bound::

    ELBO = E_q[log p_θ(x|z)] - KL(q_φ(z|x) || p(z))

with reparameterised samples (K per row). The KL term is the closed form where
``torch.distributions`` has one (Gaussian posterior, N(0, I) prior) and a Monte
Carlo estimate ``mean_k [log q(z_k|x) - log p(z_k)]`` otherwise (Student-t).

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
from torch.distributions import Distribution, Independent, Normal, StudentT, kl_divergence

from ..likelihoods import Likelihood
from .networks import MLP

MIN_SCALE = 1e-4  # floor on posterior scales


def monte_carlo_kl(q: Distribution, p: Distribution, z: Tensor) -> Tensor:
    """KL(q || p) ≈ mean_k [log q(z_k) - log p(z_k)] over samples z of shape (K, n, L)."""
    return (q.log_prob(z) - p.log_prob(z)).mean(0)


class VAEModule(nn.Module):
    """VAE with Gaussian posterior ``Π N(z_i | μ_i(x), σ_i²(x))`` and prior N(0, I).

    Parameters
    ----------
    likelihood : Likelihood
    hidden_dims : sequence of int
        Encoder widths; the decoder mirrors them.
    latent_dim : int
    n_samples : int
        K, posterior samples per row in the training ELBO.
    """

    n_posterior_params = 2  # μ and σ per latent dimension

    def __init__(
        self,
        likelihood: Likelihood,
        hidden_dims: Sequence[int],
        latent_dim: int,
        n_samples: int = 1,
    ):
        super().__init__()
        self.likelihood = likelihood
        self.latent_dim = latent_dim
        self.n_samples = n_samples
        self.encoder = MLP(likelihood.width, hidden_dims, latent_dim * self.n_posterior_params)
        self.decoder = MLP(latent_dim, list(hidden_dims)[::-1], likelihood.width)

    # -- the terms a variant may override ---------------------------------
    def posterior(self, x: Tensor) -> Distribution:
        """q_φ(z|x), batch shape (n,), event shape (latent_dim,)."""
        loc, raw_scale = self.encoder(x).chunk(2, dim=-1)
        return Independent(Normal(loc, F.softplus(raw_scale) + MIN_SCALE), 1)

    def prior(self, q: Distribution) -> Distribution:
        """p(z) = N(0, I), shaped like q."""
        loc = torch.zeros_like(q.mean)
        return Independent(Normal(loc, torch.ones_like(loc)), 1)

    def generative_prior(self, n: int) -> Distribution:
        """p(z) for drawing new rows, batch shape (n,)."""
        loc = self.decoder.layers[0].weight.new_zeros(n, self.latent_dim)
        return Independent(Normal(loc, torch.ones_like(loc)), 1)

    def kl(self, q: Distribution, p: Distribution, z: Tensor) -> Tensor:
        """KL(q(z|x) || p(z)) per row, (n,): closed form if known, else Monte Carlo."""
        try:
            return kl_divergence(q, p)
        except NotImplementedError:
            return monte_carlo_kl(q, p, z)

    # -- shared by every variant -------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """Posterior location, (n, latent_dim): the latent code of a row."""
        return self.posterior(x).base_dist.loc

    def decode(self, z: Tensor) -> Tensor:
        """(..., latent_dim) → likelihood parameters (..., width)."""
        return self.decoder(z)

    def reconstruct(self, x: Tensor) -> Tensor:
        """E[x | z = posterior location], (n, width)."""
        return self.likelihood.mean(self.decode(self.encode(x)))

    def elbo_terms(self, x: Tensor, mask: Tensor, k: int = 1) -> dict[str, Tensor]:
        """The two ELBO terms per row, each of shape (n,), from k reparameterised samples.

        ``reconstruction`` = mean_k log p_θ(x | z_k) on observed cells;
        ``kl`` = KL(q_φ(z|x) || p(z)).
        """
        q = self.posterior(x)
        z = q.rsample((k,))  # (k, n, latent_dim)
        p = self.prior(q)
        log_px = self.likelihood.log_prob(self.decode(z), x, mask).sum(-1)  # (k, n)
        return {"reconstruction": log_px.mean(0), "kl": self.kl(q, p, z)}

    def loss(self, x: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """Negative ELBO averaged over the batch, with its two terms."""
        terms = self.elbo_terms(x, mask, self.n_samples)
        # ELBO = E_q[log p_θ(x|z)] - KL(q_φ(z|x) || p(z))
        elbo = terms["reconstruction"] - terms["kl"]
        return {
            "loss": -elbo.mean(),
            "reconstruction": -terms["reconstruction"].mean(),
            "kl": terms["kl"].mean(),
        }

    def log_weights(self, x: Tensor, mask: Tensor, k: int) -> Tensor:
        """log p_θ(x, z_j) - log q_φ(z_j|x) for k draws z_j ~ q, shape (k, n)."""
        q = self.posterior(x)
        z = q.sample((k,))
        p = self.prior(q)
        log_px = self.likelihood.log_prob(self.decode(z), x, mask).sum(-1)
        return log_px + p.log_prob(z) - q.log_prob(z)

    def log_likelihood(self, x: Tensor, mask: Tensor, k: int = 100, chunk: int = 64) -> Tensor:
        """Importance-weighted estimate of log p(x), (n,), from k samples in chunks."""
        log_w = torch.cat(
            [self.log_weights(x, mask, min(chunk, k - s)) for s in range(0, k, chunk)]
        )
        # log (1/k) Σ_j w_j
        return torch.logsumexp(log_w, dim=0) - math.log(k)

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
        loc, raw_scale, raw_df = self.encoder(x).chunk(3, dim=-1)
        df = F.softplus(raw_df) + self.MIN_DF
        return Independent(StudentT(df, loc, F.softplus(raw_scale) + MIN_SCALE), 1)

    def prior(self, q: Distribution) -> Distribution:
        df = q.base_dist.df
        return Independent(StudentT(df, torch.zeros_like(df), torch.ones_like(df)), 1)

    def generative_prior(self, n: int) -> Distribution:
        df = self.prior_df.expand(n, self.latent_dim)
        return Independent(StudentT(df, torch.zeros_like(df), torch.ones_like(df)), 1)
