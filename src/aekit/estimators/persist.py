"""``aekit.save`` / ``aekit.load``: fitted estimators to model files and back.

A model file is a directory with ``model.safetensors`` (weights) and
``config.json`` (parameters, schema, scaling statistics, fitted state); see
:mod:`aekit.io`. Nothing is pickled, so loading a file cannot run code. An
estimator gives its state with ``fitted_state()`` and is rebuilt from it with
``from_fitted(...)``; a wrapper's models are saved under ``models``, their
weights prefixed ``models.<i>.``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from .. import io
from ..errors import AekitError, ModelFileError
from .anomaly import AnomalyDetector
from .autoencoder import Autoencoder
from .base import BaseAutoencoderEstimator
from .impute import Imputer
from .vae import VAE

MODELS = {cls.__name__: cls for cls in (Autoencoder, VAE)}
WRAPPERS = {cls.__name__: cls for cls in (Imputer, AnomalyDetector)}


def _json_params(est) -> dict:
    params = est.get_params(deep=False)
    params.pop("model", None)  # a wrapper's models are saved on their own
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
        "state": model.fitted_state(),
    }


def _weights(model: BaseAutoencoderEstimator, prefix: str = "") -> dict:
    return {prefix + k: v.detach().cpu() for k, v in model.module_.state_dict().items()}


def _models_of(wrapper) -> list:
    return wrapper.models_ if isinstance(wrapper, Imputer) else [wrapper.model_]


def save(estimator, path) -> None:
    """Save a fitted estimator (Autoencoder, VAE, Imputer or AnomalyDetector) to
    the directory ``path``.

    Examples
    --------
    >>> ae = aekit.Autoencoder(latent_dim=2).fit(X)        # doctest: +SKIP
    >>> aekit.save(ae, "my-model")                         # doctest: +SKIP
    >>> aekit.load("my-model").transform(X)                # doctest: +SKIP
    """
    name = type(estimator).__name__
    if not isinstance(estimator, (BaseAutoencoderEstimator, Imputer, AnomalyDetector)):
        raise AekitError(f"save expects an aekit estimator; got {name}")
    check_is_fitted(estimator)
    if isinstance(estimator, BaseAutoencoderEstimator):
        io.write_model(path, _model_config(estimator), _weights(estimator))
        return
    models = _models_of(estimator)
    config = {
        "estimator": name,
        "params": _json_params(estimator),
        **estimator.fitted_state(),
        "models": [_model_config(m) for m in models],
    }
    weights = {}
    for i, model in enumerate(models):
        weights.update(_weights(model, f"models.{i}."))
    io.write_model(path, config, weights)


def _load_model(spec: dict, weights: dict, device) -> BaseAutoencoderEstimator:
    cls = MODELS.get(spec.get("estimator"))
    if cls is None:
        raise ModelFileError(f"unknown estimator {spec.get('estimator')!r} in the model file")
    return cls.from_fitted(spec.get("params") or {}, spec["state"], weights, device=device)


def _check_saved_device(path, config: dict) -> None:
    """Refuse, with the way out, a model saved for a CUDA device on a machine
    without one (its saved ``device`` is used when load is given none)."""
    models = config.get("models") if isinstance(config, dict) else None
    specs = [config, *models] if isinstance(models, list) else [config]
    for spec in specs:
        params = spec.get("params") if isinstance(spec, dict) else None
        saved = params.get("device") if isinstance(params, dict) else None
        if isinstance(saved, str) and saved.startswith("cuda") and not torch.cuda.is_available():
            raise AekitError(
                f"{path} was saved with device={saved!r} and this machine has no CUDA "
                "device; load it with aekit.load(path, device='cpu')"
            )


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
    if device is None:
        _check_saved_device(path, config)
    try:
        wrapper = WRAPPERS.get(config.get("estimator"))
        if wrapper is None:
            return _load_model(config, weights, device)
        models = []
        for i, spec in enumerate(config["models"]):
            prefix = f"models.{i}."
            own = {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
            models.append(_load_model(spec, own, device))
        if not models:
            raise ModelFileError(f"{path}: the file holds no model")
        return wrapper.from_fitted(config["params"], config, models)
    except ModelFileError as exc:
        if str(path) in str(exc):
            raise
        raise ModelFileError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"{path}: the model file is malformed ({exc!r})") from None
