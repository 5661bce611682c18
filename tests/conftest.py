"""Small data built in code, shared by the tests."""

import numpy as np
import pandas as pd
import pytest

from aekit.estimators.presets import PRESETS


@pytest.fixture
def mixed_frame():
    """A 60-row table with every column type aekit handles, and some NaN."""
    rng = np.random.default_rng(0)
    n = 60
    age = rng.normal(50, 10, n)
    df = pd.DataFrame(
        {
            "age": age,
            "visits": pd.array(rng.poisson(3, n), dtype="Int64"),
            "smoker": pd.array(rng.random(n) < 0.3, dtype="boolean"),
            "flag": rng.integers(0, 2, n),
            "blood": pd.Categorical(rng.choice(["A", "B", "AB", "O"], n)),
            "city": rng.choice(["oslo", "lund", "malmo"], n).astype(object),
        },
        index=pd.Index([f"p{i}" for i in range(n)], name="patient"),
    )
    df.loc["p3", "age"] = np.nan
    df.loc["p4", "visits"] = pd.NA
    df.loc["p5", "smoker"] = pd.NA
    df.loc["p6", "blood"] = np.nan
    df.loc["p7", "city"] = np.nan
    return df


@pytest.fixture
def curve():
    """300 points on a curved one-dimensional manifold in 3-D, plus a little noise."""
    rng = np.random.default_rng(0)
    t = rng.uniform(-np.pi, np.pi, 300)
    X = np.column_stack([np.sin(t), np.cos(2 * t), t / np.pi])
    return X + 0.01 * rng.normal(size=X.shape)


@pytest.fixture
def quick_cli(monkeypatch):
    """The command line's models at a few epochs: these tests are about files."""
    monkeypatch.setitem(PRESETS["impute", "dae"][1], "max_epochs", 3)
    monkeypatch.setitem(PRESETS["model", "vae"][1], "max_epochs", 3)


@pytest.fixture
def no_training(monkeypatch):
    """Make training an error: a refusal must come before it."""

    def train(*args, **kwargs):
        raise AssertionError("trained before refusing the input")

    monkeypatch.setattr("aekit.estimators.base.train", train)
