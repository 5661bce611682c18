"""Imputation: the Imputer, multiple imputation, pooling, ampute and the metrics."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

import aekit
from aekit import VAE, AekitError, AekitWarning, Autoencoder, Imputer
from aekit.estimators.holdout import HeldOutCells
from aekit.metrics import error_rate, nrmse

FAST_DAE = Autoencoder(
    noise="masking",
    mask_input=True,
    latent_dim=4,
    hidden_dims=(32,),
    max_epochs=30,
    validation_fraction=0.0,
    learning_rate=3e-3,
)
FAST_VAE = VAE(
    latent_dim=2,
    hidden_dims=(32,),
    objective="iwae",
    n_samples=5,
    max_epochs=30,
    validation_fraction=0.0,
    learning_rate=3e-3,
)


def low_rank(n=300, p=6, seed=0):
    """Rows near a 2-D linear subspace: each column is predictable from the others."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)) @ rng.normal(size=(2, p)) + 0.1 * rng.normal(size=(n, p))


@pytest.fixture(scope="module")
def fitted_dae():
    X = aekit.ampute(low_rank(), "mcar", 0.2, random_state=0)
    return Imputer(FAST_DAE, random_state=0).fit(X)


# ------------------------------------------------------------- the imputer
@pytest.mark.parametrize("model", [FAST_DAE, FAST_VAE], ids=["dae", "vae"])
def test_beats_mean_imputation_on_correlated_data(model):
    X = low_rank()
    X_miss = aekit.ampute(X, "mcar", 0.2, random_state=1)
    mask = np.isnan(X_miss)
    ours = Imputer(model, random_state=0).fit_transform(X_miss)
    mean = SimpleImputer().fit_transform(X_miss)
    assert nrmse(X, ours, mask) < 0.7 * nrmse(X, mean, mask)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(holes=arrays(bool, (40, 6), elements=st.booleans()))
@pytest.mark.filterwarnings("ignore:.*have no observed cell:aekit.AekitWarning")
def test_observed_cells_are_never_changed(fitted_dae, holes):
    X = low_rank(40, seed=2)
    X[holes] = np.nan
    out = fitted_dae.transform(X)
    assert np.array_equal(out[~holes], X[~holes])  # bit for bit
    assert np.isfinite(out).all()


def test_dataframe_in_dataframe_out(mixed_frame):
    imp = Imputer(FAST_DAE, random_state=0).fit(mixed_frame)
    out = imp.transform(mixed_frame)
    assert out.index.equals(mixed_frame.index) and list(out.columns) == list(mixed_frame.columns)
    assert (out.dtypes == mixed_frame.dtypes).all()
    assert out.notna().all().all()
    assert set(out["blood"]) <= set(mixed_frame["blood"].cat.categories)
    assert set(out["city"]) <= {"oslo", "lund", "malmo"}
    observed = mixed_frame.notna()
    for col in mixed_frame.columns:
        pd.testing.assert_series_equal(out[col][observed[col]], mixed_frame[col][observed[col]])
    assert list(imp.expected_error_["column"]) == list(mixed_frame.columns)


def test_one_row_and_a_row_with_nothing_observed(fitted_dae):
    row = np.array([[np.nan, 1.0, np.nan, 0.5, np.nan, np.nan]])
    assert np.isfinite(fitted_dae.transform(row)).all()
    empty = np.full((2, 6), np.nan)
    with pytest.warns(AekitWarning, match=r"2 row\(s\) of X have no observed cell"):
        out = fitted_dae.transform(empty)  # documented: filled from the column means alone
    assert np.isfinite(out).all() and np.allclose(out[0], out[1])


