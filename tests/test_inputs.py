"""What users' data really hold: no crash and no silent data loss (issue 16).

Arrays of floats stay continuous, values never seen in fit are scored and kept,
CSV files are read in their own dialect and header, huge numbers, counts and
dates come back as they should, and a hostile model file is refused before
anything is built.
"""

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

import aekit
from aekit import AekitError, AekitWarning, TableFile
from aekit.cli import main
from aekit.data.files import inspect_csv, read_table
from aekit.data.schema import infer_schema
from aekit.data.table import as_table
from aekit.estimators.holdout import HeldOutCells

SMALL = dict(latent_dim=2, hidden_dims=(16,), max_epochs=40, random_state=0)


# ---------------------------------------------------------------- arrays and new values
def test_a_float_array_is_continuous_and_new_pixel_values_are_scored_as_anomalies():
    """Digits as an (n, 64) float array, one digit normal: a pixel that is only 0
    or 1 in the training rows holds other values in new rows (the MNIST case)."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    normal, other = X[y == 0], X[y != 0]
    normal[:, 0] = np.arange(len(normal)) % 2  # 0/1 only, in training
    other[:, 0] = 0.337
    train, held = normal[:140], normal[140:]
    schema = as_table(train).fit_encoder("unit").schema
    assert {c.kind for c in schema} == {"continuous"}  # not binary: floats of an array
    detector = aekit.AnomalyDetector(aekit.VAE(**SMALL)).fit(train)
    scores = detector.score_samples(np.vstack([held, other]))
    assert np.isfinite(scores).all()
    truth = np.r_[np.zeros(len(held)), np.ones(len(other))]
    assert roc_auc_score(truth, -scores) > 0.9
    # a DataFrame's 0/1 float column is a binary column, as before
    assert infer_schema(pd.DataFrame({"f": [0.0, 1.0, np.nan, 1.0]}))[0].kind == "binary"


@pytest.fixture(scope="module")
def survey():
    rng = np.random.default_rng(0)
    n = 300
    a = rng.normal(size=n)
    return pd.DataFrame(
        {
            "a": a,
            "b": 2 * a + 0.3 * rng.normal(size=n),
            "city": pd.Series(rng.choice(["lund", "oslo"], n), dtype=object),
            "flag": rng.integers(0, 2, n),
        }
    )


@pytest.mark.parametrize("model", [aekit.VAE, aekit.Autoencoder])
def test_values_never_seen_in_fit_are_scored_finite_and_unlikely(survey, model):
    detector = aekit.AnomalyDetector(model(**SMALL)).fit(survey)
    rows = survey.head(3).copy()
    new = rows.copy()
    new.loc[0, "city"] = "paris"  # a new category
    new.loc[1, "flag"] = 2  # a binary column's third value
    scores, before = detector.score_samples(new), detector.score_samples(rows)
    assert np.isfinite(scores).all()
    assert scores[0] < before[0] - 10 and scores[1] < before[1] - 10 and scores[2] == before[2]
    assert (detector.predict(new)[:2] == -1).all()
    cells = detector.feature_scores(new)
    assert cells.loc[0].idxmax() == "city" and cells.loc[1].idxmax() == "flag"
    with pytest.raises(AekitError, match="not seen in fit"):  # a model alone has no answer
        detector.model_.transform(new)


def test_the_imputer_keeps_values_never_seen_in_fit_and_says_so_once(survey):
    holes = survey.copy()
    holes.loc[::7, "b"] = np.nan
    imputer = aekit.Imputer(aekit.Autoencoder(noise="masking", **SMALL), n_models=1).fit(holes)
    new = holes.head(14).copy()
    new.loc[0, "city"], new.loc[7, "city"], new.loc[1, "flag"] = "paris", "rome", 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = imputer.transform(new)
    said = [str(w.message) for w in caught if issubclass(w.category, AekitWarning)]
    assert len(said) == 1 and "'city': ['paris', 'rome']" in said[0] and "'flag': [2]" in said[0]
    assert out.loc[0, "city"] == "paris" and out.loc[1, "flag"] == 2  # kept as given
    assert out["b"].notna().all() and np.isfinite(out["b"]).all()


def test_numbers_far_beyond_what_fit_saw_are_kept_and_read_as_missing(survey, tmp_path):
    """A typo (1e9 where fit saw a few units) is kept in the output and, like an
    unseen level, read as missing for the rest of its row, with a warning; a
    number a few ranges out is still read. The detector scores it as it is."""
    holes = survey.copy()
    holes.loc[::7, "b"] = np.nan
    imputer = aekit.Imputer(aekit.Autoencoder(noise="masking", **SMALL), n_models=1).fit(holes)
    span = survey["a"].max() - survey["a"].min()
    new = survey.head(3).assign(b=np.nan)
    new.loc[:, "a"] = [1e9, survey["a"].max() + 5 * span, np.nan]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = imputer.transform(new)
    said = [str(w.message) for w in caught if issubclass(w.category, AekitWarning)]
    assert len(said) == 1 and "1000 times" in said[0] and "{'a': [1000000000.0]}" in said[0]
    assert out["a"].tolist()[:2] == new["a"].tolist()[:2]  # kept as given
    blank = imputer.transform(new.assign(a=np.nan))  # every row's a missing: no warning
    assert np.isclose(out.loc[0, "b"], blank.loc[0, "b"], rtol=1e-6)  # read as missing
    assert out.loc[1, "b"] > blank.loc[1, "b"] + 1  # read: b follows a (b = 2a + noise)
    aekit.save(imputer, tmp_path / "m")  # the fit's extremes travel in the model file
    with pytest.warns(AekitWarning, match="1000 times"):
        pd.testing.assert_frame_equal(aekit.load(tmp_path / "m").transform(new), out)
    encoder = imputer.model_.encoder_
    state = {k: v for k, v in encoder.state().items() if k not in ("low", "high")}
    older = type(encoder).from_state(state)  # a file written before: nothing called far
    assert older.unseen(new, numbers=True).sum() == 0
    assert encoder.unseen(new, numbers=True).sum() == 1
    detector = aekit.AnomalyDetector(aekit.Autoencoder(**SMALL)).fit(survey)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)  # scored as it is, not as missing
        scores = detector.score_samples(new.assign(b=survey["b"].head(3)))
    assert scores[0] < scores[1] - 1e6 and np.isfinite(scores).all()


CELLS = st.one_of(
    st.floats(-3, 3),
    st.sampled_from([1e300, -1e300, 1e30, np.nan, np.inf, -np.inf]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(st.tuples(CELLS, CELLS), min_size=1, max_size=4),
    levels=st.lists(st.sampled_from(["lund", "oslo", "paris", None]), min_size=4, max_size=4),
    flags=st.lists(st.sampled_from([0, 1, 2, -5, None]), min_size=4, max_size=4),
)
def test_new_rows_outside_the_training_data_never_crash(fitted_pair, values, levels, flags):
    """New categories, out-of-range numbers, NaN everywhere, inf: finite scores and
    complete rows, or aekit's own error; never a traceback from deeper code."""
    detector, imputer = fitted_pair
    n = len(values)
    rows = pd.DataFrame(
        {
            "a": [v[0] for v in values],
            "b": [v[1] for v in values],
            "city": pd.Series(levels[:n], dtype=object),
            "flag": pd.array(flags[:n], dtype="Int64"),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AekitWarning)
        tasks = {
            "score": detector.score_samples,
            "cells": detector.feature_scores,
            "impute": imputer.transform,
        }
        for name, task in tasks.items():
            try:
                out = task(rows)
            except AekitError:
                continue
            if name == "impute":
                assert out.notna().all().all()
                assert np.isfinite(out[["a", "b"]].to_numpy(dtype=float)).all()
            elif name == "score":  # a row with no observed cell has no score: NaN
                empty = rows.isna().all(axis=1).to_numpy()
                assert np.isfinite(out[~empty]).all() and np.isnan(out[empty]).all()
            else:  # a number for each observed cell, NaN for the missing ones
                cells = out.to_numpy(dtype=float)
                assert np.array_equal(np.isfinite(cells), rows.notna().to_numpy())


@pytest.fixture(scope="module")
def fitted_pair(survey):
    data = survey.assign(flag=survey["flag"].astype("Int64"))
    detector = aekit.AnomalyDetector(aekit.VAE(**SMALL), n_importance=10).fit(data)
    holes = data.copy()
    holes.loc[::5, "a"] = np.nan
    model = aekit.Autoencoder(noise="masking", **{**SMALL, "max_epochs": 10})
    return detector, aekit.Imputer(model, n_models=1).fit(holes)


# ---------------------------------------------------------------- files
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_header_with_a_name_twice_is_refused_not_renamed(tmp_path, capsys, suffix):
    path = tmp_path / f"dup{suffix}"
    if suffix == ".csv":
        path.write_text("a,a,b\n1,2,3\n4,,6\n7,8,9\n")
    else:  # pyarrow writes such a file (pandas does not), and read it with its own error
        columns = [pa.array([1.0, 4.0, 7.0]), pa.array([2.0, None, 8.0]), pa.array([3, 6, 9])]
        pq.write_table(pa.Table.from_arrays(columns, names=["a", "a", "b"]), path)
    with pytest.raises(AekitError, match=r"duplicate column names: \['a'\]"):
        read_table(path)
    with pytest.raises(AekitError, match=r"duplicate column names: \['a'\]"):
        TableFile(path)
    out = tmp_path / "out.csv"
    assert main(["impute", str(path), "-o", str(out), "-q"]) == 2
    assert "duplicate column names" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("extra", [[], ["--sep", ";"]])
def test_excels_separator_line_is_named_not_read_as_the_header(tmp_path, capsys, extra):
    """Excel may write 'sep=;' above the header: read as the header, the real one
    became a row of data (two columns) or the lines were refused as uneven."""
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\na;b\n1;2\n;3\n4;\n5;6\n")
    for read in (read_table, TableFile):
        with pytest.raises(AekitError, match="first line 'sep=;' is Excel's hint"):
            read(path)
    out = tmp_path / "out.csv"
    assert main([*extra, "impute", str(path), "-o", str(out), "-q"]) == 2
    assert "'sep=;'" in capsys.readouterr().err and not out.exists()


def test_a_european_csv_is_read_and_written_in_its_dialect(tmp_path):
    path = tmp_path / "eu.csv"
    rows = [f"{i},5;{2 * i},0;{i % 3}" for i in range(1, 41)]
    rows[3] = "4,5;;1"
    path.write_text("a;b;c\n" + "\n".join(rows) + "\n")
    dialect, header = inspect_csv(path)
    assert (dialect.sep, dialect.decimal, header) == (";", ",", ["a", "b", "c"])
    df = read_table(path)
    assert df.shape == (40, 3) and df.loc[0, "a"] == 1.5 and df["b"].isna().sum() == 1
    out = tmp_path / "out.csv"
    assert main(["impute", str(path), "-o", str(out), "--model", "dae", "-q"]) == 0
    lines = out.read_text().splitlines()
    # observed cells as the file wrote them ("2,0"), in its dialect
    assert lines[0] == "a;b;c" and lines[1] == "1,5;2,0;1" and len(lines) == 41
    assert lines[4].split(";")[1] != "" and "," in lines[4].split(";")[1]
    assert read_table(out).notna().all().all()
    streamed = tmp_path / "streamed.csv"  # a file streamed in chunks alike
    aekit.Imputer(n_models=1, random_state=0).fit(TableFile(path, 16)).transform_file(
        TableFile(path, 16), streamed
    )
    assert streamed.read_text().splitlines()[0] == "a;b;c" and read_table(streamed).shape == (40, 3)


def test_huge_numbers_are_summarised_without_overflow_and_imputed_finite(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    df = pd.DataFrame({"x": x, "huge": (x + 0.1 * rng.normal(size=200)) * 1e300})
    df.loc[::6, "huge"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        out = aekit.Imputer(n_models=1, random_state=0).fit_transform(df)
        assert np.isfinite(out["huge"]).all()
        path = tmp_path / "huge.csv"
        df.to_csv(path, index=False)
        streamed = as_table(TableFile(path, 50)).fit_encoder("unit")
        memory = as_table(df).fit_encoder("unit")
    np.testing.assert_allclose(streamed.scale, memory.scale, rtol=1e-9)
    np.testing.assert_allclose(streamed.center, memory.center, rtol=1e-9)
    assert 5e299 < memory.scale[1] < 2e300


def test_whole_number_columns_are_imputed_as_whole_numbers(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    visits = rng.poisson(3, n).astype(float)
    df = pd.DataFrame({"age": rng.normal(50, 10, n), "visits": visits})
    df.loc[::5, "visits"] = np.nan
    out = aekit.Imputer(n_models=1, random_state=0).fit_transform(df)
    assert out["visits"].dtype == np.float64  # the user's dtype, whole numbers in it
    assert (out["visits"] == np.rint(out["visits"])).all()
    path, written = tmp_path / "visits.csv", tmp_path / "out.csv"
    df.astype({"visits": "Int64"}).to_csv(path, index=False)  # "3" and empty cells
    assert main(["impute", str(path), "-o", str(written), "--model", "dae", "-q"]) == 0
    counts = [line.split(",")[1] for line in written.read_text().splitlines()[1:]]
    assert all(c.isdigit() for c in counts)  # "3", not "3.0"


def test_dates_and_times_are_imputed_as_times_in_their_own_format(tmp_path):
    n = 240
    rng = np.random.default_rng(1)
    day = pd.Series(pd.date_range("2021-03-01", periods=n, freq="D").strftime("%Y-%m-%d"))
    df = pd.DataFrame(
        {
            "day": day.astype(object),
            "t": np.arange(n) + rng.normal(size=n),
            "stamp": pd.date_range("2022-01-01", periods=n, freq="h"),
        }
    )
    holes = df.copy()
    holes.loc[::6, "day"], holes.loc[3::6, "stamp"] = None, pd.NaT
    kinds = {c.name: (c.kind, c.time) for c in infer_schema(holes)}
    assert kinds["day"] == ("continuous", "%Y-%m-%d") and kinds["stamp"][1] == "datetime64"
    out = aekit.Imputer(n_models=1, random_state=0).fit_transform(holes)
    assert out["stamp"].dtype == df["stamp"].dtype and out.notna().all().all()
    filled = pd.to_datetime(out.loc[::6, "day"], format="%Y-%m-%d")  # ISO text, as given
    error = (filled - pd.to_datetime(df.loc[::6, "day"])).abs().dt.days
    assert error.median() < 20  # a time near its row's, not some other row's date
    path = tmp_path / "days.csv"
    holes.to_csv(path, index=False)
    streamed = as_table(TableFile(path, 60)).fit_encoder("unit")
    assert [(c.kind, c.time) for c in streamed.schema][:1] == [("continuous", "%Y-%m-%d")]


def test_months_are_times_imputed_as_months_in_memory_and_streamed(tmp_path):
    """ISO months ("2024-03", a billing period, a survey wave) are a column of
    times: imputed near their row's month and written as months; text that
    only looks like one (a season "2019-20", a month 13) stays a category."""
    n = 240
    rng = np.random.default_rng(0)
    t = np.arange(n) + rng.normal(scale=0.5, size=n)
    month = pd.Series(pd.date_range("2001-01-01", periods=n, freq="MS").strftime("%Y-%m"))
    df = pd.DataFrame({"month": month.astype(object), "t": t, "u": t + rng.normal(size=n)})
    holes = df.copy()
    holes.loc[::6, "month"] = None
    assert {c.name: c.time for c in infer_schema(holes)}["month"] == "%Y-%m"
    out = aekit.Imputer(n_models=1, random_state=0).fit_transform(holes)
    assert out["month"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert (out["month"][holes["month"].notna()] == df["month"][holes["month"].notna()]).all()
    gap = (pd.to_datetime(out.loc[::6, "month"]) - pd.to_datetime(df.loc[::6, "month"])).dt.days
    assert gap.abs().median() < 200  # near its row's month, not some other row's
    path = tmp_path / "months.csv"
    holes.to_csv(path, index=False)
    streamed = as_table(TableFile(path, 60)).fit_encoder("unit")
    assert [(c.kind, c.time) for c in streamed.schema][:1] == [("continuous", "%Y-%m")]
    for text in (["2019-20", "2020-21"] * 5, ["2020-13", "2020-01"] * 5):
        kinds = {c.name: c.kind for c in infer_schema(pd.DataFrame({"s": text, "x": range(10)}))}
        assert kinds["s"] == "categorical"


def _stays(seed: int, n: int = 240) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stays in hospital (to the second) and waits (whole days) that follow a
    column "a"; and the table with every fifth of each missing."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    seconds = np.round(np.exp(1 + 0.5 * a + 0.05 * rng.normal(size=n)) * 86400)
    df = pd.DataFrame(
        {
            "a": a,
            "stay": pd.to_timedelta(seconds, unit="s"),
            "wait": pd.to_timedelta(np.round(5 + 3 * a).clip(0), unit="D"),
        }
    )
    holes = df.copy()
    holes.loc[::5, "stay"], holes.loc[2::5, "wait"] = pd.NaT, pd.NaT
    return df, holes


def test_durations_are_imputed_as_durations_in_memory_and_streamed(tmp_path):
    """A stay in hospital as timedelta64: modelled in days, written back as
    durations of its dtype (whole days where every observed one is whole),
    near its row's value rather than the column's mean, from a Parquet file
    streamed in chunks as from memory."""
    df, holes = _stays(seed=0)
    kinds = {c.name: (c.kind, c.time, c.whole) for c in infer_schema(holes)}
    assert kinds["stay"] == ("continuous", "timedelta64", False)
    assert kinds["wait"] == ("continuous", "timedelta64", True)
    out = aekit.Imputer(n_models=1, random_state=0).fit_transform(holes)
    assert (out.dtypes == df.dtypes).all() and out.notna().all().all()
    assert (out.loc[holes["stay"].notna(), "stay"] == holes["stay"].dropna()).all()
    assert (out["wait"] == out["wait"].dt.floor("D")).all()  # whole days stay whole
    error = (out.loc[::5, "stay"] - df.loc[::5, "stay"]).abs().dt.total_seconds()
    spread = (df.loc[::5, "stay"] - df["stay"].mean()).abs().dt.total_seconds()
    assert error.mean() < 0.5 * spread.mean()  # the row's own stay, not the mean's
    copies = aekit.Imputer(n_models=1, random_state=0).multiple_imputations(holes, 2, draws="pmm")
    assert all(c["stay"].isin(holes["stay"].dropna()).all() for c in copies)
    path = tmp_path / "stays.parquet"
    holes.to_parquet(path)
    streamed = as_table(TableFile(path, 60)).fit_encoder("unit")
    assert [(c.kind, c.time) for c in streamed.schema][1:] == [("continuous", "timedelta64")] * 2
    assert (
        main(["impute", str(path), "-o", str(tmp_path / "o.parquet"), "--chunk-rows", "60", "-q"])
        == 0
    )
    written = pd.read_parquet(tmp_path / "o.parquet")
    assert (written.dtypes == df.dtypes).all() and written.notna().all().all()


def test_durations_written_to_csv_by_pandas_are_durations_again(tmp_path):
    """The same stays in a CSV file, as pandas writes durations ("2 days
    17:23:11", "5 days"): read back as durations, not as one category a value,
    imputed near their row's and written in the file's own form, in memory and
    streamed; text that only starts like one stays a category."""
    df, holes = _stays(seed=1)
    path = tmp_path / "stays.csv"
    holes.to_csv(path, index=False)
    text = pd.read_csv(path)
    assert text["stay"].dropna().str.fullmatch(r"\d+ days \d{2}:\d{2}:\d{2}").all()
    kinds = {c.name: (c.kind, c.time) for c in infer_schema(text)}
    assert kinds["stay"] == ("continuous", "%d days %H:%M:%S")
    assert kinds["wait"] == ("continuous", "%d days")
    streamed = as_table(TableFile(path, 60)).fit_encoder("unit")
    assert {c.name: (c.kind, c.time) for c in streamed.schema} == kinds
    out = aekit.Imputer(n_models=1, random_state=0).fit_transform(text)
    assert out["stay"].str.fullmatch(r"\d+ days \d{2}:\d{2}:\d{2}").all()
    assert out["wait"].str.fullmatch(r"\d+ days").all()
    assert (out.loc[text["stay"].notna(), "stay"] == text["stay"].dropna()).all()
    error = (pd.to_timedelta(out.loc[::5, "stay"]) - df.loc[::5, "stay"]).abs()
    spread = (df.loc[::5, "stay"] - df["stay"].mean()).abs()
    assert error.mean() < 0.5 * spread.mean()  # the row's own stay, not the mean's
    argv = ["impute", str(path), "-o", str(tmp_path / "o.csv"), "--chunk-rows", "60", "-q"]
    assert main(argv) == 0
    written = pd.read_csv(tmp_path / "o.csv")
    assert written.notna().all().all() and written["wait"].str.fullmatch(r"-?\d+ days").all()
    # written back, pandas reads them as the durations they are
    assert (pd.to_timedelta(written["stay"]) >= pd.Timedelta(0)).all()
    odd = pd.DataFrame({"s": ["3 days ago", "2 days"] * 5, "x": range(10)})
    assert {c.name: c.kind for c in infer_schema(odd)}["s"] == "categorical"


def test_durations_are_held_out_like_numbers():
    stays = pd.DataFrame({"stay": pd.to_timedelta(np.arange(200.0) * 3607, unit="s")})
    hidden = HeldOutCells(0.5, 0).of(0, stays)  # every value distinct: hidden all the same
    assert 60 < hidden.sum() < 140


def test_periods_are_imputed_as_periods_in_memory_and_streamed(tmp_path):
    """Quarters and months as pandas periods: modelled at each period's start,
    imputed near their row's period and given back as periods of their dtype,
    from memory and from a Parquet file streamed in chunks; numbers where fit
    saw periods are refused, an all-missing column passes."""
    n = 160
    rng = np.random.default_rng(0)
    t = np.arange(n)
    df = pd.DataFrame(
        {
            "q": pd.period_range("1990Q1", periods=n, freq="Q"),
            "m": pd.period_range("2001-01", periods=n, freq="M"),
            "x": t + rng.normal(scale=2, size=n),
        }
    )
    holes = df.copy()
    holes.loc[::5, "q"], holes.loc[2::5, "m"] = pd.NaT, pd.NaT
    assert [(c.kind, c.time) for c in infer_schema(holes)][:2] == [("continuous", "period")] * 2
    imputer = aekit.Imputer(n_models=1, random_state=0).fit(holes)
    out = imputer.transform(holes)
    assert (out.dtypes == df.dtypes).all() and out.notna().all().all()
    assert (out.loc[holes["q"].notna(), "q"] == holes["q"].dropna()).all()
    quarters = [abs((a - b).n) for a, b in zip(out.loc[::5, "q"], df.loc[::5, "q"], strict=True)]
    assert np.median(quarters) <= 2  # its row's quarter, not one of the 40 years'
    path = tmp_path / "periods.parquet"
    holes.to_parquet(path)
    streamed = aekit.Imputer(n_models=1, random_state=0).fit(TableFile(path, 40))
    assert (streamed.transform(holes).dtypes == df.dtypes).all()
    with pytest.raises(AekitError, match="column 'q' holds float64 values where fit saw periods"):
        imputer.transform(holes.assign(q=5.0))
    assert imputer.transform(holes.assign(q=np.nan))["q"].dtype == df["q"].dtype
    hidden = HeldOutCells(0.5, 0).of(0, df[["q"]])  # every period distinct: held out as numbers
    assert 40 < hidden.sum() < 120
    # in a CSV file pandas writes them as text, "1990Q1" and "2001-01": times again
    holes.to_csv(tmp_path / "periods.csv", index=False)
    text = pd.read_csv(tmp_path / "periods.csv")
    assert [c.time for c in infer_schema(text)][:2] == ["%YQ%q", "%Y-%m"]
    streamed = as_table(TableFile(tmp_path / "periods.csv", 40)).fit_encoder("unit")
    assert [c.time for c in streamed.schema][:2] == ["%YQ%q", "%Y-%m"]
    assert main(["impute", str(tmp_path / "periods.csv"), "-o", str(tmp_path / "o.csv"), "-q"]) == 0
    written = pd.read_csv(tmp_path / "o.csv")
    assert written["q"].str.fullmatch(r"\d{4}Q[1-4]").all()
    quarters = pd.PeriodIndex(written.loc[::5, "q"], freq="Q") - df.loc[::5, "q"].array
    assert np.median([abs(g.n) for g in quarters]) <= 2
    odd = pd.DataFrame({"s": ["2024Q5", "2024Q1"] * 5, "x": range(10)})
    assert {c.name: c.kind for c in infer_schema(odd)}["s"] == "categorical"


def test_times_or_durations_of_fit_given_as_numbers_later_are_refused():
    n = 60
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "t": pd.date_range("2020-01-01", periods=n),
            "d": pd.to_timedelta(rng.integers(1, 9, n), unit="D"),
        }
    )
    df.loc[::7, "a"] = np.nan
    model = aekit.Autoencoder(**{**SMALL, "max_epochs": 2})
    imputer = aekit.Imputer(model, n_models=1, random_state=0).fit(df)
    for name, what in (("t", "times"), ("d", "durations")):
        with pytest.raises(AekitError, match=f"column '{name}' holds numbers .* fit saw {what}"):
            imputer.transform(df.assign(**{name: 5.0}))  # nanoseconds, were they read as times
        hidden = imputer.transform(df.assign(**{name: np.nan}))  # all missing: no numbers
        assert hidden[name].dtype == df[name].dtype and hidden[name].notna().all()


def test_a_model_file_declaring_huge_networks_is_refused_before_anything_is_built(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 4))
    path = tmp_path / "model"
    aekit.save(aekit.Autoencoder(latent_dim=2, hidden_dims=(8,), max_epochs=2).fit(X), path)
    config = json.loads((path / "config.json").read_text())
    config["params"]["hidden_dims"] = [10**9]  # 32 GB of weights, were they built
    (path / "config.json").write_text(json.dumps(config))
    code = (
        "import resource, sys, aekit\n"
        "try:\n    aekit.load(sys.argv[1])\n"
        "except aekit.ModelFileError as exc:\n    print(exc)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    message, peak_kib = done.stdout.strip().splitlines()
    assert "the weights do not fit the model described" in message and "1000000000" in message
    assert int(peak_kib) < 3 * 2**20  # under 3 GiB: torch and the file, no network


# ---------------------------------------------------------------- handled well already
def test_inputs_that_already_work_keep_working(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    path = tmp_path / "bom.csv"
    ids = [f"id{i:03d}" for i in range(n)]
    words = list(rng.choice(["red", "blue", "green"], n))
    words[5] = "3"  # a stray number among text levels: still a category
    x = ["NA" if i % 9 == 0 else f"{v:.3f}" for i, v in enumerate(rng.normal(size=n))]
    y = ["" if i % 7 == 0 else f"{v:.3f}" for i, v in enumerate(rng.normal(size=n))]
    lines = ["id,colour,x,y"] + [f"{ids[i]},{words[i]},{x[i]},{y[i]}" for i in range(n)]
    path.write_bytes(("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"))
    df = read_table(path)
    assert list(df.columns) == ["id", "colour", "x", "y"]  # no BOM in the first name
    assert df["x"].isna().sum() == 7 and df["y"].isna().sum() == 9
    with pytest.warns(AekitWarning, match=r"column 'id' of \S*bom\.csv has a value of its own"):
        out = aekit.Imputer(n_models=1, random_state=0).fit_transform(df)
    assert out["id"].tolist() == ids and out["colour"].iloc[5] == "3"
    assert out[["x", "y"]].notna().all().all()
    wide = pd.DataFrame(rng.normal(size=(200, 2000)))
    wide[wide > 2.5] = np.nan
    model = aekit.Autoencoder(noise="masking", latent_dim=4, hidden_dims=(32,), max_epochs=3)
    filled = aekit.Imputer(model, n_models=1, random_state=0).fit_transform(wide)
    assert filled.shape == (200, 2000) and not filled.isna().any().any()


def test_a_text_column_of_mostly_distinct_values_is_named_and_a_category_of_many_rows_is_not():
    """Free text and names repeat a little; a column half of whose cells hold a
    value no other cell holds is named with the identifiers' warning, one of 25
    levels over 100 rows (a county, a storm's name) is not."""
    rng = np.random.default_rng(0)
    names = [f"author {i}" for i in range(30)] + [f"author {i}" for i in range(10)]
    notes = pd.DataFrame({"who": names, "x": rng.normal(size=40)})
    with pytest.warns(
        AekitWarning, match=r"column 'who' holds 30 values in 40 cells, 20 of them once"
    ):
        assert infer_schema(notes)[0].kind == "categorical"
    county = pd.DataFrame({"county": [f"c{i % 25}" for i in range(100)], "x": np.arange(100.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert infer_schema(county)[0].categories == tuple(sorted(set(county["county"])))


# ---------------------------------------------------------------- edges a review found
def test_edges_of_csv_dialects(tmp_path, capsys):
    long = tmp_path / "long.csv"  # a field longer than the csv module's limit
    long.write_text("a,b\n" + "x" * 200_000 + ",1\ny,2\nz,3\n")
    assert read_table(long).shape == (3, 2)
    thousands = tmp_path / "thousands.tsv.csv"  # 1,234 is not 1.234
    thousands.write_text("city\tpopulation\nA\t1,234\nB\t5,678\nC\t9,012\n")
    assert inspect_csv(thousands)[0].decimal == "."
    with pytest.raises(AekitError, match="'population' holds numbers written with thousands"):
        infer_schema(read_table(thousands))
    late = tmp_path / "late.csv"  # decimal commas that start after many whole numbers
    prices = [str(i) for i in range(60)] + [f"{i},57" for i in range(140)]
    late.write_text("id;price\n" + "\n".join(f"{i};{p}" for i, p in enumerate(prices)) + "\n")
    assert read_table(late)["price"].dtype == np.float64
    ragged = tmp_path / "ragged.csv"  # no even split: refused, not read as one column
    ragged.write_text("a;b;c\n1;2;3\n4;5\n6;7;8\n")
    with pytest.raises(AekitError, match="aekit --sep ';' COMMAND"):
        read_table(ragged)
    out = tmp_path / "out.csv"  # the user's dialect on the command line
    assert main(["--sep", ";", "impute", str(ragged), "-o", str(out), "-q"]) == 0
    assert out.read_text().splitlines()[0] == "a;b;c"


def test_dates_that_cannot_be_times_and_dates_streamed_like_memory(tmp_path):
    old = pd.DataFrame({"born": [f"{1500 + 3 * i}-05-01" for i in range(40)], "x": range(40)})
    with pytest.warns(AekitWarning, match="each once"):  # distinct texts: named
        assert infer_schema(old)[0].kind == "categorical"  # before 1680: text, not clamped times
    days = pd.date_range("2020-01-01", periods=200).strftime("%Y-%m-%d").tolist()
    days[150] = "2020-13-45"  # one malformed date, in the second chunk
    df = pd.DataFrame({"d": days, "x": np.arange(200.0)})
    path = tmp_path / "days.csv"
    df.to_csv(path, index=False)
    with pytest.warns(AekitWarning, match="each once"):
        memory = as_table(df).fit_encoder("unit").schema[0]
    with pytest.warns(AekitWarning, match="each once"):
        streamed = as_table(TableFile(path, 100)).fit_encoder("unit").schema[0]
    assert memory.kind == streamed.kind == "categorical"
    df["d"] = pd.date_range("2020-01-01", periods=200).strftime("%Y-%m-%d")
    df.to_csv(path, index=False)
    memory = as_table(df).fit_encoder("unit")
    streamed = as_table(TableFile(path, 70)).fit_encoder("unit")
    assert memory.schema[0].time == streamed.schema[0].time == "%Y-%m-%d"
    assert memory.schema == streamed.schema  # the same encoder, kinds, formats and flags
    np.testing.assert_allclose(memory.center, streamed.center, rtol=1e-12)
    np.testing.assert_allclose(memory.scale, streamed.scale, rtol=1e-12)


def test_a_streamed_imputer_takes_a_chunk_where_a_text_column_is_empty(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    df["y"] = df["x"] + 0.1 * rng.normal(size=300)
    df.loc[200:, "c"] = None  # the last chunk reads c as an empty float column
    path = tmp_path / "c.csv"
    df.to_csv(path, index=False)
    model = aekit.Autoencoder(noise="masking", latent_dim=1, hidden_dims=(8,), max_epochs=3)
    imputer = aekit.Imputer(model, n_models=1, random_state=0).fit(TableFile(path, 100))
    assert imputer.expected_error_.set_index("column").loc["c", "n_cells"] > 0
    out = tmp_path / "out.csv"
    imputer.transform_file(TableFile(path, 100), out)
    assert read_table(out)["c"].isin(["a", "b"]).all()


def test_integer_arrays_keep_binary_columns_and_new_values_are_drawn_around(survey):
    X = np.c_[np.random.default_rng(0).integers(0, 2, (200, 2)), np.arange(200)]
    model = aekit.Autoencoder(noise="masking", latent_dim=1, hidden_dims=(8,), max_epochs=2)
    imputer = aekit.Imputer(model, n_models=1, random_state=0).fit(X)
    assert [c.kind for c in imputer.model_.encoder_.schema] == ["binary", "binary", "continuous"]
    holes = survey.copy()
    holes.loc[::7, "b"] = np.nan
    vae = aekit.Imputer(aekit.VAE(**{**SMALL, "max_epochs": 5}), n_models=1).fit(holes)
    new = holes.head(8).copy()
    new.loc[0, "city"] = "paris"
    with pytest.warns(AekitWarning, match="paris"):
        copies = vae.multiple_imputations(new, m=2)
    assert all(c.loc[0, "city"] == "paris" and c["b"].notna().all() for c in copies)
