"""The fast paths give the results of the plain ones; bfloat16 training learns alike."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch.distributions import Bernoulli, Normal

import aekit
from aekit import AekitError
from aekit.data.schema import infer_column, infer_schema
from aekit.data.tabular import TabularEncoder
from aekit.models import Likelihood


def test_numeric_columns_inferred_together_match_one_by_one():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=50),
            "holes": np.where(rng.random(50) < 0.3, np.nan, rng.normal(size=50)),
            "flag": rng.integers(0, 2, 50),
            "flag_holes": np.where(rng.random(50) < 0.3, np.nan, rng.integers(0, 2, 50)),
            "zeros": np.zeros(50),
            "count": rng.integers(0, 5, 50).astype(np.int32),
            "u8": rng.integers(0, 2, 50).astype(np.uint8),
            "text": rng.choice(["a", "b"], 50),
        }
    )
    assert infer_schema(df) == [infer_column(c, df[c], None) for c in df.columns]
    kinds = {c.name: c.kind for c in infer_schema(df)}
    assert kinds["flag_holes"] == "binary" and kinds["zeros"] == "continuous"
    wide = pd.DataFrame(rng.normal(size=(20, 300)))
    wide[7] = np.nan  # named, as before
    with pytest.raises(AekitError, match="column 7 is entirely missing"):
        infer_schema(wide)
    wide[7] = np.inf
    with pytest.raises(AekitError, match="column 7 contains inf"):
        infer_schema(wide)


def test_encoding_a_wide_table_leaves_it_untouched_and_fills_holes():
    rng = np.random.default_rng(1)
    X = rng.normal(3, 2, size=(40, 200))
    X[rng.random(X.shape) < 0.2] = np.nan
    df = pd.DataFrame(X)
    before = df.copy()
    enc = TabularEncoder.fit(df, infer_schema(df))
    x, mask = enc.encode(df)
    pd.testing.assert_frame_equal(df, before)  # the user's frame, not a copy, was read
    np.testing.assert_array_equal(mask, ~np.isnan(X))
    expected = np.where(np.isnan(X), 0.0, (X - np.nanmean(X, 0)) / np.nanstd(X, 0))
    np.testing.assert_allclose(x, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("order", ["grouped", "interleaved"])
def test_log_prob_with_views_equals_the_distributions(order):
    kinds = ["continuous"] * 3 + ["binary"] * 2
    if order == "interleaved":
        kinds = ["continuous", "binary", "continuous", "binary", "continuous"]
    lik = Likelihood(kinds, [1] * 5)
    with torch.no_grad():
        lik.raw_scale.copy_(torch.tensor([0.3, -0.2, 1.1]))
    g = torch.Generator().manual_seed(0)
    params = torch.randn(8, 5, generator=g)
    x = torch.randn(8, 5, generator=g)
    binary = [i for i, k in enumerate(kinds) if k == "binary"]
    x[:, binary] = (x[:, binary] > 0).float()
    mask = torch.rand(8, 5, generator=g) > 0.2
    got = lik.log_prob(params, x, mask)
    cont = [i for i, k in enumerate(kinds) if k == "continuous"]
    want = torch.zeros(8, 5)
    want[:, cont] = Normal(params[:, cont], lik.scale).log_prob(x[:, cont])
    want[:, binary] = Bernoulli(logits=params[:, binary]).log_prob(x[:, binary])
    want = torch.where(mask, want, 0.0)
    torch.testing.assert_close(got, want)


def test_log_prob_keeps_double_precision():
    lik = Likelihood(["continuous"] * 2, [1, 1]).double()
    x = torch.tensor([[1000.1, -3.0]], dtype=torch.float64)
    got = lik.log_prob(x.clone(), x, torch.ones(1, 2, dtype=torch.bool))
    assert got.dtype == torch.float64
    expected = -torch.log(lik.scale) - 0.5 * np.log(2 * np.pi)
    torch.testing.assert_close(got[0], expected, rtol=0, atol=1e-12)


def low_rank(n=600, p=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)) @ rng.normal(size=(2, p)) + 0.1 * rng.normal(size=(n, p))


@pytest.mark.parametrize("cls", [aekit.Autoencoder, aekit.VAE])
def test_bfloat16_training_learns_like_float32(cls, tmp_path):
    X = low_rank()
    common = dict(latent_dim=2, hidden_dims=(32,), max_epochs=40, patience=40, random_state=0)
    full = cls(**common).fit(X)
    half = cls(precision="bfloat16", **common).fit(X)
    assert all(p.dtype == torch.float32 for p in half.module_.parameters())
    a, b = full.history_["train_loss"].iloc[-1], half.history_["train_loss"].iloc[-1]
    assert abs(a - b) < 0.1 * abs(a) + 0.05
    assert half.history_["train_loss"].iloc[-1] < 0.7 * half.history_["train_loss"].iloc[0]
    rmse = np.sqrt(np.mean((half.reconstruct(X) - X) ** 2))
    assert rmse < 1.2 * np.sqrt(np.mean((full.reconstruct(X) - X) ** 2)) + 0.02
    aekit.save(half, tmp_path / "m")
    again = aekit.load(tmp_path / "m")
    assert again.precision == "bfloat16"
    np.testing.assert_allclose(again.transform(X), half.transform(X))


def test_bfloat16_training_scores_categories_in_full_precision(mixed_frame):
    # the likelihood runs with autocast off: its level sums are products whose
    # gradient would otherwise meet a bfloat16 operand and a float32 one
    common = dict(noise="masking", mask_input=True, max_epochs=3, random_state=0)
    half = aekit.Autoencoder(precision="bfloat16", **common).fit(mixed_frame)
    assert np.isfinite(half.history_["train_loss"]).all()
    filled = aekit.Imputer(aekit.Autoencoder(precision="bfloat16", **common)).fit_transform(
        mixed_frame
    )
    assert not filled.isna().any().any()


def test_precision_is_checked():
    with pytest.raises(AekitError, match="precision must be one of"):
        aekit.Autoencoder(precision="fp16").fit(low_rank(50))
