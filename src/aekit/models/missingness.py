"""A model of why cells are missing, for data missing not at random: the
self-masking logistic model of not-MIWAE (Ipsen, Mattei & Frellsen 2021)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Bernoulli

from .likelihoods import Likelihood


class SelfMasking(nn.Module):
    """Self-masking logistic model of missingness (not-MIWAE, Ipsen et al. 2021).

    For each continuous column j, ``p(m_j = 1 | x_j) = σ(-w_j (x_j - b_j))``: with
    w_j > 0, large values go missing more often. Missing values are drawn from the
    decoder, ``x_mis ~ p_θ(x_mis | z)`` (reparameterised), so the missingness term
    ``log p(m | x_obs, x_mis)`` enters the importance weights and the bound.
    Binary and categorical columns are treated as missing at random.
    """

    def __init__(self, likelihood: Likelihood):
        super().__init__()
        n = len(likelihood.cont_cols)
        self.weight = nn.Parameter(torch.zeros(n))
        self.bias = nn.Parameter(torch.zeros(n))

    def forward(self, likelihood: Likelihood, params: Tensor, x: Tensor, mask: Tensor):
        """Return ``log p(m | x_obs, x_mis)`` (k, n) and the completed values (k, n, width)."""
        observed = likelihood.expand_mask(mask)
        filled = likelihood.mean(params)
        if len(likelihood.cont_cols) == 0:
            return params.new_zeros(params.shape[:-1]), filled
        draw = likelihood.distributions(params)["continuous"].rsample()  # (k, n, n_cont)
        dims = likelihood.cont_dims
        values = torch.where(observed[..., dims], x[..., dims], draw)
        filled = filled.clone()
        filled[..., dims] = values
        logits = -self.weight * (values - self.bias)  # logit p(m_j = 1 | x_j)
        m = mask[..., likelihood.cont_cols].to(values.dtype)
        log_pm = Bernoulli(logits=logits, validate_args=False).log_prob(m).sum(-1)
        return log_pm, filled
