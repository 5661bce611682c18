"""Checks of the estimators' parameters, and the seeds a fit draws.

Each check raises an :class:`~aekit.AekitError` that names the parameter and
returns the value in its plain Python type.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.utils import check_random_state as sklearn_random_state

from .. import distributed
from ..errors import AekitError
from ..models.networks import ACTIVATIONS
from ..training import resolve_device

# rows a step of convolutions under the cosine schedule, "auto": on a CPU a step
# costs no less per image at 250 rows than at 64 (benchmarks/README.md, "Image imputation")
CONV_BATCH = 64
CHOICES = {  # the models' parameters that name one of a few options
    "architecture": ("auto", "mlp", "conv"),
    "activation": tuple(ACTIVATIONS),
    "upsampling": ("transposed", "shuffle"),
    "pixel_likelihood": ("bernoulli", "gaussian"),
    "precision": ("float32", "bfloat16"),
}


def check_int(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise AekitError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def check_float(name: str, value, low, high, *, low_open=True, high_open=False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    if not ok:
        lb, hb = "(" if low_open else "[", ")" if high_open else "]"
        raise AekitError(f"{name} must be a number in {lb}{low}, {high}{hb}; got {value!r}")
    return float(value)


def check_optional(name: str, value, low, high, **bounds) -> float | None:
    """None, or a number checked as :func:`check_float` checks it."""
    return None if value is None else check_float(name, value, low, high, **bounds)


def check_choice(name: str, value, choices):
    if value not in choices:
        raise AekitError(f"{name} must be one of {list(choices)}; got {value!r}")
    return value


def check_steps(est) -> None:
    """``batch_size`` ("auto" or an int) and ``max_steps`` (None or an int)."""
    if est.batch_size != "auto":
        check_int("batch_size", est.batch_size)
    if est.max_steps is not None:
        check_int("max_steps", est.max_steps)


def check_random_state(value) -> None:
    """None, a RandomState, or an int seed in [0, 2**32 - 1] (NumPy's range)."""
    if value is None or isinstance(value, np.random.RandomState):
        return
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise AekitError(f"random_state must be None, an int or a RandomState; got {value!r}")
    if not 0 <= value < 2**32:
        raise AekitError(f"random_state must be in [0, 2**32 - 1]; got {value}")


def draw_seed(random_state) -> int:
    """One integer seed from None, an int or a RandomState (scikit-learn's convention)."""
    return int(sklearn_random_state(random_state).randint(np.iinfo(np.int32).max))


def draw_seeds(random_state, n: int) -> list[int]:
    """``n`` integer seeds from None, an int or a RandomState."""
    return [
        int(s) for s in sklearn_random_state(random_state).randint(np.iinfo(np.int32).max, size=n)
    ]


def fit_seed(random_state, device) -> int:
    """The seed a fit draws from ``random_state``: rank 0's under torchrun."""
    return distributed.agree(draw_seed(random_state), resolve_device(device))


def check_resample(resample, table, n_held: int) -> np.ndarray:
    """Row indices to train on, (n_samples,) or (models, n_samples), as int64:
    for a table in memory with no rows held out to validate (``n_held`` is
    their count)."""
    rows = np.asarray(resample)
    if not table.in_memory or n_held:
        raise AekitError(
            "training on a resample of the rows needs the table in memory and validation_fraction=0"
        )
    n = table.n_rows
    if rows.shape[-1:] != (n,) or not np.issubdtype(rows.dtype, np.integer):
        raise AekitError(f"resample must hold {n} row indices per model; got {rows.shape}")
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise AekitError(f"resample holds row indices outside 0..{n - 1}")
    return rows.astype(np.int64)


def batch_size_for(est, n: int, n_val: int, path=None, schedule="constant", conv=False) -> int:
    """The batch size of estimator ``est`` for ``n`` rows of which ``n_val``
    validate (``conv``: its networks are convolutions); refuses a split that
    leaves either side empty, and a batch larger than the training rows."""
    n_train = n - n_val
    if est.validation_fraction > 0 and (n_val < 1 or n_train < 1):
        where = "" if path is None else f" in {path}"
        raise AekitError(
            f"validation_fraction={est.validation_fraction} of {n} sample(s){where} "
            "leaves no rows for validation or training; pass more rows or set "
            "validation_fraction=0"
        )
    if est.batch_size == "auto":
        if schedule == "cosine" and conv:  # a CPU's cost per image: no less in larger steps
            return min(n_train, CONV_BATCH)
        if schedule == "cosine":  # fewer, larger steps: ~4 an epoch, at most 1024 rows
            return min(n_train, 1024, max(128, n_train // 4))
        # at least ~16 steps an epoch on small tables, 256 rows a step on large ones
        return min(n_train, 256, max(32, n_train // 16))
    if est.batch_size > n_train:
        raise AekitError(
            f"batch_size={est.batch_size} is larger than the {n_train} training rows "
            f"({n} sample(s), validation_fraction={est.validation_fraction}); "
            "lower batch_size or pass more rows"
        )
    return est.batch_size


def epochs_for(est, n_train: int, batch_size: int, max_epochs: int) -> int:
    """``max_epochs``, or with ``est.max_steps`` the fewer epochs that hold about
    that many steps of ``batch_size`` rows out of ``n_train``."""
    if est.max_steps is None:
        return max_epochs
    return min(max_epochs, math.ceil(est.max_steps / math.ceil(n_train / batch_size)))
