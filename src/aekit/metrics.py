"""Metrics for reconstructions and imputations."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .data.schema import as_frame
from .errors import AekitError


def rmse(X_true, X_pred, mask=None) -> float:
    """Root mean squared error, over the cells where ``mask`` is True (default: all).

    Parameters
    ----------
    X_true, X_pred : array-like of shape (n_samples, n_features)
        Two DataFrames are matched by column name and index, as in :func:`nrmse`.
    mask : array-like of bool, same shape, optional
        Cells to score, e.g. the ones that were hidden before imputation.
    """
    if isinstance(X_true, pd.DataFrame) and isinstance(X_pred, pd.DataFrame):
        full = np.ones(X_true.shape, dtype=bool) if mask is None else mask
        X_true, X_pred, mask = _frames(X_true, X_pred, full, names=("X_true", "X_pred"))
    a = np.asarray(X_true, dtype=np.float64)
    b = np.asarray(X_pred, dtype=np.float64)
    if a.shape != b.shape:
        raise AekitError(f"X_true has shape {a.shape} but X_pred has shape {b.shape}")
    m = np.ones(a.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != a.shape:
        raise AekitError(f"mask has shape {m.shape}; expected {a.shape}")
    if not m.any():
        raise AekitError("mask selects no cells to score")
    return float(np.sqrt(np.mean((a[m] - b[m]) ** 2)))


def _frames(X_true, X_imputed, mask, names=("X_true", "X_imputed")):
    """The two tables cell for cell: DataFrames by column name and index (the
    same labels, perhaps in another order; a DataFrame mask too), arrays by
    position; the mask's cells must be filled in both."""
    first, second = names
    a, a_frame = as_frame(X_true, name=first)
    b, b_frame = as_frame(X_imputed, name=second)
    if a.shape != b.shape:
        raise AekitError(f"{first} has shape {a.shape} but {second} has shape {b.shape}")
    if a_frame and b_frame:
        b = _like(b, a, second, first)
    if a_frame and isinstance(mask, pd.DataFrame):
        mask = _like(mask, a, "mask", first)
    m = np.asarray(mask, dtype=bool)
    if m.shape != a.shape:
        raise AekitError(f"mask has shape {m.shape}; expected {a.shape}")
    for label, frame in ((second, b), (first, a)):
        unfilled = frame.isna().to_numpy() & m
        if unfilled.any():
            column = a.columns[np.flatnonzero(unfilled.any(axis=0))[0]]
            raise AekitError(
                f"{label} has {int(unfilled.sum())} missing cell(s) among those the mask "
                f"scores (e.g. in column {column!r}): nothing to score there"
            )
    return a, b, m


def _like(frame: pd.DataFrame, like: pd.DataFrame, name: str, like_name: str) -> pd.DataFrame:
    """``frame`` with the rows and columns of ``like`` in their order, matched by
    label: the same columns and index (in any order; an index with repeats in
    the same order)."""
    same_index = (
        like.index.equals(frame.index)
        if not like.index.is_unique
        else frame.index.sort_values().equals(like.index.sort_values())
    )
    if set(frame.columns) != set(like.columns) or not same_index:
        raise AekitError(
            f"{like_name} and {name} must have the same columns and index (in any order; "
            f"in the same order where the index repeats); columns {list(like.columns)[:5]} "
            f"and {list(frame.columns)[:5]}"
        )
    return frame.loc[like.index, like.columns] if like.index.is_unique else frame[like.columns]


def _is_numeric(s) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def nrmse(X_true, X_imputed, mask) -> float:
    """RMSE on the imputed cells of numeric columns, in standardised units.

    Each column is divided by its standard deviation in ``X_true`` (all rows),
    so columns count equally whatever their units: 1.0 is the error of a
    guess that is one standard deviation off.

    Parameters
    ----------
    X_true : DataFrame or array-like of shape (n_samples, n_features), complete
    X_imputed : same shape, the imputation
    mask : bool array of the same shape, True on the cells that were imputed
    """
    a, b, m = _frames(X_true, X_imputed, mask)
    cols = [j for j, c in enumerate(a.columns) if _is_numeric(a[c])]
    if not cols or not m[:, cols].any():
        raise AekitError("mask selects no numeric cells to score")
    t = a.iloc[:, cols].to_numpy(dtype=np.float64)
    p = b.iloc[:, cols].to_numpy(dtype=np.float64)
    std = np.nanstd(t, axis=0)
    err = (t - p) / np.where(std > 0, std, 1.0)
    return float(np.sqrt(np.mean(err[m[:, cols]] ** 2)))