def test_warnings_point_at_the_users_line_whatever_the_path():
    """An AekitWarning names the user's file and line, not aekit's nor scikit-learn's
    (set_output wraps fit_transform; fit, fit_transform and transform reach the
    same checks through different depths of aekit's own calls)."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=40), "y": rng.normal(size=40)})
    df["id"] = [f"p{i:03d}" for i in range(40)]  # identifiers: warned about
    df.loc[::7, "x"] = np.nan
    imputer = Imputer(clone(FAST_DAE).set_params(max_epochs=2), n_models=1, random_state=0)
    calls = [
        lambda: imputer.fit(df),
        lambda: imputer.fit_transform(df),
        lambda: imputer.transform(pd.DataFrame(np.nan, index=[0, 1], columns=df.columns)),
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        ours = [w for w in caught if issubclass(w.category, AekitWarning)]
        assert ours, "no AekitWarning raised"
        assert {w.filename for w in ours} == {__file__}, [str(w.message)[:40] for w in ours]


def test_an_entirely_missing_column_is_passed_through_as_given(tmp_path):
    """A column without one observed value (a form's unused field) is left out of
    the models with a warning and returned in its place as it came; the other
    columns are imputed as if it were not there."""
    X = low_rank(80)
    X[::4, 0] = np.nan
    df = pd.DataFrame(X, columns=list("abcdef"))
    df.insert(2, "notes", pd.Series([None] * 80, dtype=object))
    df["unused"] = np.nan
    before = df.copy()
    with pytest.warns(AekitWarning, match=r"columns 'notes', 'unused' of X have no observed"):
        imp = Imputer(FAST_DAE, random_state=0).fit(df)
    out = imp.transform(df)
    pd.testing.assert_frame_equal(df, before)  # nothing the user gave is modified
    assert list(out.columns) == list(df.columns) and out["notes"].dtype == object
    assert out[["notes", "unused"]].isna().all().all() and out.notna().sum().sum() == 480
    # the models see the other columns only (without held-out cells, whose draws
    # count every column, the same fit as on the table without the empty ones)
    kept = df.drop(columns=["notes", "unused"])
    bare = [Imputer(FAST_DAE, holdout_fraction=0, random_state=0) for _ in range(2)]
    with pytest.warns(AekitWarning, match="no observed value"):
        bare[0].fit(df)
    pd.testing.assert_frame_equal(
        bare[0].transform(df).drop(columns=["notes", "unused"]), bare[1].fit_transform(kept)
    )
    # with them, the cells held out of the narrower table are those of the whole one
    cells = HeldOutCells(0.3, 5)
    pd.testing.assert_frame_equal(
        pd.DataFrame(cells.narrowed((2, 7)).of(0, kept)),
        pd.DataFrame(cells.of(0, df)).drop(columns=[2, 7]).set_axis(range(6), axis=1),
    )
    assert (
        cells.of(0, kept).sum() > 0
        and not (cells.of(0, kept) == cells.narrowed((2, 7)).of(0, kept)).all()
    )
    assert imp.n_features_in_ == 8 and list(imp.get_feature_names_out()) == list(df.columns)
    aekit.save(imp, tmp_path / "m")
    pd.testing.assert_frame_equal(aekit.load(tmp_path / "m").transform(df), out)
    with pytest.raises(AekitError, match=r"X has 7 columns; fit saw 8"):
        imp.transform(df.drop(columns="unused"))
    with pytest.raises(AekitError, match=r"\['notes', 'unused'\] expected at positions \[2, 7\]"):
        imp.transform(df.rename(columns={"notes": "note"}))
    later = df.assign(unused=[1.5] + [np.nan] * 79)  # values where fit had none: as given
    with pytest.warns(
        AekitWarning, match=r"column\(s\) 'unused' of X had no observed value in fit"
    ):
        again = imp.transform(later)
    assert again["unused"].iloc[0] == 1.5 and again["unused"].iloc[1:].isna().all()
    copies = imp.multiple_imputations(df, m=2)
    assert all(list(c.columns) == list(df.columns) and c["unused"].isna().all() for c in copies)
    assert all(c.drop(columns=["notes", "unused"]).notna().all().all() for c in copies)
    # an array: by position, float32 kept
    A = np.c_[X[:, :3], np.full(80, np.nan), X[:, 3:]].astype(np.float32)
    with pytest.warns(AekitWarning, match=r"^column 3 of X has no observed value"):
        filled = Imputer(FAST_DAE, random_state=0).fit_transform(A)
    assert filled.dtype == np.float32 and filled.shape == A.shape
    assert np.isnan(filled[:, 3]).all() and not np.isnan(np.delete(filled, 3, axis=1)).any()
    with pytest.warns(AekitWarning, match=r"^column 3 of X has no observed value"):
        fitted = Imputer(FAST_DAE, random_state=0).fit(A)
    drawn = fitted.multiple_imputations(A, m=2)  # after fit, from an array
    assert all(d.shape == A.shape and np.isnan(d[:, 3]).all() for d in drawn)
    with pytest.raises(AekitError, match="X has 6 columns; fit saw 7"):
        fitted.multiple_imputations(A[:, :6], m=2)
    with pytest.raises(AekitError, match="X has no observed value: each of its 2 column"):
        Imputer(FAST_DAE).fit(df[["notes", "unused"]])
    with pytest.raises(AekitError, match="X has no column names; fit saw them"):
        imp.transform(df.to_numpy())
    # a refit that fails leaves the fitted imputer as it was
    with pytest.raises(AekitError, match="resume"):
        imp.fit(df[list("abcdef")], resume=True)
    pd.testing.assert_frame_equal(imp.transform(df), out)


def test_same_seed_same_imputations_also_after_save_load(tmp_path, mixed_frame):
    a = Imputer(FAST_VAE, random_state=3).fit(mixed_frame)
    b = Imputer(FAST_VAE, random_state=3).fit(mixed_frame)
    pd.testing.assert_frame_equal(a.transform(mixed_frame), b.transform(mixed_frame))
    aekit.save(a, tmp_path / "imp")
    loaded = aekit.load(tmp_path / "imp")
    assert isinstance(loaded, Imputer) and loaded.n_iter_ == a.n_iter_ and len(loaded.models_) == 3
    pd.testing.assert_frame_equal(loaded.transform(mixed_frame), a.transform(mixed_frame))
    for x, y in zip(
        loaded.multiple_imputations(mixed_frame, 2),
        a.multiple_imputations(mixed_frame, 2),
        strict=True,
    ):
        pd.testing.assert_frame_equal(x, y)
    pd.testing.assert_frame_equal(loaded.expected_error_, a.expected_error_)


def test_dae_models_are_trained_as_one_batched_network(tmp_path, mixed_frame):
    """The n_models DAEs train together: distinct models, reproducible, the caller's
    torch generator untouched, and each one an ordinary fitted Autoencoder."""
    before = torch.get_rng_state()
    a = Imputer(FAST_DAE, n_models=3, random_state=5).fit(mixed_frame)
    assert torch.equal(torch.get_rng_state(), before)
    b = Imputer(FAST_DAE, n_models=3, random_state=5).fit(mixed_frame)
    pd.testing.assert_frame_equal(a.transform(mixed_frame), b.transform(mixed_frame))
    assert len(a.models_) == 3 and len(a.n_iter_) == 3
    w = [m.module_.state_dict()["encoder.layers.0.weight"] for m in a.models_]
    assert not torch.equal(w[0], w[1]) and not torch.equal(w[1], w[2])
    for model in a.models_:
        assert "val_monitor" in model.history_ and model.transform(mixed_frame).shape[1] == 4
    aekit.save(a, tmp_path / "dae")
    loaded = aekit.load(tmp_path / "dae")
    pd.testing.assert_frame_equal(loaded.transform(mixed_frame), a.transform(mixed_frame))
    one = Imputer(FAST_DAE, n_models=1, random_state=5).fit(mixed_frame)  # unbatched path
    assert len(one.models_) == 1 and not one.transform(mixed_frame).isna().any().any()


def test_vae_models_are_trained_as_one_batched_network(mixed_frame, monkeypatch):
    """VAE imputers train their n_models together too (one module of 3 members), each
    an ordinary fitted VAE of its own; not-MIWAE's missingness model, one at a time."""
    built = []
    original = VAE._build_module

    def spy(self, encoder, members=None):
        built.append(members)
        return original(self, encoder, members)

    monkeypatch.setattr(VAE, "_build_module", spy)
    a = Imputer(FAST_VAE, n_models=3, random_state=5).fit(mixed_frame)
    assert built[0] == 3
    b = Imputer(FAST_VAE, n_models=3, random_state=5).fit(mixed_frame)
    pd.testing.assert_frame_equal(a.transform(mixed_frame), b.transform(mixed_frame))
    w = [m.module_.state_dict()["encoder.layers.0.weight"] for m in a.models_]
    assert not torch.equal(w[0], w[1]) and not torch.equal(w[1], w[2])
    for model in a.models_:
        assert isinstance(model, VAE) and "val_monitor" in model.history_
        assert model.module_.members is None
    assert not a.transform(mixed_frame).isna().any().any()
    built.clear()
    mnar = clone(FAST_VAE).set_params(missingness="self-masking", max_epochs=3)
    Imputer(mnar, n_models=2, random_state=5).fit(mixed_frame)
    assert built == [None, None]


def test_multiple_imputations_differ_only_where_missing(mixed_frame):
    imp = Imputer(FAST_VAE, random_state=0).fit(mixed_frame)
    copies = imp.multiple_imputations(mixed_frame, 4, random_state=1)
    assert len(copies) == 4
    missing = mixed_frame.isna()
    for c in copies:
        assert (c.dtypes == mixed_frame.dtypes).all() and c.notna().all().all()
        assert set(c["blood"]) <= set(mixed_frame["blood"].cat.categories)
        for col in mixed_frame.columns:
            obs = ~missing[col]
            pd.testing.assert_series_equal(c[col][obs], mixed_frame[col][obs])
    ages = np.array([c.loc[missing["age"], "age"].iloc[0] for c in copies])
    assert len(set(ages)) == 4  # proper draws, not one repeated guess


@pytest.mark.slow
def test_multiple_imputation_draws_spread_like_the_conditional():
    X = low_rank(400)
    X_miss = aekit.ampute(X, "mcar", 0.3, random_state=0)
    vae = clone(FAST_VAE).set_params(max_epochs=200, patience=30)
    imp = Imputer(vae, random_state=0).fit(X_miss)
    draws = np.stack(imp.multiple_imputations(X_miss, 20))
    mask = np.isnan(X_miss)
    spread = draws.std(0)[mask]
    assert (spread > 0).mean() > 0.99
    assert spread.mean() < X.std(0).mean()  # narrower than the marginal


def test_dae_multiple_imputations_are_draws_of_bootstrapped_models(mixed_frame):
    imp = Imputer(FAST_DAE, random_state=0)  # a (D)AE imputer needs no fit first
    copies = imp.multiple_imputations(mixed_frame, 3)
    again = imp.multiple_imputations(mixed_frame, 3)
    missing = mixed_frame.isna()
    for c, d in zip(copies, again, strict=True):
        pd.testing.assert_frame_equal(c, d)  # the imputer's seed repeats them
        assert (c.dtypes == mixed_frame.dtypes).all() and c.notna().all().all()
        assert set(c["blood"]) <= set(mixed_frame["blood"].cat.categories)
        for col in mixed_frame.columns:
            obs = ~missing[col]
            pd.testing.assert_series_equal(c[col][obs], mixed_frame[col][obs])
    ages = np.stack([c.loc[missing["age"], "age"].to_numpy() for c in copies])
    assert (ages.std(0) > 0).all()  # every missing cell is drawn anew in each copy
    other = imp.multiple_imputations(mixed_frame, 3, random_state=1)
    assert not other[0].equals(copies[0])
    fitted = Imputer(FAST_DAE, random_state=0).fit(mixed_frame)  # fitted: the same columns
    assert len(fitted.multiple_imputations(mixed_frame, 2)) == 2
    with pytest.raises(AekitError, match="feature names"):
        fitted.multiple_imputations(mixed_frame.rename(columns={"age": "years"}), 2)
    with pytest.raises(NotFittedError, match=r"VAE model .* call fit\(X\) first"):
        Imputer(FAST_VAE).multiple_imputations(mixed_frame, 2)


def test_dae_multiple_imputation_recovers_a_regression_slope():
    """y = 1 + 2 x + N(0, 1), y 40% missing at random given x: the slope of y on
    x in each completed copy averages near 2 (mean imputation or draws around
    a shrunk prediction would flatten it) and varies between copies (the
    models' uncertainty)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 2))
    y = 1 + 2 * x[:, 0] + rng.normal(size=400)
    df = pd.DataFrame({"y": y, "x": x[:, 0], "z": x[:, 1]})
    df.loc[rng.random(400) < 1 / (1 + np.exp(-x[:, 0])) * 0.8, "y"] = np.nan
    copies = Imputer(FAST_DAE, random_state=0).multiple_imputations(df, 6)
    slopes = np.array([np.polyfit(c["x"], c["y"], 1)[0] for c in copies])
    assert abs(slopes.mean() - 2) < 0.12 and slopes.std() > 0.005
    residual = np.concatenate([c["y"] - 1 - 2 * c["x"] for c in copies])
    assert 0.8 < residual.std() < 1.25  # the noise of the conditional, not zero


def test_bad_model_and_parameters():
    with pytest.raises(AekitError, match="model must be an aekit Autoencoder or VAE"):
        Imputer(model=SimpleImputer()).fit(low_rank(20))
    with pytest.raises(AekitError, match="holdout_fraction must be a number in \\[0, 1\\)"):
        Imputer(holdout_fraction=1.5).fit(low_rank(20))


def test_works_in_a_pipeline():
    X = aekit.ampute(low_rank(120), "mcar", 0.1, random_state=0)
    y = np.nan_to_num(X[:, 0])
    pipe = make_pipeline(Imputer(FAST_DAE, random_state=0), LinearRegression())
    assert pipe.fit(X, y).predict(X).shape == (120,)


def test_holdout_off_uses_the_models_own_stopping():
    X = aekit.ampute(low_rank(100), "mcar", 0.1, random_state=0)
    dae = clone(FAST_DAE).set_params(validation_fraction=0.1)
    imp = Imputer(dae, holdout_fraction=0).fit(X)
    assert imp.expected_error_ is None and "val_loss" in imp.model_.history_
    assert imp.n_iter_ == (1, 1, 1)


def test_holdout_is_independent_of_amputation_with_the_same_seed():
    # a RandomState(0) draw of the same shape made the holes; the holdout must not retrace it
    X = aekit.ampute(low_rank(200), "mcar", 0.3, random_state=0)
    imp = Imputer(FAST_DAE, random_state=0).fit(X)
    held = imp.expected_error_["n_cells"].sum()
    assert 0.05 * 0.7 * X.size < held < 0.15 * 0.7 * X.size


def _noise_and_a_spike(n=300, seed=0):
    """A table whose column "c" is rounding noise (1e-9) but for one real value."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    df = pd.DataFrame({"a": a, "b": a + 0.3 * rng.normal(size=n), "c": 1e-9 * rng.random(n)})
    df.loc[7, "c"] = 0.1
    return df.mask(rng.random((n, 3)) < 0.1).assign(c=df["c"])


@pytest.mark.parametrize("model", [FAST_DAE, FAST_VAE], ids=["dae", "vae"])
def test_new_rows_numbered_beyond_fit_are_imputed_as_the_last_ones_fit_saw(model):
    """A record number (or a date) of later rows lies beyond every value fit saw:
    a network's input past a quarter of the range beyond is held at it, so that
    the other cells are imputed as for rows numbered at the range's end, not
    by a perceptron running off linearly; the numbers are returned as given."""
    X = low_rank(500)
    table = pd.DataFrame(X[:400]).add_prefix("x").assign(id=np.arange(400.0))
    imputer = Imputer(model, random_state=0).fit(aekit.ampute(table, "mcar", 0.2, random_state=0))
    later = aekit.ampute(pd.DataFrame(X[400:]).add_prefix("x"), "mcar", 0.2, random_state=1)
    holes = later.isna().to_numpy()
    errors = {}
    for start in (300.0, 500.0, 5e4, 3e5):  # within the range, a quarter past it, far past
        given = later.assign(id=start + np.arange(100.0))
        out = imputer.transform(given)
        assert out["id"].equals(given["id"])
        errors[start] = nrmse(X[400:], out.drop(columns="id").to_numpy(), holes)
    assert errors[5e4] == errors[3e5] and errors[5e4] < 1.2 * errors[300.0]


def test_a_value_far_beyond_its_columns_kept_ones_is_not_held_out():
    df = _noise_and_a_spike()
    for seed in range(10):  # at share 0.9 the spike would be held out in most draws
        hidden = HeldOutCells(0.9, seed).of(0, df)
        assert not hidden[7, 2] and hidden[:, 2].sum() > 200 and hidden[:, :2].sum() > 400


def test_a_spike_in_a_column_of_noise_leaves_the_stopping_signal_alone():
    # held out, the spike lay 10^8 deviations of the kept noise out: its error drowned the
    # other cells' in the monitor's sum, which never improved (a fit of patience + 1
    # epochs), and its row got numbers far outside the observed ones
    df = _noise_and_a_spike()
    model = clone(FAST_DAE).set_params(max_epochs=60, patience=10)
    imp = Imputer(model, n_models=1, holdout_fraction=0.5, random_state=1).fit(df)
    monitor = imp.model_.history_["val_monitor"]
    assert monitor.max() < 100 and monitor.iloc[-10:].min() < monitor.iloc[0]
    filled = imp.transform(df)
    assert filled["c"].between(0, 0.1).all() and filled["b"].abs().max() < 10


@pytest.mark.slow
def test_self_masking_vae_corrects_mnar_bias():
    X = low_rank(600, seed=4)
    X_miss = aekit.ampute(X, "mnar", 0.3, random_state=0)
    mask = np.isnan(X_miss)
    assert X[mask].mean() > X[~mask].mean() + 0.3  # large values went missing
    kw = dict(FAST_VAE.get_params(), max_epochs=60)
    plain = Imputer(VAE(**kw), random_state=0).fit_transform(X_miss)
    mnar = Imputer(VAE(**{**kw, "missingness": "self-masking"}), random_state=0).fit_transform(
        X_miss
    )
    bias = lambda out: abs(out[mask].mean() - X[mask].mean())  # noqa: E731
    assert bias(mnar) < bias(plain)


# ------------------------------------------------------------------ ampute
@pytest.mark.parametrize("mechanism", ["mcar", "mar", "mnar"])
def test_ampute_hits_the_rate_and_leaves_input_alone(mechanism):
    X = low_rank(2000)
    before = X.copy()
    X_miss = aekit.ampute(X, mechanism, 0.3, random_state=0)
    assert np.array_equal(X, before)
    assert abs(np.isnan(X_miss).mean() - 0.3) < 0.02
    assert np.array_equal(X_miss[~np.isnan(X_miss)], X[~np.isnan(X_miss)])


def test_ampute_mechanisms_behave_as_documented():
    X = low_rank(4000)
    mar = np.isnan(aekit.ampute(X, "mar", 0.3, random_state=0))
    assert (mar.sum(0) == 0).sum() == 2  # 30% of 6 columns stay observed
    mnar = aekit.ampute(X, "mnar", 0.3, random_state=0)
    hidden = np.isnan(mnar)
    z = (X - X.mean(0)) / X.std(0)
    assert z[hidden].mean() > 0.5 and z[~hidden].mean() < -0.1
    mcar = np.isnan(aekit.ampute(X, "mcar", 0.3, random_state=0))
    assert abs(z[mcar].mean()) < 0.05


@pytest.mark.parametrize("mechanism", ["mcar", "mar", "mnar"])
def test_ampute_with_a_column_missing_in_the_source(mechanism):
    # a real table can have a column with no observed value: the others are
    # still amputed at the rate, and the cells missing before stay missing
    X = low_rank(2000)
    X[:, 3] = np.nan
    X[:10, 0] = np.nan
    X_miss = aekit.ampute(X, mechanism, 0.3, random_state=0)
    new = np.isnan(X_miss) & ~np.isnan(X)
    known = ~np.isnan(X)
    assert abs(new.sum() / known.sum() - 0.3) < 0.05
    assert new[:, [0, 1, 2, 4, 5]].any(axis=0).sum() >= 3  # MAR keeps 2 columns observed
    assert np.isnan(X_miss[:, 3]).all() and np.isnan(X_miss[:10, 0]).all()


def test_ampute_dataframe_and_errors(mixed_frame):
    out = aekit.ampute(mixed_frame, "mnar", 0.2, random_state=0)
    assert isinstance(out, pd.DataFrame) and out.index.equals(mixed_frame.index)
    assert out.isna().sum().sum() > mixed_frame.isna().sum().sum()
    with pytest.raises(AekitError, match="mechanism must be one of"):
        aekit.ampute(low_rank(10), "random", 0.2)
    with pytest.raises(AekitError, match="rate must be a number in \\(0, 1\\)"):
        aekit.ampute(low_rank(10), "mcar", 1.2)


@pytest.mark.parametrize("mechanism", ["mcar", "mar", "mnar"])
def test_ampute_keeps_integers_exact_as_nullable_integers(mechanism):
    """As floats, ids beyond 2**53 rounded (80 ids became one) and every integer
    column turned float: the cells left observed must keep their exact values."""
    n = 300
    df = pd.DataFrame(
        {
            "id": np.arange(2**60, 2**60 + n, dtype=np.int64),
            "x": np.linspace(-1, 1, n),
            "count": (np.arange(n) % 7).astype(np.uint8),
            "flag": np.arange(n) % 3 == 0,
            "y": np.cos(np.arange(n)),
        }
    )
    before = df.copy()
    out = aekit.ampute(df, mechanism, 0.2, random_state=0)
    pd.testing.assert_frame_equal(df, before)
    for name, nullable in [("id", "Int64"), ("count", "UInt8"), ("flag", "boolean")]:
        col = out[name]
        if col.isna().any():
            assert str(col.dtype) == nullable
        else:  # a column left whole keeps its type (MAR keeps some columns observed)
            assert col.dtype == df[name].dtype
        kept = col.notna().to_numpy()
        assert (col[kept].to_numpy() == df[name][kept].to_numpy()).all()
    assert out["id"].notna().sum() == out["id"].nunique()
    arr = aekit.ampute(np.arange(40).reshape(20, 2), "mcar", 0.3, random_state=0)
    assert arr.dtype == np.float64 and np.isnan(arr).any()


# ------------------------------------------------------------------ metrics
def test_metrics_by_hand():
    truth = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 20.0]])  # stds: 1.633, 8.165
    guess = truth + np.array([[1.0, 0.0], [0.0, 8.165], [0.0, 0.0]])
    mask = np.array([[True, False], [False, True], [False, False]])
    expected = np.sqrt(((1 / truth[:, 0].std()) ** 2 + (8.165 / truth[:, 1].std()) ** 2) / 2)
    assert nrmse(truth, guess, mask) == pytest.approx(expected)
    cats = pd.DataFrame({"c": pd.Categorical(["a", "b", "a", "b"]), "x": [1.0, 2, 3, 4]})
    wrong = cats.assign(c=pd.Categorical(["a", "a", "a", "b"]))
    cells = np.array([[True, False], [True, False], [True, False], [False, False]])
    assert error_rate(cats, wrong, cells) == pytest.approx(1 / 3)
    with pytest.raises(AekitError, match="mask has shape"):
        nrmse(truth, guess, mask[:2])


