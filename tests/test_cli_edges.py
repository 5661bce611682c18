"""The command line on files as people have them, as a test from outside found
them: text that pandas reads as missing, long output from CSV to CSV, a
Parquet file's range of row ids, lines that do not match the header, a wrong
separator, flags written 1/0, empty rows, a stop signal while writing, paths
that clash, and columns that change type between chunks."""

import os
import signal

import numpy as np
import pandas as pd
import pytest

import aekit
from aekit.cli import main


def write_csv(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def numbers_csv(path, n=60):
    """a, b with holes in a, and a text column."""
    lines = ["a,b,c"] + [
        f"{'' if i % 7 == 0 else i * 0.5},{i * 1.5},{'xy'[i % 2]}" for i in range(n)
    ]
    return write_csv(path, lines)


# ------------------------------------------------------------ missing cells' texts
@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "7"]])
def test_text_pandas_reads_as_missing_is_named_and_kept_with_na(tmp_path, quick_cli, capsys, extra):
    """In memory and streamed alike (a file read chunk by chunk warned of nothing)."""
    rows = [f"{'NA' if i % 3 == 0 else 'US'},{'' if i % 5 == 0 else i * 0.5}" for i in range(60)]
    source = write_csv(tmp_path / "in.csv", ["country,x", *rows])
    assert main(["impute", str(source), "-o", str(tmp_path / "default.csv"), "-q", *extra]) == 0
    said = capsys.readouterr().err  # a warning names them, once
    assert said.count("column 'country'") == 1 and "20 cell(s) written ['NA']" in said
    assert (
        "NA" not in pd.read_csv(tmp_path / "default.csv", keep_default_na=False)["country"].tolist()
    )
    out = tmp_path / "kept.csv"
    assert main(["--na", "", "impute", str(source), "-o", str(out), "-q", *extra]) == 0
    assert "column 'country'" not in capsys.readouterr().err
    country = pd.read_csv(out, keep_default_na=False)["country"]
    assert country.tolist() == [r.split(",")[0] for r in rows]  # NA (Namibia) kept as text
    x = pd.read_csv(out, keep_default_na=False)["x"]
    assert (x != "").all()  # the empty cells are still imputed


@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "7"]])
def test_the_files_own_marker_of_missing_numbers_is_not_named_in_text(
    tmp_path, quick_cli, capsys, extra
):
    """Found from outside: R's write.csv writes NA in every column; a warning on each
    text column with holes advised --na '', which would leave the numbers unreadable.
    Codes of a marker's form (NA beside US and DE) are still named."""
    cars = ["fiat uno", "audi a4", "opel corsa"]
    rows = [
        f"{'NA' if i % 4 == 1 else cars[i % 3]},{'NA' if i % 5 == 2 else i * 0.5},"
        f"{'NA' if i % 6 == 3 else 'TRUE' if i % 2 else 'FALSE'},{'NA' if i % 9 == 4 else 'US'}"
        for i in range(60)
    ]
    source = write_csv(tmp_path / "in.csv", ["name,x,flag,code", *rows])
    assert main(["impute", str(source), "-o", str(tmp_path / "out.csv"), "-q", *extra]) == 0
    said = capsys.readouterr().err
    assert "column 'name'" not in said and "column 'flag'" not in said
    assert said.count("column 'code'") == 1 and "7 cell(s) written ['NA']" in said
    text = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert set(text["name"]) == set(cars) and set(text["flag"]) == {"TRUE", "FALSE"}
    # without missing numbers written NA, NA in a text column may be a value: named
    plain = write_csv(tmp_path / "plain.csv", ["name,x", *(r.rsplit(",", 2)[0] for r in rows)])
    lines = plain.read_text().replace(",NA\n", ",\n")
    plain.write_text(lines)
    assert main(["impute", str(plain), "-o", str(tmp_path / "p.csv"), "-q", *extra]) == 0
    assert capsys.readouterr().err.count("column 'name'") == 1


