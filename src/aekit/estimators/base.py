"""What every aekit estimator shares: the scikit-learn contract, data in and
out, seeds, training, and saving.

A subclass supplies ``_build_module(encoder, x)`` (the torch module),
``_latent(module, x)`` and ``_row_log_prob(module, x, mask)``; everything that
turns arrays and DataFrames into tensors and back lives here.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import distributed
from ..checkpoint import CheckpointPlan, fingerprint
from ..data import stream
from ..data.schema import as_frame, image_schema, image_shape_of, infer_schema
from ..data.stream import Scan
from ..data.tabular import TabularEncoder
from ..errors import AekitError, AekitWarning, ModelFileError
from ..likelihoods import Likelihood
from ..models.networks import member_state
from ..training import TrainSettings, resolve_device, seeded, train

INFERENCE_CHUNK = 4096  # rows per forward pass at transform/score time
# The networks of the default models for images (chosen by benchmarks/images.py);
# for architecture "conv", hidden_dims are the channel counts of the convolutions.
IMAGE_NETWORKS = dict(architecture="conv", hidden_dims=(32, 64), latent_dim=16)

_REGISTRY: dict[str, type] = {}


def draw_seed(random_state) -> int:
    """One integer seed from None, an int or a RandomState (scikit-learn's convention)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def fit_seed(random_state, device) -> int:
    """The seed a fit draws from ``random_state``: rank 0's under torchrun."""
    return distributed.agree(draw_seed(random_state), resolve_device(device))


def adopt_features(wrapper, model):
    """Give a wrapper (Imputer, AnomalyDetector) its fitted model's
    ``n_features_in_`` and ``feature_names_in_``; return the wrapper."""
    wrapper.n_features_in_ = model.n_features_in_
    if hasattr(model, "feature_names_in_"):
        wrapper.feature_names_in_ = model.feature_names_in_
    elif hasattr(wrapper, "feature_names_in_"):  # refitted on data without column names
        del wrapper.feature_names_in_
    return wrapper


def _check_random_state(value) -> None:
    """None, a RandomState, or an int seed in [0, 2**32 - 1] (NumPy's range)."""
    if value is None or isinstance(value, np.random.RandomState):
        return
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise AekitError(f"random_state must be None, an int or a RandomState; got {value!r}")
    if not 0 <= value < 2**32:
        raise AekitError(f"random_state must be in [0, 2**32 - 1]; got {value}")


def _check_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise AekitError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def _check_float(name, value, low, high, *, low_open=True, high_open=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    if not ok:
        lb, hb = "(" if low_open else "[", ")" if high_open else "]"
        raise AekitError(f"{name} must be a number in {lb}{low}, {high}{hb}; got {value!r}")
    return float(value)


def _check_choice(name, value, choices):
    if value not in choices:
        raise AekitError(f"{name} must be one of {list(choices)}; got {value!r}")
    return value


@dataclasses.dataclass
class _FitJob:
    """What fitting needs once the settings and the data are checked."""

    settings: TrainSettings
    encoder: TabularEncoder
    is_frame: bool
    x: torch.Tensor
    mask: torch.Tensor
    n_val: int
    seed: int
    device: torch.device
    source: object = None  # a streamed table (aekit.data.stream), or None in memory
    scan: Scan | None = None  # what the first pass over it found

    def checkpoint(self, estimator, plan, context) -> None:
        """Point the settings at a checkpointer for this data and these settings."""
        if plan is None:
            return
        params = {
            k: v for k, v in estimator.get_params().items() if k not in ("verbose", "random_state")
        }
        key = fingerprint(
            type(estimator).__name__,
            params,
            self.seed,
            context,
            self.encoder.state(),
            self.x,
            self.mask,
            self.n_val,
            *([] if self.source is None else [self.source.fingerprint(), self.scan.threshold]),
        )
        self.settings = dataclasses.replace(self.settings, checkpoint=plan.open(key))

    def extremes(self) -> torch.Tensor:
        """Rows whose per-column minima and maxima are the encoded data's (the
        data itself in memory; two rows for a streamed table)."""
        if self.source is None:
            return self.x
        low, high = self.scan.bounds
        return torch.from_numpy(np.stack([low, high]).astype(np.float32)).to(self.device)

    def split(self):
        """(training rows, validation rows or None), drawn from torch's generator
        (for a streamed table: its chunks less the held-out rows, and those)."""
        if self.source is not None:
            rows = _EncodedChunks(
                self.source, self.encoder, self.scan.training(self.seed), self.device
            )
            return rows, ((self.x, self.mask) if self.n_val else None)
        order = np.random.default_rng([self.seed, stream.HOLDOUT]).permutation(len(self.x))
        val = torch.from_numpy(np.sort(order[: self.n_val])).to(self.device)
        tr = torch.from_numpy(np.sort(order[self.n_val :])).to(self.device)
        validation = (self.x[val], self.mask[val]) if self.n_val else None
        return (self.x[tr], self.mask[tr]), validation


class _EncodedChunks:
    """The training rows of a streamed table, read and encoded chunk by chunk on
    every pass (see :func:`aekit.training.train`)."""

    def __init__(self, source, encoder: TabularEncoder, keep, device: torch.device):
        self.source, self.encoder, self.keep, self.device = source, encoder, keep, device

    def chunks(self, rank: int = 0, size: int = 1):
        """Every chunk's encoded rows; with ``size`` > 1, rows ``rank::size`` of each,
        as many on every process (sharded before encoding: each process encodes
        only its own rows)."""
        for i, chunk in enumerate(self.source.chunks()):
            chunk = self.keep(i, chunk)
            if size > 1:  # the rows rank::size, as many on every process
                chunk = chunk.iloc[rank::size].iloc[: len(chunk) // size]
            if len(chunk):
                x, mask = self.encoder.encode(chunk, name=str(self.source.path))
                yield torch.from_numpy(x).to(self.device), torch.from_numpy(mask).to(self.device)


class BaseAutoencoderEstimator(TransformerMixin, BaseEstimator):
    """Shared base of :class:`~aekit.Autoencoder` and :class:`~aekit.VAE`."""

    _model_kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # ------------------------------------------------------------ settings
    def _check_params(self) -> TrainSettings:
        _check_int("latent_dim", self.latent_dim)
        hidden = self.hidden_dims
        if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
            raise AekitError(f"hidden_dims must be a sequence of integers; got {hidden!r}")
        for w in hidden:
            _check_int("each of hidden_dims", w)
        if self.batch_size != "auto":
            _check_int("batch_size", self.batch_size)
        _check_float(
            "validation_fraction", self.validation_fraction, 0, 1, low_open=False, high_open=True
        )
        _check_random_state(self.random_state)
        _check_choice("architecture", self.architecture, ("auto", "mlp", "conv"))
        _check_choice("pixel_likelihood", self.pixel_likelihood, ("bernoulli", "gaussian"))
        resolve_device(self.device)
        _check_choice("precision", self.precision, ("float32", "bfloat16"))
        return TrainSettings(
            autocast=torch.bfloat16 if self.precision == "bfloat16" else None,
            batch_size=0,  # set once the number of training rows is known
            max_epochs=_check_int("max_epochs", self.max_epochs),
            learning_rate=_check_float("learning_rate", self.learning_rate, 0, np.inf),
            patience=_check_int("patience", self.patience),
            verbose=bool(self.verbose),
            max_grad_norm=None
            if self.max_grad_norm is None
            else _check_float("max_grad_norm", self.max_grad_norm, 0, np.inf),
        )

    # --------------------------------------------------------------- data
    def _frame(self, X, *, reset: bool, image_shape=None) -> tuple[pd.DataFrame, bool]:
        """X as a DataFrame with the fitted column names, and whether X was one.

        A stack of images becomes one column per pixel; on ``reset`` the image
        shape (X's, else ``image_shape``, for images already flattened) is kept
        as ``image_shape_``, else it must match the fitted one.
        """
        shape = image_shape_of(X)
        fitted = getattr(self, "image_shape_", None)
        if reset:
            self.image_shape_ = shape or (tuple(image_shape) if image_shape else None)
        elif shape is not None and shape != fitted:
            raise AekitError(
                f"X holds images of shape {shape}; the model was fitted on "
                + (f"images of shape {fitted}" if fitted else "a table")
            )
        df, is_frame = as_frame(X)
        try:
            validate_data(self, df, reset=reset, skip_check_array=True)
        except AekitError:
            raise
        except ValueError as exc:  # scikit-learn's feature-name and feature-count checks
            raise AekitError(str(exc)) from exc
        if not reset and not hasattr(self, "feature_names_in_"):
            # fitted without string column names: columns are matched by position
            df = df.set_axis([c.name for c in self.encoder_.schema], axis=1)
        return df, is_frame

    def _tensors(self, df: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
        x, mask = self.encoder_.encode(df)
        device = self._device()
        return torch.from_numpy(x).to(device), torch.from_numpy(mask).to(device)

    def _device(self) -> torch.device:
        return resolve_device(self.device)

    def _output(self, encoded: np.ndarray, index, as_frame: bool):
        """Encoded-space values back to the user's format (images for an image model)."""
        frame = self.encoder_.decode(encoded, index=index)
        if as_frame:
            return frame
        return self._as_array(frame)

    def _as_array(self, frame: pd.DataFrame) -> np.ndarray:
        """A decoded table as an array: float64 rows, or images of the fitted shape."""
        if self.image_shape_ is None:
            return frame.to_numpy(dtype=np.float64)
        return frame.to_numpy().reshape(len(frame), *self.image_shape_)

    def _conv_shape(self) -> tuple[int, int, int] | None:
        """(C, H, W) when the networks are convolutional, else None."""
        shape = getattr(self, "image_shape_", None)
        if self.architecture == "conv" and shape is None:
            raise AekitError(
                "architecture='conv' needs images: an array of shape (n, H, W) or (n, C, H, W)"
            )
        if shape is None or self.architecture == "mlp":
            return None
        return (1, *shape) if len(shape) == 2 else tuple(shape)

    def _map(
        self, fn, *tensors, seed: int | None = None, chunk: int = INFERENCE_CHUNK
    ) -> np.ndarray:
        """Apply ``fn`` to row chunks in inference mode; concatenate as NumPy."""
        device = self._device()
        outs = []
        with torch.inference_mode(), seeded(self.seed_ if seed is None else seed, device):
            self.module_.eval()
            n = len(tensors[0])
            for s in range(0, n, chunk):
                outs.append(fn(*(t[s : s + chunk] for t in tensors)).cpu())
        return torch.cat(outs).double().numpy() if outs else np.zeros((0,))

    # ---------------------------------------------------------------- fit
    def fit(self, X, y=None, *, checkpoint_dir=None, resume=False, checkpoint_every=60.0):
        """Fit the model on X; NaN cells are missing and skipped by the loss.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : ignored
        checkpoint_dir : path, optional
            Save the training state there (atomically, every ``checkpoint_every``
            seconds and at the end), so that an interrupted fit can be resumed.
        resume : bool, default=False
            Continue from the checkpoint in ``checkpoint_dir``, if there is one;
            the result is the same as a fit that was never interrupted. A
            checkpoint made for other data or settings is refused.
        checkpoint_every : float, default=60.0
            Seconds between checkpoints (0: after every epoch).

        Returns
        -------
        self
        """
        plan = CheckpointPlan.from_args(checkpoint_dir, resume, checkpoint_every, self.random_state)
        return self._fit(X, checkpoint=plan)

    def _fit(
        self, X, *, monitor=None, checkpoint=None, context=None, user_frame=None, image_shape=None
    ):
        """Fit; ``monitor(encoder, module)``, if given, returns the per-epoch
        callable that early stopping watches (see :func:`aekit.training.train`);
        ``checkpoint`` is a :class:`~aekit.checkpoint.CheckpointPlan` and
        ``context`` what else decides the training (for the checkpoint's fingerprint);
        ``user_frame`` whether the user's own X was a DataFrame (default: X's type),
        ``image_shape`` the shape of one image when X holds images flattened to rows."""
        job = self._prepare(X, user_frame, image_shape)
        job.checkpoint(self, checkpoint, context)
        with seeded(job.seed, job.device):
            module = self._build_module(job.encoder, job.extremes()).to(job.device)
            train_data, validation = job.split()
            watch = None if monitor is None else monitor(job.encoder, module)
            history = self._train(module, train_data, validation, job.settings, watch)
            self._after_fit(module, train_data)
        self._set_fitted(job, module, history)
        return self

    def _supports_members(self, image_shape=None) -> bool:
        """Whether :meth:`_fit_members` can train several copies as one network
        (on data of images of ``image_shape``, if given)."""
        return False

    def _fit_members(
        self,
        X,
        members: int,
        *,
        monitor=None,
        checkpoint=None,
        context=None,
        user_frame=None,
        image_shape=None,
    ) -> list:
        """``members`` fitted copies of this estimator, trained together as one
        batched network from this estimator's seed (see ``aekit.models.networks``).

        Each copy starts from its own initial weights, sees its own shuffles and
        noise, and stops at its own best epoch; it is then an ordinary fitted
        estimator. ``monitor(encoder, ensemble)`` returns a callable giving one
        value per member.
        """
        if not self._supports_members(image_shape):
            raise AekitError(f"{type(self).__name__} with these settings has no batched training")
        job = self._prepare(X, user_frame, image_shape)
        job.checkpoint(self, checkpoint, {"members": members, "context": context})
        with seeded(job.seed, job.device):
            ensemble = self._build_module(job.encoder, job.extremes(), members=members).to(
                job.device
            )
            train_data, validation = job.split()
            watch = None if monitor is None else monitor(job.encoder, ensemble)
            histories = self._train(ensemble, train_data, validation, job.settings, watch)
            # built inside the seeded block: their (overwritten) initialisation and
            # anything _after_fit draws must not come from the caller's generator
            fitted = []
            for e, history in enumerate(histories):
                module = self._build_module(job.encoder, job.extremes()).to(job.device)
                module.load_state_dict(member_state(ensemble, module, e))
                member = clone(self)
                for name in ("n_features_in_", "feature_names_in_", "image_shape_"):  # by _frame
                    if hasattr(self, name):
                        setattr(member, name, getattr(self, name))
                member._after_fit(module, train_data)
                member._set_fitted(job, module, history)
                fitted.append(member)
        return fitted

    def _prepare(self, X, user_frame: bool | None = None, image_shape=None) -> _FitJob:
        """Check the settings and X; encode X; choose the batch size and the seed."""
        if stream.is_table_path(X):
            return self._prepare_stream(stream.as_table_file(X))
        settings = self._check_params()
        df, is_frame = self._frame(X, reset=True, image_shape=image_shape)
        if self.image_shape_ is not None:
            kind = "unit" if self.pixel_likelihood == "bernoulli" else "continuous"
            schema = image_schema(df, kind)
        else:
            schema = infer_schema(df)
        self._conv_shape()  # refuses architecture="conv" for a table
        encoder = TabularEncoder.fit(df, schema)
        self._check_width(encoder, df.shape)
        x_np, mask_np = encoder.encode(df)
        n = len(x_np)
        n_val = round(n * self.validation_fraction)
        batch_size = self._batch_size(n, n_val)
        if user_frame is None:
            user_frame = is_frame
        if n > 1 and user_frame:  # arrays (pixels always 0, ...): quietly
            counts = df.nunique(dropna=True).to_numpy()
            constant = [c.name for c, k in zip(schema, counts, strict=True) if k < 2]
            if constant:
                warnings.warn(
                    f"column(s) {constant[:10]} of X hold one value only: they carry no "
                    "information and are modelled like any other column; consider dropping "
                    "them",
                    AekitWarning,
                    stacklevel=3,
                )
        device = self._device()
        return _FitJob(
            settings=dataclasses.replace(settings, batch_size=batch_size),
            encoder=encoder,
            is_frame=user_frame,  # the user's X, not a wrapper's frame of it, sets outputs
            x=torch.from_numpy(x_np).to(device),
            mask=torch.from_numpy(mask_np).to(device),
            n_val=n_val,
            seed=fit_seed(self.random_state, self.device),
            device=device,
        )

    def _prepare_stream(self, source) -> _FitJob:
        """:meth:`_prepare` for a table streamed from a file: the first pass finds
        the schema, the statistics and the held-out rows (at most one chunk)."""
        settings = self._check_params()
        if self.architecture == "conv":
            raise AekitError(f"architecture='conv' needs images; {source.path} holds a table")
        seed = fit_seed(self.random_state, self.device)
        found = stream.scan(
            source, holdout=self.validation_fraction, cap=source.chunk_rows, seed=seed
        )
        encoder = found.encoder
        names = [c.name for c in encoder.schema]
        self.image_shape_ = None
        validate_data(self, pd.DataFrame(columns=names), reset=True, skip_check_array=True)
        self._check_width(encoder, (found.n_rows, len(names)))
        n, n_val = found.n_rows, len(found.held_out)
        batch_size = self._batch_size(n, n_val, f" in {source.path}")
        device = self._device()
        if n_val:
            x_np, mask_np = encoder.encode(found.held_out, name=str(source.path))
        else:
            x_np = np.zeros((0, encoder.width), dtype=np.float32)
            mask_np = np.zeros((0, len(names)), dtype=bool)
        return _FitJob(
            settings=dataclasses.replace(settings, batch_size=batch_size),
            encoder=encoder,
            is_frame=True,  # a table file has named columns: outputs are DataFrames
            x=torch.from_numpy(x_np).to(device),
            mask=torch.from_numpy(mask_np).to(device),
            n_val=n_val,
            seed=seed,
            device=device,
            source=source,
            scan=found,
        )

    def _batch_size(self, n: int, n_val: int, where: str = "") -> int:
        """The batch size for ``n`` rows of which ``n_val`` validate; refuses a split
        that leaves either side empty, and a batch larger than the training rows."""
        n_train = n - n_val
        if self.validation_fraction > 0 and (n_val < 1 or n_train < 1):
            raise AekitError(
                f"validation_fraction={self.validation_fraction} of {n} sample(s){where} "
                "leaves no rows for validation or training; pass more rows or set "
                "validation_fraction=0"
            )
        if self.batch_size == "auto":
            # at least ~16 steps an epoch on small tables, 256 rows a step on large ones
            return min(n_train, 256, max(32, n_train // 16))
        if self.batch_size > n_train:
            raise AekitError(
                f"batch_size={self.batch_size} is larger than the {n_train} training rows "
                f"({n} sample(s), validation_fraction={self.validation_fraction}); "
                "lower batch_size or pass more rows"
            )
        return self.batch_size

    def _set_fitted(self, job: _FitJob, module, history: pd.DataFrame) -> None:
        self.encoder_ = job.encoder
        self.module_ = module.eval()
        self.history_ = history
        self.n_epochs_ = int(history["epoch"].iloc[-1]) if len(history) else 0
        self.seed_ = job.seed
        self._pandas_out = job.is_frame

    def _check_width(self, encoder: TabularEncoder, shape) -> None:
        """Hook: refuse settings that cannot work for this table."""

    def _train(self, module, data, validation, settings, monitor=None) -> pd.DataFrame:
        return train(
            module, data, validation, settings, description=type(self).__name__, monitor=monitor
        )

    def _after_fit(self, module, data) -> None:
        """Hook: fitted state computed from the training rows (``(x, mask)`` or a
        streamed source: see :func:`aekit.training.chunks_of`)."""

    def _likelihood(self, encoder: TabularEncoder, members: int | None = None) -> Likelihood:
        kinds, widths = [c.kind for c in encoder.schema], [c.width for c in encoder.schema]
        return Likelihood(kinds, widths, members)

    def _network_args(self) -> dict:
        """Keyword arguments of the torch module that choose its networks."""
        shape = self._conv_shape()
        return {} if shape is None else {"image_shape": shape}

    # ---------------------------------------------------------- transform
    def transform(self, X):
        """Latent codes of X.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, latent_dim)
        """
        check_is_fitted(self)
        df, _ = self._frame(X, reset=False)
        return self._map(self.module_.encode, *self._tensors(df))

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
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise AekitError(
                f"inverse_transform expects latent codes of shape (n_samples, {self.latent_dim});"
                f" got {z.shape}"
            )
        z_t = torch.from_numpy(z).to(self._device())
        module = self.module_
        decoded = self._map(lambda t: module.likelihood.mean(module.decode(t)), z_t)
        return self._output(decoded, None, self._pandas_out)

    def reconstruct(self, X):
        """Pass X through the encoder and decoder.

        Returns
        -------
        DataFrame or ndarray shaped like X
            A DataFrame (same index, columns and dtypes) for a DataFrame X.
        """
        check_is_fitted(self)
        df, is_frame = self._frame(X, reset=False)
        decoded = self._map(self.module_.reconstruct, *self._tensors(df))
        return self._output(decoded, df.index, is_frame)

    def _cell_log_probs(self, df: pd.DataFrame) -> np.ndarray:
        """log p(x_j | x̂) per cell in the user's units, decoding the row's code (the
        posterior mean for a VAE), shape (n, n_columns); missing cells get 0 - log s_j."""
        module = self.module_

        def cells(x, mask):
            return module.likelihood.log_prob(module.decode(module.encode(x, mask)), x, mask)

        return self._map(cells, *self._tensors(df)) - self._log_scale()

    def score_samples(self, X):
        """Log-likelihood of each row, on observed cells; higher means more normal.

        Densities of continuous columns are in the user's units (the
        standardisation's Jacobian is included), so scores compare across models.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._scores(X, self._row_log_prob)

    def _scores(self, X, row_log_prob, seed: int | None = None) -> np.ndarray:
        """``row_log_prob(x, mask)`` per row, with the standardisation's Jacobian."""
        check_is_fitted(self)
        df, _ = self._frame(X, reset=False)
        x, mask = self._tensors(df)
        scores = self._map(row_log_prob, x, mask, seed=seed)
        # log p(x) = log p((x - c) / s) - Σ_j m_j log s_j over observed continuous cells
        return scores - mask.cpu().double().numpy() @ self._log_scale()

    def score(self, X, y=None):
        """Mean of :meth:`score_samples`: higher is better (for model selection)."""
        return float(np.mean(self.score_samples(X)))

    def _log_scale(self) -> np.ndarray:
        """log of each column's standardisation scale (0 for discrete ones), (n_columns,)."""
        enc = self.encoder_
        out = np.zeros(len(enc.schema))
        out[enc.continuous] = np.log(enc.scale)
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the latent dimensions: ``latent0``, ``latent1``, ..."""
        check_is_fitted(self)
        return np.asarray([f"latent{i}" for i in range(self.latent_dim)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = False
        tags.non_deterministic = False
        return tags

    # --------------------------------------------------------------- save
    def _state(self) -> dict:
        """JSON-safe fitted state (besides the weights)."""
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
        }

    def _restore(self, state: dict, weights: dict) -> None:
        encoder = TabularEncoder.from_state(state["encoder"])
        self.encoder_ = encoder
        self.n_features_in_ = int(state["n_features_in"])
        if state["feature_names_in"] is not None:
            self.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        self.seed_ = int(state["seed"])
        self._pandas_out = bool(state["pandas_out"])
        shape = state.get("image_shape")
        self.image_shape_ = None if shape is None else tuple(int(d) for d in shape)
        self.n_epochs_ = int(state["n_epochs"])
        self.history_ = pd.DataFrame(state["history"])
        module = self._build_module(encoder, None)
        try:
            module.load_state_dict(weights, strict=True)
        except RuntimeError as exc:
            raise ModelFileError(f"the weights do not fit the model described: {exc}") from None
        self.module_ = module.to(self._device()).eval()
