"""``aekit.AnomalyDetector``: outliers as rows the model finds unlikely.

The score of a row is a log-likelihood, from the per-cell observation model,
so numeric, binary and categorical columns all count in one currency (nats).
``scoring="likelihood"`` (the default for tables) scores the row under the
fitted model:

- VAE: the importance-weighted estimate of ``log p(x)`` (IWAE bound, k draws);
- AE / DAE: the reconstruction log-likelihood ``Σ_j log p(x_j | x̂)``.

``scoring="reconstruction"`` (the default for images) scores how far the row
lies from its reconstruction ``x̂`` (decoded from the row's code, the posterior
mean for a VAE): each continuous cell or pixel by an isotropic Gaussian around
its expected value, ``log N(x_j | E[x_j | x̂], σ²)``, with σ² the mean squared
error of the rows that set the threshold; each binary or categorical cell by
the model's probability of its level. A pixel model's likelihood rewards
images with little ink, whatever their shape (the digit 1 under a model of the
digit 8): the squared distance to the reconstruction does not.

Higher means more normal (scikit-learn's convention). A row with missing cells
is scored on its observed cells, rescaled to a full row: ``score × p / p_obs``,
so that missing cells neither raise nor lower it on average. A value fit never
saw (a new category, a binary column's third value) cannot be scored by the
model: such a cell counts :data:`UNSEEN` nats, as unlikely as a Gaussian cell
about five standard deviations out, so every score stays finite.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import OutlierMixin
from sklearn.utils.validation import check_is_fitted

from ..data.cells import name_of, warn_index_column
from ..data.empty import EmptyColumns
from ..data.table import as_table
from ..errors import AekitError, ModelFileError, warn
from ..training import CheckpointPlan
from .params import check_choice, check_float, check_int, fit_seed
from .vae import VAE
from .wrapper import ModelWrapper

TUKEY = 1.5  # the lower fence is Q1 - 1.5 IQR of held-out scores
UNSEEN = math.log(1e-6)  # the log-likelihood of a cell whose value fit never saw
THRESHOLD_ROWS = 0x616E6F6D  # seeds the draws of the rows that set the threshold
SCORINGS = ("auto", "likelihood", "reconstruction")
MIN_VARIANCE = 1e-6  # floor on the reconstruction's σ² (standardised units, pixels)
BEYOND_CELLS = 10  # scored values of a column, all beyond fit's range, for a warning


@dataclass(kw_only=True, repr=False, eq=False)  # writes __init__ from the parameters
class AnomalyDetector(OutlierMixin, ModelWrapper):
    """Flag rows that an autoencoder finds unlikely.

    Parameters
    ----------
    model : Autoencoder or VAE, default=None
        The (unfitted) model; it is cloned. None: for a table ``VAE()``, its
        sizes chosen on held-out rows; for images the convolutional VAE of
        ``preset("vae", image_shape, task="model")`` (early stopping after 50
        epochs without improvement). See ``benchmarks/unseen_tasks.py``.
    contamination : "auto" or float in (0, 0.5], default="auto"
        "auto": ``holdout_fraction`` of the rows are kept out of training, and
        the threshold is the lower Tukey fence of their scores, ``Q1 - 1.5 IQR``:
        a row is flagged when it is far less likely than new normal rows are,
        with no guessed rate. A float: the model is trained on every row and
        that share of the training rows is flagged (scikit-learn's convention).
    holdout_fraction : float in (0, 1), default=0.2
        Rows kept out to set the "auto" threshold.
    scoring : {"auto", "likelihood", "reconstruction"}, default="auto"
        What a row's score measures (see the module's documentation):
        "likelihood", its log-likelihood under the model; "reconstruction", its
        Gaussian log-likelihood around its reconstruction. "auto": reconstruction
        for images, likelihood for tables (on the development half of
        ``benchmarks/unseen_tasks.py``, mean ROC-AUC over the digits' one-class
        tasks 0.987 with the likelihood and 0.992 with the reconstruction at
        8 x 8, 0.981 and 0.995 at 28 x 28).
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
    scoring_ : {"likelihood", "reconstruction"}
        The scoring used.
    reconstruction_variance_ : float or None
        σ² of the reconstruction scoring (None for the likelihood).
    empty_columns_ : EmptyColumns
        The columns of X in fit without one observed value, or of identifiers,
        names or free text (text columns of 20 values or more, half of their
        cells or more a value no other cell holds): left out of the model, with
        a warning (rows are scored by their other cells; their
        ``feature_scores`` are NaN).
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(300, 5))
    >>> detector = aekit.AnomalyDetector(random_state=0).fit(X)
    >>> detector.predict(np.full((1, 5), 8.0)).tolist()
    [-1]
    """

    _task = "detect"

    contamination: float | str = "auto"
    holdout_fraction: float = 0.2
    scoring: str = "auto"

    def _check_params(self) -> None:
        if self.contamination != "auto" and not (
            isinstance(self.contamination, numbers.Real)
            and not isinstance(self.contamination, bool)
            and 0 < self.contamination <= 0.5
        ):
            raise AekitError(
                f"contamination must be 'auto' or a number in (0, 0.5]; got {self.contamination!r}"
            )
        check_float("holdout_fraction", self.holdout_fraction, 0, 1, high_open=True)
        check_choice("scoring", self.scoring, SCORINGS)
        check_int("n_importance", self.n_importance)

    def fit(self, X, y=None, *, checkpoint_dir=None, resume=False, checkpoint_every=60.0):
        """Train the model on X (NaN cells are missing) and set the threshold.

        X may also be a file streamed in chunks (a :class:`aekit.TableFile` or a
        path); the rows that set the threshold are then a uniform sample of at
        most one chunk. ``checkpoint_dir``, ``resume`` and ``checkpoint_every``
        are as in :meth:`aekit.Autoencoder.fit`.

        Returns
        -------
        self
        """
        warn_index_column(X)
        table = as_table(X)
        model = self._make_model(table.image_shape)  # images: tables of pixels
        empty = EmptyColumns.of(table)  # a file's: from the pass split makes anyway
        if empty:  # nothing to score a row by: left out of the model
            empty.warn(table, "rows are scored by their other cells")
            table = empty.drop_from(table)
        plan = CheckpointPlan.from_args(
            checkpoint_dir, resume, checkpoint_every, model.random_state
        )
        auto = self.contamination == "auto"
        # the detector's seed (passed on to its model), else the model's own
        seed = fit_seed(model.random_state, model.device)
        # "auto": rows kept out of training; else all of them (a file: a sample)
        scored, rest = table.split(self.holdout_fraction if auto else 1.0, seed, THRESHOLD_ROWS)
        if auto and len(scored) < 2 and not table.in_memory and rest.n_rows >= 2:
            raise AekitError(
                f"contamination='auto' sets the threshold on a sample of at most one chunk "
                f"of {table.name}, and chunks of {table.file.chunk_rows} row(s) leave "
                f"{len(scored)}; read the file in larger chunks (--chunk-rows)"
            )
        if auto and (len(scored) < 2 or rest.n_rows < 2):
            raise AekitError(
                f"contamination='auto' keeps holdout_fraction={self.holdout_fraction} of "
                f"n_samples={len(scored) + rest.n_rows} ({table.name}) out of training, which "
                "leaves too few on one side; pass more rows, change holdout_fraction or give "
                "contamination as a number"
            )
        # the rows trained on depend on these: a checkpoint must know them
        context = {"holdout_fraction": self.holdout_fraction, "seed": seed} if auto else None
        self.model_ = model.fit_with(rest if auto else table, checkpoint=plan, context=context)
        self.empty_columns_ = empty
        self.scoring_, self.reconstruction_variance_ = self.scoring, None
        if self.scoring == "auto":
            self.scoring_ = "likelihood" if table.image_shape is None else "reconstruction"
        df = self.model_.frame_of(scored)
        df = df[df.notna().any(axis=1).to_numpy()]  # rows with no observed cell: set aside
        if len(df) == 0:
            raise AekitError(f"no row of {table.name} that sets the threshold has an observed cell")
        cells = None  # the reconstruction scoring: the rows decoded once, for σ² and the scores
        if self.scoring_ == "reconstruction":
            cells = self._reconstruction(self._known(df)[0])
            self.reconstruction_variance_ = _variance(*cells[1:])
        scores = self._scores(df, cells)
        if auto:
            q1, q3 = np.percentile(scores, [25, 75])
            self.offset_ = float(q1 - TUKEY * (q3 - q1))
        else:
            self.offset_ = float(np.percentile(scores, 100 * self.contamination))
        return self._adopt(model)

    def score_samples(self, X) -> np.ndarray:
        """Log-likelihood of each row in nats, rescaled to a full row when cells are
        missing; higher means more normal. A row with no observed cell has no
        score: NaN, with a warning naming it (it is never flagged).

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "model_")
        df = self.model_.frame_of(self.empty_columns_.drop(X))
        self.empty_columns_.warn_values(X, "not scored")
        _warn_beyond(self.model_.encoder_.outside(df), name_of(X))
        empty = df.isna().all(axis=1).to_numpy()
        if len(df) == 0:
            return np.zeros(0)
        if empty.all():
            raise AekitError(
                f"every row of {name_of(X)} has no observed cell: there is nothing to score"
            )
        if not empty.any():
            return self._scores(df)
        warn(
            f"{int(empty.sum())} row(s) of {name_of(X)} have no observed cell (index "
            f"{df.index[empty][:5].tolist()}); their score is NaN"
        )
        scores = np.full(len(df), np.nan)
        scores[~empty] = self._scores(df[~empty])
        return scores

    def _scores(self, df: pd.DataFrame, reconstruction=None) -> np.ndarray:
        """:meth:`score_samples` of rows that each have an observed cell (with the
        reconstruction scoring, ``reconstruction``: their ``_reconstruction``,
        when already computed)."""
        model = self.model_
        observed = df.notna().to_numpy()
        known, unseen = self._known(df)
        log_scale = model.column_log_scale()
        if self.scoring_ == "reconstruction":  # cells in standardised units
            standardised = self._cells(known, reconstruction).sum(axis=1)
        else:
            if isinstance(model, VAE):
                scores = model.score_samples(known, n_importance=self.n_importance)
            else:
                scores = model.score_samples(known)
            standardised = scores + (observed & ~unseen) @ log_scale
        # rescale in standardised units, then put the whole row's Jacobian back, so a
        # missing cell of a column with a large scale does not shift the score
        standardised = standardised + UNSEEN * unseen.sum(axis=1)
        return standardised * (df.shape[1] / observed.sum(axis=1)) - log_scale.sum()

    def _cells(self, known: pd.DataFrame, reconstruction=None) -> np.ndarray:
        """The reconstruction scoring's log-density of each cell of ``known`` (rows
        as the model reads them), standardised units, 0 where a cell is missing."""
        log_p, errors, gaussian = (
            self._reconstruction(known) if reconstruction is None else reconstruction
        )
        var = self.reconstruction_variance_
        return np.where(gaussian, -errors / (2 * var) - 0.5 * math.log(2 * math.pi * var), log_p)

    def _reconstruction(self, known: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each cell's log p(x_j | x̂) and squared error (see
        ``cell_log_likelihood``), and which cells the reconstruction scoring takes
        as Gaussian: the observed cells of continuous columns and pixels."""
        log_p, errors = self.model_.cell_log_likelihood(known, squared_errors=True)
        encoder = self.model_.encoder_
        gaussian = np.zeros(len(encoder.schema), dtype=bool)
        gaussian[encoder.continuous + encoder.unit] = True
        return log_p, errors, gaussian & known.notna().to_numpy()

    def _known(self, df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """``df`` with the cells of values fit never saw missing, and those cells."""
        unseen = self.model_.encoder_.unseen(df)
        return (df.mask(unseen) if unseen.any() else df), unseen

    def decision_function(self, X) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for anomalies."""
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """+1 for a normal row, -1 for an anomaly (a row with no observed cell,
        which has no score, is +1)."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def feature_scores(self, X) -> pd.DataFrame:
        """Which cells made a row anomalous: each cell's negative log-likelihood,
        higher for a more surprising cell.

        Continuous cells are scored in standardised units (the column divided by
        its training scale), so a column's units do not decide which cell stands
        out: for an (D)AE, or with ``scoring="reconstruction"``, the cells of a
        complete row sum to ``-score_samples`` minus the constant
        ``sum(log scale_j)``. For a VAE they are taken at the posterior mean of
        the row's code. Missing cells are NaN.

        Returns
        -------
        DataFrame of shape (n_samples, n_features), X's index and columns
        """
        check_is_fitted(self, "model_")
        kept = self.empty_columns_.drop(X)
        df = self.model_.frame_of(kept)
        known, unseen = self._known(df)
        if self.scoring_ == "reconstruction":
            cells = -self._cells(known)
        else:
            cells = -self.model_.cell_log_likelihood(known)
        cells[unseen] = -UNSEEN  # a value fit never saw
        columns = kept.columns if isinstance(kept, pd.DataFrame) else df.columns
        cells = pd.DataFrame(cells, index=df.index, columns=columns).where(df.notna().to_numpy())
        return self.empty_columns_.restore(cells, X, as_given=False)  # theirs: NaN

    # ------------------------------------------------------------ model files
    def _state(self) -> dict:
        return {
            "offset": self.offset_,
            "scoring": self.scoring_,
            "reconstruction_variance": self.reconstruction_variance_,
        }

    def _restore(self, state: dict, models: list) -> None:
        self.model_ = models[0]
        self.offset_ = float(state["offset"])
        # model files written before the reconstruction scoring scored the likelihood
        self.scoring_ = state.get("scoring", "likelihood")
        variance = state.get("reconstruction_variance")
        if self.scoring_ == "likelihood" and variance is None:
            self.reconstruction_variance_ = None
        elif (
            self.scoring_ == "reconstruction"
            and isinstance(variance, numbers.Real)
            and math.isfinite(variance)
            and variance > 0
        ):
            self.reconstruction_variance_ = float(variance)
        else:
            raise ModelFileError(
                f"the model file's scoring {self.scoring_!r} with reconstruction_variance "
                f"{variance!r}: expected 'likelihood' with none, or 'reconstruction' with "
                "a positive number"
            )


def _warn_beyond(outside: list[tuple[str, int, int, int]], name: str) -> None:
    """Warn of the columns whose every scored value (at least
    :data:`BEYOND_CELLS` of them) lies above the largest value fit saw, or
    below the smallest: rows the model scores as unlikely for that column
    alone, as every new row of a column that grows with time or the row number."""
    named = [
        (c, "above the largest" if above else "below the smallest", seen)
        for c, below, above, seen in outside
        if seen >= BEYOND_CELLS and seen in (below, above)
    ]
    if named:
        said = "; ".join(f"{c!r}, all {seen} {where}" for c, where, seen in named[:5])
        warn(
            f"column(s) of {name} beyond the values fit saw: {said}. The further beyond, "
            "the more unlikely the model scores a row, whatever its other cells, until it "
            "is flagged for that column alone; if a column grows with time or with the row "
            "number (a date, an identifier, a counter), it marks no anomaly: leave it out "
            "of the detector's data"
        )


def _variance(errors: np.ndarray, gaussian: np.ndarray) -> float:
    """σ² of the reconstruction scoring: the mean squared error of the cells taken
    as Gaussian (the observed continuous cells and pixels; 1 when there are none)."""
    return max(float(errors[gaussian].mean()), MIN_VARIANCE) if gaussian.any() else 1.0
