"""``aekit.Imputer``: fill missing cells with an autoencoder trained on the
incomplete data, and ``aekit.pool``: Rubin's rules for multiple imputation.

- DAE imputer (Abiri et al. 2019): missing cells start at the column's observed
  mean, masking noise hides observed cells during training so the network learns
  to reconstruct hidden values, and imputation refines the missing cells
  iteratively (reconstruct, write back into the missing cells, repeat).
- VAE imputer (MIWAE, Mattei & Frellsen 2019): the conditional mean
  ``E[x_mis | x_obs]`` by self-normalised importance sampling over posterior
  draws; multiple imputation by sampling-importance-resampling.
- Missing not at random: ``VAE(missingness="self-masking")`` (not-MIWAE).

Model selection without ground truth (over-imputation): ``holdout_fraction`` of
the observed cells are hidden from training; early stopping watches the error
of imputing them, and ``expected_error_`` reports it per column.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..checkpoint import CheckpointPlan, fingerprint
from ..data import stream
from ..data.schema import as_frame, image_shape_of
from ..errors import AekitError
from ..models import VAEModule
from .autoencoder import Autoencoder
from .base import (
    IMAGE_NETWORKS,
    BaseAutoencoderEstimator,
    _check_float,
    _check_int,
    _check_random_state,
    adopt_features,
    draw_seed,
    fit_seed,
)
from .vae import VAE

MONITOR_ROWS = 2000  # rows used to watch the held-out cells during training
HOLDOUT_TAG = 0x686F6C64  # seeds the draws of held-out cells, apart from other draws


def default_model(image_shape=None) -> BaseAutoencoderEstimator:
    """The imputer used when ``model=None`` (chosen by ``benchmarks/imputation.py``;
    for images, given their ``image_shape``, with :data:`IMAGE_NETWORKS`, chosen by
    ``benchmarks/images.py``)."""
    return Autoencoder(
        noise="masking",
        noise_level=0.25,
        mask_input=True,
        latent_dim=16,
        hidden_dims=(128, 64),
        learning_rate=3e-3,
        max_epochs=500,
        patience=50,
        validation_fraction=0.0,
    ).set_params(**(IMAGE_NETWORKS if image_shape else {}))


def preset(name: str, image_shape=None) -> BaseAutoencoderEstimator | None:
    """Named imputation models, as offered by ``aekit impute --model``.

    ``default`` (None: :func:`default_model`), ``dae``, ``vae`` (MIWAE-style
    importance-weighted training), ``tvae`` (Student-t prior) and ``mnar``
    (self-masking missingness, for data missing not at random). For images
    (``image_shape`` given) the networks are :data:`IMAGE_NETWORKS`.
    """
    vae = dict(
        latent_dim=8,
        hidden_dims=(128, 128),
        objective="iwae",
        n_samples=20,
        learning_rate=1e-3,
        max_epochs=500,
        patience=30,
        validation_fraction=0.0,
    )
    if image_shape:
        vae.update(IMAGE_NETWORKS, n_samples=5)
    presets = {
        "default": lambda: None,
        "dae": lambda: default_model(image_shape),
        "vae": lambda: VAE(**vae),
        "tvae": lambda: VAE(prior="student-t", **vae),
        # self-masking models continuous values: pixels get a Gaussian likelihood
        "mnar": lambda: VAE(
            missingness="self-masking",
            **(dict(pixel_likelihood="gaussian") if image_shape else {}),
            **vae,
        ),
    }
    if name not in presets:
        raise AekitError(f"model must be one of {list(presets)}; got {name!r}")
    return presets[name]()


class Imputer(TransformerMixin, BaseEstimator):
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
        fit). (D)AE models are trained together as one batched network, each
        stopping at its own best epoch, in little more time than one; VAE
        models are trained one after another.
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

    def __init__(
        self,
        model=None,
        *,
        holdout_fraction="auto",
        n_models=3,
        n_iter=10,
        n_importance=100,
        random_state=None,
        verbose=False,
    ):
        self.model = model
        self.holdout_fraction = holdout_fraction
        self.n_models = n_models
        self.n_iter = n_iter
        self.n_importance = n_importance
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def _make_model(self, image_shape=None) -> BaseAutoencoderEstimator:
        if self.model is not None and not isinstance(self.model, (Autoencoder, VAE)):
            raise AekitError(
                f"model must be an aekit Autoencoder or VAE (or None); got "
                f"{type(self.model).__name__}"
            )
        if self.holdout_fraction != "auto":
            _check_float(
                "holdout_fraction", self.holdout_fraction, 0, 1, low_open=False, high_open=True
            )
        _check_int("n_iter", self.n_iter)
        _check_int("n_importance", self.n_importance)
        _check_random_state(self.random_state)
        model = default_model(image_shape) if self.model is None else clone(self.model)
        if self.random_state is not None:
            model.set_params(random_state=self.random_state)
        if self.verbose:
            model.set_params(verbose=True)
        return model

    def fit(self, X, y=None, *, checkpoint_dir=None, resume=False, checkpoint_every=60.0):
        """Train the model(s) on X, whose NaN cells are missing.

        ``checkpoint_dir``, ``resume`` and ``checkpoint_every`` are as in
        :meth:`aekit.Autoencoder.fit` (models trained one after another get a
        subdirectory each).

        Returns
        -------
        self
        """
        if stream.is_table_path(X):
            return self._fit_stream(
                stream.as_table_file(X), checkpoint_dir, resume, checkpoint_every
            )
        image_shape = image_shape_of(X)  # images are imputed as tables of pixels
        template = self._make_model(image_shape)
        # the imputer's seed, else its model's, seeds the held-out cells and the models
        source = self.random_state if self.random_state is not None else template.random_state
        plan = CheckpointPlan.from_args(checkpoint_dir, resume, checkpoint_every, source)
        n_models = _check_int("n_models", self.n_models)
        df, is_frame = as_frame(X)
        hidden = self._holdout(df, self._holdout_share(template), source, template.device)
        df_fit = df.mask(hidden) if hidden.any() else df
        context = None if plan is None else self._context(df)  # hashes df: only when needed
        self._train_models(
            template,
            df_fit,
            source,
            n_models,
            self._monitor(df, hidden),
            plan,
            context,
            is_frame,
            image_shape,
        )
        self.expected_error_ = self._errors(df, df_fit, hidden) if hidden.any() else None
        return adopt_features(self, self.model_)

    def _train_models(
        self, template, data, source, n_models, monitor, plan, context, is_frame, image_shape
    ) -> None:
        """Fit ``n_models`` copies of ``template`` on ``data`` (a table, or a streamed
        one): as one batched network where the model allows it."""
        seeds = check_random_state(source).randint(np.iinfo(np.int32).max, size=n_models)
        if n_models > 1 and template._supports_members(image_shape):
            # one batched network: about the time of training one model
            template.set_params(random_state=int(seeds[0]))
            models = template._fit_members(
                data,
                n_models,
                monitor=monitor,
                checkpoint=plan,
                context=context,
                user_frame=is_frame,
                image_shape=image_shape,
            )
        else:
            models = []
            for i, seed in enumerate(seeds):
                model = clone(template).set_params(random_state=int(seed))
                model._fit(
                    data,
                    monitor=monitor,
                    checkpoint=None
                    if plan is None
                    else dataclasses.replace(plan, directory=plan.directory / f"model{i}"),
                    context=context,
                    user_frame=is_frame,
                    image_shape=image_shape,
                )
                models.append(model)
        iters = []
        for model in models:
            history = model.history_
            if "val_rounds" in history:  # (D)AE with held-out cells: rounds at the kept epoch
                iters.append(int(history.loc[history["best"], "val_rounds"].iloc[-1]))
            else:
                iters.append(1)  # without held-out cells to choose, do not refine: it can drift
        self.models_ = models
        self.model_ = models[0]
        self.n_iter_ = None if isinstance(template, VAE) else tuple(iters)

    def _fit_stream(self, source, checkpoint_dir, resume, checkpoint_every):
        """:meth:`fit` on a table streamed from a file (see :mod:`aekit.data.stream`).

        Each chunk has its own held-out cells, drawn alike on every pass; early
        stopping watches the first ``MONITOR_ROWS`` rows with held-out cells (as
        in memory), and ``expected_error_`` is measured on those rows.
        """
        template = self._make_model(None)
        origin = self.random_state if self.random_state is not None else template.random_state
        plan = CheckpointPlan.from_args(checkpoint_dir, resume, checkpoint_every, origin)
        n_models = _check_int("n_models", self.n_models)
        share, seed = self._holdout_share(template), fit_seed(origin, template.device)

        def hidden_of(i: int, chunk: pd.DataFrame) -> np.ndarray:  # alike on every pass
            return self._hidden(chunk, share, np.random.default_rng([seed, HOLDOUT_TAG, i]))

        def hide(i: int, chunk: pd.DataFrame) -> pd.DataFrame:
            hidden = hidden_of(i, chunk)
            return chunk.mask(hidden) if hidden.any() else chunk

        parts, hidden_parts, rows = [], [], 0
        for i, chunk in enumerate(source.chunks()):  # the monitor's rows: the first ones
            if rows >= MONITOR_ROWS or share == 0:
                break
            hidden = hidden_of(i, chunk)
            some = hidden.any(1)
            parts.append(chunk[some])
            hidden_parts.append(hidden[some])
            rows += int(some.sum())
        context = None
        if plan is not None:
            params = self.get_params(deep=False)
            imputer = {k: v for k, v in params.items() if k not in ("model", "verbose")}
            context = {"imputer": imputer, "data": source.fingerprint()}
        if parts and rows:
            df = pd.concat(parts).iloc[:MONITOR_ROWS]
            hidden = np.concatenate(hidden_parts)[:MONITOR_ROWS]
            monitor = self._monitor(df, hidden)
        else:
            df, hidden, monitor = None, None, None
        self._train_models(
            template, source.map(hide), origin, n_models, monitor, plan, context, True, None
        )
        self.expected_error_ = None if df is None else self._errors(df, df.mask(hidden), hidden)
        return adopt_features(self, self.model_)

    def transform_file(self, X, output, *, chunk_rows=None, force=False) -> int:
        """Impute a table file chunk by chunk and write the completed table.

        Memory holds one chunk at a time; the output (``.csv`` or ``.parquet``) is
        written whole or not at all, in the input's row order.

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
        source = stream.as_table_file(X, chunk_rows)
        filled = 0

        def fill(chunk: pd.DataFrame) -> pd.DataFrame:
            nonlocal filled
            filled += int(chunk.isna().to_numpy().sum())
            return self.transform(chunk)

        stream.write_chunks((fill(c) for c in source.chunks()), output, source, force=force)
        return filled

    def _context(self, df: pd.DataFrame) -> dict:
        """What besides the model's own settings decides its training (for checkpoints)."""
        params = self.get_params(deep=False)
        return {
            "imputer": {k: v for k, v in params.items() if k not in ("model", "verbose")},
            "data": fingerprint(pd.util.hash_pandas_object(df, index=False).to_numpy()),
        }

    def _holdout_share(self, model) -> float:
        if self.holdout_fraction != "auto":
            return float(self.holdout_fraction)
        return 0.0 if getattr(model, "missingness", None) == "self-masking" else 0.1

    def _holdout(self, df: pd.DataFrame, share: float, random_state, device) -> np.ndarray:
        """Observed cells to hide for over-imputation, (n, p) bool."""
        # a stream of its own: a RandomState seeded like the one that made the holes
        # (e.g. ampute with the same seed) would pick exactly the missing cells
        rng = np.random.default_rng([fit_seed(random_state, device), HOLDOUT_TAG, 0])
        return self._hidden(df, share, rng)

    def _hidden(self, df: pd.DataFrame, share: float, rng) -> np.ndarray:
        """A share of the observed cells of ``df``, drawn from ``rng``, (n, p) bool."""
        observed = df.notna().to_numpy()
        if share == 0:
            return np.zeros_like(observed)
        hidden = observed & (rng.random(observed.shape) < share)
        for j, col in enumerate(df.columns):
            s = df[col]
            keep = observed[:, j] & ~hidden[:, j]
            if keep.sum() < 2:  # a column needs observed cells to be modelled
                hidden[:, j] = False
            elif not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
                # a level seen only in hidden cells would be unknown to the model
                seen = set(s[keep])
                hidden[:, j] &= s.isin(seen).to_numpy()
        return hidden

    def _impute_tensors(self, module, x, mask, n_iter):
        if isinstance(module, VAEModule):
            return module.impute(x, mask, k=self.n_importance)
        return module.impute(x, mask, n_iter=n_iter)

    def _monitor(self, df, hidden):
        """The ``monitor`` argument of ``_fit``: None without held-out cells."""
        if not hidden.any():
            return None
        return lambda encoder, module: self._watch(encoder, module, df, hidden)

    def _watch(self, encoder, module, df, hidden):
        """Early-stopping signal: mean error of imputing the held-out cells.

        For a (D)AE the error is taken after each refinement round and the best
        round count is reported too (``rounds``, recorded as ``val_rounds``).
        """
        rows = np.flatnonzero(hidden.any(1))[:MONITOR_ROWS]
        part = df.iloc[rows]
        x_true, _ = encoder.encode(part)
        x_fit, mask_fit = encoder.encode(part.mask(hidden[rows]))
        device = next(module.parameters()).device
        x_fit, mask_fit = torch.from_numpy(x_fit).to(device), torch.from_numpy(mask_fit).to(device)
        target, cells = (
            torch.from_numpy(x_true).to(device),
            torch.from_numpy(hidden[rows]).to(device),
        )
        likelihood = module.likelihood
        n_cells = float(cells.sum())

        def watch():
            """Error per model (one value, or one per member of an ensemble); for a
            (D)AE with the best number of refinement rounds per model."""
            if isinstance(module, VAEModule):
                filled = module.impute(x_fit, mask_fit, k=min(self.n_importance, 20))
                return _total_errors(filled, target, cells, likelihood) / n_cells
            errors, filled, active = [], x_fit, None
            for _ in range(self.n_iter):  # impute(·, 1) from the last output is one more round
                filled = module.impute(filled, mask_fit, n_iter=1)
                error = _total_errors(filled, target, cells, likelihood)
                if errors:  # a model stops refining once a round does not help it
                    error = np.where(active, error, np.inf)
                    active &= error < errors[-1]
                else:
                    active = np.ones(error.shape, dtype=bool)
                errors.append(error)
                if not active.any():
                    break
            errors = np.stack(errors)  # (rounds, models)
            return {"monitor": errors.min(0) / n_cells, "rounds": errors.argmin(0) + 1}

        return watch

    def _errors(self, df, df_fit, hidden) -> pd.DataFrame:
        """Per-column error of imputing the held-out cells, in the column's units."""
        imputed = self._fill(df_fit)
        out = []
        for j, col in enumerate(self.model_.encoder_.schema):
            cells = hidden[:, j]
            truth, guess = df.iloc[cells, j], imputed.iloc[cells, j]
            if not cells.any():
                out.append((col.name, "-", np.nan, 0))
            elif col.kind in ("continuous", "unit"):
                err = np.sqrt(np.mean((truth.to_numpy(float) - guess.to_numpy(float)) ** 2))
                out.append((col.name, "rmse", float(err), int(cells.sum())))
            else:
                wrong = truth.astype(object).to_numpy() != guess.astype(object).to_numpy()
                out.append((col.name, "error_rate", float(wrong.mean()), int(cells.sum())))
        return pd.DataFrame(out, columns=["column", "metric", "value", "n_cells"])

    # ------------------------------------------------------------ transform
    def _fill(self, X) -> pd.DataFrame:
        """X completed, as a DataFrame with X's index.

        With several models, their imputations are averaged in encoded space
        (means, probabilities, level probabilities) before decoding: the mean
        of the ensemble's conditional distributions.
        """
        first = self.models_[0]  # the models share one schema and scaling: same data
        df, _ = first._frame(X, reset=False)
        x, mask = first._tensors(df)
        iters = self.n_iter_ or (None,) * len(self.models_)
        filled = np.mean(
            [
                model._map(
                    lambda x, m, model=model, n=n: self._impute_tensors(model.module_, x, m, n),
                    x,
                    mask,
                    chunk=self._chunk(model, x),
                )
                for model, n in zip(self.models_, iters, strict=True)
            ],
            axis=0,
        )
        imputed = first.encoder_.decode(filled, index=df.index)
        return _merge(df, imputed)

    def _chunk(self, model, x) -> int:
        """Rows per forward pass, so that k draws × rows × width stays near 8M floats."""
        per_row = x.shape[1] * (self.n_importance if isinstance(model, VAE) else 4)
        return max(1, min(4096, (1 << 23) // max(per_row, 1)))

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
        if stream.is_table_path(X):
            raise AekitError(
                f"transform returns a table in memory; to impute the file {X} chunk by "
                "chunk, use transform_file(X, output)"
            )
        _, is_frame = as_frame(X)
        out = self._fill(X)
        if is_frame:
            out.columns = X.columns
            return out
        return self.model_._as_array(out)

    def multiple_imputations(self, X, m=5, *, random_state=None) -> list:
        """m completed copies of X, drawn from the model's conditional distribution.

        Each copy is a proper draw from ``p(x_mis | x_obs)`` by
        sampling-importance-resampling over posterior draws (categories are
        sampled). Needs a VAE model.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        m : int, default=5
        random_state : int, RandomState or None
            None repeats the draws of the fitted seed.

        Returns
        -------
        list of m DataFrames or ndarrays, like X
        """
        check_is_fitted(self)
        m = _check_int("m", m)
        model = self.model_
        if not isinstance(model, VAE):
            raise AekitError(
                "multiple_imputations needs a VAE model (a DAE gives one imputation); "
                "use Imputer(model=aekit.VAE())"
            )
        seed = model.seed_ if random_state is None else draw_seed(random_state)
        df, is_frame = model._frame(X, reset=False)
        x, mask = model._tensors(df)
        # copy i comes from model i mod n_models: draws from the ensemble's mixture
        n_models = len(self.models_)
        per_model = []
        for j, member in enumerate(self.models_):
            count = len(range(j, m, n_models))
            if count == 0:
                break
            module = member.module_
            per_model.append(  # (n, count, width) so that _map can chunk over rows
                member._map(
                    lambda x, msk, module=module, c=count: module.draw_imputations(
                        x, msk, c, k=self.n_importance
                    ).transpose(0, 1),
                    x,
                    mask,
                    seed=seed + j,
                    chunk=self._chunk(member, x),
                )
            )
        copies = []
        for i in range(m):
            drawn = per_model[i % n_models][:, i // n_models]
            imputed = model.encoder_.decode(drawn, index=df.index)
            out = _merge(df, imputed)
            if is_frame:
                out.columns = X.columns
                copies.append(out)
            else:
                copies.append(model._as_array(out))
        return copies

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = False
        return tags


def _cell_errors(filled, target, cells, likelihood):
    """Per held-out cell loss, (..., n, n_columns): squared standardised error, or 0/1
    for a wrong level; zero outside ``cells``. ``filled`` may carry a leading
    dimension (the members of an ensemble)."""
    lik = likelihood
    errors = filled.new_zeros((*filled.shape[:-1], cells.shape[-1]))
    errors[..., lik.cont_cols] = (filled[..., lik.cont_dims] - target[..., lik.cont_dims]) ** 2
    errors[..., lik.bin_cols] = (
        (filled[..., lik.bin_dims] > 0.5) != (target[..., lik.bin_dims] > 0.5)
    ).to(filled.dtype)
    errors[..., lik.unit_cols] = (filled[..., lik.unit_dims] - target[..., lik.unit_dims]) ** 2
    if len(lik.cat_cols):
        pad = ~lik.cat_valid
        guess = filled[..., lik.cat_index].masked_fill(pad, -1.0).argmax(-1)
        truth = target[..., lik.cat_index].masked_fill(pad, -1.0).argmax(-1)
        errors[..., lik.cat_cols] = (guess != truth).to(filled.dtype)
    return torch.where(cells, errors, torch.zeros((), dtype=errors.dtype, device=errors.device))


def _total_errors(filled, target, cells, likelihood) -> np.ndarray:
    """Summed held-out cell loss per model, shape (1,) or (members,)."""
    total = _cell_errors(filled, target, cells, likelihood).sum((-2, -1))
    return total.double().cpu().numpy().reshape(-1)


def _merge(df: pd.DataFrame, imputed: pd.DataFrame) -> pd.DataFrame:
    """df with its missing cells taken from imputed; observed cells untouched."""
    out = {}
    for col in df.columns:
        s = df[col]
        missing = s.isna()
        out[col] = s.where(~missing, imputed[col].astype(s.dtype)) if missing.any() else s
    return pd.DataFrame(out, index=df.index, columns=df.columns)


# ---------------------------------------------------------------- pooling
@dataclass(frozen=True)
class PooledEstimate:
    """Rubin's rules applied to m analyses of m imputed datasets."""

    estimate: np.ndarray  # Q̄ = mean of the m estimates
    within: np.ndarray  # Ū = mean of the m variances
    between: np.ndarray  # B = variance of the m estimates (ddof=1)
    total: np.ndarray  # T = Ū + (1 + 1/m) B
    dof: np.ndarray  # ν = (m - 1) (1 + 1/r)², r = (1 + 1/m) B / Ū
    fmi: np.ndarray  # fraction of missing information, (r + 2/(ν + 3)) / (r + 1)

    @property
    def std_error(self) -> np.ndarray:
        return np.sqrt(self.total)


def pool(estimates, variances) -> PooledEstimate:
    """Pool m estimates and their variances by Rubin's rules (Rubin 1987).

    Parameters
    ----------
    estimates : array-like of shape (m,) or (m, n_params)
        The same quantity estimated on each of the m imputed datasets.
    variances : array-like, same shape
        Each estimate's squared standard error.

    Returns
    -------
    PooledEstimate with ``estimate``, ``within``, ``between``, ``total``,
    ``dof``, ``fmi`` and ``std_error``.
    """
    q = np.asarray(estimates, dtype=np.float64)
    u = np.asarray(variances, dtype=np.float64)
    if q.shape != u.shape:
        raise AekitError(f"estimates have shape {q.shape} but variances have shape {u.shape}")
    if q.ndim == 0 or q.shape[0] < 2:
        raise AekitError("pool needs estimates from at least m=2 imputed datasets")
    if not (np.isfinite(q).all() and np.isfinite(u).all()) or (u < 0).any():
        raise AekitError("estimates and variances must be finite, variances non-negative")
    m = q.shape[0]
    q_bar, u_bar = q.mean(0), u.mean(0)
    b = q.var(0, ddof=1)
    total = u_bar + (1 + 1 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (1 + 1 / m) * b / u_bar
        dof = np.where(b > 0, (m - 1) * (1 + 1 / r) ** 2, np.inf)
        fmi = np.where(b > 0, (r + 2 / (dof + 3)) / (r + 1), 0.0)
    return PooledEstimate(q_bar, u_bar, b, total, dof, fmi)