def error_rate(X_true, X_imputed, mask) -> float:
    """Share of imputed cells of categorical (and boolean) columns that are wrong."""
    a, b, m = _frames(X_true, X_imputed, mask)
    cols = [j for j, c in enumerate(a.columns) if not _is_numeric(a[c])]
    if not cols or not m[:, cols].any():
        raise AekitError("mask selects no categorical cells to score")
    t = a.iloc[:, cols].astype(object).to_numpy()
    p = b.iloc[:, cols].astype(object).to_numpy()
    return float(np.mean(t[m[:, cols]] != p[m[:, cols]]))


# --------------------------------------------------------------------------------------
# Image quality: SSIM and PSNR
# --------------------------------------------------------------------------------------

_GAUSSIAN_TRUNCATE = 3.5  # an 11-tap Gaussian for sigma=1.5, the window of Wang et al.


def _positive_number(value, name: str, *, allow_zero: bool = False) -> float:
    """``value`` as a float, or an AekitError naming ``name`` if it is not a finite number > 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise AekitError(f"{name} must be a finite positive number; got {value!r}")
    out = float(value)
    if not np.isfinite(out) or out < 0 or (out == 0 and not allow_zero):
        kind = "a finite non-negative" if allow_zero else "a finite positive"
        raise AekitError(f"{name} must be {kind} number; got {value!r}")
    return out


def _image_pair(image_true, image_test) -> tuple[np.ndarray, np.ndarray]:
    """Both images as float64 arrays of the same shape with 2 to 4 axes, all finite."""
    arrays = []
    for name, image in (("image_true", image_true), ("image_test", image_test)):
        a = np.asarray(image)
        if a.dtype.kind not in "biuf":
            raise AekitError(f"{name} must be an array of real numbers; got dtype {a.dtype}")
        if not 2 <= a.ndim <= 4:
            raise AekitError(
                f"{name} must have 2, 3 or 4 dimensions: one image (H, W), a stack "
                f"(n, H, W) or a stack with channels (n, C, H, W); got ndim={a.ndim} "
                f"with shape {a.shape}"
            )
        arrays.append(a.astype(np.float64, copy=False))
    a, b = arrays
    if a.shape != b.shape:
        raise AekitError(f"image_true has shape {a.shape} but image_test has shape {b.shape}")
    if a.ndim == 4 and a.shape[1] == 0:
        raise AekitError(f"image_true and image_test have no channels (shape {a.shape})")
    for name, arr in (("image_true", a), ("image_test", b)):
        if not np.isfinite(arr).all():
            raise AekitError(
                f"{name} contains NaN or inf values; image metrics need complete images, "
                "so impute every missing pixel before scoring"
            )
    return a, b


def ssim(
    image_true,
    image_test,
    *,
    data_range,
    gaussian_weights=False,
    sigma=1.5,
    win_size=None,
    use_sample_covariance=True,
    K1=0.01,
    K2=0.03,
):
    """Mean structural similarity (SSIM) between grayscale images.

    The SSIM of Wang et al. (2004), computed the way scikit-image's
    ``skimage.metrics.structural_similarity`` computes it for 2-D grayscale
    images. Local means, variances and the covariance of the two images are
    taken in a sliding window around every pixel, the SSIM map is built from
    them, a strip of ``(win_size - 1) // 2`` pixels along the border is dropped,
    and the rest of the map is averaged:

    .. math::

        \\mathrm{SSIM}(x, y) = \\frac{(2 μ_x μ_y + C_1)(2 σ_{xy} + C_2)}
                                    {(μ_x^2 + μ_y^2 + C_1)(σ_x^2 + σ_y^2 + C_2)},
        \\qquad C_1 = (K_1 L)^2,\\; C_2 = (K_2 L)^2,

    where ``L`` is ``data_range``. SSIM is 1 for identical images and smaller
    the less alike they are (it can go below 0).

    Parameters
    ----------
    image_true, image_test : array-like of shape (H, W), (n, H, W) or (n, C, H, W)
        The reference images and the images to score (e.g. reconstructions or
        imputations), with the same shape. They must be complete: NaN or inf
        is refused. Arithmetic is in float64 whatever the input dtype.
    data_range : float
        Distance between the smallest and largest value a pixel can take,
        e.g. 1.0 for images in [0, 1] or 255 for 8-bit images. Required: it
        sets the stabilising constants C₁ and C₂, so the score depends on it.
    gaussian_weights : bool, default False
        False: the local statistics are plain means over a ``win_size`` square.
        True: they are weighted by a Gaussian of standard deviation ``sigma``
        truncated at 3.5 standard deviations (an 11 × 11 window for sigma=1.5).
    sigma : float, default 1.5
        Standard deviation of the Gaussian weights; used only when
        ``gaussian_weights`` is True.
    win_size : odd int >= 3, optional
        Side of the window. Default 7 for uniform weights and
        ``2 * int(3.5 * sigma + 0.5) + 1`` for Gaussian weights. With Gaussian
        weights the filter itself is set by ``sigma``; an explicit ``win_size``
        then only sets the border crop and the sample-covariance factor (as in
        scikit-image). Each image side must be at least ``win_size``.
    use_sample_covariance : bool, default True
        True: variances and covariance are scaled by NP / (NP - 1) with
        NP = win_size², the sample estimate. False: population estimate, as in
        Wang et al. (2004).
    K1, K2 : float, default 0.01 and 0.03
        Positive constants of the formula above.

    Returns
    -------
    float or ndarray of shape (n,)
        A Python float for a single (H, W) image; otherwise the SSIM of each
        image of the stack. For (n, C, H, W) each image's score is the mean of
        the SSIM of its C channels (scikit-image's ``channel_axis`` convention).

    Raises
    ------
    AekitError
        If the shapes differ or have the wrong number of axes, an image holds
        NaN or inf, ``data_range`` (or ``sigma``, ``K1``, ``K2``) is not a
        finite positive number, ``win_size`` is not an odd integer >= 3, or an
        image side is smaller than ``win_size``.

    Notes
    -----
    To reproduce Wang et al. (2004), pass ``gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False`` and the right ``data_range``. Stacks are
    filtered in one vectorised pass (the window spans only the last two axes).

    References
    ----------
    Wang, Z., Bovik, A. C., Sheikh, H. R. and Simoncelli, E. P. (2004). Image
    quality assessment: from error visibility to structural similarity. IEEE
    Transactions on Image Processing 13(4), 600-612. doi:10.1109/TIP.2003.819861

    Examples
    --------
    >>> import numpy as np
    >>> from aekit.metrics import ssim
    >>> rng = np.random.default_rng(0)
    >>> x = rng.random((28, 28))
    >>> ssim(x, x, data_range=1.0)
    1.0
    >>> noisy = np.clip(x + 0.1 * rng.normal(size=x.shape), 0, 1)
    >>> round(ssim(x, noisy, data_range=1.0), 3)
    0.943
    >>> stack = rng.random((5, 3, 28, 28))  # 5 images with 3 channels each
    >>> ssim(stack, stack, data_range=1.0).shape
    (5,)
    """
    from scipy import ndimage

    data_range = _positive_number(data_range, "data_range")
    sigma = _positive_number(sigma, "sigma")
    K1 = _positive_number(K1, "K1")
    K2 = _positive_number(K2, "K2")

    if win_size is None:
        if gaussian_weights:
            win_size = 2 * int(_GAUSSIAN_TRUNCATE * sigma + 0.5) + 1
            if win_size < 3:
                raise AekitError(
                    f"sigma={sigma!r} gives a Gaussian window of {win_size} pixel; "
                    "use a larger sigma (at least 0.15)"
                )
            origin = f"win_size {win_size} (set by gaussian_weights=True, sigma={sigma:g})"
        else:
            win_size = 7
            origin = "win_size 7 (the default)"
    else:
        if isinstance(win_size, (bool, np.bool_)) or not isinstance(win_size, numbers.Integral):
            raise AekitError(f"win_size must be an odd integer >= 3; got {win_size!r}")
        win_size = int(win_size)
        if win_size < 3 or win_size % 2 == 0:
            raise AekitError(f"win_size must be an odd integer >= 3; got {win_size}")
        origin = f"win_size {win_size}"

    a, b = _image_pair(image_true, image_test)
    height, width = a.shape[-2:]
    if min(height, width) < win_size:
        if min(height, width) < 3:
            way = "SSIM needs images of at least 3 x 3 pixels"
        else:
            largest = min(height, width) - (min(height, width) % 2 == 0)
            way = f"pass gaussian_weights=False or a smaller odd win_size (3 to {largest})"
        raise AekitError(
            f"{origin} exceeds the image side: the images are {height} x {width} "
            f"(shape {a.shape}); {way}"
        )

    lead = a.shape[:-2]
    x = a.reshape(-1, height, width)
    y = b.reshape(-1, height, width)
    if x.shape[0] == 0:
        return np.empty(0, dtype=np.float64)

    # Filter only along the two image axes: size 1 / sigma 0 leaves the stack axis alone.
    if gaussian_weights:

        def local_mean(z):
            return ndimage.gaussian_filter(
                z, sigma=(0.0, sigma, sigma), mode="reflect", truncate=_GAUSSIAN_TRUNCATE
            )
    else:

        def local_mean(z):
            return ndimage.uniform_filter(z, size=(1, win_size, win_size), mode="reflect")

    n_window = win_size**2
    cov_scale = n_window / (n_window - 1) if use_sample_covariance else 1.0

    mu_x = local_mean(x)
    mu_y = local_mean(y)
    var_x = cov_scale * (local_mean(x * x) - mu_x * mu_x)
    var_y = cov_scale * (local_mean(y * y) - mu_y * mu_y)
    cov_xy = cov_scale * (local_mean(x * y) - mu_x * mu_y)

    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )

    r = (win_size - 1) // 2
    per_plane = ssim_map[:, r : height - r, r : width - r].mean(axis=(1, 2), dtype=np.float64)

    if a.ndim == 2:
        return float(per_plane[0])
    if a.ndim == 4:
        return per_plane.reshape(lead).mean(axis=1)
    return per_plane


def psnr(image_true, image_test, *, data_range):
    """Peak signal-to-noise ratio in decibels: ``10 log10(data_range² / MSE)``.

    Matches scikit-image's ``skimage.metrics.peak_signal_noise_ratio`` for a
    single image. Higher is better.

    Parameters
    ----------
    image_true, image_test : array-like of shape (H, W), (n, H, W) or (n, C, H, W)
        The reference images and the images to score, with the same shape and
        no NaN or inf. Arithmetic is in float64.
    data_range : float
        Distance between the smallest and largest value a pixel can take
        (1.0 for images in [0, 1], 255 for 8-bit images). Required.

    Returns
    -------
    float or ndarray of shape (n,)
        A Python float for one (H, W) image; otherwise the PSNR of each image,
        with the mean squared error taken over all pixels (and channels) of
        that image. Identical images have MSE 0 and give ``inf``.

    Raises
    ------
    AekitError
        If the shapes differ or have the wrong number of axes, an image holds
        NaN or inf or is empty, or ``data_range`` is not a finite positive number.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit.metrics import psnr
    >>> x = np.zeros((4, 4))
    >>> psnr(x, x + 0.1, data_range=1.0)
    20.0
    >>> psnr(x, x, data_range=1.0)
    inf
    """
    data_range = _positive_number(data_range, "data_range")
    a, b = _image_pair(image_true, image_test)
    if a.size == 0 and not (a.ndim > 2 and a.shape[0] == 0):
        raise AekitError(f"image_true and image_test hold no pixels (shape {a.shape})")
    axes = tuple(range(1, a.ndim)) if a.ndim > 2 else None
    mse = np.mean((a - b) ** 2, axis=axes, dtype=np.float64)
    mse = np.atleast_1d(mse)
    ratio = np.divide(data_range**2, mse, out=np.full(mse.shape, np.inf), where=mse > 0)
    out = 10 * np.log10(ratio)
    return float(out[0]) if a.ndim == 2 else out
