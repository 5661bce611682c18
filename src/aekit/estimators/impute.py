"""``aekit.Imputer``: fill missing cells with an autoencoder trained on the incomplete data.

- DAE imputer (Abiri et al. 2019): missing cells start at the column's observed
  mean, masking noise hides observed cells during training so the network learns
  to reconstruct hidden values, and imputation refines the missing cells
  iteratively (reconstruct, write back into the missing cells, repeat). Its
  multiple imputation is proper: each copy from a DAE fitted to its own
  bootstrap resample of the rows (the approximate Bayesian bootstrap), drawn by
  Gibbs sampling from that network's calibrated one-column conditionals.
- VAE imputer (MIWAE, Mattei & Frellsen 2019): the conditional mean
  ``E[x_mis | x_obs]`` by self-normalised importance sampling over posterior
  draws; multiple imputation by sampling-importance-resampling, then Gibbs
  sweeps over the VAE's calibrated one-column conditionals whose calibrations
  are drawn from their posterior (the network itself is fitted once).
- Missing not at random: ``VAE(missingness="self-masking")`` (not-MIWAE).

Model selection without ground truth (over-imputation, :mod:`.holdout`):
``holdout_fraction`` of the observed cells are hidden from training; early
stopping watches the error of imputing them, and ``expected_error_`` reports it
per column. The copies of multiple imputation are drawn in :mod:`.copies`;
Rubin's rules for their analyses are in :mod:`.pooling`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ..data.cells import warn_index_column
from ..data.empty import ChunkWarnings, EmptyColumns, empty_rows, warn_empty_rows
from ..data.merge import merge_observed, unknown_as_missing
from ..data.schema import image_shape_of
from ..data.stream import arrow_types, as_read, numpy_integers, write_chunks
from ..data.table import as_table
from ..errors import AekitError
from ..training import CheckpointPlan
from . import copies
from .holdout import HeldOutCells, impute_tensors
from .linear import LinearPart, linear_part, seen_dims
from .params import check_float, check_int, draw_seed, fit_seed
from .vae import VAE
from .wrapper import ModelWrapper

# what becomes of the columns left out of the models: empty ones, identifiers, free text
AS_GIVEN = ("returned as given (missing)", "returned as given, missing cells missing")


@dataclass(kw_only=True, repr=False, eq=False)  # writes __init__ from the parameters
class Imputer(TransformerMixin, ModelWrapper):
    """Impute missing values with an aekit autoencoder.

    Parameters
    ----------
    model : Autoencoder or VAE, default=None
        The (unfitted) model to train on the incomplete data; it is cloned.
        ``Autoencoder(noise="masking")`` is the DAE imputer, ``VAE()`` the
        VAE imputer, ``VAE(prior="student-t")`` the t-VAE imputer and
        ``VAE(missingness="self-masking")`` the MNAR imputer. None: the default
        shown best in ``benchmarks/imputation.py``.
    holdout_fraction : float or "auto", default="auto"
        Share of observed cells hidden during training to pick the stopping
        epoch and estimate ``expected_error_``; 0 turns over-imputation off (the
        model then stops on its own loss). "auto" is 0.1, and 0 for a model of
        data missing not at random (``VAE(missingness="self-masking")``), whose
        observed cells are by assumption unlike its missing ones.
    n_models : int, default=3
        Models trained from different initial weights; single imputation
        averages their conditional means, multiple imputation draws from their
        mixture. More models lower the error (the variance of one network's
        fit). Models of perceptrons are trained together as one batched
        network, each stopping at its own best epoch (and then leaving the
        batch), in little more time than one; convolutional ones, stacked
        DAEs and a VAE that models the missingness (not-MIWAE) one after another.
    n_iter : int, default=10
        Most refinement rounds of the (D)AE imputer; the number used,
        ``n_iter_``, is the one with the smallest error on the held-out cells
        (refinement can drift as well as improve); 1 when ``holdout_fraction=0``.
    n_importance : int, default=100
        Posterior draws per row for the VAE imputers.
    random_state : int, RandomState or None, default=None
        Seeds the hold-out and the models (when None, the model's own
        random_state seeds them).
    verbose : bool, default=False
        Progress bar while training.

    Attributes
    ----------
    models_ : list of the n_models fitted models
    model_ : the first of them
    n_iter_ : tuple of int, or None
        Refinement rounds used by each (D)AE model (None for a VAE).
    expected_error_ : DataFrame or None
        Per column: ``metric`` ("rmse" in the column's units, or "error_rate"),
        ``value`` and ``n_cells``, measured on the held-out cells.
    empty_columns_ : EmptyColumns
        The columns of X in fit without one observed value, or of identifiers,
        names or free text (text columns of 20 values or more, half of their
        cells or more a value no other cell holds; their positions, and names):
        left out of the models, with a warning, and returned by ``transform`` as
        X holds them.
    linear_ : LinearPart or None
        For a (D)AE imputer of a table with held-out cells: a normal fitted by EM
        to the encoded rows, blended into the imputed numbers and level
        probabilities at the networks' shares ``share`` and ``level_share``
        that imputed the held-out cells best (1: theirs alone). Single
        imputation only: multiple imputations are the networks' draws.
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(200, 4))
    >>> X[::5, 1] = np.nan
    >>> filled = aekit.Imputer(random_state=0).fit_transform(X)
    >>> bool(np.isnan(filled).any())
    False
    """

    _task = "impute"

    holdout_fraction: float | str = "auto"
    n_models: int = 3
    n_iter: int = 10

    def _check_params(self) -> None:
        if self.holdout_fraction != "auto":
            check_float(
                "holdout_fraction", self.holdout_fraction, 0, 1, low_open=False, high_open=True
            )
        check_int("n_iter", self.n_iter)
        check_int("n_importance", self.n_importance)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, *, checkpoint_dir=None, resume=False, checkpoint_every=60.0):
        """Train the model(s) on X, whose NaN cells are missing.

        X may also be a file streamed in chunks (a :class:`aekit.TableFile` or a
        path to a ``.csv``/``.parquet`` file). ``checkpoint_dir``, ``resume`` and
        ``checkpoint_every`` are as in :meth:`aekit.Autoencoder.fit` (models
        trained one after another get a subdirectory each).

        Returns
        -------
        self
        """
        warn_index_column(X)
        table = as_table(X)
        template = self._make_model(table.image_shape)  # images: imputed as tables of pixels
        # the imputer's seed, else its model's, seeds the held-out cells and the models
        origin = self.random_state if self.random_state is not None else template.random_state
        plan = CheckpointPlan.from_args(checkpoint_dir, resume, checkpoint_every, origin)
        n_models = check_int("n_models", self.n_models)
        cells = HeldOutCells(self._holdout_share(template), fit_seed(origin, template.device))
        hidden = table.map(cells.hide)  # which keeps observed cells in every column
        empty = EmptyColumns.of(hidden)  # a file's: from the pass fit makes anyway
        if empty:  # left out of the models, passed through as given
            empty.warn(hidden, *AS_GIVEN)
            cells = cells.narrowed(empty.positions)  # the same held-out cells
            table, hidden = (empty.drop_from(t) for t in (table, hidden))
        params = self.get_params(deep=False)
        context = {"imputer": {k: v for k, v in params.items() if k not in ("model", "verbose")}}
        self.models_ = template.fit_copies(
            hidden,
            n_models,
            random_state=origin,
            monitor=cells.monitor(table, self.n_iter, self.n_importance),
            checkpoint=plan,
            context=context,
        )
        self.model_, self.empty_columns_ = self.models_[0], empty
        # refinement rounds at each model's kept epoch; without held-out cells to
        # choose them, no refinement (it can drift)
        self.n_iter_ = (
            None if isinstance(template, VAE) else tuple(map(copies.kept_rounds, self.models_))
        )
        self.linear_ = None  # a normal blended in (a (D)AE's table with held-out cells)
        if not isinstance(template, VAE):
            self.linear_ = linear_part(table, cells, self.model_.encoder_, self._network_fill)
        self.expected_error_ = cells.errors(self._fill, table, self.model_.encoder_)
        return self._adopt(self.model_)

    def _holdout_share(self, model) -> float:
        if self.holdout_fraction != "auto":
            return float(self.holdout_fraction)
        return 0.0 if getattr(model, "missingness", None) == "self-masking" else 0.1

    # ------------------------------------------------------------ transform
    def _fill(self, df: pd.DataFrame, notes=None) -> pd.DataFrame:
        """``df`` (X as the models' ``frame_of`` gives it) completed, with its index;
        ``notes``: a file's :class:`~aekit.data.empty.ChunkWarnings` (see :meth:`_known`).

        With several models, their imputations are averaged in encoded space
        (means, probabilities, level probabilities) before decoding: the mean
        of the ensemble's conditional distributions; then the linear part, if
        any, is blended in (:mod:`.linear`).
        """
        x, mask, filled = self._network_fill(df, notes)
        if self.linear_ is not None:
            filled = self.linear_.blend(x, seen_dims(self.model_.encoder_, mask), filled)
        return merge_observed(df, self.model_.encoder_.decode(filled, index=df.index))

    def _network_fill(self, df: pd.DataFrame, notes=None) -> tuple[np.ndarray, ...]:
        """(encoded rows of ``df``, their observed columns, the networks' encoded
        imputation of them)."""
        first = self.models_[0]  # the models share one schema and scaling: same data
        x, mask = first.encode_rows(self._known(df, notes), within_fit=True)
        iters = self.n_iter_ or (None,) * len(self.models_)
        filled = np.mean(
            [
                model.map_chunks(
                    lambda x, m, module=model.module_, n=n: impute_tensors(
                        module, x, m, n_iter=n, n_importance=self.n_importance
                    ),
                    x,
                    mask,
                    chunk=copies.rows_per_pass(model, x, self.n_importance),
                )
                for model, n in zip(self.models_, iters, strict=True)
            ],
            axis=0,
        )
        return x.cpu().numpy(), mask.cpu().numpy(), filled

    def _known(self, df: pd.DataFrame, notes=None) -> pd.DataFrame:
        """``df`` with the values fit never saw missing, and a warning naming them
        (noted in ``notes`` for one warning a file): levels, and numbers
        :data:`~aekit.data.bounds.FAR` ranges beyond fit's (kept as given in the
        output, :func:`~aekit.data.merge.merge_observed`)."""
        return unknown_as_missing(df, self.model_.encoder_.unseen(df, numbers=True), notes)

    def _as_user(self, frame: pd.DataFrame, X, model):
        """A completed frame in the format of the user's X, as ``model`` (a model
        fitted on X's columns) writes its outputs."""
        if isinstance(X, pd.DataFrame):
            frame.columns = X.columns
            return frame
        out = model.as_output(frame, False)
        # float32 in, float32 out, as scikit-learn's imputers keep it (exactly: the
        # observed cells went through float64 unchanged)
        return out.astype(np.float32) if getattr(X, "dtype", None) == np.float32 else out

    def transform(self, X):
        """Fill every missing cell of X; observed cells are returned unchanged.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features), or images
            Images, (n, H, W) or (n, C, H, W) in [0, 1], have NaN pixels filled.

        Returns
        -------
        DataFrame (same index, columns, dtypes) or ndarray, like X
        """
        check_is_fitted(self)
        if not (table := as_table(X)).in_memory:
            raise AekitError(
                f"transform returns a table in memory; to impute the file {X} chunk by "
                "chunk, use transform_file(X, output)"
            )
        kept = self.empty_columns_.drop(X)
        self.empty_columns_.warn_values(X)
        df = self.models_[0].frame_of(kept)
        warn_empty_rows(empty_rows(df), table.name)
        return self._completed(df, kept, X)

    def _completed(self, df: pd.DataFrame, kept, X, notes=None):
        """X completed, like X, from ``df``: the models' frame of X less its empty
        columns (``notes``: a file's warnings, see :meth:`_known`)."""
        filled = self._fill(df, notes)
        return self.empty_columns_.restore(self._as_user(filled, kept, self.model_), X)

    def get_feature_names_out(self, input_features=None):
        """The completed table's columns: the input's (``x0``, ``x1``, ... for an
        array), so that ``set_output`` and pipelines work as for any transformer."""
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"x{i}" for i in range(self.n_features_in_)]
        return np.asarray(names, dtype=object)

    def transform_file(self, X, output, *, chunk_rows=None, force=False) -> int:
        """Impute a table file chunk by chunk and write the completed table.

        Memory holds one chunk at a time; the output (``.csv`` or ``.parquet``) is
        written whole or not at all, in the input's row order, with the index a
        Parquet input stores (written from pandas with one). From CSV to CSV the
        observed cells and the header are written as the input wrote them.

        Parameters
        ----------
        X : path or aekit.TableFile
        output : path
        chunk_rows : int, optional
            Rows per chunk for a path (default: aekit.data.stream.DEFAULT_CHUNK_ROWS).
        force : bool, default=False
            Overwrite an existing output.

        Returns
        -------
        int
            The number of cells that were missing and are now filled.
        """
        check_is_fitted(self)
        table = as_table(X, chunk_rows=chunk_rows)
        filled, notes = 0, ChunkWarnings(self.empty_columns_, table.name)
        integers = numpy_integers(table.file)  # a Parquet file's, as read whole

        def fill(chunk: pd.DataFrame) -> pd.DataFrame:
            nonlocal filled
            kept = self.empty_columns_.drop(chunk)
            filled += int(kept.isna().to_numpy().sum())
            df = self.models_[0].frame_of(kept)
            notes.chunk(chunk, df)
            return as_read(self._completed(df, kept, chunk, notes), integers)

        inputs = [] if table.path is None else [table.path]
        chunks = table.chunks(stored_index=True)  # a Parquet file's ids kept
        if getattr(table.file, "format", "") == "csv" and Path(output).suffix.lower() == ".csv":
            # CSV to CSV: the observed cells as the input wrote them
            given = self.empty_columns_.as_observed  # passed through: as written too
            frames = table.file.as_written((fill(c), given(c.notna().to_numpy())) for c in chunks)
        else:
            frames = (fill(c) for c in chunks)
        write_chunks(
            frames,
            output,
            inputs=inputs,
            force=force,
            dialect=table.dialect,
            types=arrow_types(table.file),
        )
        notes.close()
        return filled

    def multiple_imputations(self, X, m=5, *, random_state=None, draws="normal", donors=5) -> list:
        """m completed copies of X, for an analysis pooled by Rubin's rules
        (:func:`aekit.analyze`, :func:`aekit.pool`).

        - (D)AE models (the default's read the values without bins): proper
          imputations. Copy i comes from its own model, fitted here to a
          bootstrap resample of X's rows with this imputer's settings (the m
          models train as one batched network; ``models_`` are not used), its
          missing cells a Gibbs draw from that model's one-column conditionals.
        - VAE models: sampling-importance-resampling over posterior draws of
          the fitted models (copy i from model i mod n_models), then Gibbs
          sweeps over their one-column conditionals; the networks are fitted
          once, so the uncertainty of their weights is left out. With a
          missingness model (not-MIWAE) the copies are the resampled draws.

        Categories are sampled; numbers are drawn as ``draws`` says, from a least
        squares fit on the network's prediction and the row's other cells.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features), or images
        m : int, default=5
        random_state : int, RandomState or None
            None repeats the draws of the fitted seed (unfitted: of the
            imputer's ``random_state``).
        draws : {"normal", "pmm"}, default="normal"
            "normal": around the fit's prediction, its coefficients and noise
            drawn from their posterior (chained equations' "norm"). "pmm":
            predictive mean matching (R mice's default), the observed value of
            one of the ``donors`` observed cells predicted nearest: copies keep
            a column's bounds, steps and skew (tables; not with a missingness model).
        donors : int, default=5

        Returns
        -------
        list of m DataFrames or ndarrays, like X

        Examples
        --------
        An imputer with a (D)AE model needs no fit first:

        >>> import numpy as np, aekit
        >>> X = np.random.default_rng(0).normal(size=(200, 3))
        >>> X[::4, 0] = np.nan
        >>> copies = aekit.Imputer(random_state=0).multiple_imputations(X, m=2)  # doctest: +SKIP
        """
        m, fitted = check_int("m", m), hasattr(self, "models_")
        shape = image_shape_of(X)  # images: refused with draws="pmm" (Bernoulli pixels)
        donors = copies.check_draws(draws, donors, self.model_ if fitted else self.model, shape)
        if not fitted and isinstance(self._make_model(shape), VAE):
            raise NotFittedError(  # the VAE's draws come from the fitted models
                "this Imputer's VAE model draws its copies from the models fit trains: "
                "call fit(X) first (an imputer with a (D)AE model fits its own models here)"
            )
        if fitted:
            empty = self.empty_columns_
        else:  # the models fitted here leave X's out (a file's models refuse them)
            table = as_table(X)
            empty = EmptyColumns.of(table) if table.in_memory else EmptyColumns()
            if empty:
                empty.warn(table, *AS_GIVEN)
        given, X = X, empty.drop(X)  # X's columns checked first
        if fitted:
            empty.warn_values(given)
            model = self.model_
            seed = model.seed_ if random_state is None else draw_seed(random_state)
            df = model.frame_of(X)
            known = self._known(df)
        else:  # the frame comes from the models fitted here
            model, df, known = None, None, None
            seed = draw_seed(self.random_state if random_state is None else random_state)
        if isinstance(model, VAE):
            x, mask = model.encode_rows(known, within_fit=True)
            drawn = copies.resampled(self.models_, x, mask, m, seed, self.n_importance, donors)
        else:  # unseen values (now missing) are kept as given in the copies: merge_observed
            source = X if known is df else known
            table = as_table(source)
            template = self._make_model(table.image_shape, task="copies")
            share, rounds = self._holdout_share(template), (self.n_iter, self.n_importance)
            drawn, model, frame = copies.bootstrap_draws(
                template, source, table, known, m, seed, share, *rounds, donors
            )
            df = frame if df is None else df
        decoded = (copies.decoded(model.encoder_, d, df, donors) for d in drawn)
        return [
            empty.restore(self._as_user(merge_observed(df, d), X, model), given) for d in decoded
        ]

    # ------------------------------------------------------------ model files
    def _state(self) -> dict:
        errors = self.expected_error_
        return {
            "n_iter_": None if self.n_iter_ is None else list(self.n_iter_),
            "expected_error": None if errors is None else errors.to_dict(orient="list"),
            "linear": None if self.linear_ is None else self.linear_.state(),
        }

    def _restore(self, state: dict, models: list) -> None:
        self.models_, self.model_ = models, models[0]
        n_iter = state["n_iter_"]
        self.n_iter_ = None if n_iter is None else tuple(int(n) for n in n_iter)
        errors = state["expected_error"]
        self.expected_error_ = None if errors is None else pd.DataFrame(errors)
        self.linear_ = LinearPart.from_state(state.get("linear"))  # none in older files

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags
