"""The paths that make small fits fast: the cosine schedule, the encoding of
rows in blocks, the monitor's budget for wide rows and the convolutions'
inference layout. Each must give what the plain path gives."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

import aekit
from aekit import AekitError, Autoencoder, indexing
from aekit.data import tabular
from aekit.data.schema import infer_schema
from aekit.data.summary import column_summary
from aekit.data.table import as_table
from aekit.estimators.holdout import MONITOR_CELLS, HeldOutCells
from aekit.estimators.params import batch_size_for
from aekit.models.networks import ConvDecoder, ConvEncoder
from aekit.training import TrainSettings, learning_rate, loop
from aekit.training.stopping import EarlyStopping


def _factors(n=300, p=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)) @ rng.normal(size=(2, p)) + 0.3 * rng.normal(size=(n, p))


def test_the_cosine_schedule_falls_from_the_step_size_to_a_hundredth_of_it():
    s = TrainSettings(
        batch_size=8, max_epochs=10, learning_rate=0.02, patience=3, schedule="cosine"
    )
    rates = [learning_rate(s, e) for e in range(1, 11)]
    assert rates[0] == 0.02
    assert all(a > b for a, b in itertools.pairwise(rates))
    after_last = 0.0002 + (0.02 - 0.0002) * (1 + math.cos(math.pi)) / 2
    assert rates[-1] > after_last == pytest.approx(0.0002)
    constant = TrainSettings(batch_size=8, max_epochs=10, learning_rate=0.02, patience=3)
    assert {learning_rate(constant, e) for e in range(1, 11)} == {0.02}


def test_a_cosine_fit_takes_larger_batches_and_trains_differently():
    X = _factors()
    kw = dict(latent_dim=2, max_epochs=4, patience=5, validation_fraction=0.0, random_state=0)
    plain, cosine = Autoencoder(**kw), Autoencoder(**kw, lr_schedule="cosine")
    assert batch_size_for(plain, 300, 0) == 32  # n // 16 within [32, 256]
    assert batch_size_for(cosine, 300, 0, schedule="cosine") == 128  # n // 4 within [128, 1024]
    assert batch_size_for(cosine, 10_000, 0, schedule="cosine") == 1024
    a, b = plain.fit(X).transform(X), cosine.fit(X).transform(X)
    assert not np.allclose(a, b)
    with pytest.raises(AekitError, match="lr_schedule"):
        Autoencoder(lr_schedule="linear").fit(X)


def test_convolutions_under_the_cosine_schedule_take_64_rows_a_step():
    images = Autoencoder(architecture="conv", lr_schedule="cosine", validation_fraction=0.0)
    assert batch_size_for(images, 4000, 0, schedule="cosine", conv=True) == 64
    assert batch_size_for(images, 40, 0, schedule="cosine", conv=True) == 40  # all the rows
    assert batch_size_for(images, 4000, 0, schedule="cosine") == 1000  # perceptrons: n // 4
    assert batch_size_for(images, 4000, 0, conv=True) == 250  # constant: n // 16 in [32, 256]


def test_max_steps_ends_training_after_the_epochs_that_hold_them(tmp_path):
    """With ``max_steps``, training stops after ceil(max_steps / steps an epoch)
    epochs (fewer when max_epochs says so); the cosine schedule spans those."""
    X = _factors(200)
    kw = dict(latent_dim=2, batch_size=50, patience=100, validation_fraction=0.0, random_state=0)
    capped = Autoencoder(**kw, max_epochs=100, max_steps=10).fit(X)  # 4 steps an epoch
    assert capped.n_epochs_ == 3
    assert Autoencoder(**kw, max_epochs=2, max_steps=10).fit(X).n_epochs_ == 2
    same = Autoencoder(**kw, max_epochs=3, lr_schedule="cosine").fit(X)
    steps = Autoencoder(**kw, max_epochs=100, max_steps=12, lr_schedule="cosine").fit(X)
    np.testing.assert_array_equal(same.transform(X), steps.transform(X))
    for bad in (0, 2.5, "many"):
        with pytest.raises(AekitError, match="max_steps"):
            Autoencoder(**kw, max_steps=bad).fit(X)
    with pytest.raises(AekitError, match="max_steps"):  # checked before a file is opened
        Autoencoder(**kw, max_steps=0).fit(tmp_path / "nowhere.csv")


def test_rows_encoded_in_blocks_equal_rows_encoded_at_once(monkeypatch):
    X = _factors(50)
    X[::7, 2] = np.nan
    df = pd.DataFrame(X.astype(np.float32), columns=[f"c{j}" for j in range(6)])
    schema = infer_schema(df, array=True)
    monkeypatch.setattr(indexing, "BLOCK_CELLS", 10**9)  # the whole table at once
    encoder = tabular.TabularEncoder.fit(df, schema)
    whole, whole_mask = encoder.encode(df)
    monkeypatch.setattr(indexing, "BLOCK_CELLS", 7 * 6)  # blocks of 7 rows
    blocks, blocks_mask = encoder.encode(df)
    assert np.array_equal(whole, blocks) and np.array_equal(whole_mask, blocks_mask)
    # the statistics in blocks: the same sums in the same order, so the same bits
    stats = tabular.TabularEncoder.fit(df, schema)
    for key in ("center", "scale", "fill", "low", "high"):
        assert np.array_equal(getattr(stats, key), getattr(encoder, key)), key
    values = df.to_numpy(np.float64)
    assert np.allclose(stats.center, np.nanmean(values, axis=0), rtol=1e-14, atol=0)
    assert np.allclose(stats.scale, np.nanstd(values, axis=0), rtol=1e-14, atol=0)
    # float32 columns are read as they are, float64 ones converted: the same values
    wide, wide_mask = encoder.encode(df.astype(np.float64))
    assert np.array_equal(whole, wide) and np.array_equal(whole_mask, wide_mask)
    before = df.copy()
    df.iloc[0, 0] = np.inf
    with pytest.raises(AekitError, match=r"'c0'.*inf"):
        encoder.encode(df)
    df.iloc[0, 0] = before.iloc[0, 0]
    pd.testing.assert_frame_equal(df, before)  # encoding never writes into the frame


@pytest.mark.parametrize("layout", ["C", "F", "one column", "complete", "huge"])
def test_column_summaries_in_blocks_equal_one_pass_over_the_table(monkeypatch, layout):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 5)) * [1, 10, 1e-3, 1e4, 1]
    if layout != "complete":
        X[rng.random(X.shape) < 0.2] = np.nan
    if layout == "huge":
        X[:, 1] *= 1e290  # summed in units of its largest value
    X = X[:, :1] if layout == "one column" else np.asarray(X, order="F" if layout == "F" else "C")
    monkeypatch.setattr(indexing, "BLOCK_CELLS", 10**9)
    whole = column_summary(X)
    for cells in (1, 7, 64):  # blocks of rows of a row-major array, of columns of the other
        monkeypatch.setattr(indexing, "BLOCK_CELLS", cells)
        for a, b in zip(whole, column_summary(X), strict=True):
            assert np.array_equal(a, b), cells
    mean, std, low, high, missing = whole
    assert np.allclose(mean, np.nanmean(X, axis=0), rtol=1e-13, atol=0)
    unit = np.nanmax(np.abs(X), axis=0)
    unit = np.where(unit > 1e150, unit, 1.0)  # nanstd would overflow
    assert np.allclose(std, np.nanstd(X / unit, axis=0) * unit, rtol=1e-13, atol=0)
    assert np.array_equal(low, np.nanmin(X, axis=0)) and np.array_equal(high, np.nanmax(X, axis=0))
    assert np.array_equal(missing, np.isnan(X).any(axis=0))


def test_the_monitor_watches_fewer_rows_of_wide_tables():
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(3000, 400)))
    narrow = wide.iloc[:, :30]
    cells = HeldOutCells(0.1, seed=0)
    seen = {}
    for name, frame in (("wide", wide), ("narrow", narrow)):
        watch = cells.monitor(as_table(frame), n_iter=1, n_importance=1)
        # the closure's frame: the rows the monitor imputes every epoch
        held = dict(zip(watch.__code__.co_freevars, watch.__closure__, strict=True))
        seen[name] = len(held["frame"].cell_contents)
    assert seen["wide"] == MONITOR_CELLS // 400
    assert seen["narrow"] == 2000


def test_convolutions_give_the_same_values_in_inference_layout():
    torch.manual_seed(0)
    shape = (1, 9, 7)
    enc, dec = ConvEncoder(shape, 2, [4, 6], 5), ConvDecoder(shape, [4, 6], 5, 1)
    x = torch.rand(11, 2 * 9 * 7)
    trained = dec(enc(x))  # with gradients: the default layout
    with torch.no_grad():
        inferred = dec(enc(x))  # channels last
    assert inferred.shape == (11, 63)
    torch.testing.assert_close(inferred, trained.detach(), rtol=1e-5, atol=1e-6)


def test_an_imputer_fitted_with_the_cosine_schedule_fills_every_cell():
    X = _factors(200, 5)
    holed = aekit.ampute(X, "mcar", 0.2, random_state=0)
    model = Autoencoder(
        noise="masking", mask_input=True, latent_dim=3, lr_schedule="cosine", max_epochs=20
    )
    filled = aekit.Imputer(model, random_state=0).fit_transform(holed)
    assert not np.isnan(filled).any()
    assert np.array_equal(filled[~np.isnan(holed)], holed[~np.isnan(holed)])


class _Two(torch.nn.Module):
    """A stand-in ensemble of two members."""

    members = 2

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(2, 1))


def test_the_plateau_schedule_halves_the_step_when_every_network_training_waits():
    """The step size is halved once the networks still training have all gone
    `plateau` epochs without improving, then not before as many epochs more; a
    network that has stopped does not hold it back. The share is part of a
    checkpoint's state."""
    stopping = EarlyStopping(_Two(), patience=4, tol=0.0, plateau=2)
    # member 1 stops after epoch 5; member 0 trains on alone
    watched = [[1, 1], [0.9, 1.1], [0.95, 1.2], [0.96, 1.3], [0.8, 1.4], [0.85, 9], [0.86, 9]]
    watched += [[0.7, 9]]
    shares = []
    for epoch, w in enumerate(watched, start=1):
        stopping.update(epoch, {"train_loss": np.array(w, dtype=float)}, "t")
        shares.append(stopping.step_share)
    # waited (0, 0) (0, 1) (1, 2) (2, 3): cut; (0, stopped) (1) (2): cut, (0)
    assert shares == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert list(stopping.active) == [True, False]
    restored = EarlyStopping(_Two(), patience=4, tol=0.0, plateau=2)
    tensors, meta = stopping.state()
    restored.load_state(tensors, json.loads(json.dumps(meta)), torch.device("cpu"))
    assert (restored.step_share, restored.last_cut) == (stopping.step_share, stopping.last_cut)
    plain = EarlyStopping(_Two(), patience=4, tol=0.0)
    for epoch, w in enumerate(watched, start=1):
        plain.update(epoch, {"train_loss": np.array(w, dtype=float)}, "t")
    assert plain.step_share == 1.0


def test_a_plateau_fit_steps_at_halvings_of_its_step_size(monkeypatch):
    seen = []  # the step size of every Adam update
    update = loop.Adam.step

    def record(self, grads, lr=None):
        seen.append(lr)
        return update(self, grads, lr)

    monkeypatch.setattr(loop.Adam, "step", record)
    X = _factors(200)
    kw = dict(latent_dim=2, hidden_dims=(16,), max_epochs=40, patience=5, learning_rate=0.01)
    Autoencoder(**kw, lr_schedule="plateau", random_state=0).fit(X)
    assert seen[0] == 0.01 and min(seen) < 0.01
    assert all(a >= b for a, b in itertools.pairwise(seen))
    assert {math.log2(0.01 / lr) % 1 for lr in seen} == {0.0}  # halvings of 0.01
    seen.clear()
    Autoencoder(**kw, random_state=0).fit(X)
    assert set(seen) == {0.01}
