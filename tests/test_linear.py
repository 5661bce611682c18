"""The imputer's linear part: a normal fitted by EM, blended into the networks'
imputation at the share that imputes the held-out cells best."""

import numpy as np
import pandas as pd
import pytest
import torch

import aekit
from aekit.estimators.linear import LinearPart, fit_linear
from aekit.estimators.presets import preset
from aekit.models import gaussian
from aekit.models.gaussian import conditional_mean, fit_normal


def test_conditional_means_are_the_normal_formula_row_by_row():
    rng = np.random.default_rng(0)
    d = 5
    a = rng.normal(size=(d, d))
    cov, mean = a @ a.T + 0.5 * np.eye(d), rng.normal(size=d)
    x = rng.normal(size=(40, d))
    seen = rng.random((40, d)) < 0.6
    seen[0], seen[1] = False, True  # a row with nothing observed, and a complete one
    got = conditional_mean(*map(torch.from_numpy, (x, seen, mean, cov))).numpy()
    for i in range(len(x)):
        o, m = seen[i], ~seen[i]
        expected = x[i].copy()
        if o.any():
            gain = cov[np.ix_(m, o)] @ np.linalg.inv(cov[np.ix_(o, o)])
            expected[m] = mean[m] + gain @ (x[i, o] - mean[o])
        else:
            expected[m] = mean[m]
        np.testing.assert_allclose(got[i], expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(got[seen], x[seen])  # observed values untouched


def _em_step_by_hand(x, seen, mean, cov):
    """One EM step row by row: conditional means, and the moments of the
    completed rows plus each row's conditional covariance."""
    filled, spread = x.copy(), np.zeros_like(cov)
    for i in range(len(x)):
        o, m = seen[i], ~seen[i]
        gain = cov[np.ix_(m, o)] @ np.linalg.inv(cov[np.ix_(o, o)]) if o.any() else 0.0
        filled[i, m] = mean[m] + gain @ (x[i, o] - mean[o]) if o.any() else mean[m]
        spread[np.ix_(m, m)] += cov[np.ix_(m, m)] - (gain @ cov[np.ix_(o, m)] if o.any() else 0)
    new_mean = filled.mean(0)
    centred = filled - new_mean
    return new_mean, (centred.T @ centred + spread) / len(x)


@pytest.mark.parametrize("block", [1 << 22, 7])  # one batch a size; batches of a few numbers
def test_an_em_step_is_the_row_by_row_formula(monkeypatch, block):
    monkeypatch.setattr(gaussian, "BLOCK", block)
    rng = np.random.default_rng(2)
    d = 6
    a = rng.normal(size=(d, d))
    cov, mean = a @ a.T + 0.5 * np.eye(d), rng.normal(size=d)
    x = rng.normal(size=(300, d))
    seen = rng.random(x.shape) < rng.uniform(0.1, 0.95, size=(300, 1))  # 0 to 6 missing
    seen[0], seen[1] = False, True
    start = (torch.from_numpy(mean), torch.from_numpy(cov))
    got = fit_normal(torch.from_numpy(x), torch.from_numpy(seen), iters=1, ridge=0.0, start=start)
    want = _em_step_by_hand(x, seen, mean, cov)
    np.testing.assert_allclose(got[0].numpy(), want[0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got[1].numpy(), want[1], rtol=1e-10, atol=1e-10)
    assert len(np.unique(seen, axis=0)) > 20 and set((~seen).sum(1)) == set(range(d + 1))


def test_em_recovers_a_normal_from_rows_with_holes():
    rng = np.random.default_rng(1)
    true_cov = np.array([[1.0, 0.8, 0.3], [0.8, 1.0, 0.5], [0.3, 0.5, 1.0]])
    x = rng.multivariate_normal([1.0, -2.0, 0.5], true_cov, size=4000)
    complete = fit_normal(torch.from_numpy(x), torch.ones(x.shape, dtype=torch.bool), ridge=0.0)
    np.testing.assert_allclose(complete[0].numpy(), x.mean(0), atol=1e-12)  # no holes: moments
    np.testing.assert_allclose(complete[1].numpy(), np.cov(x.T, bias=True), atol=1e-12)
    seen = rng.random(x.shape) >= 0.3
    mean, cov = fit_normal(torch.from_numpy(np.where(seen, x, 0.0)), torch.from_numpy(seen))
    np.testing.assert_allclose(mean.numpy(), [1.0, -2.0, 0.5], atol=0.06)
    np.testing.assert_allclose(cov.numpy(), true_cov, atol=0.08)


def _linear_table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    df = pd.DataFrame(x, columns=["a", "b", "c"])
    df["y"] = 2 * df.a - df.b + 0.5 * df.c + 0.1 * rng.normal(size=n)
    df["group"] = pd.Categorical(rng.choice(["u", "v"], n))
    holes = df.copy()
    holes.loc[rng.random(n) < 0.3, "y"] = np.nan  # y missing at random, and some of c
    holes.loc[(df.b > 0.5) & (rng.random(n) < 0.2), "c"] = np.nan
    return df, holes


def test_a_nearly_linear_table_gets_the_linear_part_and_imputes_better(tmp_path):
    df, holes = _linear_table()
    model = preset("dae", max_epochs=30, patience=10)
    imputer = aekit.Imputer(model, random_state=0).fit(holes)
    part = imputer.linear_
    assert part is not None and part.share < 1  # the normal imputed the held-out cells better
    assert list(part.dims) == [0, 1, 2, 3]  # the continuous columns, not the category's
    filled = imputer.transform(holes)
    assert filled.notna().all().all() and filled["group"].equals(holes["group"])
    hidden = holes["y"].isna()
    blended = np.sqrt(np.mean((filled.loc[hidden, "y"] - df.loc[hidden, "y"]) ** 2))
    imputer.linear_ = None  # the networks alone
    alone = imputer.transform(holes)
    networks = np.sqrt(np.mean((alone.loc[hidden, "y"] - df.loc[hidden, "y"]) ** 2))
    assert blended < 0.8 * networks, (part.share, blended, networks)
    imputer.linear_ = part
    aekit.save(imputer, tmp_path / "imputer")  # the part travels in the model file
    loaded = aekit.load(tmp_path / "imputer")
    assert loaded.linear_.share == part.share
    np.testing.assert_array_equal(loaded.linear_.cov, part.cov)
    pd.testing.assert_frame_equal(loaded.transform(holes), filled)


@pytest.mark.parametrize(
    "settings",
    [{"holdout_fraction": 0.0}, {"model": "vae"}],
    ids=["no held-out cells", "vae"],
)
def test_no_linear_part_without_held_out_cells_or_for_a_vae(settings):
    _, holes = _linear_table(120)
    settings = dict(settings)
    name = settings.pop("model", "dae")
    model = preset(name, max_epochs=3)
    imputer = aekit.Imputer(model, n_models=1, random_state=0, **settings).fit(holes)
    assert imputer.linear_ is None
    assert imputer.transform(holes).notna().all().all()


def _level_table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    # levels set by linear scores of the numbers (with a little noise)
    score = df.a + df.b - df.c + 0.2 * rng.normal(size=n)
    df["band"] = pd.Categorical(np.select([score < -0.8, score < 0.8], ["low", "mid"], "high"))
    df["flag"] = (df.a - df.b + 0.2 * rng.normal(size=n) > 0).astype(float)  # a binary column
    holes = df.copy()
    holes.loc[rng.random(n) < 0.3, "band"] = np.nan
    holes.loc[rng.random(n) < 0.3, "flag"] = np.nan
    return df, holes


def test_the_level_share_is_the_one_that_decodes_the_held_out_levels_best():
    df, holes = _level_table()
    encoder = aekit.Imputer(preset("dae", max_epochs=1), n_models=1).fit(holes).model_.encoder_
    rng = np.random.default_rng(3)
    hidden = rng.random(df.shape) < 0.2  # the cells held out from the networks
    truth, _ = encoder.encode(df)
    levels = np.flatnonzero(np.isin(encoder.column_of_dim, [3, 4]))

    def blind(frame):  # networks that know nothing of the levels: uniform probabilities
        x, mask = encoder.encode(frame)
        out = truth.copy()
        out[:, levels] = [1 / 3, 1 / 3, 1 / 3, 0.5]
        return x, mask, out

    def perfect(frame):  # networks that know every level
        x, mask = encoder.encode(frame)
        return x, mask, truth.copy()

    blended = fit_linear(encoder, df, hidden, blind)
    assert list(blended.level_dims) == list(levels)  # the band's three levels, the flag
    # any share below 1 decodes the normal's levels (the networks' are flat):
    # the largest such share is kept
    assert blended.level_share == pytest.approx(0.9)
    assert fit_linear(encoder, df, hidden, perfect).level_share == 1.0


def test_the_imputer_blends_level_probabilities_and_keeps_the_share_in_its_file(tmp_path):
    _, holes = _level_table()
    # networks of the values alone, 20 epochs: the linear scores' levels help them
    # (with the bins' encodings they decoded this table's held-out levels unhelped)
    model = preset("dae", max_epochs=20, patience=10, numeric_bins=0)
    imputer = aekit.Imputer(model, random_state=0)
    part = imputer.fit(holes).linear_
    assert part is not None and part.level_share < 1  # chosen on this table's held-out cells
    filled = imputer.transform(holes)
    assert filled.notna().all().all()
    share, part.level_share = part.level_share, 1.0  # the networks' levels alone
    networks = imputer.transform(holes)
    pd.testing.assert_frame_equal(networks[["a", "b", "c"]], filled[["a", "b", "c"]])
    assert not networks[["band", "flag"]].equals(filled[["band", "flag"]])
    part.level_share = share
    aekit.save(imputer, tmp_path / "imputer")
    loaded = aekit.load(tmp_path / "imputer")
    assert loaded.linear_.level_share == share
    pd.testing.assert_frame_equal(loaded.transform(holes), filled)


def test_a_model_file_from_before_the_level_blend_loads_with_the_networks_levels():
    old = {"share": 0.5, "mean": [0.0, 0.0], "cov": [[1.0, 0.0], [0.0, 1.0]], "dims": [0]}
    part = LinearPart.from_state(old)
    assert part.level_share == 1.0 and part.level_dims.size == 0
    x, seen = np.array([[np.nan, 1.0]]), np.array([[False, True]])
    filled = np.array([[2.0, 1.0]])
    np.testing.assert_allclose(part.blend(np.nan_to_num(x), seen, filled), [[1.0, 1.0]])
