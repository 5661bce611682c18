"""Files and frames as users have them: what a test from outside found to crash
or lose data, kept as regressions. Every case asserts the house rules: a bad
input gets a clear error naming its column or argument, before any training;
observed cells, the index and the output file are kept whole."""

import decimal
import re
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import aekit
from aekit import AekitError, AekitWarning, TableFile
from aekit.cli import main
from aekit.data.cells import keys_or_text
from aekit.data.files import read_table
from aekit.data.schema import infer_schema
from aekit.data.times import DATETIME, from_days, joint_format, to_days
from aekit.estimators.presets import preset

QUICK = dict(max_epochs=2)


def frame(n=80, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame({"a": np.where(rng.random(n) < 0.2, np.nan, a), "b": 2 * a + 0.3})


def test_the_guard_catches_training(no_training):
    with pytest.raises(AssertionError, match="trained before"):
        aekit.Imputer(preset("dae", **QUICK)).fit(frame())


# ------------------------------------------------------------ missing-value markers
@pytest.mark.parametrize("share", [0.05, 0.3, 0.6])
def test_missing_markers_in_numbers_are_refused_whatever_their_share(share):
    rng = np.random.default_rng(0)
    age = rng.normal(50, 10, 200).round(1).astype(str).astype(object)
    age[rng.random(200) < share] = "?"
    df = pd.DataFrame({"age": age, "y": rng.normal(size=200)})
    with pytest.raises(AekitError, match=r"column 'age' holds numbers but \d+ cell\(s\) of text"):
        aekit.Imputer(preset("dae", **QUICK)).fit(df)
    # the way out on the command line is named too
    with pytest.raises(AekitError, match=r"aekit --na '\?' COMMAND \.\.\. reads them as missing"):
        aekit.Imputer(preset("dae", **QUICK)).fit(df)


def test_a_chunk_of_numbers_and_markers_reads_as_the_whole_column_does(tmp_path):
    """A text column (yes/no) whose later chunk holds only numbers and "?" was
    refused when streamed, for that chunk alone, though the whole file reads as
    categories in memory; a column of numbers and "?" throughout is refused both ways."""
    answers, levels = ["x,answer"], ["x,level"]
    for i in range(100):
        answer = (["yes", "no"][i % 2] if i < 50 else ["5", "?"][i % 2]) if i % 6 else ""
        answers.append(f"{i % 10},{answer}")
        levels.append(f"{i % 10},{'?' if i % 9 == 0 else i % 4}")
    path, bad = tmp_path / "answers.csv", tmp_path / "levels.csv"
    path.write_text("\n".join(answers) + "\n")
    bad.write_text("\n".join(levels) + "\n")
    kept = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(pd.read_csv(path))
    chunked = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(aekit.TableFile(path, 50))
    assert chunked.model_.encoder_.schema == kept.model_.encoder_.schema
    assert chunked.model_.encoder_.schema[1].categories == ("5", "?", "no", "yes")
    for data in (pd.read_csv(bad), aekit.TableFile(bad, 50)):
        with pytest.raises(AekitError, match=r"column 'level'.* holds numbers but \d+ cell"):
            aekit.Imputer(preset("dae", **QUICK)).fit(data)


def test_a_censored_value_in_a_column_of_numbers_is_named():
    """A lab column of numbers with one "<0.5" was read as ~60 categories without
    a word (its imputations other rows' texts): it now warns, naming the cell."""
    rng = np.random.default_rng(0)
    lab = rng.normal(5, 1, 60).round(2).astype(str).astype(object)
    lab[7] = "<0.5"
    df = pd.DataFrame({"lab": lab, "y": rng.normal(size=60)})
    with pytest.warns(AekitWarning, match=r"column 'lab' holds numbers but 1 cell.*'<0\.5'"):
        imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(df)
    assert imputer.model_.encoder_.schema[0].kind == "categorical"  # as documented


def test_a_column_of_identifiers_is_left_out_of_an_imputers_and_a_detectors_models(tmp_path):
    """A key column (a value of its own in every row) teaches a model nothing, had
    its missing cells filled with other rows' keys (duplicates), and made every
    new row an anomaly (a key fit never saw). An imputer and a detector leave it
    out and pass it through as given, in memory, streamed and from a model file;
    a plain model still takes it as categories, with a warning."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    df = pd.DataFrame({"id": [f"ID{i}" for i in range(60)], "x": x, "y": 2 * x})
    df.loc[::10, "id"] = None
    df.loc[3::7, "y"] = np.nan
    said = r"column 'id' of X has a value of its own in half of its observed cells or more"
    said += r" \(keys, names, free text\?\)"
    with pytest.warns(AekitWarning, match=said + ": left out of the models; returned as given"):
        imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(df)
    assert imputer.model_.feature_names_in_.tolist() == ["x", "y"]
    out = imputer.transform(df)
    pd.testing.assert_series_equal(out["id"], df["id"])  # as given: no other row's key
    assert out["y"].notna().all()
    df.to_csv(tmp_path / "keys.csv", index=False)
    with pytest.warns(AekitWarning, match=r"column 'id' of \S*keys\.csv has a value of its own"):
        streamed = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(
            TableFile(tmp_path / "keys.csv", 25)
        )
    assert streamed.model_.feature_names_in_.tolist() == ["x", "y"]
    aekit.save(imputer, tmp_path / "m")
    new = df.assign(id=[f"NEW{i}" for i in range(60)])  # keys fit never saw: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)
        assert aekit.load(tmp_path / "m").transform(new)["id"].tolist() == new["id"].tolist()
    with pytest.warns(AekitWarning, match=said + ": left out of the models; rows are scored"):
        model = aekit.Autoencoder(latent_dim=1, **QUICK)
        detector = aekit.AnomalyDetector(model, random_state=0).fit(df)
    np.testing.assert_array_equal(detector.score_samples(new), detector.score_samples(df))
    with pytest.warns(AekitWarning, match=r"column 'id' holds 54 values, each once"):
        aekit.Autoencoder(**QUICK).fit(df)  # a plain model: categories, named
    repeated = df.assign(id=[f"ID{i % 25}" for i in range(60)])  # a key seen twice: quiet
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)
        imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(repeated)
    assert imputer.model_.feature_names_in_.tolist() == ["id", "x", "y"]


def test_text_that_reads_as_numbers_or_dates_is_never_identifiers():
    """Distinct values that aekit reads as something else are not keys: ISO dates
    are times, thousands and units are refused or named as before."""
    days = pd.date_range("2020-01-01", periods=40).strftime("%Y-%m-%d")
    df = pd.DataFrame({"day": days, "x": np.arange(40.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)
        imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(df)
    assert imputer.model_.encoder_.schema[0].time == "%Y-%m-%d"
    for texts in (
        [f"{1000 + 7 * i:,}" for i in range(40)],  # thousands: refused by the model
        [f"${1000 + 7 * i}" for i in range(40)],  # a unit: named by the model
        [f"{1 + i % 28:02d}/{1 + i // 28:02d}/2021" for i in range(40)],  # other dates
    ):
        assert not keys_or_text(pd.Series(texts).value_counts()), texts[0]
    assert keys_or_text(pd.Series([f"K-{i}" for i in range(40)]).value_counts())
    assert not keys_or_text(pd.Series([f"K-{i}" for i in range(19)]).value_counts())


def test_free_text_is_left_out_of_an_imputers_and_a_detectors_models(tmp_path):
    """Titles, names and comments repeat a little: half of their cells or more a
    value of their own. As categories they filled the other columns worse (README,
    "When things go wrong"), a missing title got another row's and a new title
    made a row unlikely: an imputer and a detector leave such a column out, in
    memory, streamed and from a model file, and pass it through as given. Fewer
    values of their own than half the cells: a category, modelled."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=60)
    titles = [f"On the {i}th thing" for i in range(40)] + [f"Part {i}" for i in range(10)] * 2
    df = pd.DataFrame({"x": x, "title": titles, "y": x + 0.1})
    df.loc[::9, "title"] = None
    df.loc[2::7, "y"] = np.nan
    counts = df["title"].value_counts()
    assert keys_or_text(counts) and (counts > 1).any()  # not identifiers: some repeat
    said = r"column 'title' of \S+ has a value of its own in half of its observed cells or more"
    said += r" \(keys, names, free text\?\): left out of the models; "
    with pytest.warns(AekitWarning, match=said + "returned as given"):
        imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(df)
    assert imputer.model_.feature_names_in_.tolist() == ["x", "y"]
    out = imputer.transform(df)
    pd.testing.assert_series_equal(out["title"], df["title"])  # its missing cells missing
    assert out["y"].notna().all()
    model = aekit.Autoencoder(latent_dim=1, **QUICK)
    with pytest.warns(AekitWarning, match=said + "rows are scored"):
        detector = aekit.AnomalyDetector(model, random_state=0).fit(df)
    assert detector.model_.feature_names_in_.tolist() == ["x", "y"]
    new = df.assign(title=[f"Unseen {i}" for i in range(60)])
    np.testing.assert_array_equal(detector.score_samples(new), detector.score_samples(df))
    aekit.save(detector, tmp_path / "d")  # the model file keeps the column left out
    loaded = aekit.load(tmp_path / "d")
    np.testing.assert_array_equal(loaded.score_samples(new), detector.score_samples(df))
    df.to_csv(tmp_path / "titles.csv", index=False)
    with pytest.warns(AekitWarning, match=said + "returned as given"):
        streamed = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(
            TableFile(tmp_path / "titles.csv", 25)
        )
    assert streamed.model_.feature_names_in_.tolist() == ["x", "y"]
    with pytest.warns(AekitWarning, match=said + "rows are scored"):
        streamed = aekit.AnomalyDetector(model, random_state=0).fit(
            TableFile(tmp_path / "titles.csv", 25)
        )
    assert streamed.model_.feature_names_in_.tolist() == ["x", "y"]
    # 30 values in 60 cells, 10 of them once: a category of many rows, modelled by both
    category = df.assign(
        title=[f"c{i}" for i in range(10)] + [f"c{10 + i % 20}" for i in range(50)]
    )
    assert not keys_or_text(category["title"].value_counts())
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)
        imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(category)
        detector = aekit.AnomalyDetector(model, random_state=0).fit(category)
    assert imputer.model_.feature_names_in_.tolist() == ["x", "title", "y"]
    assert detector.model_.feature_names_in_.tolist() == ["x", "title", "y"]
    only = df[["title"]].assign(note=[f"note {i}" for i in range(60)])
    with pytest.raises(AekitError, match=r"nothing to model: its columns are identifiers, names"):
        aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(only)