@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "7"]])
def test_a_marker_given_adds_to_empty_cells(tmp_path, quick_cli, extra):
    """--na -9: -9 is missing, and an empty cell still is (it had become a
    number column's error and a text column's level '')."""
    b = ["" if i % 5 == 1 else ("-9" if i % 5 == 3 else str(i * 2)) for i in range(40)]
    c = ["" if i % 7 == 2 else "xy"[i % 2] for i in range(40)]
    rows = [f"{i},{b[i]},{c[i]}" for i in range(40)]
    source = write_csv(tmp_path / "in.csv", ["a,b,c", *rows])
    out = tmp_path / "out.csv"
    assert main(["--na", "-9", "impute", str(source), "-o", str(out), "-q", *extra]) == 0
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert (written["b"] != "").all() and "-9" not in written["b"].tolist()
    assert set(written["c"]) == {"x", "y"}


# ------------------------------------------------------------ text encodings
@pytest.mark.parametrize("stream", [False, True])
def test_a_cp1252_file_is_read_and_written_in_its_encoding(tmp_path, quick_cli, capsys, stream):
    towns = ["Genève", "Zürich", "Bâle"]
    lines = ["ville;âge"] + [
        f"{towns[i % 3] if i % 7 else ''};{'' if i % 5 == 0 else f'{20 + i},5'}" for i in range(60)
    ]
    source = tmp_path / "in.csv"
    source.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    out = tmp_path / "out.csv"
    args = ["impute", str(source), "-o", str(out), "-q"]
    assert main(args) == 2
    assert "--encoding cp1252" in capsys.readouterr().err
    chunks = ["--chunk-rows", "20"] if stream else []
    assert main(["--encoding", "cp1252", *args, *chunks]) == 0
    written = pd.read_csv(out, sep=";", decimal=",", encoding="cp1252")
    assert list(written.columns) == ["ville", "âge"]
    observed = [i for i in range(60) if i % 7]
    assert written["ville"].iloc[observed].tolist() == [towns[i % 3] for i in observed]
    assert written["ville"].notna().all() and set(written["ville"]) <= set(towns)
    assert main(["--encoding", "no-such-code", *args]) == 2
    assert "--encoding" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "7"]])
def test_flags_imputed_in_a_chunk_without_observed_ones_are_spelled_as_the_file_does(
    tmp_path, quick_cli, extra
):
    """Rows 7-13 are a chunk of 7 whose flags are all missing: their imputed
    cells are spelled like the file's TRUE/FALSE, not Python's True/False."""
    lines = ["x,flag"] + [
        f"{i * 0.37:.2f},{'' if 7 <= i < 14 else ('TRUE' if i % 2 else 'FALSE')}" for i in range(28)
    ]
    source = write_csv(tmp_path / "in.csv", lines)
    out = tmp_path / "out.csv"
    assert main(["impute", str(source), "-o", str(out), "-q", *extra]) == 0
    assert set(pd.read_csv(out, dtype=str, keep_default_na=False)["flag"]) <= {"TRUE", "FALSE"}


def test_long_output_from_csv_to_csv_keeps_observed_cells_as_written(tmp_path, quick_cli):
    flags = ["" if i % 5 == 2 else ("FALSE", "TRUE")[i % 2] for i in range(60)]
    lines = ["zip,flag,price"] + [
        f"{'' if i % 7 == 3 else f'0{1000 + i}'},{flags[i]},{i}.10" for i in range(60)
    ]
    source = write_csv(tmp_path / "in.csv", lines)
    out = tmp_path / "long.csv"
    assert main(["impute", str(source), "-o", str(out), "-q", "--m", "2"]) == 0
    text = pd.read_csv(out, dtype=str, keep_default_na=False)
    for _, copy in text.groupby(".imp"):
        assert copy["price"].tolist() == [f"{i}.10" for i in range(60)]
        assert copy["zip"].str.fullmatch(r"0\d{4}").all()  # imputed codes padded like the rest
        assert set(copy["flag"]) == {"TRUE", "FALSE"}