# ------------------------------------------------------------------ pooling
def test_rubins_rules_by_hand():
    est, var = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.5, 0.5])
    p = aekit.pool(est, var)
    b, u = 1.0, 0.5  # variance of the estimates (ddof 1), mean variance
    t = u + (1 + 1 / 3) * b
    r = (1 + 1 / 3) * b / u
    dof = 2 * (1 + 1 / r) ** 2
    assert p.estimate == 2.0 and p.within == u and p.between == b
    assert p.total == pytest.approx(t) and p.dof == pytest.approx(dof)
    assert p.fmi == pytest.approx((r + 2 / (dof + 3)) / (r + 1))
    assert p.std_error == pytest.approx(np.sqrt(t))
    same = aekit.pool([1.0, 1.0], [0.2, 0.2])
    # no between variance: lambda held at 1e-4, as mice::pool does
    assert same.between == 0 and same.dof == pytest.approx(1 / 1e-4**2)
    assert same.fmi == pytest.approx(2 / (same.dof + 3)) and same.riv == 0
    vec = aekit.pool(np.array([[1.0, 5.0], [3.0, 5.0]]), np.ones((2, 2)))
    assert vec.estimate.tolist() == [2.0, 5.0]
    with pytest.raises(AekitError, match="at least m=2"):
        aekit.pool([1.0], [1.0])