def test_markers_alone_are_text_not_numbers():
    df = frame().assign(note=["unknown", "none", "yes"] * 26 + ["none", "yes"])
    imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(df)
    assert imputer.model_.encoder_.schema[2].kind == "categorical"


# ------------------------------------------------------------ cells of odd types
def test_pd_na_in_a_column_of_numbers_is_missing():
    values = pd.Series([pd.NA if i % 5 == 0 else float(i) for i in range(60)], dtype=object)
    df = pd.DataFrame({"o": values, "y": np.arange(60.0)})
    out = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit_transform(df)
    observed = values.notna()
    assert out["o"].notna().all() and (out["o"][observed] == values[observed]).all()


def test_a_decimal_column_stays_decimal_to_its_places(tmp_path, quick_cli):
    price = [None if i % 5 == 0 else decimal.Decimal(f"{i}.25") for i in range(80)]
    df = pd.DataFrame({"price": price, "y": np.arange(80.0)})
    out = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit_transform(df)
    assert all(isinstance(v, decimal.Decimal) for v in out["price"])
    assert {v.as_tuple().exponent for v in out["price"]} == {-2}
    assert out["price"][1] == decimal.Decimal("1.25")
    # a Parquet decimal column is written back as one
    df.to_parquet(tmp_path / "prices.parquet")
    target = tmp_path / "out.parquet"
    assert main(["impute", str(tmp_path / "prices.parquet"), "-o", str(target), "-q"]) == 0
    back = pd.read_parquet(target)["price"]
    assert back.notna().all() and back[1] == decimal.Decimal("1.25")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: frame().assign(tags=[np.array([1, 2])] * 80), "column 'tags' of X holds ndarray"),
        (lambda: frame().assign(tags=[[1, 2]] * 80), "column 'tags' of X holds list"),
        (
            lambda: frame().set_axis([0, "b"], axis=1),
            "column names that are strings and others that are not",
        ),
    ],
)
def test_cells_and_names_aekit_cannot_model_are_refused(make, message, no_training):
    df = make()
    with pytest.raises(AekitError, match=message):
        aekit.Imputer(preset("dae", **QUICK)).fit(df)


# ------------------------------------------------------------ the index of a Parquet file
@pytest.fixture
def with_ids(tmp_path):
    df = frame().set_axis(pd.Index([f"patient{i}" for i in range(80)], name="pid"))
    path = tmp_path / "ids.parquet"
    df.to_parquet(path)
    return path, df


@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "30"]])
def test_a_parquet_files_index_is_kept(with_ids, tmp_path, extra, quick_cli):
    path, df = with_ids
    out = tmp_path / "out.parquet"
    assert main(["impute", str(path), "-o", str(out), "-q", *extra]) == 0
    back = pd.read_parquet(out)
    assert back.index.equals(df.index) and back["a"].notna().all()
    assert back["b"].equals(df["b"])


def test_ids_go_to_csv_and_long_output_as_columns(with_ids, tmp_path, quick_cli):
    path, df = with_ids
    one, long = tmp_path / "one.csv", tmp_path / "long.csv"
    assert main(["impute", str(path), "-o", str(one), "-q"]) == 0
    assert main(["impute", str(path), "-o", str(long), "-q", "--m", "2"]) == 0
    assert pd.read_csv(one)["pid"].tolist() == df.index.tolist()
    copies = pd.read_csv(long)
    assert list(copies.columns) == [".imp", ".id", "pid", "a", "b"]
    assert copies["pid"].tolist() == df.index.tolist() * 2


def test_scores_carry_the_rows_ids(with_ids, tmp_path, quick_cli):
    path, df = with_ids
    model, scores = tmp_path / "model", tmp_path / "scores.parquet"
    assert main(["fit", str(path), "-o", str(model), "-q"]) == 0
    assert main(["score", str(model), str(path), "-o", str(scores), "-q"]) == 0
    assert pd.read_parquet(scores).index.equals(df.index)


# ------------------------------------------------------------ integers beyond floats
@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "10"]])
def test_large_integers_with_holes_are_written_back_exactly(tmp_path, extra, quick_cli):
    ids = [9007199254740993 + 2 * i for i in range(40)]  # beyond 2**53: floats round them
    lines = ["id,x"] + [f"{v},{i % 7}.5" for i, v in enumerate(ids)]
    lines[3] = f"{ids[2]},"  # a hole in x
    lines[5] = ",2.5"  # a hole in id
    path, out = tmp_path / "ids.csv", tmp_path / "out.csv"
    path.write_text("\n".join(lines) + "\n")
    assert main(["impute", str(path), "-o", str(out), "-q", *extra]) == 0
    written = out.read_text().splitlines()
    for i in (0, 1, 2, 5, 39):
        assert written[i + 1].split(",")[0] == str(ids[i])
    assert "," in written[5] and written[5].split(",")[0] != ""


def test_integers_beyond_64_bits_with_holes_are_written_back_exactly(tmp_path, quick_cli):
    path, out = tmp_path / "huge.csv", tmp_path / "out.csv"
    rows = [f"{10**20 + 7 * i},{i % 5}" for i in range(30)]
    rows[4] = ",3"
    path.write_text("id,x\n" + "\n".join(rows) + "\n")
    assert main(["impute", str(path), "-o", str(out), "-q"]) == 0
    written = [line.split(",")[0] for line in out.read_text().splitlines()[1:]]
    assert written[:4] == [str(10**20 + 7 * i) for i in range(4)] and written[4] != ""


# ------------------------------------------------------------ the command line refuses early
def test_multiple_imputation_refuses_a_column_named_like_its_own(tmp_path, no_training):
    frame().assign(**{".id": range(80)}).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "long.csv"
    assert main(["impute", str(tmp_path / "in.csv"), "-o", str(out), "--m", "2", "-q"]) == 2
    assert not out.exists()


@pytest.mark.parametrize("kind", ["a file", "a folder of other files"])
def test_a_bad_model_directory_is_refused_before_anything_is_written(tmp_path, kind, no_training):
    frame().to_csv(tmp_path / "in.csv", index=False)
    model = tmp_path / "model"
    if kind == "a file":
        model.write_text("x")
    else:
        model.mkdir()
        (model / "notes.txt").write_text("x")
    out = tmp_path / "out.csv"
    args = ["impute", str(tmp_path / "in.csv"), "-o", str(out), "-q", "--save-model", str(model)]
    assert main(args) == 2
    assert not out.exists()
    assert main(["fit", str(tmp_path / "in.csv"), "-o", str(model), "-q", "--force"]) == 2