# ------------------------------------------------------------ row ids
@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "50"]])
def test_a_parquet_files_range_of_row_ids_is_kept(tmp_path, extra, quick_cli):
    rng = np.random.default_rng(0)
    a = rng.normal(size=120)
    index = pd.RangeIndex(1000, 1120, name="visit_id")
    df = pd.DataFrame({"a": np.where(rng.random(120) < 0.15, np.nan, a), "b": 2 * a}, index=index)
    df.to_parquet(tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    assert main(["impute", str(tmp_path / "in.parquet"), "-o", str(out), "-q", *extra]) == 0
    back = pd.read_parquet(out)
    assert back.index.name == "visit_id" and back.index.tolist() == list(range(1000, 1120))


# ------------------------------------------------------------ lines, separators
@pytest.mark.parametrize("sep, extra", [(";", []), (";", ["--sep", ";"]), (",", ["--sep", ","])])
def test_a_cell_longer_than_the_csv_modules_limit_is_read(tmp_path, sep, extra, quick_cli):
    """Python's csv module refuses a field over 131,072 characters; the dialect
    is told by it, and a failure had left the header empty (a traceback after
    training) or the separator untold; pandas reads such a file."""
    note = "word, " * 40_000  # 240,000 characters, quoted
    lines = [sep.join(["a", "b", "note"])] + [
        sep.join(
            ["" if i % 5 == 1 else f"{i / 10}", f"{i % 7}", f'"{note}"' if i == 3 else "xy"[i % 2]]
        )
        for i in range(30)
    ]
    source = write_csv(tmp_path / "in.csv", lines)
    out = tmp_path / "out.csv"
    assert main([*extra, "impute", str(source), "-o", str(out), "-q"]) == 0
    written = pd.read_csv(out, sep=sep, dtype=str, keep_default_na=False)
    assert list(written.columns) == ["a", "b", "note"]
    assert written["note"][3] == note and (written["a"] != "").all()


@pytest.mark.parametrize(
    "lines",
    [
        ["# exported by LabTool", "a,b,c", *[f"{i},{i * 2},x" for i in range(30)]],
        ["a,b,c", *[f"{'' if i % 9 == 0 else i},{i * 2},x," for i in range(30)]],
    ],
    ids=["a comment above the header", "a separator at the end of each row"],
)
@pytest.mark.parametrize("extra", [[], ["--chunk-rows", "10"]])
def test_rows_longer_than_the_header_are_refused(tmp_path, lines, extra, no_training, capsys):
    source = write_csv(tmp_path / "in.csv", lines)
    assert main(["impute", str(source), "-o", str(tmp_path / "out.csv"), *extra]) == 2
    assert "more fields than its header" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_a_separator_the_file_does_not_use_is_refused(tmp_path, no_training, capsys):
    source = numbers_csv(tmp_path / "in.csv")
    assert main(["--sep", ";", "impute", str(source), "-o", str(tmp_path / "out.csv")]) == 2
    assert "do not split at the separator ';' given but at ','" in capsys.readouterr().err


@pytest.mark.parametrize("sep", ["::", ""])
def test_a_separator_must_be_one_character(tmp_path, sep, no_training, capsys):
    source = numbers_csv(tmp_path / "in.csv")
    assert main(["--sep", sep, "impute", str(source), "-o", str(tmp_path / "o.csv")]) == 2
    assert "one character" in capsys.readouterr().err


def test_backslash_t_is_a_tab(tmp_path, quick_cli):
    lines = ["a\tb", *[f"{'' if i % 4 == 0 else i}\t{i * 2}" for i in range(40)]]
    source = write_csv(tmp_path / "in.tsv.csv", lines)
    assert main(["--sep", "\\t", "impute", str(source), "-o", str(tmp_path / "o.csv"), "-q"]) == 0
    assert pd.read_csv(tmp_path / "o.csv", sep="\t").shape == (40, 2)


def test_a_table_of_one_column_goes_from_csv_to_csv(tmp_path, quick_cli):
    lines = ["weight", *["" if i % 7 == 0 else str(60 + i % 9 + 0.5) for i in range(60)]]
    source = write_csv(tmp_path / "in.csv", lines)
    for extra in ([], ["--chunk-rows", "20"]):
        out = tmp_path / f"out{len(extra)}.csv"
        assert main(["impute", str(source), "-o", str(out), "-q", *extra]) == 0
        assert pd.read_csv(out)["weight"].notna().all()


# ------------------------------------------------------------ types across chunks
def test_whole_numbers_then_fractions_stream_to_parquet(tmp_path, quick_cli):
    lines = ["n,y"] + [
        f"{i if i < 50 else i + 0.5},{'' if i % 9 == 0 else i % 7}" for i in range(100)
    ]
    source = write_csv(tmp_path / "in.csv", lines)
    out = tmp_path / "out.parquet"
    assert main(["impute", str(source), "-o", str(out), "--chunk-rows", "40", "-q"]) == 0
    back = pd.read_parquet(out)
    assert back["n"].tolist() == [i if i < 50 else i + 0.5 for i in range(100)]


def test_flags_that_gain_a_text_level_later_stream_as_in_memory(tmp_path, quick_cli):
    flags = [
        ("True", "False")[i % 2] if i < 60 else ("True", "False", "unknown")[i % 3]
        for i in range(120)
    ]
    lines = ["flag,x"] + [f"{'' if i % 9 == 0 else f},{i * 0.1:.1f}" for i, f in enumerate(flags)]
    source = write_csv(tmp_path / "in.csv", lines)
    out = tmp_path / "streamed.csv"
    assert main(["impute", str(source), "-o", str(out), "--chunk-rows", "50", "-q"]) == 0
    written = pd.read_csv(out, dtype=str)["flag"]
    observed = [i for i in range(120) if i % 9]
    assert written[observed].tolist() == [flags[i] for i in observed]


# ------------------------------------------------------------ scores, empty rows, sampling
def test_flags_written_1_0_score_as_true_false(tmp_path, quick_cli, capsys):
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    df = pd.DataFrame(
        {"a": a, "b": 2 * a + 0.1 * rng.normal(size=200), "member": rng.random(200) < 0.5}
    )
    df.to_csv(tmp_path / "train.csv", index=False)
    df.assign(member=df["member"].astype(int)).to_csv(tmp_path / "ones.csv", index=False)
    assert main(["fit", str(tmp_path / "train.csv"), "-o", str(tmp_path / "model"), "-q"]) == 0
    scores = []
    for name in ("train", "ones"):
        out = tmp_path / f"s_{name}.csv"
        assert (
            main(["score", str(tmp_path / "model"), str(tmp_path / f"{name}.csv"), "-o", str(out)])
            == 0
        )
        scores.append(pd.read_csv(out)["score"].to_numpy())
    np.testing.assert_allclose(scores[0], scores[1])


def test_rows_with_no_observed_cell_are_named(tmp_path, quick_cli, capsys):
    source = numbers_csv(tmp_path / "in.csv")
    with open(source, "a") as f:
        f.write(",,\n,,\n")
    assert main(["impute", str(source), "-o", str(tmp_path / "out.csv"), "-q"]) == 0
    assert (
        f"aekit: warning: 2 row(s) of {source} have no observed cell (e.g. [60, 61])"
        in capsys.readouterr().err
    )


def test_samples_drawn_in_pieces_are_the_rows_of_one_draw(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=100)
    df = pd.DataFrame({"a": a, "b": 2 * a, "k": rng.choice(["x", "y"], 100)})
    vae = aekit.VAE(max_epochs=2, latent_dim=2, random_state=0).fit(df)
    whole = vae.sample(9000, random_state=5)
    pieces = list(vae.sample_chunks(9000, chunk_rows=4096, random_state=5))
    assert [len(p) for p in pieces] == [4096, 4096, 808]
    pd.testing.assert_frame_equal(pd.concat(pieces, ignore_index=True), whole)
    aekit.save(vae, tmp_path / "model")
    out = tmp_path / "drawn.csv"
    assert (
        main(["sample", str(tmp_path / "model"), "-n", "9000", "-o", str(out), "--seed", "5"]) == 0
    )
    assert len(pd.read_csv(out)) == 9000


# ------------------------------------------------------------ stopping and paths
def test_a_stop_signal_while_writing_leaves_no_file(tmp_path, quick_cli, monkeypatch):
    import aekit.data.files as files

    source = numbers_csv(tmp_path / "in.csv")
    written = files.csv_text

    def stopped(*args, **kwargs):  # the job scheduler stops the job in the middle of the write
        os.kill(os.getpid(), signal.SIGTERM)
        return written(*args, **kwargs)

    monkeypatch.setattr(files, "csv_text", stopped)
    before = signal.getsignal(signal.SIGTERM)
    assert (
        main(["impute", str(source), "-o", str(tmp_path / "out.parquet.csv"), "-q"])
        == 128 + signal.SIGTERM
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.parametrize(
    "options",
    [
        ["-o", "{d}/out.csv", "--checkpoint-dir", "{d}/out.csv"],
        ["-o", "{d}/m/out.csv", "--save-model", "{d}/m"],
        ["-o", "{d}/out.csv", "--save-model", "{d}/ck", "--checkpoint-dir", "{d}/ck"],
    ],
)
def test_options_that_name_clashing_paths_are_refused_before_training(
    tmp_path, options, no_training, capsys
):
    source = numbers_csv(tmp_path / "in.csv")
    args = [o.format(d=tmp_path) for o in options]
    assert main(["impute", str(source), *args]) == 2
    assert "give them paths apart" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


# ------------------------------------------------------------ a model's columns, hidden files
def test_score_and_encode_take_columns_in_any_order_and_name_strangers(tmp_path, quick_cli, capsys):
    rng = np.random.default_rng(0)
    a = rng.normal(size=100)
    df = pd.DataFrame(
        {"a": a, "b": 2 * a + 0.1 * rng.normal(size=100), "k": rng.choice(["x", "y"], 100)}
    )
    df.to_csv(tmp_path / "t.csv", index=False)
    df[["k", "b", "a"]].to_csv(tmp_path / "reordered.csv", index=False)
    df.assign(id=range(100)).to_csv(tmp_path / "extra.csv", index=False)
    assert main(["fit", str(tmp_path / "t.csv"), "-o", str(tmp_path / "m"), "-q"]) == 0
    for command in ("score", "encode"):
        outs = [tmp_path / f"{command}-{name}.csv" for name in ("t", "reordered")]
        for name, out in zip(("t", "reordered"), outs, strict=True):
            assert (
                main([command, str(tmp_path / "m"), str(tmp_path / f"{name}.csv"), "-o", str(out)])
                == 0
            )
        pd.testing.assert_frame_equal(pd.read_csv(outs[0]), pd.read_csv(outs[1]))
        wrong = [
            command,
            str(tmp_path / "m"),
            str(tmp_path / "extra.csv"),
            "-o",
            str(tmp_path / "x.csv"),
        ]
        assert main(wrong) == 2
        assert "columns the model does not know ['id']" in capsys.readouterr().err


def test_hidden_files_beside_png_images_are_not_images(tmp_path):
    from aekit.data.images import load_images, save_png_folder

    images = np.random.default_rng(0).random((4, 8, 8))
    folder = save_png_folder(images, tmp_path / "pngs")
    (folder / "._img00000.png").write_bytes(b"\x00\x05\x16\x07 Mac metadata")
    assert load_images(folder).shape == (4, 8, 8)


def test_scores_and_codes_of_png_files_carry_their_names(tmp_path, quick_cli, capsys):
    from sklearn.datasets import load_digits

    from aekit.data.images import save_png_folder

    images = (load_digits().images[:40] / 16).astype(np.float32)
    names = [f"img{i + 1}.png" for i in range(40)]
    folder = save_png_folder(images, tmp_path / "pngs", names=names)
    assert main(["fit", str(folder), "-o", str(tmp_path / "m"), "-q"]) == 0
    for command in ("score", "encode"):
        out = tmp_path / f"{command}.csv"
        assert main([command, str(tmp_path / "m"), str(folder), "-o", str(out), "-q"][:-1]) == 0
        assert sorted(pd.read_csv(out)["file"]) == sorted(names)
    pd.DataFrame(np.zeros((5, 6)), columns=list("abcdef")).to_csv(tmp_path / "t.csv", index=False)
    args = ["score", str(tmp_path / "m"), str(tmp_path / "t.csv"), "-o", str(tmp_path / "s.csv")]
    assert main(args) == 2
    assert (
        "holds a table; the model was fitted on images of shape (8, 8)" in capsys.readouterr().err
    )


# ------------------------------------------------------------ nothing to impute
@pytest.mark.parametrize("m", [1, 3])
def test_a_table_without_missing_cells_is_written_unchanged_without_training(
    tmp_path, no_training, capsys, m
):
    lines = ["zip,flag,price,name"] + [
        f"0{1000 + i},{('FALSE', 'TRUE')[i % 2]},{i}.10,n{i % 4}" for i in range(30)
    ]
    source = write_csv(tmp_path / "in.csv", lines)
    out = tmp_path / "out.csv"
    assert main(["impute", str(source), "-o", str(out), "--m", str(m)]) == 0
    text = pd.read_csv(out, dtype=str, keep_default_na=False)
    original = pd.read_csv(source, dtype=str, keep_default_na=False)
    copies = (
        [text] if m == 1 else [c.drop(columns=[".imp", ".id"]) for _, c in text.groupby(".imp")]
    )
    assert len(copies) == m
    for copy in copies:
        pd.testing.assert_frame_equal(copy.reset_index(drop=True), original)
    assert "no missing cells: written unchanged" in capsys.readouterr().err


def test_a_table_without_missing_cells_trains_when_its_model_is_saved(tmp_path, quick_cli):
    lines = ["a,b"] + [f"{i},{(i * 7) % 11}" for i in range(40)]
    source = write_csv(tmp_path / "in.csv", lines)
    out, model = tmp_path / "out.parquet", tmp_path / "model"
    assert main(["impute", str(source), "-o", str(out), "-q", "--save-model", str(model)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_csv(source))
    assert isinstance(aekit.load(model), aekit.Imputer)


def test_images_without_missing_pixels_are_written_unchanged_without_training(
    tmp_path, no_training, capsys
):
    images = np.random.default_rng(0).random((12, 6, 6))
    source, out = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(source, images)
    assert main(["impute", str(source), "-o", str(out)]) == 0
    np.testing.assert_array_equal(np.load(out), images)
    assert "no missing pixels: written unchanged" in capsys.readouterr().err


def test_a_table_whose_missing_cells_are_marked_by_unknown_text_is_refused_not_passed(
    tmp_path, no_training, capsys
):
    """'?' is no missing-value marker pandas knows: the table reads as complete, but a
    column of numbers with '?' in it is refused as a fit refuses it, naming --na."""
    lines = ["a,b"] + [f"{i},{'?' if i % 6 == 0 else i * 3}" for i in range(30)]
    source, out = write_csv(tmp_path / "in.csv", lines), tmp_path / "out.csv"
    assert main(["impute", str(source), "-o", str(out)]) == 2
    assert "--na '?'" in capsys.readouterr().err
    assert not out.exists()
