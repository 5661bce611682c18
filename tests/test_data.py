"""Schema inference and the table <-> tensor round trip."""

import numpy as np
import pandas as pd
import pytest

from aekit import AekitError
from aekit.data.schema import as_frame, infer_schema
from aekit.data.tabular import TabularEncoder


def test_schema_kinds(mixed_frame):
    kinds = {c.name: c.kind for c in infer_schema(mixed_frame)}
    assert kinds == {
        "age": "continuous",
        "visits": "continuous",
        "smoker": "binary",
        "flag": "binary",
        "blood": "categorical",
        "city": "categorical",
    }


def test_numpy_schema_and_forced_types():
    X = np.array([[0.0, 1.5, 2.0], [1.0, 2.5, 3.0], [0.0, np.nan, 2.0]])
    df, is_frame = as_frame(X)
    assert not is_frame and list(df.columns) == [0, 1, 2]
    schema = infer_schema(df, {2: "categorical"})
    assert [c.kind for c in schema] == ["binary", "continuous", "categorical"]
    assert schema[2].categories == (2.0, 3.0)


def test_round_trip_keeps_index_columns_dtypes(mixed_frame):
    enc = TabularEncoder.fit(mixed_frame, infer_schema(mixed_frame))
    x, mask = enc.encode(mixed_frame)
    assert x.shape == (60, 1 + 1 + 1 + 1 + 4 + 3) and x.dtype == np.float32
    assert mask.shape == (60, 6)
    assert not mask[3, 0] and not mask[4, 1] and not mask[5, 2] and not mask[6, 4]
    back = enc.decode(x, index=mixed_frame.index)
    assert back.index.equals(mixed_frame.index)
    assert list(back.columns) == list(mixed_frame.columns)
    assert (back.dtypes == mixed_frame.dtypes).all()
    assert back["blood"].cat.categories.equals(mixed_frame["blood"].cat.categories)
    observed = mixed_frame.notna()
    for col in mixed_frame.columns:
        got, want = back[col][observed[col]], mixed_frame[col][observed[col]]
        if col == "age":
            np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), rtol=1e-5)
        else:
            assert (got.astype(object) == want.astype(object)).all(), col


def test_missing_cells_get_the_observed_mean(mixed_frame):
    enc = TabularEncoder.fit(mixed_frame, infer_schema(mixed_frame))
    x, _ = enc.encode(mixed_frame)
    assert x[2, 0] != 0 and x[3, 0] == 0  # standardised age: NaN -> the mean, 0
    blood = slice(4, 8)
    blood_levels = mixed_frame["blood"].cat.categories
    freq = mixed_frame["blood"].value_counts(normalize=True).reindex(blood_levels)
    np.testing.assert_allclose(x[6, blood], freq.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(x[:, blood].sum(1), 1.0, rtol=1e-6)
    assert x[5, 2] == pytest.approx(mixed_frame["smoker"].mean(), rel=1e-6)


def test_constant_column_is_not_nan():
    df = pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": [0.0, 2.0, 4.0]})
    enc = TabularEncoder.fit(df, infer_schema(df))
    x, _ = enc.encode(df)
    assert np.isfinite(x).all() and (x[:, 0] == 0).all()


def test_input_is_not_modified(mixed_frame):
    before = mixed_frame.copy()
    enc = TabularEncoder.fit(mixed_frame, infer_schema(mixed_frame))
    enc.encode(mixed_frame)
    pd.testing.assert_frame_equal(mixed_frame, before)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, np.nan]}),
            "column 'b' is entirely missing",
        ),
        (pd.DataFrame({"a": [1.0, np.inf], "b": [1.0, 2.0]}), "column 'a' contains inf"),
        (pd.DataFrame({"a": [1.0, "x"], "b": [1.0, 2.0]}), "column 'a' mixes types"),
        (
            pd.DataFrame({"a": pd.interval_range(0, 2)}),
            "column 'a' has dtype interval",
        ),
        (pd.DataFrame({"a": []}), "X is empty"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate column names: \\['a'\\]"),
    ],
)
def test_bad_tables_name_the_column(frame, message):
    with pytest.raises(AekitError, match=message):
        infer_schema(as_frame(frame)[0])


def test_unseen_category_and_missing_columns_at_encode(mixed_frame):
    enc = TabularEncoder.fit(mixed_frame, infer_schema(mixed_frame))
    other = mixed_frame.copy()
    other["city"] = other["city"].replace("lund", "paris")
    with pytest.raises(
        AekitError, match="column 'city' of X has values not seen in fit: \\['paris'\\]"
    ):
        enc.encode(other)
    with pytest.raises(AekitError, match="missing columns \\['age'\\]"):
        enc.encode(mixed_frame.drop(columns="age"))
    with pytest.raises(AekitError, match="column 'age' of X is numeric but holds 'old'"):
        enc.encode(
            mixed_frame.assign(
                age=mixed_frame["age"].astype(object).where(mixed_frame.index != "p0", "old")
            )
        )


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        ("a,b\n1,2", TypeError, "X must be a pandas DataFrame or a 2-D array-like; got str"),
        ({"a": [1]}, TypeError, "got dict"),
        (np.ones(3), AekitError, "Expected 2D array, got 1D array"),
        (np.array([["a", "b"]]), ValueError, "X must be numeric when given as an array"),
        (pd.Series([1.0]), AekitError, "got a Series"),
    ],
)
def test_bad_arguments(X, error, message):
    with pytest.raises(error, match=message):
        as_frame(X)