def test_an_output_that_is_a_folder_is_refused_before_training(tmp_path, no_training, capsys):
    frame().to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "out.csv").mkdir()
    args = ["impute", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), "--force"]
    assert main(args) == 2
    assert "is a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data.csv.gz", b"\x1f\x8b\x08\x00", "a compressed table"),
        ("header.csv", b"a,b\n", "holds no rows"),
    ],
)
def test_unreadable_tables_say_why(tmp_path, name, content, message, capsys):
    (tmp_path / name).write_bytes(content)
    assert main(["impute", str(tmp_path / name), "-o", str(tmp_path / "o.csv")]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("header", "rows", "expected"),
    [
        (
            "a,b,",
            ["1,2.5,", "2,,", "3,3.5,"],
            r"column 3( of \S+)? has no name in its header and no",
        ),
        ("a,b,,", ["1,2.5,,", "2,,,", "3,3.5,,"], r"columns \[3, 4\] of 4 have no name in its"),
    ],
)
def test_separators_at_the_ends_of_lines_are_named_as_such(
    tmp_path, header, rows, expected, no_training, capsys
):
    """Spreadsheets export CSV lines that end with separators: empty columns without
    names (pandas calls them 'Unnamed: k'; two of them clash). A model refuses
    one (an imputer passes it through: below)."""
    path = tmp_path / "in.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    expected += r".*do the lines end with a separator"
    with pytest.raises(AekitError, match=expected):
        aekit.Autoencoder().fit(read_table(path))
    with pytest.raises(AekitError, match=expected):
        aekit.Autoencoder().fit(aekit.TableFile(path, 2))
    if expected.startswith("column "):  # one: the detector of aekit fit leaves it out
        return
    for extra in ([], ["--chunk-rows", "2"]):
        fit = ["fit", str(path), "-o", str(tmp_path / "model"), "--contamination", "0.1"]
        assert main([*fit, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and re.search(expected, err[0]), err
        assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("chunk_rows", [None, 7])
def test_an_empty_column_is_written_back_empty_in_place(tmp_path, quick_cli, chunk_rows, capsys):
    """An empty column, named or left without a name by separators at the ends of
    the lines, comes back as it was, in memory or streamed; the count of imputed
    cells leaves its cells out."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3)).round(2)
    x[rng.random(x.shape) < 0.2] = np.nan
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(remarks=np.nan)
    lines = frame.to_csv(index=False).splitlines()
    lines[1:] = [line + "NA" for line in lines[1:]]  # its cells written NA: kept so
    path, out = tmp_path / "in.csv", tmp_path / "out.csv"
    path.write_text("\n".join(line + "," for line in lines) + "\n")
    args = ["impute", str(path), "-o", str(out)]
    assert main(args + ([] if chunk_rows is None else ["--chunk-rows", str(chunk_rows)])) == 0
    err = capsys.readouterr().err
    where = str(path)  # the file by name, in memory or streamed
    assert f"columns 'remarks', 5 (no name in its header) of {where} have no observed" in err
    assert err.count("no observed value") == 1
    assert f"Imputed {int(np.isnan(x).sum())} missing cells" in err
    written = out.read_text().splitlines()
    assert written[0] == "a,b,c,remarks," and all(w.endswith(",NA,") for w in written[1:])
    back = pd.read_csv(out)
    assert back[["a", "b", "c"]].notna().all().all() and back.iloc[:, 3:].isna().all().all()
    seen = ~np.isnan(x)
    np.testing.assert_array_equal(back[["a", "b", "c"]].to_numpy()[seen], x[seen])


@pytest.mark.parametrize(
    "write",
    [
        lambda df, path: df.to_csv(path),  # pandas' index: 0, 1, 2, ...
        # R's write.csv: row names "1", "2", ... under an empty quoted name
        lambda df, path: df.set_axis(range(1, len(df) + 1)).to_csv(path, quoting=1),
    ],
    ids=["pandas index", "R row names"],
)
def test_row_numbers_written_as_a_first_column_without_a_name_are_named_in_a_warning(
    tmp_path, write, capsys, quick_cli
):
    path = tmp_path / "in.csv"
    df = frame().assign(n=pd.array([1, 2, 3, 4] * 20, dtype="Int64"))
    df.loc[60, "n"] = pd.NA  # a hole in a later chunk: the streamed file is read again
    write(df, path)
    expected = r"first column has no name in the header and numbers the rows"
    with pytest.warns(AekitWarning, match=expected):
        assert read_table(path).shape == (80, 4)  # the column is kept, as the file holds it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        aekit.TableFile(path, 7).settled()
    assert [re.search(expected, str(w.message)) is not None for w in caught] == [True]
    for extra in ([], ["--chunk-rows", "7"]):
        out = tmp_path / f"out{len(extra)}.csv"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AekitWarning)  # the CLI shows its own
            assert main(["impute", str(path), "-o", str(out), "-q", *extra]) == 0
        err = capsys.readouterr().err
        assert len(re.findall(expected, err)) == 1
        assert "'Unnamed: 0' of X" not in err  # fit leaves it to the file's warning
        assert pd.read_csv(out).iloc[:, 0].tolist() == pd.read_csv(path).iloc[:, 0].tolist()


@pytest.mark.parametrize(
    "fit",
    [
        lambda X: aekit.Imputer(aekit.Autoencoder(max_epochs=2, latent_dim=1), n_models=2).fit(X),
        lambda X: aekit.AnomalyDetector(aekit.VAE(max_epochs=2, latent_dim=1)).fit(X),
        lambda X: aekit.Autoencoder(max_epochs=2, latent_dim=1).fit(X),
    ],
    ids=["Imputer", "AnomalyDetector", "Autoencoder"],
)
def test_a_frame_read_back_with_its_index_as_a_column_is_named_once_a_fit(tmp_path, fit):
    path = tmp_path / "in.csv"
    frame().to_csv(path)  # with the index, which read_csv reads as a column
    read = pd.read_csv(path)
    assert read.columns[0] == "Unnamed: 0"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(read)
    said = [str(w.message) for w in caught if "Unnamed: 0" in str(w.message)]
    assert len(said) == 1 and "numbers the rows 0, 1, 2" in said[0] and "index_col=0" in said[0]
    with warnings.catch_warnings():  # read with index_col=0, or another first column
        warnings.simplefilter("error", AekitWarning)
        fit(pd.read_csv(path, index_col=0))
        fit(read.assign(**{"Unnamed: 0": read["Unnamed: 0"] * 3 + 7}))


@pytest.mark.parametrize(
    "first", [np.arange(80) * 2 + 100, [False, True] * 40], ids=["identifiers", "flags"]
)
def test_a_first_column_without_a_name_that_is_not_row_numbers_draws_no_warning(tmp_path, first):
    frame().set_axis(first).to_csv(tmp_path / "in.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)
        assert read_table(tmp_path / "in.csv").shape == (80, 3)
        aekit.TableFile(tmp_path / "in.csv", 7).settled()


def test_rows_longer_than_a_header_without_a_first_name_are_refused_as_such(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(",a,b\nx,1,2,3\ny,4,5,6\nz,7,8,9\n")
    with pytest.raises(AekitError, match="rows have more fields than its header has names"):
        read_table(path)


def test_encode_names_the_codes_of_a_model_that_chose_its_size(tmp_path, quick_cli):
    frame().dropna().to_csv(tmp_path / "in.csv", index=False)
    model, codes = tmp_path / "model", tmp_path / "codes.csv"
    assert main(["fit", str(tmp_path / "in.csv"), "-o", str(model), "-q"]) == 0
    assert main(["encode", str(model), str(tmp_path / "in.csv"), "-o", str(codes)]) == 0
    vae = aekit.load(model).model_  # aekit fit saves a detector around its VAE
    assert list(pd.read_csv(codes).columns) == [f"latent{i}" for i in range(vae.latent_dim_)]
    assert vae.get_feature_names_out().tolist() == list(pd.read_csv(codes).columns)


# ------------------------------------------------------------ rows with no observed cell
def test_an_empty_row_neither_blocks_the_detector_nor_depends_on_the_seed():
    df = pd.DataFrame(np.random.default_rng(0).normal(size=(150, 3)), columns=list("xyz"))
    df.iloc[3] = np.nan
    model = aekit.VAE(latent_dim=1, hidden_dims=(8,), max_epochs=2, validation_fraction=0.0)
    for seed in range(6):  # the empty row falls among the threshold's rows for some seeds
        aekit.AnomalyDetector(model, random_state=seed).fit(df)
    detector = aekit.AnomalyDetector(model, contamination=0.1, random_state=0).fit(df)
    with pytest.warns(AekitWarning, match=r"1 row\(s\) of X have no observed cell \(index \[3\]\)"):
        scores = detector.score_samples(df)
    assert np.isnan(scores[3]) and np.isfinite(np.delete(scores, 3)).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AekitWarning)
        assert detector.predict(df)[3] == 1
    with pytest.raises(AekitError, match="every row of X has no observed cell"):
        detector.score_samples(df.iloc[[3]])


def test_a_detector_scores_rows_by_their_columns_that_hold_values(tmp_path):
    """A column without one value (Ecdat's Bwages holds one) is left out of the
    detector's model with a warning: the scores are those of the table without it,
    its feature scores NaN, and a model file keeps it."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(150, 3)), columns=list("xyz"))
    df[["x", "y"]] = df[["x", "y"]].mask(rng.random((150, 2)) < 0.1)
    with_empty = df.assign(sex=pd.Series([None] * 150, dtype=object))[["x", "sex", "y", "z"]]
    model = aekit.VAE(latent_dim=1, hidden_dims=(8,), max_epochs=3, validation_fraction=0.0)
    with pytest.warns(AekitWarning, match="column 'sex' of X has no observed value"):
        detector = aekit.AnomalyDetector(model, random_state=0).fit(with_empty)
    alone = aekit.AnomalyDetector(model, random_state=0).fit(df)
    scores = detector.score_samples(with_empty)
    np.testing.assert_array_equal(scores, alone.score_samples(df))
    assert detector.offset_ == alone.offset_ and list(detector.feature_names_in_) == [
        "x",
        "sex",
        "y",
        "z",
    ]
    cells = detector.feature_scores(with_empty)
    assert list(cells.columns) == ["x", "sex", "y", "z"] and cells["sex"].isna().all()
    pd.testing.assert_frame_equal(cells.drop(columns="sex"), alone.feature_scores(df))
    aekit.save(detector, tmp_path / "d")
    np.testing.assert_array_equal(aekit.load(tmp_path / "d").score_samples(with_empty), scores)
    with pytest.raises(AekitError, match="X has 3 columns; fit saw 4"):
        detector.score_samples(df)
    with pytest.warns(
        AekitWarning, match=r"'sex' of X had no observed value in fit: .* not scored"
    ):
        detector.score_samples(with_empty.assign(sex=["M"] * 150))
    with pytest.raises(AekitError, match="resume"):  # a failed refit changes nothing
        detector.fit(df, resume=True)
    np.testing.assert_array_equal(detector.score_samples(with_empty), scores)
    # drawn rows have the table's columns, the empty one missing (an array's: numbered)
    with pytest.warns(AekitWarning, match="column 1 of X has no observed value"):
        numbered = aekit.AnomalyDetector(model, random_state=0).fit(
            with_empty.astype(float).to_numpy()
        )
    aekit.save(numbered, tmp_path / "n")
    for saved, names in (("d", ["x", "sex", "y", "z"]), ("n", ["0", "1", "2", "3"])):
        out = tmp_path / f"drawn-{saved}.csv"
        assert main(["sample", str(tmp_path / saved), "-n", "7", "-o", str(out), "-q"]) == 0
        drawn = pd.read_csv(out)
        assert list(drawn.columns) == names and drawn.shape == (7, 4)
        assert drawn.iloc[:, 1].isna().all() and drawn.drop(columns=names[1]).notna().all().all()


def test_the_command_line_models_a_file_with_an_empty_column(tmp_path, quick_cli, capsys):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(80, 2)), columns=list("ab")).assign(notes=np.nan)
    df["more"] = np.nan
    path, model = tmp_path / "in.csv", tmp_path / "m"
    df.to_csv(path, index=False)
    for extra in (
        [],
        ["--chunk-rows", "20"],
        ["--model", "ae"],
        ["--model", "ae", "--chunk-rows", "20"],
    ):
        assert main(["fit", str(path), "-o", str(model), "--force", "-q", *extra]) == 0, extra
        assert f"columns 'notes', 'more' of {path} have no observed" in capsys.readouterr().err
        if "ae" in extra:  # half the columns the model gets (2), not of the file's 4
            assert aekit.load(model).model_.latent_dim == 1
    for command in ("score", "encode"):
        out = tmp_path / f"{command}.csv"
        assert main([command, str(model), str(path), "-o", str(out), "-q"]) == 0
        assert len(pd.read_csv(out)) == 80
    assert main(["report", str(model), str(path), "-o", str(tmp_path / "r.html"), "-q"]) == 0
    later = tmp_path / "later.csv"  # values in a column empty in fit, and a row without any
    df.assign(notes=1.0).mask(df.index.to_series() == 4, axis=0).to_csv(later, index=False)
    capsys.readouterr()
    assert main(["score", str(model), str(later), "-o", str(tmp_path / "s.csv"), "-q"]) == 0
    err = capsys.readouterr().err
    assert f"'notes' of {later} had no observed value in fit" in err
    assert f"1 row(s) of {later} have no observed cell (index [4])" in err


def test_a_chunk_that_does_not_fit_the_parquet_types_of_the_first_is_a_clear_error(tmp_path):
    """A column empty in fit is written as given: text that comes only in a later
    chunk cannot join the first chunk's Parquet column of numbers."""
    df = pd.DataFrame({"a": np.arange(60.0), "b": np.arange(60.0) ** 0.5, "e": np.nan})
    df.loc[::5, "b"] = np.nan
    model = aekit.Autoencoder(noise="masking", hidden_dims=(8,), latent_dim=1, max_epochs=2)
    with pytest.warns(AekitWarning, match="'e' of X has no observed"):
        imputer = aekit.Imputer(model, random_state=0).fit(df)
    later = df.astype({"e": object})
    later.loc[50:, "e"] = "txt"
    later.to_csv(tmp_path / "y.csv", index=False)
    with (
        pytest.warns(AekitWarning, match=r"'e' of \S*y\.csv had no observed value in fit"),
        pytest.raises(AekitError, match=r"o\.parquet: a chunk does not fit the Parquet types"),
    ):
        imputer.transform_file(aekit.TableFile(tmp_path / "y.csv", 25), tmp_path / "o.parquet")
    assert not (tmp_path / "o.parquet").exists()


def test_a_file_imputed_in_chunks_warns_once_for_the_file_not_once_a_chunk(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"]).assign(e=np.nan)
    df.loc[::4, "a"] = np.nan
    model = aekit.Autoencoder(noise="masking", hidden_dims=(8,), latent_dim=1, max_epochs=2)
    with pytest.warns(AekitWarning, match="'e' of X has no observed"):
        imputer = aekit.Imputer(model, random_state=0).fit(df)
    later = df.assign(e=1.0)  # values in every chunk
    later.loc[[7, 33, 52], :] = np.nan  # rows without an observed cell in three chunks
    later.to_csv(tmp_path / "new.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filled = imputer.transform_file(
            aekit.TableFile(tmp_path / "new.csv", 10), tmp_path / "out.csv"
        )
    said = [str(w.message) for w in caught if issubclass(w.category, AekitWarning)]
    assert len(said) == 2, said
    assert "'e' of" in said[0] and "new.csv had no observed value in fit" in said[0]
    assert said[1].startswith("3 row(s) of") and "new.csv" in said[1] and "[7, 33, 52]" in said[1]
    out = pd.read_csv(tmp_path / "out.csv")
    assert filled == int(later.drop(columns="e").isna().sum().sum())
    assert out.drop(columns="e").notna().all().all() and out["e"].equals(later["e"])
    with (
        pytest.warns(AekitWarning, match=r"3 row\(s\) of X have no observed cell"),
        pytest.warns(AekitWarning, match="'e' of X had no observed value in fit"),
    ):
        in_memory = imputer.transform(later)
    pd.testing.assert_frame_equal(in_memory, out, check_dtype=False)


def test_values_fit_never_saw_in_several_chunks_are_named_once_for_the_file(tmp_path):
    """New levels and a far-out number in three chunks of ten rows: one warning at
    the end names them all (the first five of a column over the file), and every
    one of them is written as given."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
    df["town"] = rng.choice(["lund", "oslo"], 60)
    df.loc[::4, "a"] = np.nan
    model = aekit.Autoencoder(noise="masking", hidden_dims=(8,), latent_dim=1, max_epochs=2)
    imputer = aekit.Imputer(model, random_state=0).fit(df)
    later = df.copy()
    towns = ["rome", "kyiv", "rome", "pisa", "bern", "riga", "graz"]
    later.loc[[1, 12, 14, 25, 26, 27, 28], "town"] = towns  # chunks 0, 1 and 2
    later.loc[35, "b"] = 1e9
    later.to_csv(tmp_path / "new.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imputer.transform_file(aekit.TableFile(tmp_path / "new.csv", 10), tmp_path / "out.csv")
    said = [str(w.message) for w in caught if issubclass(w.category, AekitWarning)]
    assert len(said) == 1, said
    assert "new.csv holds values not seen in fit" in said[0]
    assert "'town': ['rome', 'kyiv', 'pisa', 'bern', 'riga']" in said[0], said[0]
    assert "'b': [1000000000.0]" in said[0]
    out = pd.read_csv(tmp_path / "out.csv")
    assert out.loc[[1, 12, 14, 25, 26, 27, 28], "town"].tolist() == towns
    assert out.loc[35, "b"] == 1e9 and out["a"].notna().all()


# ------------------------------------------------------------ columns that repeat others
def test_a_column_that_is_a_linear_function_of_another_is_modelled():
    rng = np.random.default_rng(0)
    height = rng.normal(170, 10, 120)
    df = pd.DataFrame({"cm": height, "inches": height / 2.54, "kg": rng.normal(70, 8, 120)})
    vae = aekit.VAE(max_epochs=3, random_state=0).fit(df)  # the size chosen on held-out rows
    assert vae.latent_dim_ >= 1 and np.isfinite(vae.score_samples(df)).all()
    detector = aekit.AnomalyDetector(random_state=0).fit(df)
    odd = df.iloc[:1].assign(inches=df["cm"].iloc[0])  # the two columns disagree
    assert detector.score_samples(odd)[0] < np.percentile(detector.score_samples(df), 1)


# ------------------------------------------------------------ CSV cells as written
@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "25"]])
def test_csv_to_csv_writes_observed_cells_and_header_as_the_input_did(tmp_path, extra, quick_cli):
    rng = np.random.default_rng(0)
    lines = ["zip,flag,,note,y"]
    for i in range(60):
        zip_code = "" if i % 7 == 3 else f"0{1000 + i}"  # leading zeros
        flag = "" if i % 5 == 2 else ("TRUE" if rng.random() < 0.5 else "FALSE")
        y = "" if i % 6 == 1 else f"{rng.normal():.2f}0"  # a trailing zero
        lines.append(f'{zip_code},{flag},{i}.10,"{"ac"[i % 2]}, b",{y}')
    path, out = tmp_path / "in.csv", tmp_path / "out.csv"
    path.write_text("\n".join(lines) + "\n")
    assert main(["impute", str(path), "-o", str(out), "-q", *extra]) == 0
    before = pd.read_csv(path, dtype=str, keep_default_na=False)
    after = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert out.read_text().splitlines()[0] == lines[0]  # the empty name stays empty
    observed = (before != "").to_numpy()
    assert (after.to_numpy()[observed] == before.to_numpy()[observed]).all()
    assert (after != "").all().all()
    assert set(after["flag"]) == {"TRUE", "FALSE"}  # imputed in the file's spelling


# ------------------------------------------------------------ a second round from outside
def test_a_detector_knows_every_level_of_the_table_it_was_fitted_on(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"c": [f"cat{i}" for i in rng.integers(0, 50, 60)], "x": rng.normal(size=60)})
    model = aekit.VAE(max_epochs=2)
    detector = aekit.AnomalyDetector(model, random_state=0).fit(df)  # 20% set the threshold
    assert detector.model_.transform(df).shape[0] == 60  # no level unseen in fit
    df.to_csv(tmp_path / "levels.csv", index=False)
    streamed = aekit.AnomalyDetector(model, random_state=0).fit(
        aekit.TableFile(tmp_path / "levels.csv", 20)
    )
    assert streamed.model_.transform(df).shape[0] == 60


def test_imputation_metrics_match_cells_by_column_and_row():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(50, 2)), columns=["x", "y"], index=range(100, 150))
    everywhere = np.ones((50, 2), dtype=bool)
    assert aekit.metrics.nrmse(X, X[["y", "x"]].iloc[::-1], everywhere) == 0.0
    with pytest.raises(AekitError, match="same columns and index"):
        aekit.metrics.nrmse(X, X.rename(columns={"x": "z"}), everywhere)
    holed = X.copy()
    holed.loc[100, "x"] = np.nan
    with pytest.raises(AekitError, match=r"1 missing cell\(s\) among those the mask scores"):
        aekit.metrics.nrmse(X, holed, everywhere)


def test_a_model_saved_for_cuda_names_the_way_out_on_a_machine_without_it(tmp_path):
    if torch_has_cuda():
        pytest.skip("this machine has CUDA")
    vae = aekit.VAE(max_epochs=2, random_state=0).fit(frame().dropna())
    aekit.save(vae, tmp_path / "m")
    config = tmp_path / "m" / "config.json"
    config.write_text(config.read_text().replace('"device": "auto"', '"device": "cuda"'))
    with pytest.raises(AekitError, match=r"device='cpu'"):
        aekit.load(tmp_path / "m")
    assert aekit.load(tmp_path / "m", device="cpu").transform(frame().dropna()).shape[1] >= 1


def torch_has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_the_imputer_takes_part_in_pandas_pipelines():
    from sklearn.compose import ColumnTransformer

    df = frame().assign(c=np.arange(80.0))
    imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0)
    both = ColumnTransformer([("i", imputer, ["a", "b"])], remainder="passthrough")
    out = both.set_output(transform="pandas").fit_transform(df)
    assert list(out.columns) == ["i__a", "i__b", "remainder__c"] and out.notna().all().all()
    fitted = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(df.to_numpy())
    assert fitted.get_feature_names_out().tolist() == ["x0", "x1", "x2"]


def test_an_object_column_of_integers_is_imputed_with_integers():
    values = pd.Series([i if i % 5 else None for i in range(60)], dtype=object)
    out = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit_transform(
        pd.DataFrame({"o": values, "y": np.arange(60.0)})
    )
    assert out["o"].dtype == object and all(type(v) is int for v in out["o"])


def test_small_chunks_are_named_when_they_leave_no_threshold(tmp_path):
    frame().dropna().to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(AekitError, match=r"chunks of 1 row\(s\).*--chunk-rows"):
        aekit.AnomalyDetector(aekit.VAE(max_epochs=2)).fit(aekit.TableFile(tmp_path / "t.csv", 1))


def test_ssim_says_what_images_too_small_need():
    with pytest.raises(AekitError, match="at least 3 x 3 pixels"):
        aekit.metrics.ssim(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), data_range=1.0)


def test_a_folder_of_png_files_is_imputed_under_its_own_names(tmp_path, quick_cli):
    from aekit.data.images import load_images, save_png_folder

    rng = np.random.default_rng(0)
    images = rng.random((12, 6, 6)).round(2)
    images[rng.random(images.shape) < 0.2] = np.nan
    names = [f"scan_{i}.png" for i in (1, 2, 10, 3, 4, 5, 6, 7, 8, 9, 11, 12)]
    save_png_folder(images, tmp_path / "scans", names=names)
    out = tmp_path / "filled"
    assert main(["impute", str(tmp_path / "scans"), "-o", str(out), "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    # both folders read in name order: each output image is its input's, completed
    before, after = load_images(tmp_path / "scans", missing=True), load_images(out)
    observed = ~np.isnan(before)
    assert np.isfinite(after).all() and np.allclose(after[observed], before[observed])


def test_mar_is_driven_by_a_column_that_varies():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"empty": np.nan, "b": rng.normal(size=300), "c": rng.normal(size=300)}
    ).assign(flag=rng.random(300) < 0.5)
    for seed in range(4):  # whichever order the columns are drawn in
        out = aekit.ampute(df, "mar", 0.3, random_state=seed)
        driver = out[["b", "c"]].notna().all()
        assert driver.sum() == 1  # one always observed...
        holes = out[driver.index[~driver][0]].isna()
        values = df[driver.index[driver][0]]
        # ...and the other's holes depend on it: MAR, not completely at random
        assert abs(values[holes].mean() - values[~holes].mean()) > 0.3
        assert out["flag"].dtype == "boolean"
    with pytest.raises(AekitError, match="whose observed values vary"):
        aekit.ampute(df.assign(b=1.0, c=np.nan), "mar", 0.3, random_state=0)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda enc: enc["scale"].__setitem__(0, 0.0), "scales finite and > 0"),
        (lambda enc: enc["scale"].__setitem__(0, float("nan")), "scales finite and > 0"),
        (lambda enc: enc["columns"][0].__setitem__("dtype", "os.system"), "unknown dtype"),
    ],
)
def test_a_model_file_with_edited_statistics_is_refused(tmp_path, edit, message):
    import json

    vae = aekit.VAE(max_epochs=2, random_state=0).fit(frame().dropna())
    aekit.save(vae, tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    config = json.loads(path.read_text())
    edit(config["state"]["encoder"])
    path.write_text(json.dumps(config))
    with pytest.raises(aekit.ModelFileError, match=message):
        aekit.load(tmp_path / "m")


def test_a_folder_of_16_bit_png_files_is_written_back_at_16_bits(tmp_path, quick_cli):
    from PIL import Image

    from aekit.data.images import load_images

    rng = np.random.default_rng(0)
    folder = tmp_path / "scans"
    folder.mkdir()
    levels = rng.integers(0, 65536, (10, 6, 6)).astype(np.uint16)
    for i, image in enumerate(levels):
        Image.fromarray(image).save(folder / f"s{i}.png")
    out = tmp_path / "filled"
    args = ["impute", str(folder), "-o", str(out), "--hide", "pixels:0.2", "-q"]
    assert main(args) == 0
    back = np.stack([np.asarray(Image.open(out / f"s{i}.png")) for i in range(10)])
    assert back.dtype == np.uint16
    hidden = np.rint(load_images(out) * 65535).astype(np.uint16) != levels
    assert 0.1 < hidden.mean() < 0.3  # the imputed pixels differ; the others are written exactly
    np.testing.assert_array_equal(back, np.rint(load_images(out) * 65535).astype(np.uint16))


def test_an_idx_file_of_float64_is_imputed_at_float64(tmp_path, quick_cli):
    from aekit.data.images import read_idx, write_idx

    rng = np.random.default_rng(0)
    images = rng.random((20, 5, 5))  # float64: values a float32 would round
    images[rng.random(images.shape) < 0.2] = np.nan
    write_idx(tmp_path / "in.idx", images)
    out = tmp_path / "out.idx"
    assert main(["impute", str(tmp_path / "in.idx"), "-o", str(out), "-q"]) == 0
    back = read_idx(out)
    observed = ~np.isnan(images)
    assert back.dtype.kind == "f" and back.dtype.itemsize == 8 and np.isfinite(back).all()
    np.testing.assert_array_equal(back[observed], images[observed])


def test_a_one_column_file_keeps_its_empty_lines_as_missing_cells(tmp_path, quick_cli):
    """Spreadsheets write a one-column sheet's empty cell as an empty line: a row to
    impute, not a line to skip (the rows after it would shift)."""
    values = [f"{i}.5" if i % 10 != 3 else "" for i in range(1, 41)]
    path = tmp_path / "in.csv"
    path.write_text("\n".join(["v", *values]) + "\n")
    assert len(read_table(path)) == 40
    for extra in ([], ["--chunk-rows", "16"]):
        out = tmp_path / "out.csv"
        assert main(["impute", str(path), "-o", str(out), "--force", "-q", *extra]) == 0
        lines = out.read_text().splitlines()
        assert lines[0] == "v" and len(lines) == 41
        for given, written in zip(values, lines[1:], strict=True):
            assert written == given if given else float(written) > 0


def test_a_one_column_file_of_decimal_commas_reads_with_the_decimal_mark(tmp_path, quick_cli):
    path = tmp_path / "in.csv"
    path.write_text("weight\n" + "\n".join(f"{i},{i % 9 + 1}5" for i in range(1, 30)) + "\n\n")
    with pytest.raises(AekitError, match=r"decimal commas .* --decimal ','"):
        read_table(path)
    out = tmp_path / "out.csv"
    assert main(["--decimal", ",", "impute", str(path), "-o", str(out), "-q"]) == 0
    lines = out.read_text().splitlines()
    assert lines[1] == "1,25" and len(lines) == 31  # the empty last line: one imputed cell
    assert re.fullmatch(r"-?\d+,\d+", lines[-1])


def test_text_in_utf16_is_named_and_read_in_its_encoding(tmp_path, quick_cli, capsys):
    """Excel's 'Unicode Text' is UTF-16: read as UTF-8 or cp1252 its text is garbage
    (an output of the input's bytes and a made-up row came back)."""
    df = frame()
    text = df.to_csv(index=False)
    (tmp_path / "bom.csv").write_text(text, encoding="utf-16")  # with its byte-order mark
    (tmp_path / "le.csv").write_bytes(text.encode("utf-16-le"))  # without one
    for name, encoding in [("bom.csv", []), ("bom.csv", ["--encoding", "cp1252"])]:
        args = [*encoding, "impute", str(tmp_path / name), "-o", str(tmp_path / "o.csv")]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "is UTF-16 text" in err and "--encoding utf-16" in err
    assert main(["impute", str(tmp_path / "le.csv"), "-o", str(tmp_path / "o.csv")]) == 2
    assert "NUL characters" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()
    args = ["--encoding", "utf-16", "impute", str(tmp_path / "bom.csv"), "-o"]
    assert main([*args, str(tmp_path / "o.csv"), "-q"]) == 0
    back = pd.read_csv(tmp_path / "o.csv", encoding="utf-16")
    assert back.shape == df.shape and not back.isna().any().any()
    pd.testing.assert_series_equal(back["b"], df["b"])


def test_thousands_separators_are_named_and_never_read_as_decimal_marks(
    tmp_path, no_training, capsys
):
    rng = np.random.default_rng(0)
    incomes = [f"{v:,}" for v in rng.integers(1000, 900000, 60)]
    df = pd.DataFrame({"x": rng.normal(size=60).round(3), "income": incomes})
    df.loc[::7, "income"] = ""
    path = tmp_path / "in.csv"
    df.to_csv(path, index=False)
    assert main(["impute", str(path), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "'income' holds numbers written with thousands separators" in err
    assert "thousands=','" in err
    # the comma cannot be both the separator and the decimal mark
    assert main(["--decimal", ",", "impute", str(path), "-o", str(tmp_path / "o.csv")]) == 2
    assert "separated by ',', the decimal mark given" in capsys.readouterr().err
    # European: points every three digits, a decimal comma
    german = tmp_path / "de.csv"
    german.write_text(
        "amount;z\n" + "\n".join(f"{i}.{100 + i},5{i % 10};0,{i}" for i in range(1, 40))
    )
    args = ["--sep", ";", "--decimal", ",", "impute", str(german), "-o", str(tmp_path / "o.csv")]
    assert main(args) == 2
    assert "thousands='.'" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_a_byte_order_mark_is_written_back_as_the_input_had_it(tmp_path, quick_cli):
    """Excel saves 'CSV UTF-8' with a byte-order mark and needs it to open the file
    as UTF-8: an output of such an input starts with one too, and only then."""
    text = frame().to_csv(index=False)
    for name, data in [("bom.csv", b"\xef\xbb\xbf" + text.encode()), ("plain.csv", text.encode())]:
        (tmp_path / name).write_bytes(data)
        for extra in ([], ["--chunk-rows", "30"]):
            out = tmp_path / "out.csv"
            args = ["impute", str(tmp_path / name), "-o", str(out), "--force", "-q", *extra]
            assert main(args) == 0
            written = out.read_bytes()
            assert written.startswith(b"\xef\xbb\xbf") == (name == "bom.csv")
            assert written.lstrip(b"\xef\xbb\xbf").startswith(b"a,b\n")


# ------------------------------------------------------------ codes with leading zeros
def write_codes(path, n=90, first_zero=0):
    """A CSV file with a column of postal codes, some with leading zeros (the
    first from row ``first_zero`` on), and holes in both columns."""
    codes = ["10001", "94110", "02134", "00501"]
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        code = codes[i % 2] if i < first_zero else codes[i % 4]
        value = f"{rng.normal(40, 10):.1f}"
        rows.append(f"{'' if i % 9 == 4 else code},{'' if i % 7 == 3 else value}")
    path.write_text("zip,age\n" + "\n".join(rows) + "\n")
    return [line.split(",")[0] for line in rows]


@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "20"]])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_codes_with_leading_zeros_are_read_and_written_as_codes(
    tmp_path, extra, suffix, quick_cli, capsys
):
    """'02134' read as a number would be written back 2134 (or 2134.0), and an
    imputed code would be a number between codes: such a column is codes (a
    category), its observed cells kept as written, its imputed ones among its codes.
    Streamed, the zeros may first show in a later chunk."""
    path, out = tmp_path / "zips.csv", tmp_path / f"out{suffix}"
    written = write_codes(path, first_zero=50 if extra else 0)
    assert main(["impute", str(path), "-o", str(out), "-q", *extra]) == 0
    said = capsys.readouterr().err
    assert re.search(r"column 'zip' .*leading zeros \(e\.g\. '0", said)
    assert said.count("written with leading zeros") == 1
    got = pd.read_csv(out, dtype=str) if suffix == ".csv" else pd.read_parquet(out)
    zips = got["zip"].astype(str).tolist()
    assert all(z == w for z, w in zip(zips, written, strict=True) if w)
    assert {z for z, w in zip(zips, written, strict=True) if not w} <= set(filter(None, written))
    assert pd.to_numeric(got["age"]).notna().all()


def test_numbers_without_leading_zeros_stay_numbers(tmp_path):
    """'0', '0.5', '-0.25' and '10' are numbers; only an integer of two digits or more
    that starts with a zero reads as a code."""
    path = tmp_path / "n.csv"
    path.write_text("a,b\n0,0.5\n10,-0.25\n,007.5\n3,0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)
        df = read_table(path)
    assert df["a"].dtype.kind == "f" and df["b"].dtype.kind == "f"
    path.write_text("a,b\n0,0.5\n010,-0.25\n,1\n")
    with pytest.warns(AekitWarning, match=r"column 'a' .*\(e\.g\. '010'\).*2 categories"):
        df = read_table(path)
    assert df["a"].tolist()[:2] == ["0", "010"] and df["a"].isna().tolist() == [False] * 2 + [True]


def test_a_vae_samples_codes_as_written(tmp_path, quick_cli):
    path, model, out = tmp_path / "zips.csv", tmp_path / "model", tmp_path / "s.csv"
    written = set(filter(None, write_codes(path)))
    assert main(["fit", str(path), "-o", str(model), "--model", "vae", "-q"]) == 0
    assert main(["sample", str(model), "-n", "20", "-o", str(out), "-q"]) == 0
    assert set(pd.read_csv(out, dtype=str)["zip"]) <= written


def test_a_float32_array_is_imputed_as_float32():
    """As scikit-learn's imputers do: the dtype of an array comes back, with its
    observed cells exactly as they were."""
    X = frame().to_numpy(dtype=np.float32)
    out = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit_transform(X)
    observed = ~np.isnan(X)
    assert out.dtype == np.float32 and not np.isnan(out).any()
    assert np.array_equal(out[observed], X[observed])
    assert aekit.Imputer(preset("dae", **QUICK)).fit_transform(X.astype(float)).dtype == np.float64


def test_columns_without_names_before_named_ones_are_not_blamed_on_line_ends(tmp_path, no_training):
    path = tmp_path / "in.csv"
    path.write_text(",,c\n1,2,x\n,3,y\n4,,x\n")
    with pytest.raises(AekitError, match=r"columns \[1, 2\] of 3 have no name") as caught:
        read_table(path)
    assert "give each column a name" in str(caught.value)
    assert "end with a separator" not in str(caught.value)


@pytest.mark.parametrize("unit", ["{}%", "${}", "{} €", "-£{}"])
def test_numbers_written_with_a_unit_are_named_before_they_become_categories(unit):
    """'12%' or '$1,200' is text, and text is categories: say so, naming the
    column, rather than model a column of numbers silently as dozens of levels."""
    rng = np.random.default_rng(0)
    df = frame().assign(rate=[unit.format(v) for v in rng.integers(1, 40, 80)])
    with pytest.warns(AekitWarning, match=r"column 'rate' holds numbers written with a unit"):
        imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(df)
    assert imputer.model_.encoder_.schema[2].kind == "categorical"
    with warnings.catch_warnings():  # a pandas category says the user meant categories
        warnings.simplefilter("error", AekitWarning)
        aekit.Imputer(preset("dae", **QUICK)).fit(df.astype({"rate": "category"}))


@pytest.mark.parametrize("style", ["{d:02d}/{m:02d}/2021", "{d}.{m}.21", "{m}/{d}/2021 10:30"])
def test_dates_in_another_format_are_named_before_they_become_categories(style):
    """'05/03/2021' is a date whose day or month comes first only its writer knows
    where no day of the column passes the 12th (tests/test_local_dates.py reads
    those that say it): aekit says how to read these rather than model them
    silently as levels; ISO-like text that is no date is not named."""
    rng = np.random.default_rng(0)
    days, months = rng.integers(1, 4, 80), rng.integers(10, 13, 80)  # 9 dates, each often
    df = frame().assign(seen=[style.format(d=d, m=m) for d, m in zip(days, months, strict=True)])
    with pytest.warns(AekitWarning, match=r"column 'seen' holds dates in a format aekit does"):
        imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(df)
    assert imputer.model_.encoder_.schema[2].kind == "categorical"
    codes = frame().assign(seen=[f"{d}/{m}" for d, m in zip(days, months, strict=True)])
    for quiet in (codes, df.astype({"seen": "category"})):  # no year (scores?); a category
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            aekit.Imputer(preset("dae", **QUICK)).fit(quiet)
        assert not [w for w in caught if "dates in a format" in str(w.message)]


def test_a_model_fitted_on_codes_knows_them_in_a_file_without_leading_zeros(tmp_path):
    """A later file whose codes happen to have no leading zero reads them as numbers:
    the model fitted on codes still knows 10001 as '10001' (it would otherwise call
    them unseen and score every row an anomaly)."""
    path, later = tmp_path / "zips.csv", tmp_path / "later.csv"
    write_codes(path)
    later.write_text("zip,age\n10001,40.5\n94110,\n,35.0\n")
    with pytest.warns(AekitWarning, match="leading zeros"):
        fitted = read_table(path)
    imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(fitted)
    given = read_table(later)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)  # no "values not seen in fit"
        out = imputer.transform(given)
    assert out["zip"].tolist()[:2] == ["10001", "94110"] and out["zip"][2] in set(fitted["zip"])
    assert given["zip"].dtype.kind == "f"  # the user's frame is left as it was
    detector = aekit.AnomalyDetector(aekit.VAE(max_epochs=3), random_state=0).fit(fitted)
    assert np.array_equal(
        detector.score_samples(given),
        detector.score_samples(
            given.astype({"zip": object}).assign(zip=["10001", "94110", np.nan])
        ),
    )


def test_a_streamed_parquet_output_takes_fractions_after_a_chunk_of_integers(tmp_path):
    """Chunks are typed one by one: one without holes reads a column as integers,
    and the Parquet output takes its types from the first chunk; a later chunk of
    holes only leaves the column's type to the first, and its imputed 48.56 must
    still fit."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"a": rng.normal(50, 5, 60).round(2), "b": rng.normal(size=60)})
    imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(train.mask(train > 55))
    path, out = tmp_path / "later.csv", tmp_path / "out.parquet"
    path.write_text("a,b\n50,0.1\n45,0.2\n,0.3\n,0.4\n")  # the second chunk: holes only
    assert imputer.transform_file(aekit.TableFile(path, 2), out) == 2
    got = pd.read_parquet(out)
    assert got["a"].dtype == np.float64 and got["a"].notna().all()
    assert got["a"].tolist()[:2] == [50.0, 45.0] and got["a"][2] != round(got["a"][2])


def _integers_and_holes(n=60, seed=0) -> pd.DataFrame:
    """Counts without holes (int64, int32), counts with holes, a measure with holes."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "visits": rng.integers(0, 40, n),
            "rooms": rng.integers(1, 6, n).astype(np.int32),
            "children": pd.array(rng.integers(0, 4, n), dtype="Int64"),
            "weight": rng.normal(70, 10, n),
        }
    )
    df.loc[rng.random(n) < 0.2, "weight"] = np.nan
    df.loc[rng.random(n) < 0.2, "children"] = pd.NA
    return df


