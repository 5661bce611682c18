"""The command line, by exit code and output."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import aekit
from aekit import __version__
from aekit.cli import main
from aekit.estimators.presets import PRESETS


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"aekit {__version__}"


@pytest.mark.parametrize(
    "command", ["demo", "impute", "fit", "encode", "score", "sample", "report"]
)
def test_help(command, capsys):
    assert main(["--help"]) == 0 and command in capsys.readouterr().out
    assert main([command, "--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["frobnicate"]) == 2


def test_threads_are_set_for_the_command(tmp_path, monkeypatch, capsys):
    import torch

    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    args = ["impute", str(tmp_path / "none.csv"), "-o", str(tmp_path / "o.csv")]
    assert main(["--threads", "1", *args]) == 2  # the file is missing: set before that
    assert calls == [1] and "no such file" in capsys.readouterr().err
    assert main(["--threads", "0", *args]) == 2 and calls == [1]
    assert "--threads" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, capsys):
    assert main(["demo", "--fast", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("PCA", "AE", "DAE", "VAE", "t-VAE"):
        assert f"│ {name} " in out
    png = tmp_path / "reconstructions.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    report = tmp_path / "report.html"
    assert f"Report (open it in a browser): {report}" in out
    assert "missing cells" in out and report.read_text().count("data:image/png;base64,") >= 8


def test_demo_bad_output_dir_exits_2(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("x")
    assert main(["demo", "--fast", "-o", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("aekit: error:")


@pytest.mark.slow
def test_python_m_alias():
    done = subprocess.run(
        [sys.executable, "-m", "aekit", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == f"aekit {__version__}"


@pytest.fixture
def table(tmp_path):
    """A small CSV with numbers, a category and booleans, some cells empty."""
    rng = np.random.default_rng(0)
    n = 80
    a = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "a": a,
            "b": 2 * a + 0.1 * rng.normal(size=n),
            "colour": rng.choice(["red", "blue"], n),
            "flag": rng.random(n) < 0.5,
        }
    )
    df = df.astype(object).mask(rng.random(df.shape) < 0.1)
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_impute_end_to_end(table, tmp_path, suffix, capsys):
    out = tmp_path / f"out{suffix}"
    assert main(["impute", str(table), "-o", str(out), "--seed", "1"]) == 0
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    original = pd.read_csv(table)
    assert list(got.columns) == list(original.columns) and len(got) == len(original)
    assert got.notna().all().all()
    observed = original.notna()
    for col in original.columns:
        assert (
            got[col][observed[col]].astype(str) == original[col][observed[col]].astype(str)
        ).all()
    assert set(got["colour"]) <= {"red", "blue"}
    assert "Expected error on held-out cells" in capsys.readouterr().err


def test_impute_multiple_long_format_and_saved_model(table, tmp_path):
    out, model = tmp_path / "long.csv", tmp_path / "model"
    args = ["impute", str(table), "-o", str(out), "--model", "vae", "--m", "3", "-q"]
    assert main([*args, "--save-model", str(model)]) == 0
    long = pd.read_csv(out)
    assert list(long.columns[:2]) == [".imp", ".id"] and sorted(long[".imp"].unique()) == [1, 2, 3]
    assert len(long) == 3 * 80 and long.notna().all().all()
    assert isinstance(aekit.load(model), aekit.Imputer)


def test_impute_multiple_with_the_default_model(table, tmp_path, monkeypatch):
    monkeypatch.setitem(PRESETS["impute", "dae"][1], "max_epochs", 20)  # seconds, not a minute
    out = tmp_path / "long.csv"
    assert main(["impute", str(table), "-o", str(out), "--m", "2", "-q"]) == 0
    long = pd.read_csv(out)
    assert sorted(long[".imp"].unique()) == [1, 2] and long.notna().all().all()
    original = pd.read_csv(table)
    first, second = (long[long[".imp"] == i].drop(columns=[".imp", ".id"]) for i in (1, 2))
    holes = original.isna().to_numpy()
    numeric = original.select_dtypes("number").columns
    differ = first[numeric].to_numpy() != second[numeric].to_numpy()
    assert differ[holes[:, [original.columns.get_loc(c) for c in numeric]]].any()


def test_impute_multiple_by_predictive_mean_matching(table, tmp_path, monkeypatch):
    monkeypatch.setitem(PRESETS["impute", "dae"][1], "max_epochs", 20)  # seconds, not a minute
    out = tmp_path / "long.csv"
    assert main(["impute", str(table), "-o", str(out), "--m", "2", "--draws", "pmm", "-q"]) == 0
    long, original = pd.read_csv(out), pd.read_csv(table)
    for i in (1, 2):
        copy = long[long[".imp"] == i].drop(columns=[".imp", ".id"]).reset_index(drop=True)
        for col in ("a", "b"):  # every cell a value its column holds in the input
            assert copy[col].isin(original[col].dropna()).all()
        assert copy.notna().all().all()


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["impute", "{d}/missing.csv", "-o", "{d}/o.csv"], "no such file"),
        ("bad", ["impute", "{d}/bad.csv", "-o", "{d}/o.csv"], "malformed CSV"),
        ("latin", ["impute", "{d}/latin.csv", "-o", "{d}/o.csv"], "not UTF-8"),
        ("ok", ["impute", "{d}/ok.csv", "-o", "{d}/o.txt"], "unknown file type '.txt'"),
        ("ok", ["impute", "{d}/ok.csv", "-o", "{d}/ok.csv"], "output must differ from input"),
        ("ok", ["impute", "{d}/ok.csv", "-o", "{d}/o.csv", "--model", "gan"], "model must be"),
        ("ok", ["impute", "{d}/ok.csv", "-o", "{d}/o.csv", "--draws", "pmm"], "give --m 2"),
        (
            "ok",
            ["impute", "{d}/ok.csv", "-o", "{d}/o.csv", "--m", "2", "--draws", "mice"],
            "--draws must be one of ['normal', 'pmm']",
        ),
        (
            "ok",
            [
                "impute",
                "{d}/ok.csv",
                "-o",
                "{d}/o.csv",
                "--m",
                "2",
                "--draws",
                "pmm",
                "--model",
                "mnar",
            ],
            "--draws pmm takes observed values",
        ),
        (
            "allnan",
            ["impute", "{d}/allnan.csv", "-o", "{d}/o.csv"],
            "each of its 2 column(s) is entirely missing",
        ),
        ("exists", ["impute", "{d}/ok.csv", "-o", "{d}/o.csv"], "exists; pass --force"),
    ],
)
def test_impute_bad_input_exits_2_with_one_line(tmp_path, capsys, setup, args, message):
    ok = "a,b\n1,2\n3,\n5,6\n7,8\n"
    files = {
        "bad": ("bad.csv", b'a,b\n1,2\n3,4,5,6\n"x'),
        "latin": ("latin.csv", "a,b\ncaf\xe9,1\n".encode("latin-1")),
        "ok": ("ok.csv", ok.encode()),
        "allnan": ("allnan.csv", b"a,b\n,\n,\n"),
        "exists": ("ok.csv", ok.encode()),
    }
    if setup:
        name, data = files[setup]
        (tmp_path / name).write_bytes(data)
    if setup == "exists":
        (tmp_path / "o.csv").write_text("keep me")
    code = main([a.format(d=tmp_path) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert err[0].startswith("aekit: error:")
    if setup == "exists":
        assert (tmp_path / "o.csv").read_text() == "keep me"
    else:
        assert not (tmp_path / "o.csv").exists()


def test_impute_refuses_pmm_for_images_before_training(tmp_path, capsys):
    images = np.random.default_rng(0).uniform(size=(10, 4, 4))
    images[::2, 0, 0] = np.nan
    np.save(tmp_path / "images.npy", images)
    args = ["impute", str(tmp_path / "images.npy"), "-o", str(tmp_path / "o.npy"), "--m", "2"]
    assert main([*args, "--draws", "pmm"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--draws pmm matches numbers of a table" in err[0], err
    assert "use --draws normal" in err[0] and not (tmp_path / "o.npy").exists()


def test_fit_chooses_the_vae_sizes_on_held_out_rows_by_default(table, tmp_path, capsys):
    model = tmp_path / "model"
    assert main(["fit", str(table), "-o", str(model)]) == 0
    fitted = aekit.load(model).model_
    assert fitted.latent_dim == "auto" and fitted.hidden_dims == "auto"
    assert f"({fitted.latent_dim_}-d code" in capsys.readouterr().err


def test_fit_encode_score_sample_end_to_end(table, tmp_path, capsys):
    model = tmp_path / "model"
    assert main(["fit", str(table), "-o", str(model), "--model", "vae", "--latent-dim", "2"]) == 0
    assert "anomaly threshold" in capsys.readouterr().err
    assert isinstance(aekit.load(model), aekit.AnomalyDetector)

    codes = tmp_path / "codes.csv"
    assert main(["encode", str(model), str(table), "-o", str(codes), "-q"]) == 0
    got = pd.read_csv(codes)
    assert list(got.columns) == ["latent0", "latent1"] and len(got) == 80

    scores = tmp_path / "scores.parquet"
    assert main(["score", str(model), str(table), "-o", str(scores), "-q"]) == 0
    got = pd.read_parquet(scores)
    assert list(got.columns) == ["score", "anomaly"] and got["anomaly"].dtype == bool
    detector = aekit.load(model)
    np.testing.assert_allclose(got["score"], detector.score_samples(pd.read_csv(table)))

    drawn = tmp_path / "drawn.csv"
    assert main(["sample", str(model), "-n", "25", "-o", str(drawn), "--seed", "3", "-q"]) == 0
    got = pd.read_csv(drawn)
    assert list(got.columns) == ["a", "b", "colour", "flag"] and len(got) == 25
    assert set(got["colour"]) <= {"red", "blue"}
    # every command takes -q; none of these says anything with it
    assert main(["report", str(model), "-o", str(tmp_path / "r.html"), "-q"]) == 0
    assert (tmp_path / "r.html").stat().st_size > 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("seed", ["-1", str(2**32)])
@pytest.mark.parametrize("command", ["impute", "fit"])
def test_seed_out_of_range_is_a_usage_error(table, tmp_path, capsys, seed, command):
    assert main([command, str(table), "-o", str(tmp_path / "out"), "--seed", seed]) == 2
    assert "--seed" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "{t}", "-o", "{d}/m", "--model", "gan"], "--model must be one of"),
        (["fit", "{t}", "-o", "{d}/m", "--contamination", "lots"], "--contamination must be"),
        (["fit", "{t}", "-o", "{d}/m", "--contamination", "0.9"], "contamination must be"),
        (["fit", "{t}", "-o", "{d}/m", "--resume"], "--resume needs --checkpoint-dir"),
        (["impute", "{t}", "-o", "{d}/i.csv", "--resume"], "--resume needs --checkpoint-dir"),
        (["encode", "{d}/nope", "{t}", "-o", "{d}/c.csv"], "no such directory"),
        (["score", "{d}/ae", "{t}", "-o", "{d}/s.csv"], "has no anomaly threshold"),
        (["sample", "{d}/ae", "-n", "5", "-o", "{d}/s.csv"], "only a VAE can sample"),
        (["encode", "{d}/ae", "{t}", "-o", "{t}"], "output must differ"),
        (["encode", "{d}/ae", "{d}/other.csv", "-o", "{d}/c.csv"], "does not know ['flags']"),
        (
            ["score", "{d}/det", "{d}/other.csv", "-o", "{d}/s.csv"],
            "lacks the model's columns ['flag']",
        ),
    ],
)
def test_model_commands_bad_input_exit_2(table, tmp_path, capsys, args, message):
    frame = pd.read_csv(table)
    ae = aekit.Autoencoder(latent_dim=1, max_epochs=2).fit(frame)
    aekit.save(ae, tmp_path / "ae")
    detector = aekit.AnomalyDetector(ae, contamination=0.1).fit(frame)
    aekit.save(detector, tmp_path / "det")
    frame.rename(columns={"flag": "flags"}).to_csv(tmp_path / "other.csv", index=False)
    argv = [a.format(t=table, d=tmp_path) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
