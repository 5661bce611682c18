"""Missingness simulation: hide cells of a complete table by MCAR, MAR or MNAR
(:func:`ampute`), and pixels of images in pixels, blocks or patches
(:func:`mask_images`, :func:`hide_pixels`)."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ..errors import AekitError
from .schema import as_frame

MECHANISMS = ("mcar", "mar", "mnar")
MASK_KINDS = ("pixels", "blocks", "patches")
_CHUNK = 1024  # images smoothed at a time by kind="patches", to bound memory
SLOPE = 2.0  # logistic slope of MAR and MNAR, per standard deviation of the driving value


def _intercept(score: np.ndarray, rate: float) -> float:
    """b such that mean(sigmoid(score + b)) = rate, by bisection (the mean is monotone in b)."""
    lo, hi = -50.0, 50.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(score + mid)))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _standardised(values: np.ndarray) -> np.ndarray:
    std = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(std > 0, std, 1.0)


def ampute(X, mechanism="mcar", rate=0.3, *, random_state=None, observed_fraction=0.3):
    """Return a copy of ``X`` with cells hidden (set to NaN) by a missingness mechanism.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features), or images
        Complete data (cells already missing stay missing and are not counted).
        Images, (n, H, W) or (n, C, H, W), have pixels hidden as cells of a
        table with a column per pixel (:func:`mask_images` hides blocks).
    mechanism : {"mcar", "mar", "mnar"}
        - ``"mcar"``, missing completely at random: each cell is hidden with
          probability ``rate``, independently of everything.
        - ``"mar"``, missing at random: a share ``observed_fraction`` of the
          numeric columns (at least one, and one fewer than all) is never
          hidden; every other cell is
          hidden with probability ``sigmoid(2 · s_i + b_j)``, where ``s_i`` is a
          standardised random linear combination of row i's always-observed
          values, so missingness depends only on observed data. ``b_j`` is set
          so that the share of hidden cells in the whole table is ``rate``.
        - ``"mnar"``, missing not at random (self-masking): each numeric cell is
          hidden with probability ``sigmoid(2 · z_ij + b_j)``, ``z_ij`` its own
          standardised value, so large values go missing more often; ``b_j``
          gives each column the rate ``rate``.
        Non-numeric columns (categories, text, flags) are hidden like the
        other cells under "mcar" and "mar" (under "mar", every one of their
        cells with the probability above), and completely at random at
        ``rate`` under "mnar".
    rate : float in (0, 1)
        Share of cells to hide.
    random_state : int, RandomState, Generator or None
    observed_fraction : float in (0, 1), default=0.3
        MAR only: share of numeric columns kept fully observed.

    Returns
    -------
    DataFrame or ndarray like X (of X's shape), with NaN in the hidden cells. X
    is not modified, and the cells left observed keep their exact values: a
    column of integers or flags that loses cells becomes pandas' nullable type
    of it (``Int64``, ``UInt8``, ``boolean``, ...), not floats.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(1000, 4))
    >>> X_miss = aekit.ampute(X, "mnar", rate=0.3, random_state=0)
    >>> round(float(np.isnan(X_miss).mean()), 1)
    0.3
    """
    if mechanism not in MECHANISMS:
        raise AekitError(f"mechanism must be one of {list(MECHANISMS)}; got {mechanism!r}")
    if not isinstance(rate, (int, float)) or not 0 < rate < 1:
        raise AekitError(f"rate must be a number in (0, 1); got {rate!r}")
    if not 0 < observed_fraction < 1:
        raise AekitError(f"observed_fraction must be in (0, 1); got {observed_fraction!r}")
    df, is_frame = as_frame(X)
    rng = _random_state(random_state)
    n, p = df.shape
    numeric = [
        j
        for j, c in enumerate(df.columns)
        if pd.api.types.is_numeric_dtype(df[c].dtype) and not pd.api.types.is_bool_dtype(df[c])
    ]
    values = df.iloc[:, numeric].to_numpy(dtype=np.float64, na_value=np.nan)
    # a missing cell drives the mechanism as its column mean; a column with no
    # observed value at all as 0 (it then has no spread and drives nothing)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fill = np.nan_to_num(np.nanmean(values, axis=0)) if values.size else values
    values = np.where(np.isnan(values), fill, values)
    prob = np.full((n, p), float(rate))

    if mechanism == "mar":
        if len(numeric) < 2:
            raise AekitError("mechanism='mar' needs at least two numeric columns")
        n_keep = min(max(1, round(observed_fraction * len(numeric))), len(numeric) - 1)
        order = rng.permutation(len(numeric))
        # columns that do not vary (or have no observed value) drive nothing: last
        varies = np.ptp(values, axis=0) > 0
        if not varies.any():
            raise AekitError("mechanism='mar' needs a numeric column whose observed values vary")
        order = np.r_[order[varies[order]], order[~varies[order]]]
        keep, drive = order[:n_keep], order[n_keep:]
        z = _standardised(values[:, keep])
        score = _standardised(z @ rng.normal(size=len(keep))[:, None])[:, 0]
        amputed = [numeric[j] for j in drive] + [j for j in range(p) if j not in numeric]
        # the hidden share of the whole table is rate: amputed columns carry all of it
        target = rate * p / len(amputed)
        if target >= 1:
            raise AekitError(
                f"rate={rate} is too high for MAR with {n_keep} fully observed column(s); "
                "lower rate or observed_fraction"
            )
        prob[:, [numeric[j] for j in keep]] = 0.0
        b = _intercept(SLOPE * score, target)
        for j in amputed:
            prob[:, j] = 1 / (1 + np.exp(-(SLOPE * score + b)))
    elif mechanism == "mnar":
        z = _standardised(values)
        for k, j in enumerate(numeric):
            b = _intercept(SLOPE * z[:, k], rate)
            prob[:, j] = 1 / (1 + np.exp(-(SLOPE * z[:, k] + b)))

    hide = rng.random_sample((n, p)) < prob
    # a column of integers or bool that loses cells takes them as pandas' nullable
    # type of it: as floats, integers beyond 2**53 would change and flags become objects
    holed = hide.any(axis=0)
    nullable = {
        c: _nullable(df[c].dtype)
        for j, c in enumerate(df.columns)
        if holed[j] and _nullable(df[c].dtype) is not None
    }
    out = (df.astype(nullable) if nullable else df).mask(hide)
    if is_frame:
        return out
    return out.to_numpy(dtype=np.float64, na_value=np.nan).reshape(np.shape(X))


def _nullable(dtype) -> str | None:
    """pandas' nullable type of a NumPy integer or bool dtype ("Int64", "UInt8",
    "boolean"); None for any other."""
    if not isinstance(dtype, np.dtype):
        return None
    if dtype.kind == "b":
        return "boolean"
    if dtype.kind in "iu":
        name = dtype.name  # int64, uint8, ...
        return name.capitalize() if dtype.kind == "i" else "U" + name[1:].capitalize()
    return None


# ------------------------------------------------------------------ missing pixels of images


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _random_state(random_state) -> np.random.RandomState:
    if isinstance(random_state, np.random.Generator):
        # draws come from (and advance) the Generator's own bit stream
        return np.random.RandomState(random_state.bit_generator)
    try:
        return check_random_state(random_state)
    except ValueError:
        raise AekitError(
            f"random_state must be None, an int, a RandomState or a Generator; got {random_state!r}"
        ) from None


def mask_images(X, kind="pixels", rate=0.25, *, size=None, random_state=None) -> np.ndarray:
    """Choose pixels to hide: a boolean mask shaped like ``X``, True where hidden.

    Parameters
    ----------
    X : array-like of shape (n, H, W) or (n, C, H, W)
        The images (only their shape is used). In colour, all channels of a
        pixel are hidden together.
    kind : {"pixels", "blocks", "patches"}
        - ``"pixels"``: each pixel is hidden independently with probability
          ``rate``.
        - ``"blocks"``: square holes of side ``size`` placed at uniformly random
          positions, each wholly inside the image. Per image, blocks are added
          one at a time (they may overlap) until at least a share ``rate`` of
          its pixels is hidden, i.e. ``ceil(rate * H * W)`` pixels; there is
          always at least one block. The default side is the smallest whose
          square covers that many pixels, ``ceil(sqrt(rate * H * W))`` (capped
          at ``min(H, W)``), so by default each image gets one block of side
          ``s``, hiding a share ``s² / (H W)``, at least ``rate`` (more blocks
          only when the cap applies).
        - ``"patches"``: blob-shaped holes. Per image, white noise is smoothed
          by a Gaussian filter (``scipy.ndimage.gaussian_filter``, standard
          deviation ``size`` pixels) and the ``round(rate * H * W)`` pixels with
          the largest smoothed values are hidden: the share is ``rate`` up to
          that rounding, and neighbouring pixels tend to be hidden together.
    rate : float in (0, 1), default=0.25
        Share of pixels to hide.
    size : int, optional
        ``"blocks"``: the side of a block, an int in [1, min(H, W)].
        ``"patches"``: the filter's standard deviation in pixels, a number in
        (0, min(H, W)]; default ``max(1, min(H, W) / 8)``; larger gives larger
        blobs. Not used by ``"pixels"`` (passing it is an error).
    random_state : None, int, RandomState or Generator
        As scikit-learn's ``check_random_state``; a Generator is wrapped so
        that draws advance it. A fixed seed gives a fixed mask.

    Returns
    -------
    ndarray of bool, of the shape of X.
    """
    shape = np.shape(X)
    if len(shape) not in (3, 4):
        raise AekitError(f"X must have shape (n, H, W) or (n, C, H, W); got shape {shape}")
    n, H, W = shape[0], shape[-2], shape[-1]
    if kind not in MASK_KINDS:
        raise AekitError(f"kind must be one of {list(MASK_KINDS)}; got {kind!r}")
    if not _is_real(rate) or not 0 < rate < 1:
        raise AekitError(f"rate must be a number in (0, 1); got {rate!r}")
    if H == 0 or W == 0:
        raise AekitError(f"X holds images without pixels (shape {shape})")
    if size is not None:
        if kind == "pixels":
            raise AekitError("size applies to kind='blocks' and kind='patches' only")
        if kind == "blocks":
            ok = isinstance(size, numbers.Integral) and not isinstance(size, bool)
            what = "an int"
        else:
            ok = _is_real(size) and math.isfinite(size)
            what = "a number"
        if not ok or not 0 < size <= min(H, W):
            raise AekitError(
                f"size must be {what} in (0, min(H, W)] = (0, {min(H, W)}] for "
                f"kind={kind!r}; got {size!r}"
            )
    rng = _random_state(random_state)

    if kind == "pixels":
        hidden = rng.random_sample((n, H, W)) < rate
    elif kind == "blocks":
        hidden = _blocks(n, H, W, float(rate), size, rng)
    else:
        sigma = float(size) if size is not None else max(1.0, min(H, W) / 8)
        hidden = _patches(n, H, W, float(rate), sigma, rng)
    if len(shape) == 4:
        hidden = np.broadcast_to(hidden[:, None], shape).copy()
    return hidden


def _blocks(n, H, W, rate, size, rng) -> np.ndarray:
    need = max(1, math.ceil(rate * H * W - 1e-9))  # pixels per image (float slack for rate·H·W)
    side = size if size is not None else min(math.isqrt(need - 1) + 1, H, W)
    hidden = np.zeros((n, H, W), dtype=bool)
    span = np.arange(side)
    todo = np.arange(n)  # images still short of `need`: each gets one more block a round
    while todo.size:
        top = rng.randint(0, H - side + 1, size=todo.size)
        left = rng.randint(0, W - side + 1, size=todo.size)
        rows = (top[:, None] + span)[:, :, None]
        cols = (left[:, None] + span)[:, None, :]
        hidden[todo[:, None, None], rows, cols] = True
        todo = todo[hidden[todo].reshape(todo.size, -1).sum(axis=1) < need]
    return hidden


def _patches(n, H, W, rate, sigma, rng) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    k = round(rate * H * W)
    hidden = np.zeros((n, H * W), dtype=bool)
    for start in range(0, n, _CHUNK):
        m = min(_CHUNK, n - start)
        noise = rng.standard_normal((m, H, W))
        smooth = gaussian_filter(noise, sigma=(0, sigma, sigma)).reshape(m, H * W)
        if k:
            top = np.argpartition(smooth, H * W - k, axis=1)[:, H * W - k :]
            np.put_along_axis(hidden[start : start + m], top, True, axis=1)
    return hidden.reshape(n, H, W)


def hide_pixels(X, mask) -> np.ndarray:
    """Return a float copy of ``X`` with NaN where ``mask`` is True.

    Parameters
    ----------
    X : array-like of shape (n, H, W) or (n, C, H, W)
    mask : ndarray of bool, of the shape of X, or (n, H, W) for (n, C, H, W) X
        (then every channel of a hidden pixel is hidden), e.g. from
        :func:`mask_images`.

    Returns
    -------
    ndarray of the shape of X, float32 (float64 when X is float64 or an integer
    type float32 cannot hold exactly). X is not modified.
    """
    X = np.asarray(X)
    mask = np.asarray(mask)
    if X.dtype.kind not in "biuf":
        raise AekitError(f"X must be numbers; got dtype {X.dtype}")
    if mask.dtype != bool:
        raise AekitError(f"mask must be a boolean array (True = hide); got dtype {mask.dtype}")
    per_pixel = X.ndim == 4 and mask.shape == (X.shape[0], *X.shape[2:])
    if mask.shape != X.shape and not per_pixel:
        raise AekitError(f"mask has shape {mask.shape}, but X has shape {X.shape}")
    out = X.astype(np.result_type(X.dtype, np.float32), copy=True)
    out[np.broadcast_to(mask[:, None] if per_pixel else mask, out.shape)] = np.nan
    return out