@pytest.mark.parametrize("source", ["csv", "pandas", "arrow"])
def test_a_streamed_output_keeps_the_integer_types_of_the_file_read_whole(tmp_path, source):
    """Integer columns without holes come out as the integers they are in memory:
    fitting hides held-out cells (the fitted columns hold floats), and Parquet chunks
    read every integer column as pandas' nullable type; a column with holes is
    what reading the file whole makes of it (CSV floats, Parquet Int64)."""
    df = _integers_and_holes()
    path, out = tmp_path / f"in.{'csv' if source == 'csv' else 'parquet'}", tmp_path / "out.parquet"
    if source == "csv":
        df.to_csv(path, index=False)
    elif source == "pandas":
        df.to_parquet(path)
    else:  # pyarrow, Spark, DuckDB: no pandas metadata
        table = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(table.replace_schema_metadata(), path)
    whole = read_table(path)
    imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(aekit.TableFile(path, 25))
    assert imputer.transform_file(aekit.TableFile(path, 25), out) == int(whole.isna().sum().sum())
    got, expected = pd.read_parquet(out), imputer.transform(whole)
    assert got.dtypes.to_dict() == expected.dtypes.to_dict()
    rooms = "int64" if source == "csv" else "int32"  # a CSV file's are read as int64
    assert got["visits"].dtype == "int64" and got["rooms"].dtype == rooms
    assert got["children"].dtype == ("float64" if source == "csv" else "Int64")
    assert got["visits"].tolist() == df["visits"].tolist()
    assert got["rooms"].tolist() == df["rooms"].tolist()
    written = {c["name"]: c["numpy_type"] for c in pq.read_schema(out).pandas_metadata["columns"]}
    assert written["visits"] == "int64" and written["rooms"] == rooms


