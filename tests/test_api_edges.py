"""The Python API at its edges, as a test from outside found them: category
dtypes that lack a level, columns that change type between fit and transform,
unused categories, labelled estimates to pool, labelled metrics, empty tables,
masked arrays and the values at the ends of an integer dtype. Each case was a
silent loss, a wrong number or a raw error before."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

import aekit
from aekit import AekitError, AekitWarning
from aekit.estimators.presets import preset
from aekit.models.likelihoods import Likelihood

QUICK = dict(max_epochs=3)


def table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": 2 * a + 0.1 * rng.normal(size=n), "c": rng.normal(size=n)})


@pytest.fixture(scope="module")
def imputer():
    df = table()
    df.loc[::5, "a"] = np.nan
    return aekit.Imputer(preset("dae", **QUICK), n_models=1, random_state=0).fit(df)


# ------------------------------------------------------------ categories
def test_a_batch_whose_category_dtype_lacks_the_imputed_level_is_filled_whole():
    rng = np.random.default_rng(0)
    a = rng.normal(size=80)
    df = pd.DataFrame({"a": a, "k": pd.Categorical(np.where(a > 0, "pos", "neg"))})
    df.loc[::4, "k"] = None
    imputer = aekit.Imputer(preset("dae", max_epochs=60), n_models=1, random_state=0).fit(df)
    batch = df[df["k"].isna() | (df["k"] == "pos")].copy()
    batch["k"] = batch["k"].cat.remove_unused_categories()  # categories: ["pos"] only
    with pytest.warns(AekitWarning, match="'k'.*added to the categories"):
        out = imputer.transform(batch)
    assert out["k"].notna().all() and (out["k"] == "neg").any()
    observed = batch["k"].notna()
    assert (out.loc[observed, "k"].astype(object) == batch.loc[observed, "k"].astype(object)).all()
    assert list(batch["k"].cat.categories) == ["pos"]  # the user's frame is untouched


def test_a_category_no_row_holds_is_never_drawn_nor_imputed():
    rng = np.random.default_rng(1)
    n = 200
    a = rng.normal(size=n)
    levels = pd.Categorical(rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi", "x"])
    df = pd.DataFrame({"a": a, "b": 2 * a + 0.1 * rng.normal(size=n), "cat": levels})
    vae = aekit.VAE(max_epochs=5, latent_dim=2, hidden_dims=(16,), random_state=0).fit(df)
    drawn = vae.sample(2000, random_state=0)["cat"]
    assert list(drawn.cat.categories) == ["lo", "mid", "hi", "x"] and not (drawn == "x").any()
    holes = df.copy()
    holes.loc[holes.index[::3], "cat"] = None
    copies = aekit.Imputer(preset("dae", **QUICK), n_models=1, random_state=0).multiple_imputations(
        holes, m=3
    )
    assert all(not (c["cat"] == "x").any() for c in copies)


def test_the_likelihood_gives_no_probability_to_a_level_never_seen():
    likelihood = Likelihood(["continuous", "categorical"], [1, 3], never=[3])
    params = torch.tensor([[0.0, 1.0, 2.0, 50.0]])  # the unseen level's raw logit is largest
    probs = likelihood.mean(params)[0, 1:]
    assert probs[2] == 0 and probs.sum() == pytest.approx(1.0)
    x = torch.tensor([[0.0, 0.0, 0.0, 1.0]])  # a row that holds the unseen level
    log_p = likelihood.log_prob(params, x, torch.ones(1, 2, dtype=torch.bool))
    assert torch.isfinite(log_p).all() and log_p[0, 1] < -1000


# ------------------------------------------------------------ a column's type, fit to transform
def test_a_column_of_floats_in_fit_and_integers_now_gets_whole_numbers(imputer):
    df = table()
    df.loc[::5, "a"] = np.nan
    given = df.assign(a=(df["a"] * 10).round().astype("Int64"))
    out = imputer.transform(given)
    assert out["a"].dtype == "Int64" and out["a"].notna().all()
    assert (out["a"][given["a"].notna()] == given["a"].dropna()).all()


@pytest.mark.parametrize(
    "convert, message",
    [
        (lambda s: (s > 0).astype("boolean").where(s.notna()), "dtype boolean; it held numbers"),
        (lambda s: pd.to_datetime(s * 1e9), "dtype datetime64.*it held numbers"),
    ],
)
def test_a_column_of_another_type_than_in_fit_is_refused_by_name(imputer, convert, message):
    df = table()
    df.loc[::5, "a"] = np.nan
    with pytest.raises(AekitError, match=f"column 'a'.*{message}"):
        imputer.transform(df.assign(a=convert(df["a"])))


def test_integers_the_dtype_cannot_hold_are_refused_by_name():
    df = table().assign(a=lambda d: 1000 + 100 * d["a"])  # around 1000: beyond int8
    df.loc[::5, "a"] = np.nan
    imputer = aekit.Imputer(preset("dae", **QUICK), n_models=1, random_state=0).fit(df)
    small = df.assign(a=(df["a"] / 100).round().astype("Int8"))
    with pytest.raises(AekitError, match="column 'a' has dtype Int8 in X but float64 in fit"):
        imputer.transform(small)


def test_integers_at_the_end_of_int64_are_imputed_inside_its_range():
    df = table(40)
    df["k"] = pd.array([None if i % 5 == 0 else 2**63 - 1 - i for i in range(40)], dtype="Int64")
    out = aekit.Imputer(preset("dae", **QUICK), n_models=1, random_state=0).fit_transform(df)
    assert out["k"].dtype == "Int64" and out["k"].notna().all()
    assert (out["k"][df["k"].notna()] == df["k"].dropna()).all()


@pytest.mark.parametrize(
    "values, message",
    [
        (pd.period_range("2300-01", periods=30, freq="M"), "periods before 1680 or after 2260"),
        (pd.Series([pd.Timestamp("2020-01-01").date()] * 30, dtype=object), "pd.to_datetime"),
        (pd.Series([pd.Interval(0, 1)] * 30), "cannot model"),
    ],
)
def test_columns_of_periods_dates_or_intervals_say_how_to_convert(values, message):
    df = table(30).assign(t=values)
    with pytest.raises(AekitError, match=f"column 't'.*{message}"):
        aekit.Imputer(preset("dae", **QUICK)).fit(df)


def test_nat_among_numbers_of_an_object_column_is_a_missing_cell():
    df = table(40).assign(p=pd.Series([pd.NaT, *np.linspace(0, 1, 39)], dtype=object))
    out = aekit.Imputer(preset("dae", **QUICK), n_models=1, random_state=0).fit_transform(df)
    assert out["p"].notna().all() and (out["p"].iloc[1:] == df["p"].iloc[1:]).all()


# ------------------------------------------------------------ arrays and empty tables
def test_masked_cells_of_a_masked_array_are_imputed():
    data = table().to_numpy()
    X = np.ma.masked_array(data, mask=np.zeros(data.shape, dtype=bool))
    X.mask[::5, 0] = True
    out = aekit.Imputer(preset("dae", **QUICK), n_models=1, random_state=0).fit_transform(X)
    assert not np.isnan(out).any()
    assert not np.allclose(out[X.mask], data[X.mask])  # not the values under the mask
    assert np.array_equal(out[~X.mask], data[~X.mask])


def test_an_empty_table_gives_empty_outputs_of_the_right_shape(imputer):
    df = table()
    empty = df.iloc[:0]
    ae = aekit.Autoencoder(latent_dim=2, random_state=0, **QUICK).fit(df)
    vae = aekit.VAE(latent_dim=2, hidden_dims=(8,), random_state=0, **QUICK).fit(df)
    detector = aekit.AnomalyDetector(aekit.VAE(latent_dim=2, hidden_dims=(8,), **QUICK)).fit(df)
    assert imputer.transform(empty).shape == (0, 3)
    assert ae.reconstruct(empty).shape == (0, 3) and ae.transform(empty).shape == (0, 2)
    assert ae.inverse_transform(np.zeros((0, 2))).shape == (0, 3)
    assert vae.transform(empty).shape == (0, 2) and vae.score_samples(empty).shape == (0,)
    assert detector.score_samples(empty).shape == (0,) and detector.predict(empty).shape == (0,)
    assert detector.feature_scores(empty).shape == (0, 3)
    with pytest.raises(AekitError, match="no rows"):
        vae.score(empty)


def test_a_vae_that_chose_its_size_decodes_its_own_codes():
    vae = aekit.VAE(random_state=0, **QUICK).fit(table())  # latent_dim="auto"
    codes = vae.transform(table())
    assert codes.shape[1] == vae.latent_dim_
    assert vae.inverse_transform(codes).shape == (60, 3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without CUDA")
def test_asking_for_cuda_without_it_says_what_to_pass():
    with pytest.raises(AekitError, match="device='cpu'"):
        aekit.Autoencoder(device="cuda", **QUICK).fit(table())


# ------------------------------------------------------------ ampute
def test_ampute_gives_images_back_as_images():
    X = np.random.default_rng(0).random((10, 4, 4))
    out = aekit.ampute(X, "mcar", 0.3, random_state=np.random.default_rng(0))
    assert out.shape == X.shape and np.isnan(out).any()
    assert np.array_equal(out[~np.isnan(out)], X[~np.isnan(out)])


def test_mar_keeps_a_column_to_hide_whatever_the_observed_fraction():
    out = aekit.ampute(table(100), "mar", 0.3, random_state=0, observed_fraction=0.9)
    hidden = out.isna().sum()
    assert (hidden == 0).sum() == 2 and hidden.sum() > 0


# ------------------------------------------------------------ pooling and metrics
def test_pool_matches_labelled_estimates_by_name():
    estimates = [pd.Series({"x": 1.0, "y": 2.0}), pd.Series({"y": 2.1, "x": 1.2})]
    variances = [pd.Series({"x": 0.1, "y": 0.2}), pd.Series({"y": 0.2, "x": 0.1})]
    pooled = aekit.pool(estimates, variances)
    assert pooled.estimate == pytest.approx([1.1, 2.05])
    assert pooled.between == pytest.approx([0.02, 0.005]) and pooled.within == pytest.approx(
        [0.1, 0.2]
    )
    other = [pd.Series({"x": 1.0, "y": 2.0}), pd.Series({"x": 1.2, "z": 2.1})]
    with pytest.raises(AekitError, match=r"estimates\[1\] names the parameters"):
        aekit.pool(other, variances)
    with pytest.raises(AekitError, match="dof_complete must be a positive number"):
        aekit.pool([1.0, 2.0], [1.0, 1.0], dof_complete="10")


def test_analyze_takes_a_generator_of_copies():
    copies = [table() + 0.01 * i for i in range(3)]
    pooled = aekit.analyze((c for c in copies), lambda d: (d[["a"]].mean(), d[["a"]].sem()))
    assert pooled.loc["a", "estimate"] == pytest.approx(np.mean([c["a"].mean() for c in copies]))


def test_metrics_match_frames_and_masks_by_label():
    X = table(20)
    assert aekit.metrics.rmse(X, X[["c", "b", "a"]]) == 0
    wrong = X.assign(a=X["a"] + 1)
    mask = pd.DataFrame({"c": False, "b": False, "a": True}, index=X.index)
    assert aekit.metrics.nrmse(X, wrong, mask) == pytest.approx(1 / X["a"].std(ddof=0))
    holes = X.copy()
    holes.loc[0, "a"] = np.nan
    with pytest.raises(AekitError, match="X_true has 1 missing cell"):
        aekit.metrics.nrmse(holes, X, np.ones(X.shape, dtype=bool))


def test_real_numbers_written_as_text_are_categories_with_a_warning():
    rng = np.random.default_rng(0)
    codes = [f"{v:05d}" for v in rng.integers(0, 99999, 40)]  # codes: categories, quietly
    numbers = [f"{v:.3f}" for v in rng.normal(size=40)]
    quiet = table(40).assign(z=codes)
    aekit.Imputer(preset("dae", max_epochs=1), n_models=1).fit(quiet)
    with pytest.warns(AekitWarning, match="column 't' holds numbers written as text"):
        aekit.Imputer(preset("dae", max_epochs=1), n_models=1).fit(quiet.assign(t=numbers))
    as_levels = quiet.assign(t=pd.Categorical(numbers))
    aekit.Imputer(preset("dae", max_epochs=1), n_models=1).fit(as_levels)


def test_a_level_no_training_row_held_scores_as_an_unseen_value():
    rng = np.random.default_rng(0)
    df = table(200).assign(
        k=pd.Categorical(rng.choice(["x", "y"], 200), categories=["x", "y", "z"])
    )
    detector = aekit.AnomalyDetector(aekit.VAE(latent_dim=2, hidden_dims=(8,), **QUICK)).fit(df)
    rows = df.iloc[:2].copy()
    rows.loc[rows.index[0], "k"] = "z"
    held = df.iloc[:2].astype({"k": object})
    held.loc[held.index[0], "k"] = "q"  # not even a category of the dtype
    seen = detector.score_samples(rows)
    assert np.isfinite(seen).all() and seen[0] == pytest.approx(detector.score_samples(held)[0])


# ------------------------------------------------------------ images, figures, checkpoints
def digits(n=60):
    from sklearn.datasets import load_digits

    return (load_digits().images[:n] / 16).astype(np.float32)


def test_image_outputs_stay_in_the_unit_interval():
    images = digits()
    holes = images.copy()
    holes[np.random.default_rng(0).random(images.shape) < 0.15] = np.nan
    model = aekit.Autoencoder(pixel_likelihood="gaussian", architecture="mlp", **QUICK)
    filled = aekit.Imputer(model, n_models=1, random_state=0).fit_transform(holes)
    assert filled.min() >= 0 and filled.max() <= 1
    assert np.array_equal(filled[~np.isnan(holes)], holes[~np.isnan(holes)])
    vae = aekit.VAE(pixel_likelihood="gaussian", architecture="mlp", latent_dim=2, **QUICK)
    drawn = vae.fit(images).sample(50)
    assert drawn.shape == (50, 8, 8) and drawn.min() >= 0 and drawn.max() <= 1


def test_the_latent_map_draws_rows_without_labels_and_needs_no_second_row():
    from aekit.report import latent_map

    df = table(100).assign(d=lambda d: d["a"] - d["c"])
    ae = aekit.Autoencoder(latent_dim=3, noise="masking", random_state=0, **QUICK).fit(df)
    for labels in (
        np.where(np.arange(100) % 3 == 0, np.nan, np.arange(100.0)),
        np.where(np.arange(100) % 4 == 0, None, "a"),
    ):
        fig = latent_map(ae, df, labels)
        drawn = sum(len(c.get_offsets()) for c in fig.axes[0].collections)
        assert drawn == 100
    assert latent_map(ae, df.iloc[:1]).axes[0].collections  # one row: no PCA, still a map


def test_the_score_histogram_asks_for_a_detector():
    from aekit.report.figures import score_histogram

    vae = aekit.VAE(latent_dim=2, hidden_dims=(8,), **QUICK).fit(table())
    with pytest.raises(AekitError, match="needs a fitted AnomalyDetector; got VAE"):
        score_histogram(vae, table())


def test_a_file_of_the_users_own_in_the_checkpoint_folder_is_never_replaced(tmp_path):
    from safetensors.torch import save_file

    folder = tmp_path / "weights"
    folder.mkdir()
    save_file({"w": torch.arange(5.0)}, str(folder / "autoencoder.safetensors"))
    before = (folder / "autoencoder.safetensors").read_bytes()
    model = aekit.Autoencoder(latent_dim=2, hidden_dims=(8,), random_state=0, **QUICK)
    with pytest.raises(AekitError, match="a file aekit did not write"):
        model.fit(table(), checkpoint_dir=folder)
    assert (folder / "autoencoder.safetensors").read_bytes() == before


# ------------------------------------------------------------ a column of one value
def test_a_column_of_one_value_is_imputed_and_drawn_as_that_value(tmp_path):
    rng = np.random.default_rng(0)
    # 0.3: the mean of 120 copies is 0.29999999999999993, not 0.3
    df = pd.DataFrame({"a": rng.normal(size=120), "site": 0.3, "b": rng.normal(size=120)})
    holed = df.copy()
    holed.loc[:19, "site"] = np.nan
    holed.loc[30:49, "a"] = np.nan
    with pytest.warns(AekitWarning, match="one value"):
        imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(holed)
    filled = imputer.transform(holed)
    assert (filled["site"] == 0.3).all()
    assert filled.loc[30:49, "a"].nunique() > 1  # the other columns still vary
    with pytest.warns(AekitWarning, match="one value"):
        vae = aekit.VAE(latent_dim=1, random_state=0, **QUICK).fit(df)
    assert (vae.sample(200, random_state=0)["site"] == 0.3).all()
    aekit.save(vae, tmp_path / "vae")
    assert (aekit.load(tmp_path / "vae").sample(200, random_state=0)["site"] == 0.3).all()
    df.to_csv(tmp_path / "t.csv", index=False)
    streamed = aekit.VAE(latent_dim=1, random_state=0, **QUICK)
    with pytest.warns(AekitWarning, match="one value"):  # streamed, as in memory
        streamed.fit(aekit.TableFile(tmp_path / "t.csv", chunk_rows=50))
    assert (streamed.sample(200, random_state=0)["site"] == 0.3).all()
    # a model file written before the encoder kept its columns of one value loads as before
    config_file = tmp_path / "vae" / "config.json"
    config = json.loads(config_file.read_text())
    encoders = [d for d in _dicts(config) if "center" in d and "fill" in d]
    assert [e.pop("constant") for e in encoders] == [[False, True, False]]
    for e in encoders:  # nor the fit's extremes, kept since
        del e["low"], e["high"]
    config_file.write_text(json.dumps(config))
    old = aekit.load(tmp_path / "vae")
    assert not old.encoder_.constant.any() and len(old.sample(5, random_state=0)) == 5


def _dicts(value):
    """Every dict nested in a JSON value."""
    if isinstance(value, dict):
        yield value
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _dicts(item)
