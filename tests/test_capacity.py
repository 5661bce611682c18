"""Capacity chosen on held-out rows (latent_dim="auto", hidden_dims="auto"), and the
closed-form linear Gaussian VAE that the choice starts from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.decomposition import PCA, FactorAnalysis
from torch.distributions import MultivariateNormal

import aekit
from aekit import AekitError
from aekit.estimators import capacity
from aekit.models import Likelihood, MixturePriorVAEModule, VAEModule


def _factors(n=300, d=8, k=3, seed=0, noise=0.3, standardise=True):
    """Rows of a k-factor model in d columns (standardised)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k)) @ rng.normal(size=(k, d)) + noise * rng.normal(size=(n, d))
    return (x - x.mean(0)) / x.std(0) if standardise else x


def test_a_linear_gaussian_vae_has_the_exact_log_likelihood():
    d, k = 5, 2
    rng = np.random.default_rng(1)
    w, mu = rng.normal(size=(d, k)), rng.normal(size=d)
    psi = rng.uniform(0.2, 1.0, size=d)
    module = VAEModule(Likelihood(["continuous"] * d, [1] * d), (), k).double()
    module.set_linear_gaussian(*(torch.from_numpy(a) for a in (w, mu, psi)))
    x = torch.from_numpy(rng.normal(size=(7, d)) * 2)
    mask = torch.ones(7, d, dtype=torch.bool)
    exact = MultivariateNormal(
        torch.from_numpy(mu), torch.from_numpy(w @ w.T + np.diag(psi))
    ).log_prob(x)
    torch.manual_seed(0)
    estimate = module.log_likelihood(x, mask, k=3)
    torch.testing.assert_close(estimate, exact, atol=1e-6, rtol=0)
    # each draw's weight is log p(x): the posterior is exact, not only close
    log_w, _, _ = module.importance_sample(x, mask, 4)
    torch.testing.assert_close(log_w, exact.expand(4, -1), atol=1e-6, rtol=0)


def test_a_residual_network_starts_at_the_linear_model():
    d, k = 4, 2
    rng = np.random.default_rng(2)
    args = [torch.from_numpy(a) for a in (rng.normal(size=(d, k)), np.zeros(d), np.ones(d))]
    linear = VAEModule(Likelihood(["continuous"] * d, [1] * d), (), k).double()
    residual = VAEModule(Likelihood(["continuous"] * d, [1] * d), (16,), k, skip=True).double()
    for m in (linear, residual):
        m.set_linear_gaussian(*args)
    x = torch.from_numpy(rng.normal(size=(6, d)))
    mask = torch.ones(6, d, dtype=torch.bool)
    torch.testing.assert_close(
        residual.log_likelihood(x, mask, k=2), linear.log_likelihood(x, mask, k=2)
    )
    assert residual.encoder.skip is not None and linear.encoder.skip is None
    with pytest.raises(ValueError, match="linear maps"):
        VAEModule(Likelihood(["continuous"] * d, [1] * d), (16,), k).set_linear_gaussian(*args)


@pytest.mark.parametrize(("n", "d"), [(150, 9), (15, 40), (60, 5)])
def test_every_ppca_size_is_scored_as_scikit_learn_scores_it(n, d):
    x = _factors(n=n + 10, d=d, standardise=False)
    train, test = x[:n], x[n:]
    fast = capacity.ppca_scores(train, test)
    slow = [PCA(k).fit(train).score(test) for k in range(1, len(fast) + 1)]
    assert len(fast) == min(n, d) - 1 - (n < d)  # every size below the rank
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)


def test_the_latent_size_is_the_one_the_data_support():
    x = _factors(k=3, standardise=False)  # isotropic noise: probabilistic PCA's model
    size, noise = capacity.linear_size(x, seed=0)
    assert size == 3 and noise in ("isotropic", "diagonal")


