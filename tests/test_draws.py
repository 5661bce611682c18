"""Proper multiple imputation's parts: models trained on their own resample of
the rows, the calibrated one-column conditionals of the Gibbs draws, and their
predictive mean matching."""

import numpy as np
import pandas as pd
import pytest
import torch

from aekit import VAE, AekitError, Autoencoder, Imputer
from aekit.models import Likelihood
from aekit.models.gibbs import calibrated, gibbs_sweeps, matched, nearest


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
    mean, scale = calibrated(shrunk, x[:, None], target, observed)
    slope, intercept = np.polyfit(x.numpy(), target.numpy(), 1)  # least squares
    assert torch.allclose(mean, slope * x + intercept, atol=1e-6) and abs(slope - 2) < 0.1
    residual = target - mean
    assert float(scale) == pytest.approx(float(residual.pow(2).sum() / (len(x) - 3)) ** 0.5)


def test_calibration_keeps_what_only_the_network_predicts():
    x, noise = _rows()
    target = torch.sin(3 * x) + 0.1 * noise  # no linear term of x predicts it
    observed = torch.ones(len(x), dtype=torch.bool)
    mean, scale = calibrated(torch.sin(3 * x), x[:, None], target, observed)
    assert torch.allclose(mean, torch.sin(3 * x), atol=0.05) and float(scale) < 0.12
    linear, _ = calibrated(torch.zeros_like(x), x[:, None], target, observed)
    assert (linear - torch.sin(3 * x)).pow(2).mean() > 0.2  # the linear terms alone fail


def test_calibration_fits_on_the_observed_cells_only():
    x, noise = _rows()
    target = x + 0.3 * noise
    observed = torch.ones(len(x), dtype=torch.bool)
    observed[:50] = False  # missing cells (their state is a draw) play no part in the fit
    target[:50] = float("nan")
    mean, scale = calibrated(torch.zeros_like(x), x[:, None], target, observed)
    slope, intercept = np.polyfit(x[50:].numpy(), target[50:].numpy(), 1)
    assert torch.allclose(mean, slope * x + intercept, atol=1e-6)
    residual = (target - mean)[50:].numpy()
    assert float(scale) == pytest.approx(np.sqrt((residual**2).sum() / (len(residual) - 3)))


def test_drawn_calibration_spreads_like_the_fit_s_posterior():
    """draw=True: the line and the noise drawn around the least-squares fit, as
    chained equations' Bayesian regression draws them: slopes centred on the
    estimate with its standard error, sigma^2 = RSS / chi^2(dof)."""
    x, noise = _rows(200)
    target = 1 + 2 * x + noise
    observed = torch.ones(len(x), dtype=torch.bool)
    zeros = torch.zeros_like(x)  # no network: the calibration alone
    fixed, fixed_scale = calibrated(zeros, x[:, None], target, observed)
    slope, intercept = np.polyfit(x.numpy(), target.numpy(), 1)
    assert torch.allclose(fixed, slope * x + intercept, atol=1e-6)
    torch.manual_seed(0)
    slopes, variances = [], []
    for _ in range(2000):
        mean, scale = calibrated(zeros, x[:, None], target, observed, draw=True)
        slopes.append(np.polyfit(x.numpy(), mean.numpy(), 1)[0])
        variances.append(float(scale) ** 2)
    slopes = np.array(slopes)
    dof = len(x) - 2  # the zero column adds no degree of freedom's worth of fit
    rss = float((target - fixed).pow(2).sum())
    se = np.sqrt(rss / dof / ((x - x.mean()).pow(2).sum().item()))
    assert abs(slopes.mean() - slope) < 4 * se / np.sqrt(len(slopes))
    assert slopes.std() == pytest.approx(se, rel=0.1)
    dof_used = len(x) - 3  # calibrated counts the zero column's coefficient
    assert np.mean(variances) == pytest.approx(rss / (dof_used - 2), rel=0.03)
    assert float(fixed_scale) ** 2 == pytest.approx(rss / dof_used)


