"""aekit's own shared checks over every estimator, and each estimator's behaviour."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import aekit
from aekit import VAE, AekitError, Autoencoder

SMALL = dict(latent_dim=2, hidden_dims=(16,), max_epochs=15, random_state=0)
ESTIMATORS = [
    Autoencoder(**SMALL),
    Autoencoder(noise="masking", **SMALL),
    Autoencoder(noise="gaussian", noise_level=0.1, **SMALL),
    Autoencoder(noise="salt_pepper", pretrain="stacked", **{**SMALL, "hidden_dims": (16, 8)}),
    VAE(**SMALL),
    VAE(prior="student-t", n_samples=2, **SMALL),
]
IDS = ["ae", "dae-masking", "dae-gaussian", "sdae-salt-pepper", "vae", "t-vae"]


@pytest.fixture(params=ESTIMATORS, ids=IDS)
def estimator(request):
    return clone(request.param)


def outputs(est, X):
    out = {
        "transform": est.transform(X),
        "reconstruct": est.reconstruct(X),
        "score_samples": est.score_samples(X),
        "inverse_transform": est.inverse_transform(est.transform(X)),
    }
    if isinstance(est, VAE):
        out["sample"] = est.sample(5)
    return out


def assert_same(a, b):
    for key in a:
        if isinstance(a[key], pd.DataFrame):
            pd.testing.assert_frame_equal(a[key], b[key], check_exact=True)
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# ------------------------------------------------------------- shared checks
def test_output_shapes_and_types(estimator, mixed_frame):
    est = estimator.fit(mixed_frame)
    assert est.transform(mixed_frame).shape == (60, 2)
    rec = est.reconstruct(mixed_frame)
    assert isinstance(rec, pd.DataFrame) and rec.index.equals(mixed_frame.index)
    assert (rec.dtypes == mixed_frame.dtypes).all()
    assert set(rec["city"]) <= {"oslo", "lund", "malmo"}
    scores = est.score_samples(mixed_frame)
    assert scores.shape == (60,) and np.isfinite(scores).all()
    assert est.score(mixed_frame) == pytest.approx(scores.mean())
    inv = est.inverse_transform(np.zeros((3, 2)))
    assert isinstance(inv, pd.DataFrame) and list(inv.columns) == list(mixed_frame.columns)
    hist = est.history_
    assert isinstance(hist, pd.DataFrame) and {"epoch", "train_loss", "val_loss"} <= set(hist)
    assert est.n_epochs_ == hist["epoch"].iloc[-1] >= 1


def test_same_seed_same_model(estimator, curve):
    a = outputs(clone(estimator).fit(curve), curve)
    b = outputs(clone(estimator).fit(curve), curve)
    assert_same(a, b)
    c = outputs(clone(estimator).set_params(random_state=1).fit(curve), curve)
    assert not np.array_equal(a["transform"], c["transform"])


def test_save_load_round_trip(estimator, mixed_frame, tmp_path):
    est = estimator.fit(mixed_frame)
    aekit.save(est, tmp_path / "model")
    loaded = aekit.load(tmp_path / "model")
    assert type(loaded) is type(est) and loaded.get_params() == est.get_params()
    assert_same(outputs(est, mixed_frame), outputs(loaded, mixed_frame))
    pd.testing.assert_frame_equal(loaded.history_, est.history_)
    assert not any(p.suffix in (".pkl", ".pt", ".pickle") for p in (tmp_path / "model").iterdir())


def test_clone_is_unfitted_with_same_params(estimator, curve):
    est = estimator.fit(curve)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "module_")


def test_does_not_modify_input(estimator, mixed_frame):
    before = mixed_frame.copy()
    estimator.fit(mixed_frame).reconstruct(mixed_frame)
    pd.testing.assert_frame_equal(mixed_frame, before)


def test_trains_on_rows_with_missing_cells(estimator, curve):
    X = curve.copy()
    X[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    est = estimator.fit(X)
    assert np.isfinite(est.transform(X)).all()
    assert np.isfinite(est.reconstruct(X)).all()


# -------------------------------------------------------------- behaviour
def test_autoencoder_beats_pca_on_a_curved_manifold(curve):
    pca = PCA(n_components=1).fit(curve)
    pca_err = np.sqrt(np.mean((pca.inverse_transform(pca.transform(curve)) - curve) ** 2))
    ae = Autoencoder(
        latent_dim=1, hidden_dims=(32, 32), learning_rate=1e-2, batch_size=32, random_state=0
    ).fit(curve)
    ae_err = np.sqrt(np.mean((ae.reconstruct(curve) - curve) ** 2))
    assert ae_err < 0.6 * pca_err


def test_training_reduces_the_loss(curve):
    for est in (Autoencoder(latent_dim=1, random_state=0), VAE(latent_dim=1, random_state=0)):
        hist = est.set_params(max_epochs=40).fit(curve).history_
        assert hist["val_loss"].min() < hist["val_loss"].iloc[0]


def test_vae_history_has_both_elbo_terms(curve):
    hist = VAE(**SMALL).fit(curve).history_
    np.testing.assert_allclose(
        hist["train_loss"], hist["train_reconstruction"] + hist["train_kl"], rtol=1e-5
    )


def test_stacked_history_has_one_stage_per_layer(curve):
    est = Autoencoder(noise="masking", pretrain="stacked", **{**SMALL, "hidden_dims": (16, 8)})
    stages = est.fit(curve).history_["stage"].unique().tolist()
    assert stages == ["pretrain1", "pretrain2", "pretrain3", "finetune"]


def test_vae_samples_look_like_the_data(mixed_frame):
    vae = VAE(**SMALL).fit(mixed_frame)
    draws = vae.sample(200, random_state=3)
    assert isinstance(draws, pd.DataFrame) and (draws.dtypes == mixed_frame.dtypes).all()
    assert set(draws["blood"].dropna()) <= set(mixed_frame["blood"].cat.categories)
    assert draws.notna().all().all()
    assert abs(draws["age"].mean() - mixed_frame["age"].mean()) < 0.5 * mixed_frame["age"].std()
    assert not draws.equals(vae.sample(200, random_state=4))
    pd.testing.assert_frame_equal(vae.sample(10), vae.sample(10))


def test_vae_log_likelihood_tightens_with_importance_samples(curve):
    vae = VAE(**SMALL).fit(curve)
    assert (
        vae.score_samples(curve, n_importance=200).mean()
        > vae.score_samples(curve, n_importance=1).mean()
    )


def test_works_in_pipeline_and_grid_search(curve):
    pipe = make_pipeline(StandardScaler(), VAE(latent_dim=1, max_epochs=5, random_state=0))
    assert pipe.fit_transform(curve).shape == (300, 1)
    grid = GridSearchCV(
        Autoencoder(max_epochs=5, random_state=0), {"latent_dim": [1, 2]}, cv=2
    ).fit(curve)
    assert grid.best_params_["latent_dim"] in (1, 2)


def test_set_output_pandas(curve):
    out = Autoencoder(**SMALL).set_output(transform="pandas").fit(curve).transform(curve)
    assert list(out.columns) == ["latent0", "latent1"]


def test_verbose_shows_progress(curve, capsys):
    Autoencoder(**{**SMALL, "max_epochs": 2}, verbose=True).fit(curve)
    assert "Autoencoder" in capsys.readouterr().out


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"latent_dim": "2"}, "latent_dim must be an integer >= 1; got '2'"),
        ({"latent_dim": 0}, "latent_dim must be an integer >= 1; got 0"),
        ({"hidden_dims": 32}, "hidden_dims must be a sequence of integers or .auto.; got 32"),
        ({"hidden_dims": (32, 0)}, "each of hidden_dims must be an integer >= 1; got 0"),
        ({"learning_rate": -1}, "learning_rate must be a number in \\(0, inf\\]; got -1"),
        ({"validation_fraction": 1.0}, "validation_fraction must be a number in \\[0, 1\\)"),
        ({"batch_size": 2.5}, "batch_size must be an integer >= 1; got 2.5"),
        (
            {"noise": "pink"},
            "noise must be one of \\[None, 'masking', 'gaussian', 'salt_pepper'\\]",
        ),
        ({"noise": "masking", "noise_level": 1.5}, "noise_level must be a number in \\(0, 1\\)"),
        ({"pretrain": "greedy"}, "pretrain must be one of \\[None, 'stacked'\\]"),
        ({"device": "gpu7"}, "device='gpu7' is not a torch device"),
        ({"random_state": "seed"}, "random_state must be None, an int or a RandomState"),
    ],
)
def test_bad_parameters_name_the_argument(params, message, curve):
    with pytest.raises(AekitError, match=message):
        Autoencoder(**params).fit(curve)


def test_bad_vae_parameters(curve):
    with pytest.raises(AekitError, match="prior must be one of \\['normal', 'student-t'\\]"):
        VAE(prior="cauchy").fit(curve)
    with pytest.raises(AekitError, match="n_samples must be an integer >= 1"):
        VAE(n_samples=0).fit(curve)
    with pytest.raises(AekitError, match="n_importance must be an integer >= 1"):
        VAE(**SMALL).fit(curve).score_samples(curve, n_importance=0)


def test_bad_data_names_what_is_wrong(curve, mixed_frame):
    with pytest.raises(
        TypeError, match="X must be a pandas DataFrame or a 2-D array-like; got str"
    ):
        Autoencoder().fit("data")
    with pytest.raises(AekitError, match=r"input data\.csv: no such file"):
        Autoencoder().fit("data.csv")  # a table file's name: streamed, once it exists
    X = curve.copy()
    X[5, 1] = np.inf
    with pytest.raises(AekitError, match="column 1 contains inf"):
        Autoencoder(latent_dim=1).fit(X)
    with pytest.raises(AekitError, match="column 'age' is entirely missing"):
        Autoencoder().fit(mixed_frame.assign(age=np.nan))
    with pytest.raises(AekitError, match="batch_size=100 is larger than the 54 training rows"):
        Autoencoder(batch_size=100).fit(mixed_frame)
    with pytest.raises(AekitError, match="latent_dim=3 must be smaller than the encoded input"):
        Autoencoder(latent_dim=3).fit(curve)
    fitted = Autoencoder(**SMALL).fit(mixed_frame)
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- weight"):
        fitted.transform(mixed_frame.assign(weight=1.0))
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing:\n- age"):
        fitted.reconstruct(mixed_frame.drop(columns="age"))
    with pytest.raises(AekitError, match="column 'age' of X contains inf"):
        fitted.transform(mixed_frame.assign(age=np.inf))
    with pytest.raises(AekitError, match="latent codes of shape \\(n_samples, 2\\)"):
        fitted.inverse_transform(np.zeros((2, 3)))


def test_dae_may_be_overcomplete(curve):
    dae = Autoencoder(latent_dim=8, noise="masking", max_epochs=3, random_state=0).fit(curve)
    assert dae.transform(curve).shape == (300, 8)


def _activations(est) -> set:
    from aekit.models.networks import ACTIVATIONS

    kinds = tuple(ACTIVATIONS.values())
    return {type(m).__name__ for m in est.module_.modules() if isinstance(m, kinds)}


@pytest.mark.parametrize("estimator_class", [Autoencoder, VAE])
def test_activation_is_the_networks_nonlinearity_and_is_kept_in_a_model_file(
    estimator_class, mixed_frame, tmp_path
):
    kw = dict(SMALL, hidden_dims=(16, 8), max_epochs=3)
    relu = estimator_class(activation="relu", **kw).fit(mixed_frame)
    elu = estimator_class(**kw).fit(mixed_frame)
    assert _activations(relu) == {"ReLU"} and _activations(elu) == {"ELU"}
    assert not np.allclose(relu.transform(mixed_frame), elu.transform(mixed_frame))
    aekit.save(relu, tmp_path / "model")
    back = aekit.load(tmp_path / "model")
    assert back.activation == "relu" and _activations(back) == {"ReLU"}
    np.testing.assert_array_equal(back.transform(mixed_frame), relu.transform(mixed_frame))


def test_activation_of_convolutional_networks():
    images = np.random.default_rng(0).random((24, 8, 8))
    est = Autoencoder(activation="leaky_relu", latent_dim=2, hidden_dims=(4,), max_epochs=1)
    est.fit(images)
    assert type(est.module_.encoder).__name__ == "ConvEncoder"
    assert _activations(est) == {"LeakyReLU"}


def test_an_unknown_activation_is_refused_by_name(mixed_frame):
    with pytest.raises(AekitError, match="activation must be one of"):
        Autoencoder(activation="gelu", **SMALL).fit(mixed_frame)