@pytest.mark.parametrize(
    ("noise", "reference"),
    [("isotropic", PCA(2)), ("diagonal", FactorAnalysis(2, random_state=0))],
)
def test_the_linear_candidate_is_probabilistic_pca_or_factor_analysis(noise, reference):
    x = _factors(k=2, d=6)
    vae = aekit.VAE(latent_dim=2, hidden_dims=(), validation_fraction=0.0, random_state=0)
    vae._chosen = capacity.Candidate(2, (), noise)  # as the choice marks a candidate it fits
    vae.fit(x)
    expected = reference.fit(x).score_samples(x)
    # the encoder's scale is the columns' own (unit up to the ddof): equal to float32 precision
    np.testing.assert_allclose(vae.score_samples(x, n_importance=2), expected, atol=5e-3)
    assert vae.history_["epoch"].tolist() == [0]  # no training steps: closed form


def test_a_mixture_prior_gives_the_exact_mixture_density():
    d, k = 4, 2
    rng = np.random.default_rng(3)
    module = MixturePriorVAEModule(Likelihood(["continuous"] * d, [1] * d), (), k).double()
    w, mu, psi = rng.normal(size=(d, k)), rng.normal(size=d), rng.uniform(0.3, 1, size=d)
    module.set_linear_gaussian(*(torch.from_numpy(a) for a in (w, mu, psi)))
    weights, means = np.array([0.3, 0.7]), rng.normal(size=(2, k))
    covs = np.stack([np.eye(k) * 0.5, np.diag([0.2, 1.5])])
    module.set_prior(*(torch.from_numpy(a) for a in (weights, means, covs)))
    x = torch.from_numpy(rng.normal(size=(6, d)))
    mask = torch.ones(6, d, dtype=torch.bool)
    mask[0, 1] = mask[3, [0, 2]] = False
    out = module.log_likelihood(x, mask)
    # the prior lives in the module's latent basis (W rotated by set_linear_gaussian)
    wd = module.decoder.layers[0].weight.detach().numpy()
    for i in range(6):
        o = mask[i].numpy()
        density = sum(
            p
            * multivariate_normal(
                (wd @ m + mu)[o], (wd @ c @ wd.T + np.diag(psi))[np.ix_(o, o)]
            ).pdf(x[i].numpy()[o])
            for p, m, c in zip(weights, means, covs, strict=True)
        )
        assert out[i].item() == pytest.approx(np.log(density), abs=1e-8)


def test_clustered_data_choose_the_mixture_prior():
    rng = np.random.default_rng(0)
    centres = np.array([[-4.0, 0.0], [0.0, 4.0], [4.0, 0.0]])
    z = centres[rng.integers(3, size=400)] + 0.5 * rng.normal(size=(400, 2))
    x = z @ rng.normal(size=(2, 5)) + 0.2 * rng.normal(size=(400, 5))
    vae = aekit.VAE(random_state=0, max_epochs=20).fit(x[:300])
    scores = vae.capacity_scores_.set_index("candidate")["held_out_log_likelihood"]
    assert vae.mixture_ and scores.idxmax().endswith("mixture prior")
    assert scores.max() > scores.iloc[0] + 1.0  # a nat a row above the linear Gaussian
    pca = PCA(vae.latent_dim_).fit(x[:300])
    assert vae.score_samples(x[300:]).mean() > pca.score(x[300:]) + 1.0
    assert vae.sample(5, random_state=1).shape == (5, 5)


def test_the_candidate_with_the_best_held_out_likelihood_is_kept():
    x = _factors(n=240, k=2, d=5)
    vae = aekit.VAE(random_state=0, max_epochs=30).fit(x)
    scores = vae.capacity_scores_
    assert [c.split(" ")[1:] for c in scores["candidate"]] == [
        [],
        ["+", "mixture", "prior"],
        ["+", "(64,)"],
    ]
    assert scores["chosen"].sum() == 1
    best = scores.loc[scores["held_out_log_likelihood"].idxmax()]
    assert bool(best["chosen"])
    assert (vae.latent_dim_, vae.hidden_dims_) == (best["latent_dim"], best["hidden_dims"])
    assert vae.module_.encoder.skip is not None or vae.hidden_dims_ == ()
    assert vae.latent_dim == "auto" and vae.hidden_dims == "auto"  # parameters untouched


def test_explicit_sizes_are_used_as_given():
    x = _factors(n=120)
    vae = aekit.VAE(latent_dim=2, hidden_dims=(16,), max_epochs=3, random_state=0).fit(x)
    assert not hasattr(vae, "capacity_scores_")
    assert vae.transform(x).shape == (120, 2)
    assert vae.module_.encoder.layers[0].out_features == 16


