"""``aekit.save`` / ``aekit.load``: fitted estimators to model files and back.

A model file is a directory with ``model.safetensors`` (weights) and
``config.json`` (parameters, schema, scaling statistics, fitted state); see
:mod:`aekit.io`. Nothing is pickled, so loading a file cannot run code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from .. import io
from ..errors import AekitError, ModelFileError
from .base import _REGISTRY, BaseAutoencoderEstimator
from .impute import Imputer


def _json_params(est) -> dict:
    params = est.get_params(deep=False)
    params.pop("model", None)  # an Imputer's model is saved on its own
    for key, value in params.items():
        if isinstance(value, tuple):
            params[key] = list(value)
        elif isinstance(value, np.random.RandomState):
            params[key] = None  # the drawn seed is saved instead
        elif isinstance(value, torch.device):
            params[key] = str(value)
        elif isinstance(value, np.generic):
            params[key] = value.item()
    return params


def save(estimator, path) -> None:
    """Save a fitted estimator (Autoencoder, VAE or Imputer) to the directory ``path``.

    Examples
    --------
    >>> ae = aekit.Autoencoder(latent_dim=2).fit(X)        # doctest: +SKIP
    >>> aekit.save(ae, "my-model")                         # doctest: +SKIP
    >>> aekit.load("my-model").transform(X)                # doctest: +SKIP
    """
    if not isinstance(estimator, (BaseAutoencoderEstimator, Imputer)):
        raise AekitError(f"save expects an aekit estimator; got {type(estimator).__name__}")
    check_is_fitted(estimator)
    model = estimator.model_ if isinstance(estimator, Imputer) else estimator
    config = {
        "estimator": type(model).__name__,
        "params": _json_params(model),
        "state": model._state(),
    }
    if isinstance(estimator, Imputer):
        errors = estimator.expected_error_
        config["imputer"] = {
            "params": _json_params(estimator),
            "default_model": estimator.model is None,
            "n_iter_": estimator.n_iter_,
            "expected_error": None if errors is None else errors.to_dict(orient="list"),
        }
    weights = {k: v.detach().cpu() for k, v in model.module_.state_dict().items()}
    io.write_model(path, config, weights)


def load(path, *, device=None):
    """Load an estimator saved by :func:`save`; its outputs equal the saved one's.

    Parameters
    ----------
    path : str or Path
        The model directory.
    device : str, optional
        Override the saved ``device`` parameter (e.g. ``"cpu"``).
    """
    config, weights = io.read_model(path)
    name = config.get("estimator")
    cls = _REGISTRY.get(name)
    if cls is None:
        raise ModelFileError(f"{path}: unknown estimator {name!r} in the model file")
    try:
        params = dict(config.get("params") or {})
        if device is not None:
            params["device"] = device
        if isinstance(params.get("hidden_dims"), list):
            params["hidden_dims"] = tuple(params["hidden_dims"])
        model = cls(**params)
        model._check_params()
        model._restore(config["state"], weights)
        if "imputer" not in config:
            return model
        spec = config["imputer"]
        imputer = Imputer(model=None if spec["default_model"] else clone(model), **spec["params"])
        imputer._make_model()  # validates the saved parameters
        imputer.model_ = model
        imputer.n_iter_ = spec["n_iter_"]
        errors = spec["expected_error"]
        imputer.expected_error_ = None if errors is None else pd.DataFrame(errors)
        imputer.n_features_in_ = model.n_features_in_
        if hasattr(model, "feature_names_in_"):
            imputer.feature_names_in_ = model.feature_names_in_
        return imputer
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"{path}: the model file is malformed ({exc!r})") from None
