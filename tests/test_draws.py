"""Proper multiple imputation's parts: models trained on their own resample of
the rows, and the calibrated one-column conditionals of the Gibbs draws."""

import numpy as np
import pytest
import torch

from aekit import AekitError, Autoencoder
from aekit.models.ae import calibrated


def _rows(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.normal(size=n))
    noise = torch.from_numpy(rng.normal(size=n))
    return x, noise


def test_calibration_restores_a_shrunk_linear_prediction():
    x, noise = _rows()
    target = 2 * x + 0.5 * noise
    shrunk = 0.6 * x + 0.1  # an early-stopped network's prediction: pulled to the mean
    observed = torch.ones(len(x), dtype=torch.bool)
    weights = torch.ones(len(x), dtype=torch.float64)
    mean, scale = calibrated(shrunk, x[:, None], target, observed, weights)
    slope, intercept = np.polyfit(x.numpy(), target.numpy(), 1)  # least squares
    assert torch.allclose(mean, slope * x + intercept, atol=1e-6) and abs(slope - 2) < 0.1
    residual = target - mean
    assert float(scale) == pytest.approx(float(residual.pow(2).sum() / (len(x) - 3)) ** 0.5)


def test_calibration_keeps_what_only_the_network_predicts():
    x, noise = _rows()
    target = torch.sin(3 * x) + 0.1 * noise  # no linear term of x predicts it
    observed = torch.ones(len(x), dtype=torch.bool)
    weights = torch.ones(len(x), dtype=torch.float64)
    mean, scale = calibrated(torch.sin(3 * x), x[:, None], target, observed, weights)
    assert torch.allclose(mean, torch.sin(3 * x), atol=0.05) and float(scale) < 0.12
    linear, _ = calibrated(torch.zeros_like(x), x[:, None], target, observed, weights)
    assert (linear - torch.sin(3 * x)).pow(2).mean() > 0.2  # the linear terms alone fail


@pytest.mark.parametrize("out_of_bag", [True, False], ids=["out-of-bag", "in-bag"])
def test_calibration_fits_on_the_rows_the_network_did_not_see(out_of_bag):
    x, noise = _rows()
    target = x + 0.3 * noise
    observed = torch.ones(len(x), dtype=torch.bool)
    observed[:50] = False  # missing cells play no part in the fit
    target[:50] = 1e6
    weights = torch.from_numpy(np.random.default_rng(1).poisson(1.0, len(x))).double()
    if not out_of_bag:  # too few rows out of the bag for 3 coefficients: the bag's
        weights[weights == 0] = 1.0
        weights[60:64] = 0.0
    mean, scale = calibrated(torch.zeros_like(x), x[:, None], target, observed, weights)
    fit = (weights == 0).double() if out_of_bag else weights
    w = (fit * observed).numpy()
    slope, intercept = np.polyfit(x.numpy(), target.numpy(), 1, w=np.sqrt(w))  # weighted
    assert torch.allclose(mean, slope * x + intercept, atol=1e-6)
    residual = (target - mean).numpy()
    expected = np.sqrt((w * residual**2).sum() / (w.sum() - 3))
    assert float(scale) == pytest.approx(expected)


def _clusters(n=120):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(n, 3)) * 0.3 + np.array([3.0, -3.0, 3.0])
    b = rng.normal(size=(n, 3)) * 0.3 + np.array([-3.0, 3.0, -3.0])
    return np.vstack([a, b])


def _error(model, X):
    return ((model.reconstruct(X) - X) ** 2).mean(1)


@pytest.mark.parametrize("n_copies", [2, 1], ids=["batched", "one"])
def test_each_copy_trains_on_its_own_resample(n_copies):
    X = _clusters()
    n = len(X) // 2
    a_rows = np.tile(np.arange(n), 2)  # the first cluster's rows, each twice
    b_rows = np.tile(np.arange(n, 2 * n), 2)
    resample = np.stack([a_rows, b_rows])[:n_copies]
    ae = Autoencoder(
        latent_dim=1, hidden_dims=(16,), max_epochs=40, validation_fraction=0.0, random_state=0
    )
    models = ae.fit_copies(X, n_copies, random_state=0, resample=resample)
    on_a = _error(models[0], X)
    assert on_a[:n].mean() * 5 < on_a[n:].mean()  # it never saw the second cluster
    if n_copies == 2:
        on_b = _error(models[1], X)
        assert on_b[n:].mean() * 5 < on_b[:n].mean()


def test_bad_resamples_are_refused():
    X = _clusters(20)
    ae = Autoencoder(latent_dim=1, hidden_dims=(8,), max_epochs=2, validation_fraction=0.0)
    with pytest.raises(AekitError, match="n_copies=2"):
        ae.fit_copies(X, 2, resample=np.zeros((3, 40), dtype=int))
    with pytest.raises(AekitError, match="40 row indices"):
        ae.fit_copies(X, 2, resample=np.zeros((2, 39), dtype=int))
    with pytest.raises(AekitError, match=r"outside 0\.\.39"):
        ae.fit_copies(X, 2, resample=np.full((2, 40), 40))
    with pytest.raises(AekitError, match="validation_fraction=0"):
        ae.set_params(validation_fraction=0.2).fit_with(X, resample=np.zeros(40, dtype=int))