def test_a_parquet_file_without_statistics_keeps_its_counts_nullable(tmp_path):
    """Without a row group's statistics a column's holes are unknown before its last
    chunk: its integers stay pandas' nullable ones, values unchanged."""
    df = _integers_and_holes()
    path, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata()
    pq.write_table(table, path, write_statistics=False)
    imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(df)
    imputer.transform_file(aekit.TableFile(path, 25), out)
    got = pd.read_parquet(out)
    assert got["visits"].dtype == "Int64" and got["rooms"].dtype == "Int32"
    assert got["visits"].tolist() == df["visits"].tolist()


def test_a_streamed_decimal_column_takes_larger_numbers_in_later_chunks(tmp_path):
    """A chunk's decimal type is told by its values (precision 3 for 1.25): a
    later chunk of numbers in the thousands must still fit the Parquet output,
    as it does when the file is read whole."""
    price = [
        None if i % 5 == 3 else decimal.Decimal(f"{i + 1}.25" if i < 14 else f"{1234 + i}.50")
        for i in range(28)
    ]
    x = [None if i % 5 == 1 else float(i) for i in range(28)]
    table = pa.table({"x": pa.array(x), "price": pa.array(price, pa.decimal128(10, 2))})
    pq.write_table(table, tmp_path / "in.parquet")
    imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0)
    imputer.fit(aekit.TableFile(tmp_path / "in.parquet", 7))
    out = tmp_path / "out.parquet"
    imputer.transform_file(aekit.TableFile(tmp_path / "in.parquet", 7), out)
    got = pq.read_table(out).column("price").to_pylist()
    assert all(isinstance(v, decimal.Decimal) and v.as_tuple().exponent == -2 for v in got)
    assert [g for g, p in zip(got, price, strict=True) if p is not None] == [
        p for p in price if p is not None
    ]