def test_vae_copies_are_recalibrated_unless_missing_not_at_random():
    """A fitted VAE's copies go through Gibbs sweeps with drawn calibrations:
    y = 1 + 2 x + N(0, 1), y 40% missing at random given x: each copy's slope
    of y on x near 2 (the VAE's own draws flatten it) and varying between
    copies; a VAE with a missingness model keeps its own draws."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 2))
    y = 1 + 2 * x[:, 0] + rng.normal(size=400)
    df = pd.DataFrame({"y": y, "x": x[:, 0], "z": x[:, 1]})
    df.loc[rng.random(400) < 1 / (1 + np.exp(-x[:, 0])) * 0.8, "y"] = np.nan
    vae = VAE(latent_dim=2, hidden_dims=(16,), max_epochs=40, random_state=0)
    imputer = Imputer(vae, n_models=1, random_state=0).fit(df)
    copies = imputer.multiple_imputations(df, 6)
    slopes = np.array([np.polyfit(c["x"], c["y"], 1)[0] for c in copies])
    assert abs(slopes.mean() - 2) < 0.12 and slopes.std() > 0.005
    residual = np.concatenate([c["y"] - 1 - 2 * c["x"] for c in copies])
    assert 0.8 < residual.std() < 1.25
    one = df[df["y"].isna()].head(1)  # one new row: too few cells to calibrate on
    drawn = [c["y"].iloc[0] for c in imputer.multiple_imputations(one, 4)]
    assert np.isfinite(drawn).all() and len(set(drawn)) == 4  # the network's own draws
    state = torch.zeros(4, 3)
    mnar = VAE(missingness="self-masking", latent_dim=1, hidden_dims=(4,), max_epochs=1)
    module = Imputer(mnar, n_models=1, random_state=0).fit(df.iloc[:40]).model_.module_
    same = module.redraw(state, state, torch.ones(4, 3, dtype=torch.bool), state[0], 10)
    assert same is state


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


def test_nearest_picks_one_of_the_k_nearest_at_random():
    rng = np.random.default_rng(0)
    fitted = torch.from_numpy(rng.normal(size=300))
    wanted = torch.from_numpy(np.concatenate([rng.normal(size=50) * 2, [-9.0, 9.0]]))
    truth = torch.cdist(wanted[:, None], fitted[:, None]).argsort(1)[:, :5]  # brute force
    torch.manual_seed(0)
    picks = torch.stack([nearest(fitted, wanted, 5) for _ in range(200)], 1)  # (52, 200)
    for row, chosen in enumerate(picks):
        assert set(chosen.tolist()) == set(truth[row].tolist())  # each of the 5, none other
    assert nearest(fitted[:3], wanted, 5).max() < 3  # fewer than k: any of them


def test_matched_values_are_observed_cells_of_rows_predicted_alike():
    """Predictive mean matching: y = x^2 + noise, y's missing cells filled with
    observed values of y whose rows the fit predicts alike; a linear draw around
    the prediction would go below zero, where no y is."""
    rng = np.random.default_rng(1)
    n = 600
    x = torch.from_numpy(rng.normal(size=n))
    y = x**2 + 0.1 * torch.from_numpy(rng.normal(size=n)).abs()
    observed = torch.from_numpy(rng.random(n) < 0.7)
    torch.manual_seed(0)
    values = matched(x**2, x[:, None], y, observed, donors=5)  # the network knows x^2
    assert values.shape == ((~observed).sum(),)
    assert torch.isin(values, y[observed]).all() and values.min() >= y[observed].min()
    assert (values - y[~observed]).abs().mean() < 0.15  # its rows' values, give or take


def _counts(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "x": x,
            "count": rng.poisson(np.exp(0.2 + 0.7 * x)),  # whole numbers, 0 at least
            "size": np.exp(x + rng.normal(size=n)),  # positive, skewed
            "group": np.where(x + rng.normal(size=n) > 0, "a", "b"),
        }
    )
    holed = df.copy()
    for col in ("count", "size", "group"):
        holed.loc[rng.random(n) < 0.3, col] = np.nan
    return holed


@pytest.mark.parametrize("kind", ["dae", "vae"])
def test_pmm_copies_hold_values_observed_in_their_columns(kind):
    holed = _counts()
    if kind == "dae":
        model = Autoencoder(noise="masking", latent_dim=2, hidden_dims=(16,), max_epochs=30)
        imputer = Imputer(model, n_models=1, random_state=0)
    else:
        model = VAE(latent_dim=2, hidden_dims=(16,), max_epochs=30)
        imputer = Imputer(model, n_models=1, random_state=0).fit(holed)
    copies = imputer.multiple_imputations(holed, 3, draws="pmm")
    assert len({c["size"].sum() for c in copies}) == 3  # copies differ
    for c in copies:
        assert c.where(holed.notna()).equals(holed.where(holed.notna()))  # observed kept
        assert c.notna().all().all() and list(c.dtypes) == list(holed.dtypes)
        for col in ("count", "size"):  # each imputed cell a value observed in its column
            assert c.loc[holed[col].isna(), col].isin(holed[col].dropna()).all()
        assert set(c["group"]) == {"a", "b"}


def test_normal_draws_leave_the_observed_range_where_pmm_does_not():
    """Why pmm is offered: drawn around a linear prediction, a skewed positive
    column gets values below zero, and counts get fractions."""
    holed = _counts(600, seed=2)
    normal, pmm = (
        Imputer(random_state=0).multiple_imputations(holed, 2, draws=d) for d in ("normal", "pmm")
    )
    size = holed["size"].isna()
    assert min(c.loc[size, "size"].min() for c in normal) < 0
    assert min(c.loc[size, "size"].min() for c in pmm) >= holed["size"].min()


def test_bad_draws_are_refused():
    holed = _counts(60)
    imputer = Imputer(random_state=0)
    with pytest.raises(AekitError, match="draws must be one of"):
        imputer.multiple_imputations(holed, 2, draws="mean")
    with pytest.raises(AekitError, match="donors"):
        imputer.multiple_imputations(holed, 2, draws="pmm", donors=0)
    mnar = Imputer(VAE(missingness="self-masking"), n_models=1)
    with pytest.raises(AekitError, match="draws='pmm' takes observed values"):
        mnar.multiple_imputations(holed, 2, draws="pmm")


def test_pmm_is_refused_for_bernoulli_pixels_and_taken_for_gaussian_ones():
    """A Bernoulli pixel keeps its conditional mean in every copy, so matching it
    would change nothing: the argument is refused, not ignored."""
    images = np.random.default_rng(0).uniform(size=(12, 4, 4))
    images[::2, :2, :2] = np.nan  # a block hidden in every other image
    with pytest.raises(AekitError, match=r"pixels of images .* keep their conditional means"):
        Imputer(random_state=0).multiple_imputations(images, 2, draws="pmm")
    gaussian = Autoencoder(architecture="mlp", hidden_dims=(8,), latent_dim=2, max_epochs=2)
    imputer = Imputer(gaussian.set_params(pixel_likelihood="gaussian"), random_state=0)
    for draws in ("pmm", "normal"):
        copies = imputer.multiple_imputations(images, 2, draws=draws)
        for copy in copies:  # matched: each hidden pixel a value observed at that pixel
            matched = [
                np.isin(copy[::2, i, j], images[1::2, i, j]).all() for i in (0, 1) for j in (0, 1)
            ]
            assert all(matched) if draws == "pmm" else not any(matched)
            assert copy.shape == images.shape


class _Fixed:
    """A network whose one-column conditionals are the same outputs for every row."""

    def __init__(self, likelihood, params):
        self.likelihood, self.params = likelihood, params

    def encode(self, x, mask):
        return x

    def decode(self, z):
        return self.params.expand(len(z), -1)


def test_a_sweep_draws_each_column_from_its_own_conditional():
    """Continuous (too few observed cells to calibrate: the network's Normal),
    binary and categorical columns drawn at their frequencies; a level no
    training row held is never drawn; observed cells are kept."""
    lik = Likelihood(["continuous", "binary", "categorical"], [1, 1, 3], never=[4])
    params = torch.tensor([0.5, 0.8, 0.0, 1.0, 5.0])  # level 3's logit is held down
    n = 20_000
    x = torch.zeros(n, 5)
    x[:3] = torch.tensor([9.0, 1.0, 0.0, 0.0, 1.0])
    mask = torch.zeros(n, 3, dtype=torch.bool)
    mask[:3] = True  # three observed rows
    torch.manual_seed(0)
    with torch.inference_mode():
        state = gibbs_sweeps(_Fixed(lik, params), x.clone(), x, mask, torch.zeros(5), 1)
    assert torch.equal(state[:3], x[:3])
    drawn = state[3:]
    assert float(drawn[:, 0].mean()) == pytest.approx(0.5, abs=0.03)
    assert float(drawn[:, 0].std()) == pytest.approx(1.0, abs=0.03)  # the scale at its start
    assert float(drawn[:, 1].mean()) == pytest.approx(float(torch.sigmoid(params[1])), abs=0.015)
    assert torch.equal(drawn[:, 2:].sum(1), torch.ones(n - 3))  # one level each
    shares = drawn[:, 2:].mean(0)
    assert shares[:2].tolist() == pytest.approx(torch.softmax(params[2:4], 0).tolist(), abs=0.015)
    assert float(shares[2]) == 0.0