def test_a_refit_with_given_sizes_keeps_nothing_of_an_earlier_choice():
    rng = np.random.default_rng(0)
    centres = np.array([[-4.0, 0.0], [4.0, 0.0]])
    x = centres[rng.integers(2, size=300)] @ rng.normal(size=(2, 4)) + rng.normal(size=(300, 4))
    vae = aekit.VAE(random_state=0, max_epochs=5).fit(x)
    assert vae.mixture_ or vae.residual_ or vae.hidden_dims_ == ()
    vae.set_params(latent_dim=2, hidden_dims=(8,)).fit(x)
    assert type(vae.module_) is VAEModule and vae.module_.encoder.skip is None
    assert not hasattr(vae, "capacity_scores_") and vae.history_["epoch"].iloc[-1] >= 1


def test_mixed_tables_and_missing_cells_train_the_linear_candidate():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(_factors(n=200, d=4), columns=list("abcd"))
    df["kind"] = pd.Categorical(rng.choice(["x", "y", "z"], size=200))
    df.loc[rng.random(200) < 0.1, "a"] = np.nan
    vae = aekit.VAE(random_state=0, max_epochs=5).fit(df)
    assert list(vae.capacity_scores_["candidate"]) == ["linear", "(64,)"]
    assert vae.latent_dim_ == 3  # half the encoded width (3 levels + 4 numbers), at most 8
    assert np.isfinite(vae.score_samples(df)).all()


def test_a_chosen_model_survives_a_model_file(tmp_path):
    x = _factors(n=150, d=5)
    vae = aekit.VAE(random_state=0, max_epochs=5).fit(x)
    aekit.save(vae, tmp_path / "vae")
    back = aekit.load(tmp_path / "vae")
    assert (back.latent_dim_, back.hidden_dims_) == (vae.latent_dim_, vae.hidden_dims_)
    np.testing.assert_allclose(back.score_samples(x), vae.score_samples(x), rtol=1e-6)


def test_images_take_the_image_networks():
    rng = np.random.default_rng(0)
    images = rng.random((40, 8, 8))
    vae = aekit.VAE(random_state=0, max_epochs=2).fit(images)
    assert (vae.latent_dim_, vae.hidden_dims_) == capacity.IMAGE_CAPACITY
    assert len(vae.capacity_scores_) == 1


def test_the_autoencoder_chooses_its_widths_by_reconstruction_likelihood():
    x = _factors(n=200, d=6, k=2)
    ae = aekit.Autoencoder(latent_dim=2, max_epochs=20, random_state=0)  # hidden_dims="auto"
    ae.fit(x)
    scores = ae.capacity_scores_
    assert list(scores["candidate"]) == ["linear", "(64,)"]
    assert ae.hidden_dims_ == scores.loc[scores["chosen"], "hidden_dims"].iloc[0]
    assert ae.transform(x).shape == (200, 2)


def test_the_detector_default_chooses_its_model():
    x = _factors(n=200, d=5)
    det = aekit.AnomalyDetector(random_state=0).fit(x)
    assert hasattr(det.model_, "capacity_scores_")
    far = np.full((1, 5), 6.0)
    assert det.score_samples(far)[0] < np.percentile(det.score_samples(x), 1)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"hidden_dims": "wide"}, "hidden_dims must be a sequence of integers or 'auto'"),
        ({"latent_dim": "many"}, "latent_dim must be an integer >= 1; got 'many'"),
    ],
)
def test_bad_sizes_name_the_argument(params, message):
    with pytest.raises(AekitError, match=message):
        aekit.VAE(**params).fit(_factors(n=50))


def test_a_table_with_blank_columns_fits_and_scores():
    """The digits as a table: their border pixels are 0 in (nearly) every image. The
    mixture candidate's covariance, formed in float32, failed its positive-definite
    check there (a ValueError from the fit's own validation score); it is now
    formed in float64."""
    from sklearn.datasets import load_digits

    X = load_digits().data / 16
    vae = aekit.VAE(max_epochs=2, random_state=0).fit(X)
    scores = vae.score_samples(X[:50])
    assert np.isfinite(scores).all()
