"""The tasks besides imputation: anomaly detection, density, denoising, codes,
generation and clustering, on small data built here."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import aekit
from aekit import VAE, AekitError, AekitWarning, AnomalyDetector, Autoencoder
from aekit.data.schema import check_columns, infer_schema
from aekit.estimators.presets import preset
from aekit.models.vae import VAEModule
from aekit.training import INFERENCE_CHUNK, PASS_VALUES, loop

QUICK = dict(hidden_dims=(32,), max_epochs=150, patience=15, learning_rate=3e-3)


def low_rank(n=400, p=6, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)) @ rng.normal(size=(2, p)) + noise * rng.normal(size=(n, p))


@pytest.fixture(scope="module")
def normal_and_odd():
    """Training rows near a plane, fresh rows of the same plane, and odd rows that
    break its correlations."""
    rows = low_rank(640)
    odd = rows[600:].copy()
    odd[:, 0] += np.random.default_rng(1).choice([-3.0, 3.0], size=40)  # one cell off the plane
    return rows[:400], rows[400:600], odd


@pytest.fixture(scope="module")
def ae_detector(normal_and_odd):
    X, _, _ = normal_and_odd
    return AnomalyDetector(Autoencoder(latent_dim=2, **QUICK), random_state=0).fit(X)


@pytest.fixture(scope="module")
def vae_detector(normal_and_odd):
    X, _, _ = normal_and_odd
    model = VAE(latent_dim=2, **QUICK)
    return AnomalyDetector(model, n_importance=20, random_state=0).fit(X)


# ------------------------------------------------------------ anomaly detection
@pytest.mark.parametrize("name", ["ae_detector", "vae_detector"])
def test_scores_and_labels_follow_scikit_learn(name, normal_and_odd, request):
    detector = request.getfixturevalue(name)
    _, fresh, odd = normal_and_odd
    scores = np.r_[detector.score_samples(fresh), detector.score_samples(odd)]
    truth = np.r_[np.ones(len(fresh)), np.zeros(len(odd))]
    assert roc_auc_score(truth, scores) > 0.95  # higher score = more normal
    np.testing.assert_allclose(
        detector.decision_function(odd), detector.score_samples(odd) - detector.offset_
    )
    labels = detector.predict(np.r_[fresh, odd])
    assert set(np.unique(labels)) <= {-1, 1}
    assert (labels[: len(fresh)] == 1).mean() > 0.9  # "auto" flags few normal rows
    assert (labels[len(fresh) :] == -1).mean() > 0.8  # and most odd ones


def test_contamination_share_is_flagged_on_training_rows(normal_and_odd):
    X, _, _ = normal_and_odd
    det = AnomalyDetector(Autoencoder(latent_dim=2, **QUICK), contamination=0.1, random_state=0)
    labels = det.fit_predict(X)
    assert abs((labels == -1).mean() - 0.1) < 0.01


def test_feature_scores_point_at_the_odd_cell(ae_detector, normal_and_odd):
    _, _, odd = normal_and_odd
    cells = ae_detector.feature_scores(odd)
    assert cells.shape == odd.shape
    assert (cells.to_numpy().argmax(1) == 0).mean() > 0.8  # column 0 was moved
    # for an autoencoder the cells of a complete row sum to minus its score, less the
    # standardisation's Jacobian (cells are in standardised units)
    log_scale = np.log(ae_detector.model_.encoder_.scale).sum()
    np.testing.assert_allclose(
        cells.sum(axis=1), -ae_detector.score_samples(odd) - log_scale, rtol=1e-4, atol=1e-3
    )


def test_units_do_not_decide_scores_or_attributions(normal_and_odd):
    X, fresh, odd = normal_and_odd
    scales = np.array([1e-6, 1e6, 1.0, 1.0, 1e3, 1.0])  # column 0 (the moved one) is tiny
    dae = Autoencoder(latent_dim=2, noise="masking", noise_level=0.2, mask_input=True, **QUICK)
    detector = AnomalyDetector(dae, random_state=0).fit(X * scales)
    cells = detector.feature_scores(odd * scales)
    assert (cells.to_numpy().argmax(1) == 0).mean() > 0.8
    full = detector.score_samples(fresh * scales)
    for j in (0, 1):  # hiding the tiniest or the largest column: scores stay on a par
        holed = fresh * scales
        holed[:, j] = np.nan
        shift = np.median(detector.score_samples(holed)) - np.median(full)
        assert abs(shift) < 0.5 * np.std(full) + 0.5, (j, shift)


def test_a_column_that_grows_beyond_fit_is_named_when_rows_are_scored(normal_and_odd):
    """A row number or a date grows with every new row: scored later, each row
    lies beyond what fit saw in that column and is flagged for it alone. The
    detector says so, naming the column; rows within fit's range, and odd
    rows whose odd cells fall on both sides, are scored without a word."""
    X, fresh, odd = normal_and_odd
    days = pd.date_range("2020-01-01", periods=len(X) + len(fresh)).strftime("%Y-%m-%d")
    table = pd.DataFrame(X).add_prefix("x").assign(id=np.arange(len(X)), day=days[: len(X)])
    detector = AnomalyDetector(Autoencoder(latent_dim=2, **QUICK), random_state=0).fit(table)
    later = pd.DataFrame(fresh).add_prefix("x").assign(id=np.arange(1000, 1200), day=days[len(X) :])
    with pytest.warns(AekitWarning) as said:
        flagged = detector.predict(later) == -1
    assert "'id', all 200 above the largest; 'day', all 200 above the largest" in str(
        said[0].message
    )
    assert flagged.mean() > 0.9  # what the warning explains
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)
        within = later.assign(id=np.arange(200), day=days[:200])
        assert (detector.predict(within) == -1).mean() < 0.2
        detector.predict(pd.DataFrame(odd).add_prefix("x").assign(id=np.arange(40), day=days[:40]))


def test_rows_with_missing_cells_are_scored_on_the_observed_ones(normal_and_odd):
    X, fresh, odd = normal_and_odd
    # a DAE with masking noise learns to read rows with hidden cells
    dae = Autoencoder(latent_dim=2, noise="masking", noise_level=0.2, mask_input=True, **QUICK)
    detector = AnomalyDetector(dae, random_state=0).fit(X)
    holed = np.r_[fresh[:50], odd[:10]]
    holed[:, 3] = np.nan
    scores = detector.score_samples(holed)
    assert np.isfinite(scores).all()
    # rescaled to a full row: on a par with complete rows, neither inflated nor deflated
    full = detector.score_samples(fresh[:50])
    assert abs(np.median(scores[:50]) - np.median(full)) < 0.5 * np.std(full) + 0.5
    assert roc_auc_score(np.r_[np.ones(50), np.zeros(10)], scores) > 0.9
    cells = detector.feature_scores(holed)
    assert cells.iloc[:, 3].isna().all() and cells.drop(columns=3).notna().all().all()
    empty = np.full((1, X.shape[1]), np.nan)
    with pytest.raises(AekitError, match="no observed cell"):
        detector.score_samples(empty)


def test_mixed_types_and_save_load(tmp_path, mixed_frame):
    det = AnomalyDetector(VAE(latent_dim=2, **QUICK), n_importance=10, random_state=0)
    det.fit(mixed_frame)
    cells = det.feature_scores(mixed_frame)
    assert list(cells.columns) == list(mixed_frame.columns)
    assert cells.index.equals(mixed_frame.index)
    aekit.save(det, tmp_path / "det")
    loaded = aekit.load(tmp_path / "det")
    assert isinstance(loaded, AnomalyDetector) and loaded.offset_ == det.offset_
    np.testing.assert_array_equal(loaded.predict(mixed_frame), det.predict(mixed_frame))


def test_bad_detector_parameters(normal_and_odd):
    X, _, _ = normal_and_odd
    with pytest.raises(AekitError, match="contamination"):
        AnomalyDetector(contamination=0.7).fit(X)
    with pytest.raises(AekitError, match="model must be"):
        AnomalyDetector(model=KMeans()).fit(X)
    with pytest.raises(AekitError, match="n_samples=3"):
        AnomalyDetector().fit(X[:3])
    with pytest.raises(AekitError, match="scoring"):
        AnomalyDetector(scoring="error").fit(X)


def test_reconstruction_scoring_is_a_gaussian_around_the_reconstruction(normal_and_odd):
    X, fresh, odd = normal_and_odd
    scales = np.array([1.0, 10.0, 0.1, 100.0, 1.0, 5.0])  # units must not matter
    model = Autoencoder(latent_dim=2, **QUICK)
    det = AnomalyDetector(model, scoring="reconstruction", random_state=0).fit(X * scales)
    assert det.scoring_ == "reconstruction" and det.reconstruction_variance_ > 0
    rows = np.r_[fresh[:5], odd[:5]] * scales
    fitted = det.model_
    z = (rows - fitted.reconstruct(rows)) / fitted.encoder_.scale  # standardised errors
    var = det.reconstruction_variance_
    log_n = -(z**2) / (2 * var) - 0.5 * np.log(2 * np.pi * var) - np.log(fitted.encoder_.scale)
    np.testing.assert_allclose(det.score_samples(rows), log_n.sum(axis=1), rtol=1e-5)
    cells = det.feature_scores(rows).to_numpy()  # standardised units
    cells_sum = -(log_n + np.log(fitted.encoder_.scale)).sum(axis=1)
    np.testing.assert_allclose(cells.sum(axis=1), cells_sum, rtol=1e-5)
    # σ² is the mean squared error of the held-out rows that set the threshold
    assert (
        0.5
        < var
        / np.mean(
            (
                (fresh - fitted.reconstruct(fresh * scales) / scales)
                / (fitted.encoder_.scale / scales)
            )
            ** 2
        )
        < 2
    )
    scores = det.score_samples(np.r_[fresh, odd] * scales)
    truth = np.r_[np.zeros(len(fresh)), np.ones(len(odd))]
    assert roc_auc_score(truth, -scores) > 0.95


def rings_and_blanks(n=160, seed=0):
    """8 x 8 images: grey rings at a random offset (every pixel of a ring has some
    entropy under a pixel model) and nearly blank images with one short stroke:
    likely pixel by pixel, but nothing like a ring."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:8, :8]
    rings = []
    for _ in range(n):
        cy, cx = 3.5 + rng.uniform(-0.5, 0.5, 2)
        r = np.hypot(yy - cy, xx - cx)
        rings.append(np.clip(0.6 - 0.3 * np.abs(r - 2.5), 0, 1))
    blanks = np.zeros((40, 8, 8))
    for i, (row, col) in enumerate(rng.integers(1, 6, size=(40, 2))):
        blanks[i, row, col : col + 2] = 1.0
    rings = np.clip(np.array(rings) + rng.normal(0, 0.05, (n, 8, 8)), 0, 1)
    return rings[:120], rings[120:], blanks


