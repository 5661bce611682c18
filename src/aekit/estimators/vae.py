"""``aekit.VAE``: the variational autoencoder, with a Gaussian or a Student's t
prior (Abiri & Ohlsson 2020), as one scikit-learn estimator."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
from sklearn.utils.validation import check_is_fitted

from ..data.tabular import TabularEncoder
from ..errors import AekitError
from ..models import MixturePriorVAEModule, StudentTVAEModule, VAEModule
from ..models.missingness import SelfMasking
from ..training import INFERENCE_CHUNK
from ..training.loop import seeded
from .base import BaseAutoencoderEstimator
from .capacity import latent_mixture, linear_gaussian
from .params import check_choice, check_int, draw_seed

PRIORS = {"normal": VAEModule, "student-t": StudentTVAEModule}


@dataclass(kw_only=True, repr=False, eq=False)  # writes __init__ from the parameters
class VAE(BaseAutoencoderEstimator):
    """Variational autoencoder for tabular data; a t-VAE with ``prior="student-t"``.

    Trained by maximising the ELBO ``E_q[log p(x|z)] - KL(q(z|x) || p(z))`` with
    K reparameterised samples per row; NaN cells are missing and skipped by
    ``log p(x|z)``. ``prior="student-t"`` uses a Student-t posterior and prior
    whose degrees of freedom ``ν = softplus(·) + 3`` come from the encoder.

    Parameters
    ----------
    latent_dim : int or "auto", default="auto"
    hidden_dims : tuple of int or "auto", default="auto"
        Encoder widths; the decoder mirrors them. "auto" chooses the sizes on
        held-out rows (see :mod:`aekit.estimators.capacity`): ``validation_fraction``
        of the rows are kept out (a fifth when it is 0), and among a linear
        network (on a complete numeric table: probabilistic PCA or factor
        analysis, fitted in closed form), the same under a Gaussian-mixture prior,
        and a perceptron of 64 units around the linear one, the model with the
        highest held-out log-likelihood is kept; the latent size is the one
        cross-validated probabilistic PCA chooses (else half the width, at most
        8). Images: the image networks. Set both to fit one given network.
    prior : {"normal", "student-t"}, default="normal"
    n_samples : int, default=1
        K, posterior samples per row in the training objective.
    objective : {"elbo", "iwae"}, default="elbo"
        "iwae" trains on the importance-weighted bound with K samples (MIWAE,
        Mattei & Frellsen 2019), a tighter bound that helps imputation.
    missingness : {"ignorable", "self-masking"}, default="ignorable"
        "self-masking" also models why cells are missing, for data missing not
        at random: ``p(m_j = 1 | x_j) = σ(-w_j (x_j - b_j))`` per continuous
        column, learned jointly (not-MIWAE, Ipsen et al. 2021).
    architecture, activation, upsampling, pixel_likelihood, batch_size, max_epochs, max_steps,
    learning_rate, lr_schedule, validation_fraction, patience, max_grad_norm, ema_decay,
    random_state, verbose, device, precision
        As in :class:`aekit.Autoencoder` (convolutional networks for images by
        default; the Bernoulli cross-entropy per pixel).

    Attributes
    ----------
    module_ : aekit.models.VAEModule, StudentTVAEModule or MixturePriorVAEModule
    latent_dim_, hidden_dims_ : the sizes fit chose ("auto" only)
    capacity_scores_ : DataFrame, each candidate's held-out log-likelihood per row
        and seconds, and which was chosen ("auto" only)
    history_ : DataFrame with the loss and its ``reconstruction`` and ``kl`` terms per epoch

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(200, 5))
    >>> vae = aekit.VAE(latent_dim=2, random_state=0).fit(X)
    >>> vae.score_samples(X).shape, vae.sample(3).shape
    ((200,), (3, 5))
    """

    latent_dim: int | str = "auto"
    hidden_dims: tuple | str = "auto"
    prior: str = "normal"
    n_samples: int = 1
    objective: str = "elbo"
    missingness: str = "ignorable"

    def _check_params(self):
        settings = super()._check_params()
        check_choice("prior", self.prior, tuple(PRIORS))
        check_int("n_samples", self.n_samples)
        check_choice("objective", self.objective, ("elbo", "iwae"))
        check_choice("missingness", self.missingness, ("ignorable", "self-masking"))
        return settings

    def _check_width(self, encoder: TabularEncoder, shape) -> None:
        if self.missingness == "self-masking" and not encoder.continuous:
            raise AekitError(
                "missingness='self-masking' models the missingness of continuous columns "
                "and X has none (for images, set pixel_likelihood='gaussian')"
            )

    def _batches(self, table) -> bool:
        # given sizes (an "auto" choice may add a skip connection or a mixture prior),
        # without a missingness model
        ok = not self._auto() and self.missingness == "ignorable"
        return ok and super()._batches(table)

    def _build_module(self, encoder: TabularEncoder, members: int | None = None) -> VAEModule:
        likelihood = self._likelihood(encoder, members)
        latent_dim, hidden_dims = self._capacity()
        prior = MixturePriorVAEModule if getattr(self, "mixture_", False) else PRIORS[self.prior]
        return prior(
            likelihood,
            hidden_dims,
            latent_dim,
            self.n_samples,
            self.objective,
            SelfMasking(likelihood) if self.missingness == "self-masking" else None,
            skip=bool(getattr(self, "residual_", False)),
            members=members,
            **self._network_args(),
        )

    def _closed_form(self) -> bool:
        return self.prior == "normal" and self.missingness == "ignorable"

    def _train(self, module, rows, validation, settings, monitor=None) -> pd.DataFrame:
        form = getattr(self, "closed_form_", None)
        if form is None or monitor is not None or settings.resample is not None:
            return super()._train(module, rows, validation, settings, monitor)
        # probabilistic PCA or factor analysis in closed form (see aekit.estimators.capacity)
        x, mask = (torch.cat(parts) for parts in zip(*rows.chunks(), strict=True))
        weight, mean, noise = linear_gaussian(x.double().cpu().numpy(), module.latent_dim, form)
        module.set_linear_gaussian(*(torch.from_numpy(a) for a in (weight, mean, noise)))
        if self.residual_:  # the perceptrons around it train from there
            return super()._train(module, rows, validation, settings, monitor)
        module.eval()
        with torch.no_grad():
            if self.mixture_:  # the prior: a mixture fitted to the codes of the rows
                q = module.posterior(x)
                mixture = latent_mixture(
                    q.mean.double().cpu().numpy(),
                    q.variance[0].double().cpu().numpy(),
                    module.COMPONENTS,
                )
                module.set_prior(*(torch.from_numpy(a).to(x) for a in mixture))
            parts = {"train": (x, mask)}
            if validation is not None:
                parts["val"] = (validation.x, validation.mask)
            row = {
                f"{k}_loss": -float(module.log_likelihood(*xm).mean()) for k, xm in parts.items()
            }
        return pd.DataFrame([{"epoch": 0, **row, "best": True}])

    def _after_fit(self, module, rows) -> None:
        if isinstance(module, StudentTVAEModule):
            # new rows are drawn from the prior at the training data's mean ν
            with torch.no_grad():
                module.eval()
                total, n = 0, 0
                for x, _ in rows.chunks():
                    for s in range(0, len(x), INFERENCE_CHUNK):
                        part = x[s : s + INFERENCE_CHUNK]
                        total = total + module.posterior(part).base_dist.df.sum(0)
                    n += len(x)
                module.prior_df.copy_(total / n)

    def score_samples(self, X, n_importance: int = 100, *, random_state=None):
        """Importance-weighted estimate of log p(x) per row (observed cells only).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        n_importance : int, default=100
            k posterior samples; k=1 is the ELBO, larger k a tighter bound
            whose Monte-Carlo spread shrinks.
        random_state : int, RandomState or None
            Seeds the posterior draws; None uses the fitted seed, so repeated
            calls give the same scores.

        Returns
        -------
        ndarray of shape (n_samples,)
            In nats, in the user's units; higher means more normal.

        Notes
        -----
        A row's score depends on the row alone, not on the rows scored with it
        or their order: every row takes its k draws from the same k standard
        draws of the posterior's family (common random numbers; see
        ``aekit.models.shared_draws``). For tables the network runs in float64
        (as in ``cell_log_likelihood``), whose products round alike for any
        batch; images keep float32 (a CPU's float64 convolutions took 12x the
        time), where a score can move in its sixth digit with the batch.
        """
        check_is_fitted(self)
        k = check_int("n_importance", n_importance)
        seed = self.seed_ if random_state is None else draw_seed(random_state)
        module, dtype = self.module_, None
        if self.image_shape_ is None:
            module, dtype = self.float64_module(), torch.float64

        def row_log_prob(x, mask):  # the same draws for every chunk of rows
            shared = torch.Generator(device=x.device).manual_seed(seed)
            x = x if dtype is None else x.to(dtype)
            return module.log_likelihood(x, mask, k=k, shared=shared)

        return self._scores(X, row_log_prob, seed=seed, draws=k)

    def sample(self, n_samples=1, *, random_state=None):
        """Draw new rows: ``z ~ p(z)``, ``x ~ p(x|z)``.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState or None
            None draws from the fitted seed, so repeated calls repeat.

        Returns
        -------
        DataFrame or ndarray of shape (n_samples, n_features), in the format seen in fit.
        """
        n = check_int("n_samples", n_samples)
        whole = -(-n // INFERENCE_CHUNK) * INFERENCE_CHUNK  # every row in one piece
        (rows,) = self.sample_chunks(n, chunk_rows=whole, random_state=random_state)
        return rows

    def sample_chunks(self, n_samples, *, chunk_rows=65536, random_state=None):
        """:meth:`sample`'s rows a piece at a time (of ``chunk_rows``, rounded to
        whole passes of the network), the same rows as one call, for more rows
        than memory holds; each piece is indexed from 0."""
        check_is_fitted(self)
        n = check_int("n_samples", n_samples)
        step = max(1, check_int("chunk_rows", chunk_rows, low=1) // INFERENCE_CHUNK)
        seed = self.seed_ if random_state is None else draw_seed(random_state)
        device = self._device()
        with torch.inference_mode(), seeded(seed, device):  # one stream of draws, as sample
            self.module_.eval()
            for start in range(0, n, step * INFERENCE_CHUNK):
                rows = min(step * INFERENCE_CHUNK, n - start)
                parts = [
                    self.module_.sample(min(INFERENCE_CHUNK, rows - s)).cpu()
                    for s in range(0, rows, INFERENCE_CHUNK)
                ]
                yield self._output(torch.cat(parts).double().numpy(), None, self._pandas_out)
