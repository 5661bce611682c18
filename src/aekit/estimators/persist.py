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
from .anomaly import AnomalyDetector
from .base import _REGISTRY, BaseAutoencoderEstimator
from .impute import Imputer


def _json_params(est) -> dict:
    params = est.get_params(deep=False)
    params.pop("model", None)  # an Imputer's models are saved on their own
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


def _model_config(model: BaseAutoencoderEstimator) -> dict:
    return {
        "estimator": type(model).__name__,
        "params": _json_params(model),
        "state": model._state(),
    }


def _weights(model: BaseAutoencoderEstimator, prefix: str = "") -> dict:
    return {prefix + k: v.detach().cpu() for k, v in model.module_.state_dict().items()}


def save(estimator, path) -> None:
    """Save a fitted estimator (Autoencoder, VAE or Imputer) to the directory ``path``.

    Examples
    --------
    >>> ae = aekit.Autoencoder(latent_dim=2).fit(X)        # doctest: +SKIP
    >>> aekit.save(ae, "my-model")                         # doctest: +SKIP
    >>> aekit.load("my-model").transform(X)                # doctest: +SKIP
    """
    if not isinstance(estimator, (BaseAutoencoderEstimator, Imputer, AnomalyDetector)):
        raise AekitError(f"save expects an aekit estimator; got {type(estimator).__name__}")
    check_is_fitted(estimator)
    if isinstance(estimator, BaseAutoencoderEstimator):
        io.write_model(path, _model_config(estimator), _weights(estimator))
        return
    if isinstance(estimator, AnomalyDetector):
        config = {
            "estimator": "AnomalyDetector",
            "params": _json_params(estimator),
            "default_model": estimator.model is None,
            "offset": estimator.offset_,
            "models": [_model_config(estimator.model_)],
        }
        io.write_model(path, config, _weights(estimator.model_, "models.0."))
        return
    errors = estimator.expected_error_
    config = {
        "estimator": "Imputer",
        "params": _json_params(estimator),
        "default_model": estimator.model is None,
        "n_iter_": None if estimator.n_iter_ is None else list(estimator.n_iter_),
        "expected_error": None if errors is None else errors.to_dict(orient="list"),
        "models": [_model_config(m) for m in estimator.models_],
    }
    weights = {}
    for i, model in enumerate(estimator.models_):
        weights.update(_weights(model, f"models.{i}."))
    io.write_model(path, config, weights)


def _load_model(spec: dict, weights: dict, device) -> BaseAutoencoderEstimator:
    cls = _REGISTRY.get(spec.get("estimator"))
    if cls is None:
        raise ModelFileError(f"unknown estimator {spec.get('estimator')!r} in the model file")
    params = dict(spec.get("params") or {})
    if device is not None:
        params["device"] = device
    if isinstance(params.get("hidden_dims"), list):
        params["hidden_dims"] = tuple(params["hidden_dims"])
    model = cls(**params)
    model._check_params()
    model._restore(spec["state"], weights)
    return model


def _detector(config: dict, model) -> AnomalyDetector:
    detector = AnomalyDetector(
        model=None if config["default_model"] else clone(model), **config["params"]
    )
    detector._make_model()  # validates the saved parameters
    detector.model_ = model
    detector.offset_ = float(config["offset"])
    detector.n_features_in_ = model.n_features_in_
    if hasattr(model, "feature_names_in_"):
        detector.feature_names_in_ = model.feature_names_in_
    return detector


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
    try:
        if config.get("estimator") not in ("Imputer", "AnomalyDetector"):
            return _load_model(config, weights, device)
        models = []
        for i, spec in enumerate(config["models"]):
            prefix = f"models.{i}."
            own = {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
            models.append(_load_model(spec, own, device))
        if not models:
            raise ModelFileError(f"{path}: the file holds no model")
        if config["estimator"] == "AnomalyDetector":
            return _detector(config, models[0])
        imputer = Imputer(
            model=None if config["default_model"] else clone(models[0]), **config["params"]
        )
        imputer._make_model()  # validates the saved parameters
        imputer.models_ = models
        imputer.model_ = models[0]
        n_iter = config["n_iter_"]
        imputer.n_iter_ = None if n_iter is None else tuple(int(n) for n in n_iter)
        errors = config["expected_error"]
        imputer.expected_error_ = None if errors is None else pd.DataFrame(errors)
        imputer.n_features_in_ = models[0].n_features_in_
        if hasattr(models[0], "feature_names_in_"):
            imputer.feature_names_in_ = models[0].feature_names_in_
        return imputer
    except ModelFileError as exc:
        if str(path) in str(exc):
            raise
        raise ModelFileError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"{path}: the model file is malformed ({exc!r})") from None
