"""Every example runs (fast mode) and writes its figures."""

import importlib.util
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

pytestmark = pytest.mark.slow  # pytest -m 'not slow' leaves these out

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the examples share examples/_common.py
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(fast=True, output_dir=tmp_path)


def figures_ok(tmp_path, names):
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(names)
    for name in names:
        pixels = matplotlib.image.imread(tmp_path / name)[..., :3]
        assert pixels.std() > 0.02 and (pixels < 0.9).mean() > 0.005  # something drawn


def test_every_example_is_tested():
    scripts = {p.stem for p in EXAMPLES.glob("*.py")} - {"_common"}
    tested = {n.removeprefix("test_") for n in globals() if n.startswith("test_")}
    assert scripts <= tested, scripts - tested


def test_pca_vs_ae(tmp_path, monkeypatch):
    results = run("pca_vs_ae", tmp_path, monkeypatch)
    assert set(results) == {"PCA (1 component)", "AE (1-d code)"}
    assert 0.3 < results["PCA (1 component)"] < 0.6  # the line misses the bend
    figures_ok(tmp_path, ["pca_vs_ae.png"])


def test_dae_denoising(tmp_path, monkeypatch):
    results = run("dae_denoising", tmp_path, monkeypatch)
    for kind in ("gaussian", "salt_pepper"):
        assert 0 < results[kind]["denoised"] < results[kind]["noisy"]
    figures_ok(tmp_path, ["dae_denoising.png"])


def test_dae_imputation(tmp_path, monkeypatch):
    results = run("dae_imputation", tmp_path, monkeypatch)
    assert set(results) == {"mcar", "mar", "mnar"}
    for r in results.values():
        assert 0 < r["aekit"] < 2 and 0.8 < r["mean"] < 2  # MNAR hides the large values
    figures_ok(tmp_path, ["dae_imputation.png"])


def test_vae_sampling(tmp_path, monkeypatch):
    results = run("vae_sampling", tmp_path, monkeypatch)
    assert results["samples"].shape == (40, 64) and np.isfinite(results["loglik"])
    figures_ok(tmp_path, ["vae_latent.png", "vae_samples.png"])


def test_tvae_vs_vae(tmp_path, monkeypatch):
    results = run("tvae_vs_vae", tmp_path, monkeypatch)
    for prior in ("normal", "student-t"):
        assert 0 < results[prior]["rmse"] < 6 and np.isfinite(results[prior]["loglik"])
    figures_ok(tmp_path, ["tvae_vs_vae.png"])


def test_anomaly_detection(tmp_path, monkeypatch):
    results = run("anomaly_detection", tmp_path, monkeypatch)
    assert results["aekit"] > 0.8 and results["isolation forest"] > 0.5
    figures_ok(tmp_path, ["anomaly_scores.png"])


def test_latent_codes(tmp_path, monkeypatch, capsys):
    results = run("latent_codes", tmp_path, monkeypatch)
    assert results["PCA"] > 0.7 and results["VAE"] > 0.5  # ten classes: chance is 0.1
    assert 2 <= results["best_k"] <= 12 and results["ari"] > 0.2  # ten digits: 0 is chance
    assert "BIC picks" in capsys.readouterr().out
    figures_ok(tmp_path, ["latent_bic.png"])


def test_image_imputation(tmp_path, monkeypatch):
    results = run("image_imputation", tmp_path, monkeypatch)
    assert set(results) == {"pixel mean", "DAE, convolutions", "DAE, perceptrons"}
    assert all(0 < v < 1 for v in results.values())
    figures_ok(tmp_path, ["image_imputation.png", "image_samples.png"])
