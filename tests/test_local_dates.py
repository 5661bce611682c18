"""Dates as spreadsheets and local settings write them ("3/25/2021",
"25.03.2021", "2021/3/25"): times when the column says which of day and month
comes first, in memory and streamed; named text when it does not."""

import warnings

import numpy as np
import pandas as pd
import pytest

import aekit
from aekit import AekitWarning, TableFile
from aekit.data.schema import infer_schema
from aekit.data.table import as_table
from aekit.data.times import from_days, text_format, to_days

N = 240
# a day each, at an hour that moves (a time of day for the styles that write one)
DAYS = pd.date_range("2021-01-01", periods=N, freq="D") + pd.to_timedelta(
    np.arange(N) * 7 % 24, unit="h"
)

# (how a day is written, the format aekit reads it in, the pattern of its text)
STYLES = [
    (lambda t: f"{t.month}/{t.day}/{t.year}", "%-m/%-d/%Y", r"\d{1,2}/\d{1,2}/\d{4}"),
    (lambda t: f"{t.day:02d}/{t.month:02d}/{t.year}", "%d/%m/%Y", r"\d{2}/\d{2}/\d{4}"),
    (lambda t: f"{t.day}.{t.month}.{t.year}", "%-d.%-m.%Y", r"\d{1,2}\.\d{1,2}\.\d{4}"),
    (lambda t: f"{t.month:02d}-{t.day:02d}-{t.year}", "%m-%d-%Y", r"\d{2}-\d{2}-\d{4}"),
    (lambda t: f"{t.year}/{t.month}/{t.day}", "%Y/%-m/%-d", r"\d{4}/\d{1,2}/\d{1,2}"),
    (
        lambda t: f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}",
        "%-m/%-d/%Y %-H:%M",
        r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}",
    ),
    (  # as US open-data portals export them
        lambda t: t.strftime("%m/%d/%Y %I:%M:%S ") + ("AM" if t.hour < 12 else "PM"),
        "%m/%d/%Y %I:%M:%S %p",
        r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} [AP]M",
    ),
    (  # as a US spreadsheet writes them
        lambda t: (
            f"{t.month}/{t.day}/{t.year} {(t.hour + 11) % 12 + 1}:{t.minute:02d} "
            + ("AM" if t.hour < 12 else "PM")
        ),
        "%-m/%-d/%Y %-I:%M %p",
        r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2} [AP]M",
    ),
]


