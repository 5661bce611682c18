"""SSIM and PSNR in aekit.metrics, checked against scikit-image."""

import math

import numpy as np
import pytest

from aekit.errors import AekitError
from aekit.metrics import psnr, ssim

TOL = 1e-6


def _rng(seed=0):
    return np.random.default_rng(seed)


def _gradient(h, w):
    """A smooth diagonal ramp in [0, 1]."""
    yy, xx = np.mgrid[0:h, 0:w]
    return (xx / max(w - 1, 1) + yy / max(h - 1, 1)) / 2


def _noisy(img, scale, seed=1):
    return img + scale * _rng(seed).normal(size=img.shape)


def _pairs():
    """(id, image_true, image_test, data_range) for single 2-D images."""
    rng = _rng(0)
    r28 = rng.random((28, 28))
    r8 = rng.random((8, 8))
    g28 = _gradient(28, 28)
    g_wide = _gradient(19, 33)
    rect = rng.random((30, 17))
    return [
        ("random28-vs-random", r28, rng.random((28, 28)), 1.0),
        ("random28-noisy", r28, np.clip(_noisy(r28, 0.1), 0, 1), 1.0),
        ("random8-noisy", r8, _noisy(r8, 0.2), 1.0),
        ("gradient28-noisy", g28, _noisy(g28, 0.05), 1.0),
        ("gradient28-shifted", g28, np.roll(g28, 3, axis=1), 1.0),
        ("gradient-nonsquare", g_wide, _noisy(g_wide, 0.1), 2.0),
        ("random-nonsquare-255", 255 * rect, 255 * np.clip(_noisy(rect, 0.1), 0, 1), 255.0),
        ("random28-range-0.5", r28, _noisy(r28, 0.3), 0.5),
        ("constant-vs-noisy", np.full((12, 14), 0.3), _noisy(np.full((12, 14), 0.3), 0.1), 1.0),
    ]


PAIRS = _pairs()
PAIR_IDS = [p[0] for p in PAIRS]

# keyword settings to try on each pair; the Gaussian ones need images of 11 px or more
SETTINGS = [
    {},
    {"use_sample_covariance": False},
    {"win_size": 3},
    {"win_size": 5, "K1": 0.02, "K2": 0.05},
    {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False},
    {"gaussian_weights": True, "sigma": 1.0},
]


def _skimage_ssim(a, b, **kw):
    metrics = pytest.importorskip("skimage.metrics")
    return metrics.structural_similarity(a, b, **kw)


def _window(setting):
    if setting.get("gaussian_weights"):
        return 2 * int(3.5 * setting["sigma"] + 0.5) + 1
    return setting.get("win_size", 7)


def _setting_id(setting):
    return ",".join(f"{k}={v}" for k, v in setting.items()) or "default"


# every pair with every setting whose window fits the image
SSIM_CASES = [
    pytest.param(a, b, data_range, setting, id=f"{name}-{_setting_id(setting)}")
    for name, a, b, data_range in PAIRS
    for setting in SETTINGS
    if min(a.shape) >= _window(setting)
]


@pytest.mark.parametrize(("a", "b", "data_range", "setting"), SSIM_CASES)
def test_ssim_matches_skimage(a, b, data_range, setting):
    ours = ssim(a, b, data_range=data_range, **setting)
    ref = _skimage_ssim(a, b, data_range=data_range, **setting)
    assert type(ours) is float
    assert abs(ours - ref) <= TOL


def test_ssim_stack_matches_per_image():
    pytest.importorskip("skimage")
    rng = _rng(2)
    a = rng.random((5, 16, 21))
    b = np.clip(a + 0.15 * rng.normal(size=a.shape), 0, 1)
    for kw in ({}, {"gaussian_weights": True, "use_sample_covariance": False}):
        ours = ssim(a, b, data_range=1.0, **kw)
        assert isinstance(ours, np.ndarray)
        assert ours.shape == (5,)
        ref = [_skimage_ssim(a[i], b[i], data_range=1.0, **kw) for i in range(5)]
        np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL)
        singles = [ssim(a[i], b[i], data_range=1.0, **kw) for i in range(5)]
        np.testing.assert_allclose(ours, singles, rtol=0, atol=1e-12)


