"""What a fitted aekit model gives: codes, reconstructions, scores, and its state.

:class:`FittedModel` is the half of :class:`~aekit.estimators.base.BaseAutoencoderEstimator`
that works on a fitted model (``encoder_``, ``module_``, ``seed_``, ...): every
method reads rows with ``frame_of``/``encode_rows`` and runs the torch module
over chunks with ``map_chunks``.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import check_is_fitted

from ..data.tabular import TabularEncoder
from ..errors import AekitError, ModelFileError
from ..training import chunk_rows


class FittedModel:
    """Predictions, scores and the model-file state of a fitted autoencoder."""

    def inverse_transform(self, X):
        """Decode latent codes to rows in the format seen in fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, latent_dim)
            Latent codes (named X, as scikit-learn's ``inverse_transform`` expects).

        Returns
        -------
        DataFrame or ndarray of shape (n_samples, n_features)
            The decoder's expected row; categories come back as the most likely level.
        """
        check_is_fitted(self)
        z = np.asarray(X, dtype=np.float32)
        latent_dim, _ = self._capacity()  # the fitted size, also for latent_dim="auto"
        if z.ndim != 2 or z.shape[1] != latent_dim:
            raise AekitError(
                f"inverse_transform expects latent codes of shape (n_samples, {latent_dim});"
                f" got {z.shape}"
            )
        z_t = torch.from_numpy(z).to(self._device())
        module = self.module_
        decoded = self.map_chunks(lambda t: module.likelihood.mean(module.decode(t)), z_t)
        return self._output(decoded, None, self._pandas_out)

    def reconstruct(self, X):
        """Pass X through the encoder and decoder.

        Returns
        -------
        DataFrame or ndarray shaped like X
            A DataFrame (same index, columns and dtypes) for a DataFrame X.
        """
        df = self.frame_of(X)
        decoded = self.map_chunks(self.module_.reconstruct, *self.encode_rows(df))
        return self._output(decoded, df.index, isinstance(X, pd.DataFrame))

    def float64_module(self):
        """A float64 copy of the fitted network, in eval mode: a row's values then
        do not depend on the rows passed with it (float32 products round
        differently for different batch sizes)."""
        return copy.deepcopy(self.module_).double().eval()

    def cell_log_likelihood(self, X, *, squared_errors: bool = False):
        """log p(x_j | x̂) of each cell, decoding the row's code (the posterior mean
        for a VAE), shape (n_samples, n_columns); continuous cells in standardised
        units (subtract :meth:`column_log_scale` for the user's units), 0 where a
        cell is missing.

        With ``squared_errors``, a pair: those and each cell's squared distance to
        the expected reconstruction, ``(x_j - E[x_j | x̂])²`` (standardised units;
        a pixel's in [0, 1]; 1 for a binary or categorical cell whose most likely
        level is wrong), 0 where a cell is missing.

        Computed by :meth:`float64_module`, so that a row's values do not depend
        on the rows passed with it."""
        df = self.frame_of(X)
        module = self.float64_module()
        likelihood = module.likelihood

        def cells(x, mask):
            x = x.double()
            params = module.decode(module.encode(x, mask))
            log_p = likelihood.log_prob(params, x, mask)
            if not squared_errors:
                return log_p
            errors = likelihood.cell_errors(likelihood.mean(params), x)
            return torch.stack([log_p, errors.where(mask, 0.0)], dim=-1)

        out = self.map_chunks(cells, *self.encode_rows(df))
        return (out[..., 0], out[..., 1]) if squared_errors else out

    def column_log_scale(self) -> np.ndarray:
        """log of each column's standardisation scale (0 for discrete columns),
        shape (n_columns,): a continuous cell's log-density in the user's units is
        its standardised one minus this."""
        check_is_fitted(self)
        enc = self.encoder_
        out = np.zeros(len(enc.schema))
        out[enc.continuous] = np.log(enc.scale)
        return out

    def score_samples(self, X):
        """Log-likelihood of each row, on observed cells; higher means more normal.

        Densities of continuous columns are in the user's units (the
        standardisation's Jacobian is included), so scores compare across models.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._scores(X, self._row_log_prob)

    def _scores(self, X, row_log_prob, seed: int | None = None, draws: int = 1) -> np.ndarray:
        """``row_log_prob(x, mask)`` per row, with the standardisation's Jacobian;
        ``draws``: the values it takes of each encoded value of a row (k posterior
        draws), which bound the rows of a pass."""
        df = self.frame_of(X)
        x, mask = self.encode_rows(df)
        chunk = chunk_rows(x.shape[1] * draws)
        scores = self.map_chunks(row_log_prob, x, mask, seed=seed, chunk=chunk)
        # log p(x) = log p((x - c) / s) - Σ_j m_j log s_j over observed continuous cells
        return scores - mask.cpu().double().numpy() @ self.column_log_scale()

    def score(self, X, y=None):
        """Mean of :meth:`score_samples`: higher is better (for model selection)."""
        scores = self.score_samples(X)
        if len(scores) == 0:
            raise AekitError("X has no rows: there is no mean log-likelihood to give")
        return float(np.mean(scores))

    def get_feature_names_out(self, input_features=None):
        """Names of the latent dimensions: ``latent0``, ``latent1``, ... (as many as
        the fitted size, chosen by fit when ``latent_dim="auto"``)."""
        check_is_fitted(self)
        latent_dim, _ = self._capacity()
        return np.asarray([f"latent{i}" for i in range(latent_dim)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = False
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------ model files
    def fitted_state(self) -> dict:
        """The fitted state besides the weights (``module_.state_dict()``), JSON-safe."""
        return {
            "encoder": self.encoder_.state(),
            "n_features_in": self.n_features_in_,
            "feature_names_in": (
                [str(c) for c in self.feature_names_in_]
                if hasattr(self, "feature_names_in_")
                else None
            ),
            "seed": self.seed_,
            "pandas_out": self._pandas_out,
            "image_shape": None if self.image_shape_ is None else list(self.image_shape_),
            "n_epochs": self.n_epochs_,
            "history": self.history_.to_dict(orient="list"),
            # the sizes fit chose for "auto" parameters
            "capacity": [
                self.latent_dim_,
                list(self.hidden_dims_),
                getattr(self, "residual_", False),
                getattr(self, "mixture_", False),
            ]
            if hasattr(self, "latent_dim_")
            else None,
        }

    @classmethod
    def from_fitted(cls, params: dict, state: dict, weights: dict, *, device=None):
        """The fitted estimator of a model file: ``params`` (as saved, JSON; ``device``
        overrides the saved one), :meth:`fitted_state` and the weights."""
        params = dict(params)
        if device is not None:
            params["device"] = device
        if isinstance(params.get("hidden_dims"), list):
            params["hidden_dims"] = tuple(params["hidden_dims"])
        return cls(**params).set_fitted_state(state, weights)

    def set_fitted_state(self, state: dict, weights: dict):
        """Become the fitted estimator that :meth:`fitted_state` and the weights
        (``module_.state_dict()``) describe, the parameters checked; return self."""
        self._check_params()
        self.encoder_ = encoder = TabularEncoder.from_state(state["encoder"])
        self.n_features_in_ = int(state["n_features_in"])
        if state["feature_names_in"] is not None:
            self.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        self.seed_ = int(state["seed"])
        self._pandas_out = bool(state["pandas_out"])
        shape = state.get("image_shape")
        self.image_shape_ = None if shape is None else tuple(int(d) for d in shape)
        self.n_epochs_ = int(state["n_epochs"])
        self.history_ = pd.DataFrame(state["history"])
        if state.get("capacity") is not None:
            self.latent_dim_ = int(state["capacity"][0])
            self.hidden_dims_ = tuple(int(w) for w in state["capacity"][1])
            self.residual_, self.mixture_ = (bool(v) for v in state["capacity"][2:4])
        # the shapes the parameters declare, against the weights, before anything is
        # allocated: a file declaring huge networks is refused, not built
        with torch.device("meta"):
            skeleton = self._build_module(encoder)
        declared = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
        found = {k: tuple(v.shape) for k, v in weights.items()}
        if declared != found:
            keys = declared.keys() | found.keys()
            wrong = sorted(k for k in keys if declared.get(k) != found.get(k))
            first, shape = wrong[0], declared.get(wrong[0], "none")
            raise ModelFileError(
                f"the weights do not fit the model described: {first} has shape "
                f"{found.get(first, 'none')} in the weights, {shape} in config.json "
                f"({len(wrong)} tensor(s) differ)"
            )
        module = self._build_module(encoder)
        module.load_state_dict(weights, strict=True)
        self.module_ = module.to(self._device()).eval()
        return self