def dated(write, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A column of days written by ``write`` and a number that follows them;
    and the table with every sixth day and every seventh number missing."""
    rng = np.random.default_rng(seed)
    t = np.arange(N, dtype=float)
    df = pd.DataFrame({"day": [write(d) for d in DAYS], "t": t + rng.normal(size=N)})
    df["u"] = df["t"] + rng.normal(size=N)
    holes = df.copy()
    holes.loc[::6, "day"], holes.loc[3::7, "t"] = None, np.nan
    return df, holes


@pytest.mark.parametrize("write, time, pattern", STYLES)
def test_dates_in_local_formats_are_times_imputed_in_their_own_format(
    write, time, pattern, tmp_path
):
    """Every style is read as the same days as ISO text: the same model and the
    same imputations of the other columns to the bit, each missing day written
    back in the column's own style near its row's day, the observed ones as
    given; a file streamed in chunks reads the same encoder."""
    df, holes = dated(write)
    assert {c.name: (c.kind, c.time) for c in infer_schema(holes)}["day"] == ("continuous", time)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)  # no warning: a column of times
        out = aekit.Imputer(n_models=1, random_state=0).fit_transform(holes)
    clock = "%H:%M:%S" if "%S" in time else "%H:%M" if "%M" in time else ""
    iso, _ = dated(lambda t: t.strftime(f"%Y-%m-%d {clock}".strip()))
    iso.loc[::6, "day"], iso.loc[3::7, "t"] = None, np.nan
    reference = aekit.Imputer(n_models=1, random_state=0).fit_transform(iso)
    pd.testing.assert_frame_equal(out[["t", "u"]], reference[["t", "u"]])
    assert out["day"].str.fullmatch(pattern).all()
    seen = holes["day"].notna()
    assert out["day"][seen].tolist() == df["day"][seen].tolist()
    again = to_days(out["day"], time)  # the imputed ones as the column writes them
    np.testing.assert_array_equal(from_days(again, time, object, False), out["day"])
    filled = pd.to_datetime(out["day"][~seen], format=time.replace("%-", "%")).to_numpy()
    gap = (filled - DAYS[~seen.to_numpy()].to_numpy()) / np.timedelta64(1, "D")
    assert np.median(np.abs(gap)) < 20  # near its row's day, not some other row's
    path = tmp_path / "days.csv"
    holes.to_csv(path, index=False)
    memory, streamed = as_table(holes).fit_encoder("unit"), as_table(TableFile(path, 50))
    streamed = streamed.fit_encoder("unit")
    assert memory.schema == streamed.schema
    np.testing.assert_allclose(memory.center, streamed.center, rtol=1e-12)
    np.testing.assert_allclose(memory.scale, streamed.scale, rtol=1e-12)


def test_a_fitted_imputer_saved_and_loaded_writes_the_same_style(tmp_path):
    _, holes = dated(STYLES[0][0])
    imputer = aekit.Imputer(n_models=1, random_state=0).fit(holes)
    aekit.save(imputer, tmp_path / "model")
    again = aekit.load(tmp_path / "model")
    pd.testing.assert_frame_equal(again.transform(holes), imputer.transform(holes))


def test_chunks_that_leave_the_order_open_wait_for_the_chunk_that_says_it(tmp_path):
    """Sorted so that the first chunks hold only the first twelve days of each
    month (and missing cells), a file's later chunk decides the order: the
    streamed encoder is memory's, statistics and missing cells included."""
    _, holes = dated(STYLES[0][0])
    early = pd.Series(DAYS.day <= 12)
    holes = pd.concat([holes[early], holes[~early]], ignore_index=True)
    path = tmp_path / "sorted.csv"
    holes.to_csv(path, index=False)
    memory = as_table(holes).fit_encoder("unit")
    streamed = as_table(TableFile(path, 40)).fit_encoder("unit")
    assert memory.schema[0].time == streamed.schema[0].time == "%-m/%-d/%Y"
    assert memory.schema == streamed.schema
    for part in ("center", "scale", "low", "high"):  # low and high: 0 for missing cells
        np.testing.assert_allclose(getattr(memory, part), getattr(streamed, part), rtol=1e-12)


def test_dates_whose_order_the_column_does_not_say_stay_text_and_are_named(tmp_path):
    """Every day at most the 12th: '3/4/2021' is March or April as its writer
    meant, so the column is not read as times, in memory or streamed; the
    warnings say why and do not claim that an imputer leaves it out (it does
    not: dates are not free text)."""
    early = DAYS[DAYS.day <= 12][:80]
    df = pd.DataFrame({"day": [f"{t.month}/{t.day}/{t.year}" for t in early], "x": range(80)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imputer = aekit.Imputer(n_models=1, random_state=0).fit(df)
    assert imputer.model_.encoder_.schema[0].kind == "categorical"
    said = " | ".join(str(w.message) for w in caught)
    assert "no day after the 12th" in said and "each once (identifiers?)" in said
    assert "leaves such a column out" not in said
    path = tmp_path / "early.csv"
    df.to_csv(path, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        streamed = as_table(TableFile(path, 20)).fit_encoder("unit")
    assert streamed.schema[0].kind == "categorical"
    assert "leaves such a column out" not in " | ".join(str(w.message) for w in caught)


@pytest.mark.parametrize(
    "values",
    [
        ["13/14/2021", "1/2/2021"],  # a day and a month above 12: no order is a date
        ["2/30/2021", "2/13/2021"],  # a day the calendar does not have
        ["1/2/2021", "2021-01-03"],  # two formats
        ["1/2/2021 10:30", "1/13/2021"],  # a time of day in some values only
        ["1/2/2021 10:30 PM", "1/13/2021 10:30"],  # a 12-hour clock in some only
        ["1/2/2021 13:30 PM", "1/13/2021 1:30 PM"],  # no such hour
        ["1/2/21", "1/13/21"],  # a two-digit year
        ["1/2/2021", "1.13.2021"],  # two separators
    ],
)
def test_text_that_is_no_column_of_local_dates_stays_text(values):
    assert text_format(pd.Series(values)) == ""


def test_a_day_or_month_is_written_with_a_leading_zero_as_the_column_writes_it():
    for values, time, written in [
        (["01/02/2021", "12/25/2021"], "%m/%d/%Y", ["01/02/2021", "12/25/2021"]),
        (["1/02/2021", "12/25/2021"], "%-m/%-d/%Y", ["1/2/2021", "12/25/2021"]),
        (["2021/03/05", "2021/12/25"], "%Y/%m/%d", ["2021/03/05", "2021/12/25"]),
    ]:
        s = pd.Series(values)
        assert text_format(s) == time
        assert from_days(to_days(s, time) + 0.3, time, object, True).tolist() == written


@pytest.mark.parametrize("write", [lambda t: t.strftime("%Y-%m-%d"), STYLES[0][0]])
def test_a_file_whose_last_chunk_reads_a_text_column_as_dates_is_imputed(write, tmp_path):
    """Text ("pending", "unknown") in the first chunks, dates only in the last:
    the column is text, but that chunk read it as times and hid some of its
    dates from training, levels no kept cell holds. With a column left out (a
    key), the fit's encoder came from a pass over the hidden cells and the
    held-out cells' monitor stopped on them ("values not seen in fit"); now
    they are not watched, and imputing the file keeps them as given."""
    rng = np.random.default_rng(0)
    n = 400
    when = [["unknown", "pending"][i % 2] for i in range(300)] + [write(t) for t in DAYS[:100]]
    df = pd.DataFrame({"when": when, "key": [f"K{i}" for i in range(n)]})
    df["x"] = rng.normal(size=n)
    df["y"] = df["x"] + 0.1 * rng.normal(size=n)
    df.loc[::9, "x"] = np.nan
    path, out = tmp_path / "late-dates.csv", tmp_path / "out.csv"
    df.to_csv(path, index=False)
    model = aekit.Autoencoder(noise="masking", latent_dim=1, hidden_dims=(8,), max_epochs=3)
    with pytest.warns(AekitWarning, match="left out of the models"):
        imputer = aekit.Imputer(model, n_models=1, random_state=0).fit(TableFile(path, 100))
    kinds = [c.kind for c in imputer.model_.encoder_.schema]
    assert kinds == ["categorical", "continuous", "continuous"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AekitWarning)  # the dates held out: not seen in fit
        imputer.transform_file(TableFile(path, 100), out)
    back = pd.read_csv(out)
    assert back["when"].tolist() == df["when"].tolist() and back["x"].notna().all()


@pytest.mark.parametrize("time", ["%Y-%m-%d %H:%M:%S", "%-m/%-d/%Y %-H:%M:%S"])
def test_date_times_that_are_all_midnights_are_imputed_as_midnights(time, tmp_path):
    """A column of dates written with a time of day that is always 0:00:00 (as
    R and spreadsheets export dates) gets imputed days, not times of day."""
    write = STYLES[0][0] if "%-m" in time else (lambda t: t.strftime("%Y-%m-%d"))
    _, holes = dated(
        lambda t: write(t.normalize()) + (" 0:00:00" if "%-m" in time else " 00:00:00")
    )
    column = {c.name: c for c in infer_schema(holes)}["day"]
    assert (column.time, column.whole) == (time, True)
    out = aekit.Imputer(n_models=1, random_state=0).fit_transform(holes)
    assert out["day"].str.endswith(" 0:00:00").all() or out["day"].str.endswith(" 00:00:00").all()
    path = tmp_path / "midnights.csv"
    holes.to_csv(path, index=False)
    assert as_table(TableFile(path, 50)).fit_encoder("unit").schema[0] == column