@pytest.mark.parametrize("gaussian_weights", [False, True])
def test_ssim_channels_match_skimage_channel_axis(gaussian_weights):
    pytest.importorskip("skimage")
    rng = _rng(3)
    a = rng.random((4, 3, 14, 12)) * 255
    b = np.clip(a + 20 * rng.normal(size=a.shape), 0, 255)
    kw = {"gaussian_weights": gaussian_weights, "sigma": 1.0, "data_range": 255.0}
    ours = ssim(a, b, **kw)
    assert ours.shape == (4,)
    ref = [_skimage_ssim(a[i], b[i], channel_axis=0, **kw) for i in range(4)]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL)


def test_ssim_integer_images():
    pytest.importorskip("skimage")
    rng = _rng(4)
    a = rng.integers(0, 256, (20, 20), dtype=np.uint8)
    b = np.clip(a + rng.integers(-10, 11, a.shape), 0, 255).astype(np.uint8)
    ref = _skimage_ssim(a, b, data_range=255)
    assert abs(ssim(a, b, data_range=255) - ref) <= TOL


def test_ssim_of_an_image_with_itself_is_one():
    rng = _rng(5)
    x = rng.random((20, 24))
    assert ssim(x, x, data_range=1.0) == pytest.approx(1.0, abs=1e-12)
    assert ssim(x, x, data_range=1.0, gaussian_weights=True) == pytest.approx(1.0, abs=1e-12)
    stack = rng.random((3, 2, 10, 9))
    np.testing.assert_allclose(ssim(stack, stack, data_range=1.0), 1.0, atol=1e-12)


def test_ssim_falls_as_noise_grows():
    x = _gradient(32, 32) * 0.5 + 0.25 * _rng(6).random((32, 32))
    noise = _rng(7).normal(size=x.shape)
    scores = [ssim(x, x + s * noise, data_range=1.0) for s in (0.0, 0.01, 0.05, 0.1, 0.3)]
    assert scores[0] == pytest.approx(1.0)
    assert np.all(np.diff(scores) < 0)
    # and as a stack, in one call
    stack = np.stack([x + s * noise for s in (0.01, 0.05, 0.1, 0.3)])
    np.testing.assert_allclose(
        ssim(np.broadcast_to(x, stack.shape), stack, data_range=1.0), scores[1:], atol=1e-12
    )


def test_ssim_empty_stack():
    out = ssim(np.zeros((0, 8, 8)), np.zeros((0, 8, 8)), data_range=1.0)
    assert out.shape == (0,)


# --- PSNR ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "a", "b", "data_range"), PAIRS, ids=PAIR_IDS)
def test_psnr_matches_skimage(name, a, b, data_range):
    metrics = pytest.importorskip("skimage.metrics")
    ours = psnr(a, b, data_range=data_range)
    ref = metrics.peak_signal_noise_ratio(a, b, data_range=data_range)
    assert type(ours) is float
    assert abs(ours - ref) <= TOL


def test_psnr_stack():
    metrics = pytest.importorskip("skimage.metrics")
    rng = _rng(8)
    a = rng.random((3, 2, 6, 5))
    b = a + 0.05 * rng.normal(size=a.shape)
    ours = psnr(a, b, data_range=1.0)
    assert ours.shape == (3,)
    ref = [metrics.peak_signal_noise_ratio(a[i], b[i], data_range=1.0) for i in range(3)]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(psnr(a[:, 0], b[:, 0], data_range=1.0).shape, (3,))


def test_psnr_known_value_and_identical_images():
    x = np.zeros((4, 4))
    assert psnr(x, x + 0.1, data_range=1.0) == pytest.approx(20.0)
    assert psnr(x, x, data_range=1.0) == math.inf
    y = np.stack([x, x + 0.1])
    out = psnr(np.zeros_like(y), y, data_range=1.0)
    assert out[0] == math.inf
    assert out[1] == pytest.approx(20.0)