def test_images_are_scored_by_their_reconstruction_and_tables_by_likelihood(normal_and_odd):
    train, fresh, blanks = rings_and_blanks()
    small = preset("vae", (1, 8, 8), task="model", max_epochs=60, patience=60)
    truth = np.r_[np.zeros(len(fresh)), np.ones(len(blanks))]
    aucs = {}
    for scoring in ("auto", "likelihood"):
        det = AnomalyDetector(small, scoring=scoring, n_importance=20, random_state=0).fit(train)
        aucs[det.scoring_] = roc_auc_score(truth, -det.score_samples(np.r_[fresh, blanks]))
    # the likelihood ranks the nearly blank images as the most normal of all
    assert aucs["reconstruction"] > 0.95 and aucs["likelihood"] < 0.5
    X, _, _ = normal_and_odd
    table = AnomalyDetector(Autoencoder(latent_dim=2, **QUICK), random_state=0).fit(X)
    assert table.scoring_ == "likelihood" and table.reconstruction_variance_ is None


@pytest.mark.parametrize("scoring", ["reconstruction", "likelihood"])
def test_the_threshold_rows_are_decoded_once_and_set_the_public_scores_quantile(
    normal_and_odd, monkeypatch, scoring
):
    """fit scores the rows that set the threshold once: one pass of the network for
    σ² and the scores together; the threshold is the quantile of what
    score_samples gives those rows (here every row, a row with no cell set aside)."""
    X, _, _ = normal_and_odd
    X = X.copy()
    X[3] = np.nan
    calls = []
    original = Autoencoder.cell_log_likelihood

    def counted(self, *args, **kwargs):
        calls.append(len(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Autoencoder, "cell_log_likelihood", counted)
    det = AnomalyDetector(Autoencoder(latent_dim=2, **QUICK), scoring=scoring, contamination=0.1)
    det.set_params(random_state=0).fit(X)
    assert calls == ([len(X) - 1] if scoring == "reconstruction" else [])
    with pytest.warns(AekitWarning, match="no observed cell"):
        scores = det.score_samples(X)
    assert np.isnan(scores[3])
    assert det.offset_ == pytest.approx(np.percentile(scores[~np.isnan(scores)], 10), rel=1e-12)


def test_the_scoring_is_kept_in_the_model_file(tmp_path, normal_and_odd):
    X, fresh, _ = normal_and_odd
    det = AnomalyDetector(Autoencoder(latent_dim=2, **QUICK), scoring="reconstruction")
    det.set_params(random_state=0).fit(X)
    aekit.save(det, tmp_path / "det")
    loaded = aekit.load(tmp_path / "det")
    assert loaded.scoring_ == "reconstruction"
    assert loaded.reconstruction_variance_ == det.reconstruction_variance_
    np.testing.assert_allclose(loaded.score_samples(fresh), det.score_samples(fresh))
    # a model file written before the option scored by likelihood, and still does
    config_file = tmp_path / "det" / "config.json"
    config = json.loads(config_file.read_text())
    assert config.pop("scoring") == "reconstruction"
    del config["reconstruction_variance"]
    config_file.write_text(json.dumps(config))
    old = aekit.load(tmp_path / "det")
    assert old.scoring_ == "likelihood"
    np.testing.assert_allclose(old.score_samples(fresh), det.model_.score_samples(fresh))
    # a scoring the file cannot stand for is refused on loading
    for scoring, variance in [("banana", None), ("reconstruction", None), ("reconstruction", -1)]:
        config_file.write_text(
            json.dumps({**config, "scoring": scoring, "reconstruction_variance": variance})
        )
        with pytest.raises(aekit.ModelFileError, match="reconstruction_variance"):
            aekit.load(tmp_path / "det")


def test_reconstruction_scores_do_not_depend_on_the_rows_scored_with_them(normal_and_odd):
    X, fresh, _ = normal_and_odd
    det = AnomalyDetector(Autoencoder(latent_dim=2, **QUICK), scoring="reconstruction")
    det.set_params(random_state=0).fit(X)
    one_by_one = np.array([det.score_samples(fresh[i : i + 1])[0] for i in range(20)])
    # float64 throughout: equal to round-off (float32 products differed by ~1e-7)
    np.testing.assert_allclose(det.score_samples(fresh[:20]), one_by_one, rtol=1e-12)


@pytest.mark.parametrize("prior", ["normal", "student-t"])
def test_likelihood_scores_do_not_depend_on_the_rows_scored_with_them(normal_and_odd, prior):
    X, fresh, _ = normal_and_odd
    vae = VAE(latent_dim=2, prior=prior, **QUICK, random_state=0).fit(X)
    det = AnomalyDetector(VAE(latent_dim=2, prior=prior, **QUICK), n_importance=20)
    det.set_params(random_state=0).fit(X)
    for model in (vae, det):
        together = model.score_samples(fresh[:20])
        one_by_one = np.array([model.score_samples(fresh[i : i + 1])[0] for i in range(20)])
        reversed_ = model.score_samples(fresh[19::-1])[::-1]
        np.testing.assert_allclose(one_by_one, together, rtol=1e-12)
        np.testing.assert_allclose(reversed_, together, rtol=1e-12)
    # more rows than one inference pass takes: every copy of a row scores alike,
    # in the first pass or the second
    tiled = np.tile(fresh[:5], (INFERENCE_CHUNK // 5 + 2, 1))
    scores = vae.score_samples(tiled, n_importance=3).reshape(-1, 5)
    np.testing.assert_allclose(scores, np.broadcast_to(scores[0], scores.shape), rtol=1e-12)
    # the draws still come from the seed: another seed, other Monte-Carlo errors
    other = vae.score_samples(fresh[:20], random_state=1)
    assert not np.allclose(other, vae.score_samples(fresh[:20]))


def test_a_wide_tables_scores_run_in_passes_of_a_bounded_size(monkeypatch):
    """k posterior draws of each row of a column of 200 levels or more: a pass takes
    fewer rows, so that k x rows x width stays within PASS_VALUES (4,096 rows of a
    1,000-level column took 8 GB), and the scores are those of one pass over every row."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 2)), columns=["a", "b"])
    X["code"] = pd.Categorical([f"z{i}" for i in rng.integers(0, 300, 400)])
    vae = VAE(latent_dim=2, hidden_dims=(8,), max_epochs=2, random_state=0).fit(X)
    width = vae.encoder_.width
    passes = []
    score = VAEModule.log_likelihood

    def counted(self, x, *args, **kwargs):
        passes.append(len(x))
        return score(self, x, *args, **kwargs)

    monkeypatch.setattr(VAEModule, "log_likelihood", counted)
    scores = vae.score_samples(X, n_importance=100)
    assert width > 200 and passes[0] == PASS_VALUES // (width * 100) < 400
    assert sum(passes) == 400 and max(passes) * width * 100 <= PASS_VALUES
    monkeypatch.setattr(loop, "PASS_VALUES", 400 * width * 100)  # one pass
    passes.clear()
    np.testing.assert_allclose(vae.score_samples(X, n_importance=100), scores, rtol=1e-12)
    assert passes == [400]


# ------------------------------------------------------------ density
def test_iwae_estimate_tightens_and_steadies_with_more_draws():
    X = low_rank(300)
    vae = VAE(latent_dim=2, **QUICK, random_state=0).fit(X)

    def spread_and_mean(k):
        draws = np.array(
            [vae.score_samples(X[:100], n_importance=k, random_state=s) for s in range(8)]
        )
        return draws.std(0).mean(), draws.mean()

    spread_1, mean_1 = spread_and_mean(1)
    spread_100, mean_100 = spread_and_mean(100)
    assert spread_100 < 0.5 * spread_1
    assert mean_100 > mean_1  # the bound tightens as k grows
    # repeatable without a random_state
    np.testing.assert_array_equal(vae.score_samples(X[:5]), vae.score_samples(X[:5]))


def test_grid_search_selects_by_held_out_likelihood():
    X = low_rank(300)
    search = GridSearchCV(VAE(**QUICK, random_state=0), {"latent_dim": [1, 2]}, cv=2).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    assert search.best_params_["latent_dim"] == 2  # the data are two-dimensional


# ------------------------------------------------------------ denoising, codes, samples
@pytest.mark.parametrize("noise", ["gaussian", "salt_pepper"])
def test_denoising_lowers_the_error_against_clean_rows(noise):
    clean = low_rank(600, noise=0.0)
    rng = np.random.default_rng(3)
    if noise == "gaussian":
        noisy = clean + 0.5 * rng.normal(size=clean.shape)
    else:
        flip = rng.random(clean.shape) < 0.1
        salt = rng.random(clean.shape) < 0.5
        extreme = np.where(salt, clean.max(0), clean.min(0))
        noisy = np.where(flip, extreme, clean)
    level = 0.5 if noise == "gaussian" else 0.1
    dae = Autoencoder(latent_dim=2, noise=noise, noise_level=level, **QUICK, random_state=0)
    dae.fit(noisy[:400])
    test_clean, test_noisy = clean[400:], noisy[400:]
    before = np.sqrt(np.mean((test_noisy - test_clean) ** 2))
    after = np.sqrt(np.mean((dae.denoise(test_noisy) - test_clean) ** 2))
    assert after < 0.7 * before


def test_sample_has_the_training_schema(mixed_frame):
    vae = VAE(latent_dim=2, **QUICK, random_state=0).fit(mixed_frame)
    drawn = vae.sample(80, random_state=1)
    assert isinstance(drawn, pd.DataFrame) and list(drawn.columns) == list(mixed_frame.columns)
    assert (drawn.dtypes == mixed_frame.dtypes).all()
    schema = infer_schema(mixed_frame)
    check_columns(drawn, schema)  # raises on a column the model would not accept
    assert set(drawn["blood"].dropna()) <= set(mixed_frame["blood"].cat.categories)
    assert set(drawn["city"]) <= set(mixed_frame["city"].dropna())
    assert not drawn.isna().any().any()
    vae.fit(drawn)  # a sample is valid training data


def test_latent_clustering_in_a_pipeline():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4, size=(3, 8))
    labels = np.repeat(np.arange(3), 100)
    X = centres[labels] + rng.normal(size=(300, 8))
    pipe = make_pipeline(
        VAE(latent_dim=2, **QUICK, random_state=0), GaussianMixture(3, random_state=0)
    )
    found = pipe.fit(X).predict(X)
    assert adjusted_rand_score(labels, found) > 0.9
