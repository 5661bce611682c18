"""Piecewise-linear encodings of numeric cells (``numeric_bins``): the numbers
by hand, the edges a fit cuts, and an estimator that keeps them in its file."""

import numpy as np
import pandas as pd
import pytest
import torch

import aekit
from aekit import AekitError, Autoencoder, TableFile
from aekit.data.table import BINS, sample_rows
from aekit.estimators.autoencoder import AUTO_BINS, BINNED_COLUMNS
from aekit.estimators.presets import default_model, preset
from aekit.models import AEModule, Likelihood
from aekit.models.bins import NumericBins

SMALL = dict(latent_dim=2, hidden_dims=(8,), max_epochs=3, random_state=0)


def test_encodings_climb_through_the_bins_by_hand():
    # one column of 0..10: quantiles 0, 5, 10 cut two bins [0, 5] and [5, 10]
    x = torch.arange(11.0)[:, None]
    bins = NumericBins([0], [0], 2).fit(x, torch.ones(11, 1, dtype=torch.bool))
    assert bins.low.tolist() == [[0.0, 5.0]] and bins.width.tolist() == [[5.0, 5.0]]
    rows = torch.tensor([[-1.0], [2.5], [7.5], [12.0]])
    expected = [[0.0, 0.0], [0.5, 0.0], [1.0, 0.5], [1.0, 1.0]]
    assert bins(rows, None).tolist() == expected
    # a missing (or hidden) cell encodes as zeros in every bin
    mask = torch.tensor([[True], [False], [True], [False]])
    assert bins(rows, mask).tolist() == [[0.0, 0.0], [0.0, 0.0], [1.0, 0.5], [0.0, 0.0]]


def test_edges_are_quantiles_of_observed_values_and_merge_where_they_meet():
    # column 0: a point mass at 0 (7 of 10 values) and 1, 2, 3; column 1 (dimension
    # 2, past a binary one at 1): missing where its value is large
    x = torch.tensor([[0.0, 1, v] for v in range(7)] + [[1, 0, 7], [2, 0, 8], [3, 0, 9]])
    mask = torch.ones(10, 3, dtype=torch.bool)
    mask[7:, 2] = False
    bins = NumericBins([0, 2], [0, 2], 4).fit(x, mask)
    q = torch.quantile(torch.tensor([0.0] * 7 + [1, 2, 3]), torch.linspace(0, 1, 5))
    edges = torch.unique(q)  # 0, 0, 0, 0.25, 3 -> 0, 0.25, 3: two bins
    assert torch.allclose(bins.low[0, :2], edges[:-1]) and torch.allclose(
        bins.width[0, :2], edges.diff()
    )
    assert torch.isinf(bins.width[0, 2:]).all()
    # column 1 from its observed 0..6 only
    assert bins.low[1].tolist() == [0.0, 1.5, 3.0, 4.5] and bins.width[1].tolist() == [1.5] * 4
    out = bins(torch.tensor([[0.0, 0, 9], [3.0, 0, 6]]), None).view(2, 2, 4)
    assert out[0, 0].tolist() == [0.0] * 4  # the point mass: below every bin
    assert out[1, 0].tolist() == [1.0, 1.0, 0.0, 0.0]  # unused bins stay 0
    assert out[0, 1].tolist() == [1.0] * 4 and out[1, 1].tolist() == [1.0, 1.0, 1.0, 1.0]


def test_the_module_feeds_the_encodings_after_the_mask():
    lik = Likelihood(["continuous", "categorical", "continuous"], [1, 3, 1])
    module = AEModule(lik, [8], 2, mask_input=True, numeric_bins=3)
    assert module.encoder.layers[0].in_features == 5 + 3 + 2 * 3
    x = torch.tensor([[0.5, 0, 1, 0, -0.5]])
    mask = torch.tensor([[True, True, False]])
    module.bins.low.copy_(torch.tensor([[-1.0, 0.0, 1.0]] * 2))
    module.bins.width.fill_(1.0)
    inputs = module.inputs(x, mask)
    assert inputs[0, :5].tolist() == x[0].tolist()
    assert inputs[0, 5:8].tolist() == [1.0, 1.0, 0.0]
    assert inputs[0, 8:].tolist() == [1.0, 0.5, 0.0, 0.0, 0.0, 0.0]  # the third cell is missing


def test_an_autoencoder_cuts_its_bins_on_the_training_rows_and_keeps_them(mixed_frame, tmp_path):
    # every row trains (none held out to validate): the edges are the table's
    kw = dict(noise="masking", mask_input=True, validation_fraction=0.0, **SMALL)
    est = Autoencoder(numeric_bins=4, **kw).fit(mixed_frame)
    bins = est.module_.bins
    x, mask = est.encoder_.encode(mixed_frame)
    kinds = [c.kind for c in est.encoder_.schema]
    j = kinds.index("continuous")  # the first numeric column, "age"
    d = int(est.encoder_.start[j])
    observed = torch.from_numpy(x[mask[:, j], d]).double()
    q = torch.quantile(observed, torch.linspace(0, 1, 5, dtype=torch.float64))
    assert torch.allclose(bins.low[0].double(), q[:-1], atol=1e-6)
    assert torch.allclose(bins.width[0].double(), q.diff(), atol=1e-6)
    plain = Autoencoder(**kw).fit(mixed_frame)
    assert plain.module_.bins is None
    assert not np.allclose(est.transform(mixed_frame), plain.transform(mixed_frame))
    aekit.save(est, tmp_path / "model")
    back = aekit.load(tmp_path / "model")
    assert back.numeric_bins == 4
    assert torch.equal(back.module_.bins.low, bins.low)
    np.testing.assert_array_equal(back.transform(mixed_frame), est.transform(mixed_frame))


