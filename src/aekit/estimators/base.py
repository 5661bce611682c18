"""What every aekit estimator shares: the scikit-learn contract, the fit path, predictions.

The fit path, :meth:`BaseAutoencoderEstimator._fit`, is the same for arrays,
DataFrames, images and files streamed in chunks (see :mod:`aekit.data.table`)::

    settings = check params          table = as_table(X)
    encoder  = table.fit_encoder()   held_out, rest = table.split()
    module   = build(encoder)        history = train(module, rest.rows(), held_out, settings)

A subclass supplies ``_build_module(encoder, members)`` (the torch module) and ``_row_log_prob(x,
mask)``, and may check more parameters (``_check_params``), refuse a table (``_check_width``),
train in stages (``_train``) or compute fitted state from the training rows (``_after_fit``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from ..data.cells import codes_as_text, warn_index_column
from ..data.rows import encoded
from ..data.schema import as_frame, image_shape_of
from ..data.table import as_table
from ..data.tabular import TabularEncoder
from ..errors import AekitError
from ..models import Likelihood
from ..models.networks import member_state
from ..training import (
    SCHEDULES,
    CheckpointPlan,
    TrainSettings,
    chunk_rows,
    fingerprint,
    resolve_device,
    seeded,
    train,
)
from .capacity import CAPACITY, CapacitySelection, check_capacity
from .params import (
    CHOICES,
    batch_size_for,
    check_choice,
    check_float,
    check_int,
    check_optional,
    check_random_state,
    check_resample,
    check_steps,
    draw_seeds,
    epochs_for,
    fit_seed,
)
from .predict import FittedModel


@dataclass(kw_only=True, repr=False, eq=False)  # writes __init__ from the parameters
class BaseAutoencoderEstimator(CapacitySelection, FittedModel, TransformerMixin, BaseEstimator):
    """Shared base of :class:`~aekit.Autoencoder` and :class:`~aekit.VAE`.

    Besides scikit-learn's methods, the estimators offer what their wrappers
    (:class:`~aekit.Imputer`, :class:`~aekit.AnomalyDetector`), the report and
    :func:`~aekit.save`/:func:`~aekit.load` need, and these use nothing else:

    - :meth:`fit_with`: fit with early stopping on a monitor, and checkpoints;
    - :meth:`fit_copies`: several fitted copies from different initial weights;
    - :meth:`frame_of`, :meth:`encode_rows`, :meth:`map_chunks`, :meth:`as_output`;
    - :meth:`cell_log_likelihood`, :meth:`column_log_scale`: per-cell scores;
    - :meth:`fitted_state`, :meth:`from_fitted`: to a model file and back.

    The parameters every model shares are declared here once; each estimator
    adds its own, and ``dataclass`` writes its ``__init__`` (which stores them
    and does nothing else, as scikit-learn expects). They are checked in ``fit``.
    """

    latent_dim: int | str = 2
    hidden_dims: tuple | str = (64,)
    architecture: str = "auto"
    activation: str = "elu"
    upsampling: str = "transposed"
    pixel_likelihood: str = "bernoulli"
    batch_size: int | str = "auto"
    max_epochs: int = 200
    max_steps: int | None = None
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    validation_fraction: float = 0.1
    patience: int = 10
    max_grad_norm: float | None = None
    ema_decay: float | None = None
    random_state: int | np.random.RandomState | None = None
    verbose: bool = False
    device: str = "auto"
    precision: str = "float32"

    # ------------------------------------------------------------ settings
    def _check_params(self) -> TrainSettings:
        check_capacity(self.latent_dim, self.hidden_dims)
        check_steps(self)
        check_float(
            "validation_fraction", self.validation_fraction, 0, 1, low_open=False, high_open=True
        )
        check_random_state(self.random_state)
        for name, options in CHOICES.items():
            check_choice(name, getattr(self, name), options)
        resolve_device(self.device)
        return TrainSettings(
            schedule=check_choice("lr_schedule", self.lr_schedule, SCHEDULES),
            autocast=torch.bfloat16 if self.precision == "bfloat16" else None,
            batch_size=0,  # set once the number of training rows is known
            max_epochs=check_int("max_epochs", self.max_epochs),
            learning_rate=check_float("learning_rate", self.learning_rate, 0, np.inf),
            patience=check_int("patience", self.patience),
            verbose=bool(self.verbose),
            max_grad_norm=check_optional("max_grad_norm", self.max_grad_norm, 0, np.inf),
            average=check_optional("ema_decay", self.ema_decay, 0, 1, high_open=True),
        )

    # ---------------------------------------------------------------- fit
    def fit(self, X, y=None, *, checkpoint_dir=None, resume=False, checkpoint_every=60.0):
        """Fit the model on X; NaN cells are missing and skipped by the loss.

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_samples, n_features), images, or a file
            Images are arrays of shape (n, H, W) or (n, C, H, W) in [0, 1]. A
            :class:`aekit.TableFile` or a path to a ``.csv``/``.parquet`` file
            is streamed in chunks (for tables larger than memory).
        y : ignored
        checkpoint_dir : path, optional
            Save the training state there as it goes (atomically, every
            ``checkpoint_every`` seconds and at the end); needs an int
            ``random_state``.
        resume : bool, default=False
            Continue from the checkpoint in ``checkpoint_dir``; with the same
            data, settings and seed, the result is the same as a fit that was
            never interrupted. A checkpoint made for other data or settings is
            refused.
        checkpoint_every : float, default=60.0
            Seconds between checkpoints (0: after every epoch).

        Returns
        -------
        self
        """
        plan = CheckpointPlan.from_args(checkpoint_dir, resume, checkpoint_every, self.random_state)
        warn_index_column(X)
        return self.fit_with(X, checkpoint=plan)

    def fit_with(self, X, *, monitor=None, checkpoint=None, context=None, resample=None):
        """Fit on X, as :meth:`fit`, for a wrapper.

        Parameters
        ----------
        X : as in :meth:`fit`, or a table of :mod:`aekit.data.table`
        monitor : callable, optional
            ``monitor(encoder, module)`` returns the callable that early stopping
            watches after each epoch (see :func:`aekit.training.train`).
        checkpoint : aekit.training.CheckpointPlan, optional
        context : JSON-able, optional
            What else decides the training (part of a checkpoint's fingerprint).
        resample : array of int, shape (n_samples,), optional
            Train on these rows of X (a bootstrap resample), not on each row once
            an epoch; needs X in memory and ``validation_fraction=0``. Returns self.
        """
        self._fit(X, monitor=monitor, checkpoint=checkpoint, context=context, resample=resample)
        return self

    def fit_copies(
        self,
        X,
        n_copies: int,
        *,
        random_state=None,
        monitor=None,
        checkpoint=None,
        context=None,
        resample=None,
    ) -> list:
        """``n_copies`` fitted clones of this estimator, each seeded by its own draw
        from ``random_state``, so each starts from its own initial weights.

        Where the settings allow, they train together as one batched network
        (about the time of one; see ``aekit.models.networks``), each with its
        own shuffles and noise, stopping at its own best epoch; otherwise one
        after another, each checkpointed in a subdirectory ``model<i>``.
        ``monitor`` gives one value per copy; ``resample`` (n_copies, n_samples)
        each copy's rows. The other arguments are as in :meth:`fit_with`.
        """
        seeds = draw_seeds(random_state, n_copies)
        table = as_table(X)
        if resample is not None and (np.ndim(resample) != 2 or len(resample) != n_copies):
            raise AekitError(f"resample must have n_copies={n_copies} rows of row indices")
        if n_copies > 1 and self._batches(table):
            return self._fit(
                table,
                members=n_copies,
                seed_from=seeds[0],
                monitor=monitor,
                checkpoint=checkpoint,
                context=context,
                resample=resample,
            )
        return [
            clone(self)
            .set_params(random_state=seed)
            .fit_with(
                table,
                monitor=monitor,
                checkpoint=None if checkpoint is None else checkpoint.below(f"model{i}"),
                context=context,
                resample=None if resample is None else resample[i],
            )
            for i, seed in enumerate(seeds)
        ]

    def _fit(
        self,
        X,
        *,
        members=None,
        seed_from=None,
        monitor=None,
        checkpoint=None,
        context=None,
        resample=None,
    ) -> list:
        """The one fit path: ``[self]`` fitted, or ``members`` fitted clones trained
        as one batched network, their seeds drawn from ``seed_from``; each on
        its ``resample`` of the rows when given."""
        settings = self._check_params()
        table = as_table(X)  # data in memory, or a file read in chunks
        self._adopt_columns(table)
        pixels = "unit" if self.pixel_likelihood == "bernoulli" else "continuous"
        encoder = table.fit_encoder(pixels)  # schema and statistics of every row
        self._check_width(encoder, (table.n_rows, len(table.columns)))
        if self._auto():  # choose the sizes; a plain fit adopts the chosen candidate
            plain = members is None and monitor is None and resample is None
            winner = self._select_capacity(
                table, encoder, checkpoint=checkpoint, context=context, plain=plain
            )
            if winner is not None:
                self._adopt_fit(winner)
                return [self]
        else:
            self._take_candidate()
        origin = self.random_state if members is None else seed_from
        seed = fit_seed(origin, self.device)
        held_out, rest = table.split(self.validation_fraction, seed)  # validation rows, the others
        what = {"seed": seed, "members": members, "context": context}  # decides the training
        device = self._device()
        if resample is not None:
            drawn = check_resample(resample, table, len(held_out))
            what["resample"] = fingerprint(drawn)
            settings = dataclasses.replace(settings, resample=torch.from_numpy(drawn).to(device))
        settings = self._settings(settings, table, encoder, len(held_out), checkpoint, what)
        validation = encoded(encoder, held_out, device, table.name) if len(held_out) else None
        with seeded(seed, device):
            module = self._build_module(encoder, members).to(device)
            with rest.rows(encoder, device) as rows:  # a file's: read once, then from disk
                watch = None if monitor is None else monitor(encoder, module)
                history = self._train(module, rows, validation, settings, watch)
                if members is None:
                    fitted = [(self, module, history)]
                else:  # built seeded: the caller's torch generator is left untouched
                    fitted = self._members(module, encoder, history, origin)
                return [self._finish(est, m, h, encoder, rows, seed, table) for est, m, h in fitted]

    def _adopt_columns(self, table) -> None:
        """The fitted columns (``n_features_in_``, ``feature_names_in_``) and image
        shape (``image_shape_``) of the table; refuses convolutions for a table."""
        self.image_shape_ = table.image_shape
        self._conv_shape()
        self._check_columns(pd.DataFrame(columns=table.columns), reset=True)

    def _check_columns(self, df: pd.DataFrame, *, reset: bool) -> None:
        """scikit-learn's checks of the feature names and count (``reset``: record them)."""
        try:
            validate_data(self, df, reset=reset, skip_check_array=True)
        except AekitError:
            raise
        except ValueError as exc:
            raise AekitError(str(exc)) from exc

    def _settings(self, settings, table, encoder, n_held: int, checkpoint, what) -> TrainSettings:
        """The settings with the batch size and epochs for this table and, with a
        checkpoint plan, the checkpointer for this data and these settings."""
        n, conv = table.n_rows, self._conv_shape() is not None
        batch_size = batch_size_for(self, n, n_held, table.path, settings.schedule, conv)
        epochs = epochs_for(self, n - n_held, batch_size, settings.max_epochs)
        if checkpoint is not None:
            params = self.get_params()
            params = {k: v for k, v in params.items() if k not in ("verbose", "random_state")}
            key = fingerprint(
                type(self).__name__, params, what, encoder.state(), table.fingerprint()
            )
            checkpoint = checkpoint.open(key)
        shape = dict(batch_size=batch_size, max_epochs=epochs)
        return dataclasses.replace(settings, **shape, checkpoint=checkpoint)

    def _members(self, ensemble, encoder: TabularEncoder, histories, random_state) -> list:
        """(estimator, module, history) of each member of a batched ensemble: a clone
        of this estimator and the member's weights as a module of its own."""
        out = []
        for e, history in enumerate(histories):
            module = self._build_module(encoder).to(self._device())
            module.load_state_dict(member_state(ensemble, module, e))
            out.append((clone(self).set_params(random_state=random_state), module, history))
        return out

    def _finish(self, fitted, module, history, encoder, rows, seed: int, table):
        """Write the fitted state onto ``fitted`` (this estimator, or a clone of it
        for a member of a batched ensemble); return it."""
        # the columns fit saw, and the sizes it chose
        for name in ("n_features_in_", "feature_names_in_", "image_shape_", *CAPACITY):
            if hasattr(self, name):
                setattr(fitted, name, getattr(self, name))
        self._after_fit(module, rows)
        fitted.encoder_ = encoder
        fitted.module_ = module.eval()
        fitted.history_ = history
        fitted.n_epochs_ = int(history["epoch"].iloc[-1]) if len(history) else 0
        fitted.seed_ = seed
        fitted._pandas_out = table.is_frame  # the user's X, not a wrapper's table of it
        return fitted

    # ------------------------------------------------------------- hooks
    def _batches(self, table) -> bool:
        """Whether copies can train as one batched network: not convolutions."""
        images = table.image_shape is not None
        return not (self.architecture == "conv" or (self.architecture == "auto" and images))

    def _check_width(self, encoder: TabularEncoder, shape) -> None:
        """Refuse settings that cannot work for this table."""

    def _train(self, module, rows, validation, settings, monitor=None) -> pd.DataFrame:
        return train(
            module, rows, validation, settings, description=type(self).__name__, monitor=monitor
        )

    def _after_fit(self, module, rows) -> None:
        """Set what the module computes from its training rows (see
        :mod:`aekit.data.table`); the module only: it may be a batched member's."""

    def _likelihood(self, encoder: TabularEncoder, members: int | None = None) -> Likelihood:
        kinds, widths = [c.kind for c in encoder.schema], [c.width for c in encoder.schema]
        # a categorical level's fill is its observed frequency: 0 for a level never seen
        never = [
            int(encoder.start[i]) + k
            for i, c in enumerate(encoder.schema)
            if c.kind == "categorical"
            for k in range(c.width)
            if encoder.fill[encoder.start[i] + k] == 0
        ]
        return Likelihood(kinds, widths, members, never)

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

    def _network_args(self) -> dict:
        """Keyword arguments of the torch module that choose its networks."""
        shape, args = self._conv_shape(), {"activation": self.activation}
        conv = {"image_shape": shape, "upsampling": self.upsampling}
        return args if shape is None else {**args, **conv}

    def _device(self) -> torch.device:
        return resolve_device(self.device)

    # ---------------------------------------------------------- transform
    def transform(self, X):
        """Latent codes of X (defined here, not in FittedModel: scikit-learn's
        set_output wraps the transform an estimator class defines itself).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, latent_dim)
        """
        df = self.frame_of(X)
        return self.map_chunks(self.module_.encode, *self.encode_rows(df))

    # ----------------------------------------------------- rows in and out
    def frame_of(self, X) -> pd.DataFrame:
        """X checked against what fit saw (its columns, or its image shape), as a
        DataFrame in the fitted column order; images flattened to a column per pixel."""
        check_is_fitted(self)
        shape, fitted = image_shape_of(X), self.image_shape_
        if shape is not None and shape != fitted:
            raise AekitError(
                f"X holds images of shape {shape}; the model was fitted on "
                + (f"images of shape {fitted}" if fitted else "a table")
            )
        df, _ = as_frame(X)
        self._check_columns(df, reset=False)
        if not hasattr(self, "feature_names_in_"):
            # fitted without string column names: columns are matched by position
            df = df.set_axis([c.name for c in self.encoder_.schema], axis=1)
        return codes_as_text(df, self.encoder_.schema)

    def encode_rows(self, frame: pd.DataFrame, **how) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, mask)``: a frame of :meth:`frame_of` encoded (``how``: see ``encode``)."""
        rows = encoded(self.encoder_, frame, self._device(), **how)
        return rows.x, rows.mask

    def map_chunks(self, fn, *tensors, seed: int | None = None, chunk: int | None = None):
        """``fn`` over chunks of rows of ``tensors`` in inference mode, with torch
        seeded (by the fitted seed unless given); the outputs concatenated, float64.
        ``chunk`` rows at a time (default: :func:`~aekit.training.chunk_rows` of the
        first tensor's width)."""
        device = self._device()
        chunk = chunk or chunk_rows(tensors[0].shape[-1])
        outs = []
        with torch.inference_mode(), seeded(self.seed_ if seed is None else seed, device):
            self.module_.eval()
            n = len(tensors[0])
            for s in range(0, n, chunk):
                outs.append(fn(*(t[s : s + chunk] for t in tensors)).cpu())
            if n == 0:  # no rows: the output's shape, from one stand-in row (observed zeros)
                stand_in = [t.new_full((1, *t.shape[1:]), t.dtype == torch.bool) for t in tensors]
                outs.append(fn(*stand_in)[:0].cpu())
        return torch.cat(outs).double().numpy()

    def as_output(self, frame: pd.DataFrame, as_frame: bool):
        """A decoded table in the user's format: the frame itself, or float64 rows,
        or images of the fitted shape, in [0, 1] (a Gaussian pixel may fall outside)."""
        if as_frame:
            return frame
        if self.image_shape_ is None:
            return frame.to_numpy(dtype=np.float64)
        return np.clip(frame.to_numpy(), 0.0, 1.0).reshape(len(frame), *self.image_shape_)

    def _output(self, values: np.ndarray, index, as_frame: bool):
        """Encoded-space values back to the user's format."""
        return self.as_output(self.encoder_.decode(values, index=index), as_frame)
