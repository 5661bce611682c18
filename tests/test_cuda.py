"""The CUDA paths: every estimator fitted on a GPU gives what it gives on the CPU.

Skipped where torch sees no GPU (CI has none); run on a machine that has one with
``python -m pytest tests/test_cuda.py``. Each test fits the same small model on
the GPU and on the CPU and checks the GPU's results: finite, on the host, the
observed cells untouched, as good as the CPU's within the spread of two seeds.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

import aekit
from aekit import VAE, AnomalyDetector, Autoencoder, Imputer
from aekit.data.images import hide_pixels, mask_images
from aekit.estimators.presets import default_model, preset

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

SMALL = dict(latent_dim=2, hidden_dims=(32,), max_epochs=60, patience=60)
GPU = "cuda"


def default_on(device, task="impute", image_shape=None):
    """The model a wrapper picks when given none, placed on ``device``."""
    return default_model(task, image_shape).set_params(device=device)


def low_rank(n=400, p=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)) @ rng.normal(size=(2, p)) + 0.1 * rng.normal(size=(n, p))


def mse(a, b):
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


@pytest.mark.parametrize("model", [Autoencoder, VAE])
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_a_fit_on_the_gpu_lives_there_and_reconstructs_as_on_the_cpu(model, precision):
    X = low_rank()
    gpu = model(**SMALL, device=GPU, precision=precision, random_state=0).fit(X)
    cpu = model(**SMALL, device="cpu", random_state=0).fit(X)
    assert next(gpu.module_.parameters()).device.type == torch.device(GPU).type
    recon = gpu.reconstruct(X)
    assert isinstance(recon, np.ndarray) and np.isfinite(recon).all()
    assert np.isfinite(gpu.history_["train_loss"]).all()
    assert gpu.transform(X).shape == (len(X), 2)
    # the same arithmetic up to rounding: within 50% of the CPU's error, far below the data's
    assert mse(recon, X) < 1.5 * mse(cpu.reconstruct(X), X) + 1e-3
    assert mse(recon, X) < 0.2 * X.var()
    if model is VAE:
        assert np.isfinite(gpu.score_samples(X)).all()
        assert gpu.sample(5, random_state=0).shape == (5, X.shape[1])


def test_the_same_seed_on_the_gpu_gives_the_same_model():
    X = low_rank()
    a = Autoencoder(**SMALL, device=GPU, random_state=3).fit(X)
    b = Autoencoder(**SMALL, device=GPU, random_state=3).fit(X)
    assert a.n_epochs_ == b.n_epochs_
    np.testing.assert_allclose(a.transform(X), b.transform(X), atol=1e-4)


def test_the_default_imputer_on_a_mixed_table(mixed_frame):
    before = mixed_frame.copy()
    imp = Imputer(default_on(GPU), random_state=0).fit(mixed_frame)
    assert all(
        next(m.module_.parameters()).device.type == torch.device(GPU).type for m in imp.models_
    )
    filled = imp.transform(mixed_frame)
    pd.testing.assert_frame_equal(mixed_frame, before)  # the input is not modified
    assert filled.notna().all().all()
    assert list(filled.dtypes) == list(mixed_frame.dtypes)
    observed = mixed_frame.notna()
    for col in mixed_frame:
        kept = observed[col]
        assert (
            filled.loc[kept, col].astype(object).equals(mixed_frame.loc[kept, col].astype(object))
        )


def test_imputation_on_the_gpu_is_as_accurate_as_on_the_cpu():
    X = low_rank(500, 8)
    X_miss = aekit.ampute(X, "mcar", 0.3, random_state=0)
    hidden = np.isnan(X_miss)
    errors = {}
    for device in (GPU, "cpu"):
        filled = Imputer(default_on(device), random_state=0).fit_transform(X_miss)
        np.testing.assert_array_equal(filled[~hidden], X[~hidden])
        errors[device] = np.sqrt(np.mean((filled[hidden] - X[hidden]) ** 2))
    mean_error = np.sqrt(np.mean((np.nanmean(X_miss, axis=0) - X)[hidden] ** 2))
    assert errors[GPU] < 0.5 * mean_error
    assert errors[GPU] < 1.15 * errors["cpu"]


@pytest.mark.parametrize("name", ["default", "vae"])
def test_multiple_imputations_on_the_gpu_are_draws(name):
    X = low_rank(300, 5)
    X_miss = aekit.ampute(X, "mar", 0.3, random_state=0)
    hidden = np.isnan(X_miss)
    model = default_on(GPU) if name == "default" else preset(name, max_epochs=40, device=GPU)
    imp = Imputer(model, random_state=0).fit(X_miss)
    copies = imp.multiple_imputations(X_miss, m=4, random_state=0)
    assert len(copies) == 4
    for c in copies:
        assert np.isfinite(c).all()
        np.testing.assert_array_equal(c[~hidden], X_miss[~hidden])
    assert not np.array_equal(copies[0][hidden], copies[1][hidden])
    again = imp.multiple_imputations(X_miss, m=4, random_state=0)
    np.testing.assert_allclose(again[2], copies[2], atol=1e-5)


def test_a_model_fitted_on_the_gpu_loads_on_the_cpu(tmp_path):
    X = low_rank()
    gpu = VAE(**SMALL, device=GPU, random_state=0).fit(X)
    aekit.save(gpu, tmp_path / "m")
    cpu = aekit.load(tmp_path / "m", device="cpu")
    assert next(cpu.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(cpu.transform(X), gpu.transform(X), atol=1e-4)
    back = aekit.load(tmp_path / "m")
    assert next(back.module_.parameters()).device.type == torch.device(GPU).type


def test_a_resumed_gpu_fit_ends_where_an_uninterrupted_one_does(tmp_path):
    """The checkpoint carries the CUDA generator's state: resuming from the last
    checkpoint of a finished fit replays nothing and keeps its weights."""
    X = low_rank()
    kw = dict(**SMALL, noise="masking", device=GPU, random_state=0)
    plain = Autoencoder(**kw).fit(X)
    ckpt = tmp_path / "ckpt"
    first = Autoencoder(**kw).fit(X, checkpoint_dir=ckpt, checkpoint_every=0)
    resumed = Autoencoder(**kw).fit(X, checkpoint_dir=ckpt, resume=True, checkpoint_every=0)
    assert plain.n_epochs_ == first.n_epochs_ == resumed.n_epochs_
    for name, value in plain.module_.state_dict().items():
        torch.testing.assert_close(first.module_.state_dict()[name], value)
        torch.testing.assert_close(resumed.module_.state_dict()[name], value)


def test_a_streamed_fit_on_the_gpu(tmp_path):
    X = low_rank(600, 6)
    path = tmp_path / "t.csv"
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    frame.to_csv(path, index=False)
    streamed = Autoencoder(**SMALL, device=GPU, random_state=0)
    streamed.fit(aekit.TableFile(path, chunk_rows=60))
    assert mse(streamed.reconstruct(frame), X) < 0.2 * X.var()


def test_the_anomaly_detector_on_the_gpu():
    rng = np.random.default_rng(0)
    X = low_rank(400, 8)
    outliers = 3 * rng.normal(size=(20, 8))
    det = AnomalyDetector(default_on(GPU, "detect"), random_state=0).fit(X)
    scores = det.score_samples(np.vstack([X[:100], outliers]))
    labels = np.r_[np.zeros(100), np.ones(20)]
    assert roc_auc_score(labels, -scores) > 0.9  # higher scores are more normal


def test_images_on_the_gpu():
    rng = np.random.default_rng(0)
    images = np.full((200, 8, 8), 0.05, dtype=np.float32)
    for i in range(200):
        k = rng.integers(0, 7)
        if i % 2:
            images[i, k : k + 2, :] = 0.95
        else:
            images[i, :, k : k + 2] = 0.95
    mask = mask_images(images, "blocks", 0.25, size=3, random_state=0)
    X_miss = hide_pixels(images, mask)
    conv = Autoencoder(
        latent_dim=4, hidden_dims=(8, 16), max_epochs=30, noise="masking", device=GPU
    )
    filled = Imputer(conv, n_models=1, random_state=0).fit_transform(X_miss)
    assert filled.shape == images.shape and np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[~mask], X_miss[~mask])
    mean = np.where(mask, np.nanmean(X_miss, axis=0), X_miss)
    assert mse(filled[mask], images[mask]) < mse(mean[mask], images[mask])