def test_a_parquet_float_column_is_written_as_floats_in_every_chunk(tmp_path, quick_cli):
    """A float column whose first chunks hold whole numbers only was written
    ``4`` there and ``4.0`` in a later chunk with fractions: a Parquet input's
    floats stay floats in the CSV, streamed or not, and the two outputs agree."""
    n = 28
    whole = [float(i % 9) if i < 21 else i + 0.5 for i in range(n)]
    x = [None if i % 5 == 1 else 0.5 * i for i in range(n)]
    table = pa.table({"x": pa.array(x), "w": pa.array(whole), "k": pa.array(range(n))})
    pq.write_table(table, tmp_path / "in.parquet")
    texts = []
    for extra in ([], ["--chunk-rows", "7"]):
        out = tmp_path / f"out{len(extra)}.csv"
        assert main(["impute", str(tmp_path / "in.parquet"), "-o", str(out), "-q", *extra]) == 0
        texts.append(pd.read_csv(out, dtype=str))
    for text in texts:
        assert text["w"].tolist() == [repr(v) for v in whole]  # 4.0, ..., 21.5
        assert text["k"].tolist() == [str(i) for i in range(n)]  # integers stay integers
    assert texts[0]["w"].equals(texts[1]["w"])


@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "7"]])
def test_parquet_dates_and_decimals_come_back_in_their_types(tmp_path, quick_cli, extra):
    """R's arrow, Spark, DuckDB and Polars write dates as date32, which pandas
    reads as datetime.date objects: the command line refused them. Dates are
    now modelled as dates and written back as date32, and a decimal(10, 2) in
    memory keeps its precision (pandas infers decimal(3, 2) from the values)."""
    import datetime as dt

    n = 28
    days = [
        None if i % 5 == 0 else dt.date(2020, 1, 1) + dt.timedelta(days=3 * i) for i in range(n)
    ]
    price = [None if i % 6 == 2 else decimal.Decimal(f"{i % 9}.25") for i in range(n)]
    x = [None if i % 4 == 1 else 0.5 * i for i in range(n)]
    table = pa.table(
        {
            "x": pa.array(x),
            "day": pa.array(days, pa.date32()),
            "price": pa.array(price, pa.decimal128(10, 2)),
        }
    )
    path, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(table, path)
    assert main(["impute", str(path), "-o", str(out), "-q", *extra]) == 0
    got = pq.read_table(out)
    assert got.schema.field("day").type == pa.date32()
    decimals = pa.decimal128(38, 2) if extra else pa.decimal128(10, 2)  # streamed: widened
    assert got.schema.field("price").type == decimals
    written = got.column("day").to_pylist()
    assert None not in written and all(
        w == d for w, d in zip(written, days, strict=True) if d is not None
    )
    # imputed: dates near the data's (the days are linear in x: the first, 2020-01-01, may be
    # imputed a little before the earliest observed one, 2020-01-04)
    first, last = dt.date(2020, 1, 4), dt.date(2020, 1, 1) + dt.timedelta(days=3 * (n - 1))
    span = last - first
    assert first - span <= min(written) and max(written) <= last + span


