"""``aekit.AnomalyDetector``: outliers as rows the model finds unlikely.

The score of a row is its log-likelihood under the fitted model, from the
per-cell observation model, so numeric, binary and categorical columns all
count in one currency (nats):

- VAE: the importance-weighted estimate of ``log p(x)`` (IWAE bound, k draws);
- AE / DAE: the reconstruction log-likelihood ``Σ_j log p(x_j | x̂)``.

Higher means more normal (scikit-learn's convention). A row with missing cells
is scored on its observed cells, rescaled to a full row: ``score × p / p_obs``,
so that missing cells neither raise nor lower it on average.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..checkpoint import CheckpointPlan
from ..data import stream
from ..data.schema import as_frame, image_shape_of
from ..errors import AekitError
from .autoencoder import Autoencoder
from .base import (
    IMAGE_NETWORKS,
    BaseAutoencoderEstimator,
    _check_float,
    _check_int,
    _check_random_state,
    adopt_features,
    fit_seed,
)
from .vae import VAE

TUKEY = 1.5  # the lower fence is Q1 - 1.5 IQR of held-out scores
_PURPOSE = 0x616E6F6D  # seeds the draws of the rows that set the threshold


def default_model(image_shape=None) -> BaseAutoencoderEstimator:
    """The detector used when ``model=None`` (chosen by ``benchmarks/tasks.py``; for
    images, given their ``image_shape``, with the networks of :data:`IMAGE_NETWORKS`)."""
    vae = VAE(latent_dim=8, hidden_dims=(128, 64), max_epochs=300, patience=20)
    return vae.set_params(**IMAGE_NETWORKS) if image_shape else vae


class AnomalyDetector(OutlierMixin, BaseEstimator):
    """Flag rows that an autoencoder finds unlikely.

    Parameters
    ----------
    model : Autoencoder or VAE, default=None
        The (unfitted) model; it is cloned. None: the default shown best in
        ``benchmarks/tasks.py`` (a VAE).
    contamination : "auto" or float in (0, 0.5], default="auto"
        "auto": ``holdout_fraction`` of the rows are kept out of training, and
        the threshold is the lower Tukey fence of their scores, ``Q1 - 1.5 IQR``:
        a row is flagged when it is far less likely than new normal rows are,
        with no guessed rate. A float: the model is trained on every row and
        that share of the training rows is flagged (scikit-learn's convention).
    holdout_fraction : float in (0, 1), default=0.2
        Rows kept out to set the "auto" threshold.
    n_importance : int, default=100
        Posterior draws per row for a VAE's score.
    random_state : int, RandomState or None, default=None
        Seeds the hold-out and the model (when None, the model's own).
    verbose : bool, default=False
        Progress bar while training.

    Attributes
    ----------
    model_ : the fitted model
    offset_ : float
        ``decision_function = score_samples - offset_``; negative is anomalous.
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(300, 5))
    >>> detector = aekit.AnomalyDetector(random_state=0).fit(X)
    >>> detector.predict(np.full((1, 5), 8.0)).tolist()
    [-1]
    """

    def __init__(
        self,
        model=None,
        *,
        contamination="auto",
        holdout_fraction=0.2,
        n_importance=100,
        random_state=None,
        verbose=False,
    ):
        self.model = model
        self.contamination = contamination
        self.holdout_fraction = holdout_fraction
        self.n_importance = n_importance
        self.random_state = random_state
        self.verbose = verbose

    def _make_model(self, image_shape=None) -> BaseAutoencoderEstimator:
        if self.model is not None and not isinstance(self.model, (Autoencoder, VAE)):
            raise AekitError(
                f"model must be an aekit Autoencoder or VAE (or None); got "
                f"{type(self.model).__name__}"
            )
        if self.contamination != "auto" and not (
            isinstance(self.contamination, numbers.Real)
            and not isinstance(self.contamination, bool)
            and 0 < self.contamination <= 0.5
        ):
            raise AekitError(
                f"contamination must be 'auto' or a number in (0, 0.5]; got {self.contamination!r}"
            )
        _check_float("holdout_fraction", self.holdout_fraction, 0, 1, high_open=True)
        _check_int("n_importance", self.n_importance)
        _check_random_state(self.random_state)
        model = default_model(image_shape) if self.model is None else clone(self.model)
        if self.random_state is not None:
            model.set_params(random_state=self.random_state)
        if self.verbose:
            model.set_params(verbose=True)
        return model

    def fit(self, X, y=None, *, checkpoint_dir=None, resume=False, checkpoint_every=60.0):
        """Train the model on X (NaN cells are missing) and set the threshold.

        ``checkpoint_dir``, ``resume`` and ``checkpoint_every`` are as in
        :meth:`aekit.Autoencoder.fit`.

        Returns
        -------
        self
        """
        streamed = stream.is_table_path(X)
        image_shape = None if streamed else image_shape_of(X)  # images: tables of pixels
        model = self._make_model(image_shape)
        plan = CheckpointPlan.from_args(
            checkpoint_dir, resume, checkpoint_every, model.random_state
        )
        if streamed:
            return self._fit_stream(stream.as_table_file(X), model, plan)
        df, is_frame = as_frame(X)
        if self.contamination == "auto":
            n = len(df)
            n_out = round(n * self.holdout_fraction)
            if n_out < 2 or n - n_out < 2:
                raise AekitError(
                    f"contamination='auto' keeps holdout_fraction={self.holdout_fraction} of "
                    f"n_samples={n} out of training, which leaves too few on one side; pass "
                    "more rows, change holdout_fraction or give contamination as a number"
                )
            # the detector's seed (passed on to its model), else the model's own
            rng = np.random.default_rng([fit_seed(model.random_state, model.device), _PURPOSE])
            order = rng.permutation(n)
            model._fit(
                df.iloc[np.sort(order[n_out:])],
                checkpoint=plan,
                user_frame=is_frame,
                image_shape=image_shape,
            )
            self.model_ = model
            held_out = self.score_samples(df.iloc[np.sort(order[:n_out])])
            q1, q3 = np.percentile(held_out, [25, 75])
            self.offset_ = float(q1 - TUKEY * (q3 - q1))
        else:
            self.model_ = model._fit(
                df, checkpoint=plan, user_frame=is_frame, image_shape=image_shape
            )
            self.offset_ = float(np.percentile(self.score_samples(df), 100 * self.contamination))
        return adopt_features(self, model)

    def _fit_stream(self, source, model, plan):
        """:meth:`fit` on a table streamed from a file: the threshold comes from a
        uniform sample of the rows (at most one chunk), held out of training for
        ``contamination="auto"``."""
        seed = fit_seed(model.random_state, model.device)
        share = self.holdout_fraction if self.contamination == "auto" else 1.0
        sample, rest = stream.sample_rows(source, share, source.chunk_rows, seed, _PURPOSE)
        if self.contamination == "auto":
            if len(sample) < 2:
                raise AekitError(
                    f"contamination='auto' keeps holdout_fraction={self.holdout_fraction} of "
                    f"the rows of {source.path} out of training, which leaves too few; pass "
                    "more rows, change holdout_fraction or give contamination as a number"
                )
            # the rows trained on depend on these: a checkpoint must know them
            context = {"holdout_fraction": self.holdout_fraction, "seed": seed}
            self.model_ = model._fit(
                source.map(rest), checkpoint=plan, context=context, user_frame=True
            )
            q1, q3 = np.percentile(self.score_samples(sample), [25, 75])
            self.offset_ = float(q1 - TUKEY * (q3 - q1))
        else:
            self.model_ = model._fit(source, checkpoint=plan, user_frame=True)
            scores = self.score_samples(sample)
            self.offset_ = float(np.percentile(scores, 100 * self.contamination))
        return adopt_features(self, model)

    def score_samples(self, X) -> np.ndarray:
        """Log-likelihood of each row in nats, rescaled to a full row when cells are
        missing; higher means more normal.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "model_")
        model = self.model_
        df, _ = model._frame(X, reset=False)
        observed = df.notna().sum(axis=1).to_numpy()
        if (observed == 0).any():
            rows = np.flatnonzero(observed == 0)[:5].tolist()
            raise AekitError(f"row(s) at position {rows} have no observed cell to score")
        if isinstance(model, VAE):
            scores = model.score_samples(df, n_importance=self.n_importance)
        else:
            scores = model.score_samples(df)
        # rescale in standardised units, then put the whole row's Jacobian back, so a
        # missing cell of a column with a large scale does not shift the score
        log_scale = model._log_scale()
        standardised = scores + df.notna().to_numpy() @ log_scale
        return standardised * (df.shape[1] / observed) - log_scale.sum()

    def decision_function(self, X) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for anomalies."""
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """+1 for a normal row, -1 for an anomaly."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def feature_scores(self, X) -> pd.DataFrame:
        """Which cells made a row anomalous: each cell's negative log-likelihood,
        higher for a more surprising cell.

        Continuous cells are scored in standardised units (the column divided by
        its training scale), so a column's units do not decide which cell stands
        out: for an (D)AE the cells of a complete row sum to ``-score_samples``
        minus the constant ``sum(log scale_j)``. For a VAE they are taken at the
        posterior mean of the row's code. Missing cells are NaN.

        Returns
        -------
        DataFrame of shape (n_samples, n_features), X's index and columns
        """
        check_is_fitted(self, "model_")
        model = self.model_
        df, is_frame = model._frame(X, reset=False)
        cells = -(model._cell_log_probs(df) + model._log_scale())
        columns = X.columns if is_frame else df.columns
        return pd.DataFrame(cells, index=df.index, columns=columns).where(df.notna().to_numpy())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
