"""What :class:`~aekit.Imputer` and :class:`~aekit.AnomalyDetector` share: the
model they wrap (checked, cloned, given the wrapper's seed and verbosity), the
columns it was fitted on, and their state in a model file."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, clone

from ..data.empty import EmptyColumns
from ..errors import AekitError, ModelFileError
from .autoencoder import Autoencoder
from .base import BaseAutoencoderEstimator
from .params import check_random_state
from .presets import default_model
from .vae import VAE


@dataclass(repr=False, eq=False)  # writes __init__ from the parameters
class ModelWrapper(BaseEstimator):
    """Base of the estimators that wrap an aekit model: the parameters they share
    (each adds its own; ``dataclass`` writes the ``__init__``, which stores them
    and does nothing else, as scikit-learn expects)."""

    _task: ClassVar[str] = ""  # whose default model to use when model=None (presets)

    model: BaseAutoencoderEstimator | None = None
    _: KW_ONLY
    n_importance: int = 100
    random_state: int | np.random.RandomState | None = None
    verbose: bool = False

    def _check_params(self) -> None:
        """Check the wrapper's own parameters."""

    def _make_model(self, image_shape=None, task=None) -> BaseAutoencoderEstimator:
        """The parameters checked; the (unfitted) model to train: a clone of
        ``model``, or the default of ``task`` (the wrapper's own when None; see
        :func:`~aekit.estimators.presets.default_model`) for data of
        ``image_shape``, with the wrapper's random_state and verbosity when set."""
        if self.model is not None and not isinstance(self.model, (Autoencoder, VAE)):
            raise AekitError(
                f"model must be an aekit Autoencoder or VAE (or None); got "
                f"{type(self.model).__name__}"
            )
        self._check_params()
        check_random_state(self.random_state)
        if self.model is None:
            model = default_model(task or self._task, image_shape)
        else:
            model = clone(self.model)
        if self.random_state is not None:
            model.set_params(random_state=self.random_state)
        if self.verbose:
            model.set_params(verbose=True)
        return model

    def _adopt(self, model: BaseAutoencoderEstimator):
        """Take the fitted model's ``n_features_in_`` and ``feature_names_in_``, with
        the empty columns the wrapper passes through (``empty_columns_``, an
        :class:`~aekit.data.empty.EmptyColumns`) in their places; return self."""
        self.n_features_in_ = model.n_features_in_
        names = getattr(model, "feature_names_in_", None)
        empty = getattr(self, "empty_columns_", None)
        if empty:
            self.n_features_in_ = empty.n_features
            names = None if names is None or empty.names is None else empty.widen(names)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):  # refitted on data without column names
            del self.feature_names_in_
        return self

    def fitted_state(self) -> dict:
        """The fitted state besides the models', JSON-safe (for a model file)."""
        empty = getattr(self, "empty_columns_", EmptyColumns()).state()
        return {"default_model": self.model is None, "empty_columns": empty, **self._state()}

    @classmethod
    def from_fitted(cls, params: dict, state: dict, models: list):
        """The fitted wrapper of a model file: its ``params``, :meth:`fitted_state`
        and its fitted models."""
        model = None if state["default_model"] else clone(models[0])
        return cls(model=model, **params).set_fitted_state(state, models)

    def set_fitted_state(self, state: dict, models: list):
        """Become the fitted wrapper that :meth:`fitted_state` and the fitted models
        describe, the parameters checked; return self."""
        self._make_model()
        self.empty_columns_ = empty = EmptyColumns.from_state(state.get("empty_columns"))
        names = getattr(models[0], "feature_names_in_", ())
        if empty and (
            empty.n_features != models[0].n_features_in_ + len(empty.positions)
            or set(empty.names or ()) & set(names)
        ):
            raise ModelFileError(
                f"the model file's empty columns {empty.positions} of {empty.n_features} do "
                f"not fit its models' {models[0].n_features_in_} columns"
            )
        self._restore(state, models)
        return self._adopt(models[0])

    def _state(self) -> dict:
        return {}

    def _restore(self, state: dict, models: list) -> None:
        """Set the fitted attributes from ``state`` and the models."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