@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "7"]])
def test_times_with_a_time_zone_are_modelled_in_utc_and_written_in_their_zone(
    tmp_path, quick_cli, extra
):
    """Spark, DuckDB and pandas write times with a time zone to Parquet; they
    were refused. They are now times in UTC for the model and come back in
    their own zone, across a change to summer time (Paris, 31 March 2024)."""
    n = 28
    start = pd.Timestamp("2024-03-25 08:00", tz="Europe/Paris")
    when = pd.Series([start + pd.Timedelta(hours=13 * i) for i in range(n)])
    when[::5] = pd.NaT
    x = np.where(np.arange(n) % 4 == 1, np.nan, 0.5 * np.arange(n))
    df = pd.DataFrame({"x": x, "when": when})
    seen = df["when"].notna()
    days = to_days(df["when"], DATETIME)  # the instants, counted in UTC
    utc = to_days(df["when"].dt.tz_convert(None), DATETIME)
    np.testing.assert_array_equal(days, utc)
    back = from_days(days[seen], DATETIME, df["when"].dtype, whole=False)
    assert back.tolist() == df.loc[seen, "when"].tolist()  # 08:00+01:00, then +02:00
    path, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    df.to_parquet(path)
    assert main(["impute", str(path), "-o", str(out), "-q", *extra]) == 0
    got = pd.read_parquet(out)
    assert got["when"].dtype == df["when"].dtype and got["when"].notna().all()
    assert got.loc[seen, "when"].equals(df.loc[seen, "when"])  # observed: as given
    span = df["when"].max() - df["when"].min()
    filled = got.loc[~seen, "when"]
    assert filled.between(df["when"].min() - span, df["when"].max() + span).all()


