"""Every named model, in one table: the Python API, the command line and the
wrappers' defaults all take their models from here.

Two tasks name models: ``"impute"`` (:class:`~aekit.Imputer`'s models, offered
by ``aekit impute --model``; chosen by ``benchmarks/imputation.py``) and
``"model"`` (models fitted for their own sake: ``aekit fit --model`` and the
:class:`~aekit.AnomalyDetector`'s default, a VAE; chosen by
``benchmarks/tasks.py``). For images the networks are :data:`IMAGE_NETWORKS`
(chosen by ``benchmarks/images.py``), with the task's own image settings.
"""

from __future__ import annotations

from ..errors import AekitError
from .autoencoder import Autoencoder
from .base import BaseAutoencoderEstimator
from .capacity import IMAGE_CAPACITY
from .vae import VAE

# for architecture "conv", hidden_dims are the channel counts of the convolutions
IMAGE_NETWORKS = dict(
    architecture="conv", hidden_dims=IMAGE_CAPACITY[1], latent_dim=IMAGE_CAPACITY[0]
)

_DAE_IMPUTER = dict(
    noise="masking",
    noise_level=0.25,
    mask_input=True,
    latent_dim=16,
    # (64, 32) at a step of 6e-3 took 0.94x the epochs of (128, 64) at 3e-3, each
    # 0.74-0.85x the time, at +0.1% NRMSE on the development half (243 cells;
    # benchmarks/README.md, "Speed and scale")
    hidden_dims=(64, 32),
    learning_rate=6e-3,
    max_epochs=500,
    # stopping on a moving average of the weights (ema_decay=0.85) after 25 epochs
    # took 0.68x the time at the same NRMSE on the development half, but was 6-9%
    # worse on two reporting tables (benchmarks/README.md, "Speed and scale")
    patience=50,
    validation_fraction=0.0,
    # each number also as its piecewise-linear encoding over 16 quantile bins: on the
    # development half (81 cells, seed 0) -1.4% NRMSE and a categorical error of
    # 0.272 against 0.275, in 1.01x the time (4 bins: +0.1%; 8: -0.5%; 32: -0.8%);
    # benchmarks/README.md, "Kept, a later session: numbers in bins". "auto": none
    # on tables of more than 64 numeric columns (benchmarks/wide.py)
    numeric_bins="auto",
)
_VAE_IMPUTER = dict(
    latent_dim=8,
    hidden_dims=(128, 128),
    objective="iwae",
    n_samples=20,
    learning_rate=1e-3,
    max_epochs=500,
    patience=30,
    validation_fraction=0.0,
)
# sizes: the estimators' defaults, chosen on held-out rows (aekit.estimators.capacity)
_MODEL = dict(max_epochs=300, patience=20)
# images: a few hundred images leave a validation loss too noisy for 20 epochs of
# patience (the development digits of benchmarks/unseen_tasks.py, a VAE detector:
# mean ROC-AUC 0.983 at 20, 0.985 at 30, 0.987 at 50, 0.988 at 100)
_MODEL_IMAGES = dict(patience=50)
_DAE = dict(noise="masking", noise_level=0.25, mask_input=True)

# (task, name) -> (estimator, parameters, parameters added for images)
PRESETS = {
    # images keep the step size their networks were chosen with; their decoder ends
    # at half resolution and a pixel shuffle (the same SSIM on pictures that are not
    # digits in half the time: benchmarks/image_settings.py)
    ("impute", "dae"): (
        Autoencoder,
        _DAE_IMPUTER,
        {"learning_rate": 3e-3, "upsampling": "shuffle", "numeric_bins": 0},
    ),
    ("impute", "vae"): (VAE, _VAE_IMPUTER, {"n_samples": 5}),
    ("impute", "tvae"): (VAE, {**_VAE_IMPUTER, "prior": "student-t"}, {"n_samples": 5}),
    # self-masking models continuous values: pixels get a Gaussian likelihood
    ("impute", "mnar"): (
        VAE,
        {**_VAE_IMPUTER, "missingness": "self-masking"},
        {"n_samples": 5, "pixel_likelihood": "gaussian"},
    ),
    ("model", "ae"): (Autoencoder, _MODEL, _MODEL_IMAGES),
    ("model", "dae"): (Autoencoder, {**_MODEL, **_DAE}, _MODEL_IMAGES),
    ("model", "vae"): (VAE, _MODEL, _MODEL_IMAGES),
    ("model", "tvae"): (VAE, {**_MODEL, "prior": "student-t"}, _MODEL_IMAGES),
}


def names(task: str) -> list[str]:
    """The model names of a task ("impute" also offers "default")."""
    found = [name for t, name in PRESETS if t == task]
    return ["default", *found] if task == "impute" else found


def preset(name: str, image_shape=None, *, task: str = "impute", argument="model", **params):
    """The named model of a task, unfitted, or None for the imputer's "default"
    (which :class:`~aekit.Imputer` then picks: the "dae").

    Parameters
    ----------
    name : str
        For ``task="impute"``: "default", "dae", "vae" (MIWAE-style
        importance-weighted training), "tvae" (Student-t prior) or "mnar"
        (self-masking missingness, for data missing not at random). For
        ``task="model"``: "ae", "dae", "vae" or "tvae".
    image_shape : tuple, optional
        The shape of one image when the data are images.
    task : {"impute", "model"}
    argument : str, default="model"
        What a bad name is called in the error (e.g. "--model" on the command line).
    **params
        Set on the model last (e.g. ``latent_dim``).
    """
    if task == "impute" and name == "default":
        return None
    if (task, name) not in PRESETS:
        raise AekitError(f"{argument} must be one of {names(task)}; got {name!r}")
    cls, settings, for_images = PRESETS[task, name]
    if image_shape:
        settings = {**settings, **IMAGE_NETWORKS, **for_images}
    return cls(**settings).set_params(**params)


def default_model(task: str, image_shape=None) -> BaseAutoencoderEstimator:
    """The model a wrapper uses when given none: the imputer's DAE ensemble member
    (``task="impute"``), the networks of its multiple imputation (``task="copies"``)
    or the detector's VAE (``task="detect"``: for a table, ``VAE()``, which
    chooses its sizes on held-out rows)."""
    if task == "detect":  # for images, the image networks
        if image_shape:
            return preset("vae", image_shape, task="model")
        return VAE()  # sizes chosen on held-out rows (see aekit.estimators.capacity)
    if task == "copies":
        # the copies' networks read the values alone: with the numbers in bins the
        # pooled coefficient of the simulation's development seed moved away from
        # chained equations' (+0.005 MCAR, -0.008 MAR, paired; summed distance 0.018
        # against 0.006 without; benchmarks/README.md, "Multiple imputation")
        return preset("dae", image_shape, task="impute", numeric_bins=0)
    return preset("dae", image_shape, task="impute")