def test_a_streamed_fit_cuts_its_bins_on_a_chunks_worth_of_rows_drawn_across_the_file(tmp_path):
    """Not on the first chunk: a file sorted by a column would give one end of it."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.exponential(size=200)})
    df.loc[::9, "a"] = np.nan
    df = df.sort_values("b", ignore_index=True)
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    est = Autoencoder(numeric_bins=3, noise="masking", validation_fraction=0.0, **SMALL)
    est.fit(TableFile(path, 50))
    sample = sample_rows(TableFile(path, 50), 50, 0, BINS)
    assert len(sample) == 50 and sample["b"].max() > df["b"].iloc[150]  # not the first 50
    x, mask = est.encoder_.encode(sample)
    for c in range(2):
        values = torch.from_numpy(x[mask[:, c], c]).double()
        q = torch.quantile(values, torch.linspace(0, 1, 4, dtype=torch.float64))
        assert torch.allclose(est.module_.bins.low[c].double(), q[:-1], atol=1e-6)


def test_the_members_of_a_batched_imputer_share_their_bins(mixed_frame):
    model = Autoencoder(numeric_bins=4, noise="masking", mask_input=True, **SMALL)
    imputer = aekit.Imputer(model, n_models=2, random_state=0).fit(mixed_frame)
    first, second = (m.module_.bins for m in imputer.models_)
    assert torch.equal(first.low, second.low) and torch.isfinite(first.width).any()
    assert not imputer.transform(mixed_frame).isna().any().any()


def test_bins_are_refused_for_images_and_below_zero():
    images = np.random.default_rng(0).random((16, 8, 8))
    with pytest.raises(AekitError, match="numeric_bins=4 encodes a table's numbers"):
        Autoencoder(numeric_bins=4, **SMALL).fit(images)
    with pytest.raises(AekitError, match="numeric_bins must be an integer >= 0"):
        Autoencoder(numeric_bins=-1, **SMALL).fit(np.zeros((10, 2)))
    with pytest.raises(AekitError, match="numeric_bins must be an integer"):
        Autoencoder(numeric_bins="many", **SMALL).fit(np.zeros((10, 2)))
    # "auto" gives images none, without an error
    assert Autoencoder(numeric_bins="auto", **SMALL).fit(images).module_.bins is None
    # the imputer's image networks take none
    assert preset("dae", (1, 8, 8)).numeric_bins == 0


def test_the_default_imputers_copies_come_from_networks_without_bins():
    # single imputation reads the numbers in bins; the bootstrapped networks of
    # multiple imputation read the values alone (they drew less biased copies)
    assert default_model("impute").numeric_bins == "auto"
    assert default_model("copies").numeric_bins == 0
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    df["b"] += df["a"]
    df.loc[rng.random(80) < 0.3, "b"] = np.nan
    default = aekit.Imputer(random_state=0).multiple_imputations(df, m=2)
    plain = aekit.Imputer(preset("dae", numeric_bins=0), random_state=0)
    for mine, theirs in zip(default, plain.multiple_imputations(df, m=2), strict=True):
        pd.testing.assert_frame_equal(mine, theirs)
    assert default[0]["b"].notna().all() and not default[0]["b"].equals(default[1]["b"])


@pytest.mark.parametrize(
    ("columns", "bins"), [(BINNED_COLUMNS, AUTO_BINS), (BINNED_COLUMNS + 1, 0)]
)
def test_auto_bins_the_numbers_of_tables_up_to_a_width(tmp_path, columns, bins):
    """ "auto": 16 bins a number up to BINNED_COLUMNS numeric columns (a category
    does not count), none beyond, where they made the first layer 17 times as
    wide; a model file rebuilds the same networks."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(40, columns)), columns=[f"x{j}" for j in range(columns)])
    df["kind"] = pd.Categorical(rng.choice(["a", "b"], 40))
    est = Autoencoder(numeric_bins="auto", noise="masking", **SMALL).fit(df)
    assert (est.module_.bins.bins if est.module_.bins is not None else 0) == bins
    first = est.module_.encoder.layers[0].weight.shape[1]  # (out, in): x, then the bins
    assert first == est.encoder_.width + columns * bins
    aekit.save(est, tmp_path / "model")
    back = aekit.load(tmp_path / "model")
    assert back.numeric_bins == "auto"
    np.testing.assert_array_equal(back.transform(df), est.transform(df))