@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "7"]])
def test_text_times_with_offsets_or_fractions_are_times_in_their_format(tmp_path, quick_cli, extra):
    """pandas writes times with a zone to CSV as text with offsets (``+01:00``,
    then ``+02:00`` in summer); JavaScript, databases and JSON exports write
    ``2024-03-25T07:00:00.250Z``; sensors log fractions of a second. Such
    columns were categories of distinct texts, filled with other rows' values.
    They are now times: at the column's one offset, or in UTC when the offsets
    differ (in a file, from one chunk to the next), with as many digits of the
    second as the column has."""
    n = 28
    paris = pd.Series(
        pd.Timestamp("2024-03-25 08:00", tz="Europe/Paris")
        + pd.to_timedelta(13 * np.arange(n), unit="h")
    )
    later = paris + pd.to_timedelta(250 * np.arange(n), unit="ms")  # fractions of a second
    df = pd.DataFrame(
        {
            "x": np.where(np.arange(n) % 4 == 1, np.nan, 0.5 * np.arange(n)),
            "paris": paris.astype(str),  # "2024-03-25 08:00:00+01:00", ... "+02:00"
            # "2024-03-25T12:30+0530": Kolkata's offset all year
            "india": paris.dt.tz_convert("Asia/Kolkata").dt.strftime("%Y-%m-%dT%H:%M%z"),
            # "2024-03-25T07:00:00.250Z", as JavaScript's toISOString writes
            "utc": later.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z",
            "log": later.dt.tz_convert(None).dt.strftime("%Y-%m-%d %H:%M:%S.%f"),  # naive
        }
    )
    holes = df.copy()
    holes.loc[::5, "paris"], holes.loc[2::6, "india"] = None, None
    holes.loc[3::7, "utc"], holes.loc[1::4, "log"] = None, None
    seen = holes.notna()
    formats = {c.name: c.time for c in infer_schema(holes)}
    assert formats == {
        "x": "",
        "paris": "%Y-%m-%d %H:%M:%S+00:00",  # two offsets: imputed times in UTC
        "india": "%Y-%m-%dT%H:%M+0530",
        "utc": "%Y-%m-%dT%H:%M:%S.%3fZ",
        "log": "%Y-%m-%d %H:%M:%S.%6f",
    }
    # chunks of a file: the longer fraction, UTC where offsets differ; naive and zoned apart
    assert joint_format("%H:%M:%S.%1f+01:00", "%H:%M:%S.%3f+02:00") == "%H:%M:%S.%3f+00:00"
    assert joint_format("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%SZ") == ""
    in_utc = paris.dt.tz_convert("UTC").astype(str)  # "2024-03-25 07:00:00+00:00"
    for name, expected, moments in [
        ("paris", in_utc, paris),
        ("india", df["india"], paris),
        ("utc", df["utc"], later),
        ("log", df["log"], later),
    ]:
        days = to_days(df[name], formats[name])  # the instants, counted in UTC
        np.testing.assert_allclose(days, to_days(moments, DATETIME), rtol=0, atol=1e-9)
        back = from_days(days, formats[name], np.dtype(object), whole=False)
        assert back.tolist() == expected.tolist()  # the same instants, at the offset
    path, out = tmp_path / "in.csv", tmp_path / "out.csv"
    holes.to_csv(path, index=False)
    assert main(["impute", str(path), "-o", str(out), "-q", *extra]) == 0
    got = pd.read_csv(out)
    assert got.notna().all().all()
    span = paris.max() - paris.min()
    for name, ending in [
        ("paris", r":\d{2}\+00:00"),
        ("india", r"T\d{2}:\d{2}\+0530"),
        ("utc", r"T[\d:]{8}\.\d{3}Z"),
        ("log", r" [\d:]{8}\.\d{6}"),
    ]:
        assert got.loc[seen[name], name].tolist() == holes.loc[seen[name], name].tolist()
        filled = got.loc[~seen[name], name]
        assert filled.str.fullmatch(rf"\d{{4}}-\d{{2}}-\d{{2}}.*{ending}").all()
        instants = pd.to_datetime(filled, utc=True, format="ISO8601")
        assert instants.between(paris.min() - span, paris.max() + span).all()


@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "7"]])
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_integers_with_holes_in_parquet_from_other_tools_are_kept_exactly(
    tmp_path, extra, suffix, quick_cli
):
    """A Parquet file written by pyarrow (or Spark, DuckDB, Polars) has no pandas
    metadata: an integer column with holes came in as float64, which rounds ids
    beyond 2**53 and wrote them back as floats."""
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    n = 40
    ids = [None if i % 8 == 7 else 2**60 + 7 * i + 1 for i in range(n)]
    small = [None if i % 6 == 5 else i % 5 for i in range(n)]
    x = [None if i % 5 == 0 else 0.5 * i for i in range(n)]
    table = pa.table(
        {"id": pa.array(ids, pa.int64()), "k": pa.array(small, pa.uint8()), "x": pa.array(x)}
    )
    path, out = tmp_path / "in.parquet", tmp_path / f"out{suffix}"
    pq.write_table(table, path)
    assert main(["impute", str(path), "-o", str(out), "-q", *extra]) == 0
    if suffix == ".parquet":
        got = pq.read_table(out)
        assert got.schema.field("id").type == pa.int64()
        written = got.column("id").to_pylist()
    else:
        written = [int(v) for v in pd.read_csv(out, dtype=str)["id"]]
    assert all(w == v for w, v in zip(written, ids, strict=True) if v is not None)
    assert None not in written


def test_flags_written_as_text_are_the_fitted_flags():
    """A model fitted on True/False (a CSV's TRUE/FALSE) scores and imputes a later
    file that holds them as text (a Parquet file of strings, or a CSV column with a
    stray value) as those flags, not as values never seen in fit."""
    rng = np.random.default_rng(0)
    fitted = frame().assign(ok=rng.random(80) < 0.5)
    detector = aekit.AnomalyDetector(aekit.VAE(max_epochs=3), random_state=0).fit(fitted)
    text = fitted.assign(ok=fitted["ok"].map({True: "TRUE", False: "false"}).astype(object))
    np.testing.assert_array_equal(detector.score_samples(text), detector.score_samples(fitted))
    imputer = aekit.Imputer(preset("dae", **QUICK), random_state=0).fit(fitted)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)  # no "values not seen in fit"
        out = imputer.transform(text.assign(a=text["a"].where(text.index % 9 != 0)))
    assert out["ok"].tolist()[1:3] == text["ok"].tolist()[1:3]  # observed text kept as given


def _rare_values(n=60, seed=0):
    """A count that is 0 or 1 but once 2, whole numbers but once 2.5, and a
    column of 0/1 flags, with a few holes."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "stars": rng.integers(0, 2, n).astype(float),
            "count": rng.integers(0, 9, n).astype(float),
            "flag": rng.integers(0, 2, n).astype(float),
            "x": rng.normal(size=n),
        }
    )
    df = df.mask(rng.random(df.shape) < 0.1)
    df.loc[7, "stars"], df.loc[11, "count"] = 2.0, 2.5  # observed
    return df


def test_held_out_cells_never_change_the_kind_of_a_column_of_numbers():
    from aekit.estimators.holdout import HeldOutCells

    df = _rare_values()
    kinds = [(c.kind, c.whole) for c in infer_schema(df)]
    assert kinds[:3] == [("continuous", True), ("continuous", False), ("binary", False)]
    hid_a_flag = 0
    for seed in range(30):  # at a share of 0.5 the one 2 and the one 2.5 are often drawn
        hidden = HeldOutCells(0.5, seed).of(0, df)
        assert [(c.kind, c.whole) for c in infer_schema(df.mask(hidden))] == kinds, seed
        hid_a_flag += hidden[:, 2].any()
    assert hid_a_flag == 30  # the flags still give cells to hold out


@pytest.mark.parametrize("seed", [8, 24])  # seeds whose held-out cells drew the one 2
def test_a_value_seen_once_is_imputed_whatever_cells_are_held_out(seed):
    # found from outside: a count of star bakers (0 or 1, once 2) whose one 2 was
    # held out was fitted as binary, and the fit refused its own table
    df = _rare_values()
    imputer = aekit.Imputer(preset("dae", **QUICK), random_state=seed).fit(df)
    out = imputer.transform(df)
    assert out.notna().all().all()
    pd.testing.assert_frame_equal(out[df.notna()], df[df.notna()])


@pytest.mark.parametrize("seed", [16, 24])  # seeds that hold the one 'monthly' row out
def test_a_column_observed_once_survives_the_rows_held_out_of_a_fit(seed):
    # found from outside: a fee plan given for one house of 98 ('$70/mo'), held out
    # with the detector's threshold rows, left the model's rows no such cell, and
    # the level frequencies of the rest (0 / 0) made every row's encoding NaN
    rng = np.random.default_rng(0)
    n = 100
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["c"] = rng.choice(["u", "v"], n)
    df["plan"] = pd.array([None] * n, dtype="string")
    df.loc[9, "plan"] = "monthly"
    model = preset("vae", task="model", **QUICK, patience=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AekitWarning)  # 'plan' holds one value only
        detector = aekit.AnomalyDetector(model, random_state=seed).fit(df)
    assert np.isfinite(detector.score_samples(df)).all()
    encoder = detector.model_.encoder_
    assert np.isfinite(encoder.fill).all() and np.isfinite(encoder.center).all()


def test_codes_with_a_point_beside_decimal_commas_leave_the_decimal_mark_a_comma(tmp_path):
    # found from outside: R's write.csv2 of SSD drives, whose form factor is text
    # ("2.5", "m.2") and whose numbers are written with decimal commas
    lines = ["drive;form;read;write"] + [
        f"{i};{['2.5', 'm.2', 'NA'][i % 3]};{500 + i},5;{'NA' if i % 4 == 0 else f'{400 + i},25'}"
        for i in range(30)
    ]
    path = tmp_path / "drives.csv"
    path.write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings():  # NA also marks the missing numbers: R's marker
        warnings.simplefilter("error", AekitWarning)
        df = read_table(path)
    assert df["read"].dtype == np.float64 and df["read"].iloc[1] == 501.5
    assert df["write"].iloc[1] == 401.25 and df["write"].isna().sum() == 8
    assert set(df["form"].dropna()) == {"2.5", "m.2"}
    points = tmp_path / "points.csv"  # a column of numbers with points keeps the point
    points.write_text("a;b\n" + "\n".join(f"{i}.5;{'' if i % 3 else f'{i},5'}" for i in range(30)))
    assert read_table(points)["a"].iloc[1] == 1.5