# --- bad input ----------------------------------------------------------------------

GOOD = np.zeros((10, 10))


@pytest.mark.parametrize("metric", [ssim, psnr])
@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf, "1", None, True, [1.0]])
def test_bad_data_range(metric, bad):
    with pytest.raises(AekitError, match="data_range"):
        metric(GOOD, GOOD, data_range=bad)


@pytest.mark.parametrize("metric", [ssim, psnr])
def test_data_range_is_required(metric):
    with pytest.raises(TypeError, match="data_range"):
        metric(GOOD, GOOD)


@pytest.mark.parametrize("metric", [ssim, psnr])
def test_shape_mismatch(metric):
    with pytest.raises(AekitError, match=r"image_true has shape \(10, 10\).*image_test"):
        metric(GOOD, np.zeros((10, 11)), data_range=1.0)


@pytest.mark.parametrize("metric", [ssim, psnr])
@pytest.mark.parametrize("shape", [(10,), (2, 2, 2, 10, 10)])
def test_bad_ndim(metric, shape):
    with pytest.raises(
        AekitError, match=f"image_true must have 2, 3 or 4 dimensions.*ndim={len(shape)}"
    ):
        metric(np.zeros(shape), np.zeros(shape), data_range=1.0)


@pytest.mark.parametrize("metric", [ssim, psnr])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("which", ["image_true", "image_test"])
def test_missing_or_infinite_pixels(metric, value, which):
    bad = GOOD.copy()
    bad[3, 4] = value
    args = (bad, GOOD) if which == "image_true" else (GOOD, bad)
    with pytest.raises(AekitError, match=f"{which} contains NaN or inf.*impute"):
        metric(*args, data_range=1.0)


@pytest.mark.parametrize("metric", [ssim, psnr])
def test_non_numeric_images(metric):
    with pytest.raises(AekitError, match="image_test must be an array of real numbers"):
        metric(GOOD, GOOD.astype(complex), data_range=1.0)


def test_image_smaller_than_default_window():
    with pytest.raises(AekitError, match=r"win_size 7 .*5 x 6.*smaller odd win_size"):
        ssim(np.zeros((5, 6)), np.zeros((5, 6)), data_range=1.0)


def test_image_smaller_than_gaussian_window():
    with pytest.raises(
        AekitError, match=r"win_size 11 .*gaussian_weights=True.*gaussian_weights=False"
    ):
        ssim(np.zeros((3, 8, 8)), np.zeros((3, 8, 8)), data_range=1.0, gaussian_weights=True)


def test_image_smaller_than_explicit_window():
    with pytest.raises(AekitError, match=r"win_size 9 exceeds.*8 x 20"):
        ssim(np.zeros((8, 20)), np.zeros((8, 20)), data_range=1.0, win_size=9)


@pytest.mark.parametrize("win_size", [4, 1, 2, -3, 0, 5.0, True])
def test_bad_win_size(win_size):
    with pytest.raises(AekitError, match="win_size must be an odd integer >= 3"):
        ssim(GOOD, GOOD, data_range=1.0, win_size=win_size)


@pytest.mark.parametrize("name", ["sigma", "K1", "K2"])
@pytest.mark.parametrize("bad", [0.0, -0.5, math.nan])
def test_bad_constants(name, bad):
    with pytest.raises(AekitError, match=name):
        ssim(GOOD, GOOD, data_range=1.0, gaussian_weights=True, **{name: bad})


def test_sigma_too_small_for_a_window():
    with pytest.raises(AekitError, match="sigma"):
        ssim(GOOD, GOOD, data_range=1.0, gaussian_weights=True, sigma=0.1)


def test_no_channels():
    with pytest.raises(AekitError, match="no channels"):
        ssim(np.zeros((2, 0, 8, 8)), np.zeros((2, 0, 8, 8)), data_range=1.0)


def test_psnr_empty_image():
    with pytest.raises(AekitError, match="no pixels"):
        psnr(np.zeros((0, 5)), np.zeros((0, 5)), data_range=1.0)
