"""Reliability: every bad input gets a clear error naming what is wrong, training
cannot silently diverge, an interrupted fit resumes to the same weights, and
readers and loaders fail only with aekit's own errors."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from safetensors import safe_open

import aekit
from aekit import VAE, AekitError, AekitWarning, Autoencoder, Imputer, ModelFileError
from aekit.cli import main
from aekit.data.files import read_table
from aekit.data.schema import infer_schema
from aekit.training.loop import clip_gradients
from aekit.training.stopping import EarlyStopping

FAST = dict(latent_dim=1, hidden_dims=(8,), max_epochs=2)


def table(n=30):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.normal(50, 10, n),
            "dose": rng.normal(5, 1, n),
            "group": rng.choice(["a", "b"], n),
        }
    )


# ------------------------------------------------------------ one case per bad input
def _text_in_numbers():
    df = table()
    df["age"] = df["age"].round(1).astype(str)
    df.loc[3, "age"] = "n/a"
    return df


BAD_FITS = {
    "text in a numeric column": (_text_in_numbers, r"column 'age' holds numbers but 1 cell"),
    "inf": (lambda: table().assign(dose=np.inf), "column 'dose' contains inf"),
    "a column entirely missing": (lambda: table().assign(dose=np.nan), "'dose' is entirely"),
    "duplicate column names": (
        lambda: table().set_axis(["age", "age", "group"], axis=1),
        r"duplicate column names: \['age'\]",
    ),
    "empty input": (lambda: table().iloc[:0], "X is empty"),
    "too few rows for the validation split": (lambda: table(2), "validation_fraction=0.1 of 2"),
    "a missing-value marker in a numeric column": (
        lambda: table().assign(dose=[str(v) for v in range(29)] + ["?"]),
        r"column 'dose' holds numbers but 1 cell\(s\) of text \('\?'\)",
    ),
    "mixed types in a column": (
        lambda: table().assign(group=["a", 1] * 15),
        "column 'group' mixes types",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FITS))
def test_bad_input_at_fit_names_the_culprit(case):
    make, message = BAD_FITS[case]
    df = make()
    before = df.copy()
    with pytest.raises(AekitError, match=message):
        Autoencoder(**FAST).fit(df)
    pd.testing.assert_frame_equal(df, before)  # nothing the user gave is modified


def test_text_that_is_not_a_missing_marker_makes_a_categorical_column():
    df = table().assign(zip=["02134"] * 28 + ["02134-1234"] * 2)
    ae = Autoencoder(**FAST, random_state=0).fit(df)
    assert ae.encoder_.schema[3].kind == "categorical"


def test_arrays_with_constant_columns_are_quiet_everywhere():
    X = np.c_[table()[["age", "dose"]].to_numpy(), np.zeros(30)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", AekitWarning)
        Autoencoder(**FAST, random_state=0).fit(X)
        Imputer(Autoencoder(**FAST), n_models=2, random_state=0).fit(X)
        aekit.AnomalyDetector(Autoencoder(**FAST), random_state=0).fit(X)


def test_latent_size_not_smaller_than_the_input():
    with pytest.raises(AekitError, match="latent_dim=4 must be smaller than the encoded input"):
        Autoencoder(latent_dim=4, max_epochs=1).fit(table()[["age", "dose"]])


def test_a_constant_column_is_kept_with_a_warning():
    df = table().assign(site=7.0)
    with pytest.warns(AekitWarning, match=r"column\(s\) \['site'\] of X hold one value only"):
        ae = Autoencoder(**FAST, random_state=0).fit(df)
    assert np.isfinite(ae.transform(df)).all() and list(ae.reconstruct(df).columns) == list(df)


def test_a_streamed_table_warns_of_its_columns_of_one_value_as_one_in_memory_does(tmp_path):
    df = table(60).assign(site=7.0, unit=["kg"] * 60)
    df.loc[[3, 9], ["site", "unit"]] = np.nan  # missing cells do not make a second value
    df.to_csv(tmp_path / "t.csv", index=False)
    path = tmp_path / "t.csv"
    expected = r"column\(s\) \['site', 'unit'\] of {} hold one value only.*filled with that"
    # the message names the file the table came from, read whole or streamed
    cases = [(df, "X"), (read_table(path), str(path)), (aekit.TableFile(path, 20), str(path))]
    for X, label in cases:
        with pytest.warns(AekitWarning, match=expected.format(re.escape(label))) as caught:
            Imputer(Autoencoder(**FAST), random_state=0).fit(X)
        # once: the file is not scanned a second time for its held-out cells' monitor
        assert sum("one value only" in str(w.message) for w in caught) == 1


BAD_TRANSFORMS = {
    "a column missing": (lambda df: df.drop(columns="dose"), "missing"),
    "an extra column": (lambda df: df.assign(extra=1.0), "unseen at fit time"),
    "an unseen category": (
        lambda df: df.assign(group=["a", "c"] * 15),
        r"column 'group' of X has values not seen in fit: \['c'\]",
    ),
    "text in a numeric column": (
        lambda df: df.astype({"dose": object}).assign(dose=["5.1", "x"] * 15),
        "column 'dose' of X is numeric but holds",
    ),
}


@pytest.mark.parametrize("case", list(BAD_TRANSFORMS))
def test_bad_input_at_transform_names_the_culprit(case):
    df = table()
    ae = Autoencoder(**FAST, random_state=0).fit(df)
    change, message = BAD_TRANSFORMS[case]
    with pytest.raises(AekitError, match=message):
        ae.transform(change(df))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'a,b\n1,2\n3,4,5,6\n"x', "malformed CSV"),
        ("a,b\ncaf\xe9,1\n".encode("latin-1"), "not UTF-8"),
        (b"", "the file is empty"),
    ],
)
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(AekitError, match=message):
        read_table(path)
    assert path.read_bytes() == content  # input files are never modified


def test_cli_errors_are_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    path = tmp_path / "data.csv"
    table().assign(dose=np.inf).to_csv(path, index=False)
    args = ["impute", str(path), "-o", str(tmp_path / "out.csv")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "column 'dose' contains inf" in err[0]
    with pytest.raises(AekitError, match="contains inf"):
        main(["--debug", *args])


# ------------------------------------------------------------ training cannot diverge silently
def test_a_non_finite_loss_stops_with_a_clear_error():
    X = table()[["age", "dose"]].to_numpy()
    with pytest.raises(AekitError, match=r"diverged at epoch 1.*lower learning_rate"):
        Autoencoder(latent_dim=1, learning_rate=1e30, max_epochs=5, random_state=0).fit(X * 1e18)


def test_gradient_clipping_bounds_each_network_on_its_own():
    torch.manual_seed(0)
    a, b = torch.zeros(3, 4, requires_grad=True), torch.zeros(3, 1, requires_grad=True)
    a.grad = torch.tensor([[30.0] * 4, [0.1] * 4, [4.0] * 4])
    b.grad = torch.tensor([[40.0], [0.1], [3.0]])
    clip_gradients([a, b], 5.0, members=3)
    norms = torch.cat([a.grad, b.grad], dim=1).norm(dim=1)
    torch.testing.assert_close(norms[[0, 2]], torch.tensor([5.0, 5.0]))  # clipped to 5
    torch.testing.assert_close(norms[1], torch.tensor(0.1 * 5**0.5))  # small: untouched
    single = torch.zeros(2, requires_grad=True)
    single.grad = torch.tensor([30.0, 40.0])
    clip_gradients([single], 1.0, members=None)
    torch.testing.assert_close(single.grad.norm(), torch.tensor(1.0))


def test_max_grad_norm_changes_training_and_is_checked():
    X = table()[["age", "dose"]]
    kw = dict(latent_dim=1, max_epochs=3, random_state=0)
    free = Autoencoder(**kw).fit(X).transform(X)
    clipped = Autoencoder(**kw, max_grad_norm=1e-3).fit(X).transform(X)
    assert not np.allclose(free, clipped)
    with pytest.raises(AekitError, match="max_grad_norm"):
        Autoencoder(**kw, max_grad_norm=-1).fit(X)


def test_ema_decay_watches_and_keeps_the_moving_average_of_the_epochs_weights():
    net = torch.nn.Linear(1, 1, bias=False)
    stopping = EarlyStopping(net, patience=5, tol=0.0, average=0.75)
    seen = []
    for epoch, w in enumerate([4.0, 8.0, 0.0], start=1):
        with torch.no_grad():
            net.weight.fill_(w)  # the weights an epoch of training ends with
        trained = stopping.average_in()
        seen.append(net.weight.item())  # what the monitor sees
        stopping.update(epoch, {"train_loss": np.array([abs(net.weight.item() - 5)])}, "t")
        stopping.average_out(trained)
        assert net.weight.item() == w  # training goes on from its own weights
    assert seen == [4.0, 0.75 * 4 + 0.25 * 8, 0.75 * 5 + 0.25 * 0]  # 4, 5, 3.75
    stopping.restore()
    assert net.weight.item() == 5.0  # the best average (epoch 2), not a trained weight
    assert list(stopping.history()["best"]) == [False, True, False]


def test_ema_decay_changes_which_weights_are_kept_and_is_checked():
    X = table()[["age", "dose"]]
    kw = dict(latent_dim=1, max_epochs=6, validation_fraction=0.2, random_state=0)
    plain = Autoencoder(**kw).fit(X)
    averaged = Autoencoder(**kw, ema_decay=0.5).fit(X)
    assert plain.n_epochs_ == averaged.n_epochs_ == 6  # the same steps, other weights watched
    assert not np.allclose(plain.history_["val_loss"], averaged.history_["val_loss"])
    assert np.allclose(plain.history_["train_loss"], averaged.history_["train_loss"])
    for bad in (0, 1, 1.5, "0.5"):
        with pytest.raises(AekitError, match="ema_decay must be a number in"):
            Autoencoder(**kw, ema_decay=bad).fit(X)


# ------------------------------------------------------------ checkpoints
WORKER = textwrap.dedent(
    """
    import sys, numpy as np, torch, aekit
    torch.set_num_threads(1)
    mode, ckpt, out = sys.argv[1:4]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 8)) @ rng.normal(size=(8, 8))
    model = aekit.{model}
    if mode == "plain":
        model.fit(X)
    else:
        model.fit(X, checkpoint_dir=ckpt, resume=mode == "resume", checkpoint_every=0)
    aekit.save(model, out)
    """
)


def _run(script: Path, *args) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], env=env)


def _epoch(path: Path) -> int:
    try:
        with safe_open(str(path), framework="pt") as f:
            return json.loads(f.metadata()["aekit-checkpoint"])["epoch"]
    except Exception:  # not written yet
        return 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "model",
    [
        "Autoencoder(latent_dim=3, hidden_dims=(64,), noise='masking', max_epochs=60, "
        "patience=60, ema_decay=0.7, random_state=0)",
        "Autoencoder(latent_dim=3, hidden_dims=(64,), lr_schedule='cosine', max_epochs=60, "
        "patience=60, random_state=0)",
        "VAE(latent_dim=3, hidden_dims=(64,), max_epochs=60, patience=8, random_state=0)",
    ],
)
def test_a_fit_killed_and_resumed_ends_with_the_same_weights(tmp_path, model):
    script = tmp_path / "worker.py"
    script.write_text(WORKER.replace("{model}", model))
    ckpt = tmp_path / "ckpt"
    killed = _run(script, "checkpoint", ckpt, tmp_path / "never")
    stage = ckpt / ("autoencoder.safetensors" if model.startswith("Auto") else "vae.safetensors")
    deadline = time.monotonic() + 120
    while _epoch(stage) < 3 and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert killed.poll() is None, "the worker ended before it could be killed"
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    reached = _epoch(stage)
    assert 3 <= reached < 60 and not (tmp_path / "never").exists()
    assert _run(script, "resume", ckpt, tmp_path / "resumed").wait() == 0
    assert _run(script, "plain", ckpt, tmp_path / "plain").wait() == 0
    resumed, plain = aekit.load(tmp_path / "resumed"), aekit.load(tmp_path / "plain")
    assert resumed.n_epochs_ == plain.n_epochs_ > reached
    pd.testing.assert_frame_equal(resumed.history_, plain.history_)
    for name, value in plain.module_.state_dict().items():
        assert torch.equal(resumed.module_.state_dict()[name], value), name


def test_resume_refuses_a_checkpoint_made_for_other_data(tmp_path):
    X = table()[["age", "dose"]]
    Autoencoder(**FAST, random_state=0).fit(X, checkpoint_dir=tmp_path, checkpoint_every=0)
    with pytest.raises(AekitError, match="made for other data or settings"):
        Autoencoder(**FAST, random_state=0).fit(X * 2, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(AekitError, match="resume=True needs checkpoint_dir"):
        Autoencoder(**FAST).fit(X, resume=True)
    with pytest.raises(AekitError, match="checkpoint_dir needs an int random_state"):
        Autoencoder(**FAST).fit(X, checkpoint_dir=tmp_path)  # an unseeded run cannot be replayed
    (tmp_path / "autoencoder.safetensors").write_bytes(b"garbage")
    with pytest.raises(AekitError, match="unreadable"):
        Autoencoder(**FAST, random_state=0).fit(X, checkpoint_dir=tmp_path, resume=True)


def test_a_fresh_fit_clears_an_earlier_runs_checkpoints(tmp_path):
    X = table()[["age", "dose"]]
    stacked = Autoencoder(latent_dim=1, hidden_dims=(8, 4), max_epochs=2, pretrain="stacked")
    stacked.set_params(random_state=0).fit(X, checkpoint_dir=tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "autoencoder.safetensors",
        "pretrain-layer-1.safetensors",
        "pretrain-layer-2.safetensors",
        "pretrain-layer-3.safetensors",
    ]
    (tmp_path / "mine.txt").write_text("not aekit's")
    Autoencoder(**FAST, random_state=1).fit(X, checkpoint_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["autoencoder.safetensors", "mine.txt"]
    Autoencoder(**FAST, random_state=1).fit(X, checkpoint_dir=tmp_path, resume=True)


def test_the_models_seed_fixes_the_imputers_held_out_cells():
    df = table(80).mask(np.random.default_rng(3).random((80, 3)) < 0.1)
    a, b = (Imputer(Autoencoder(**FAST, random_state=5)).fit(df) for _ in range(2))
    pd.testing.assert_frame_equal(a.expected_error_, b.expected_error_)
    pd.testing.assert_frame_equal(a.transform(df), b.transform(df))


@pytest.mark.filterwarnings("ignore:.*have no observed cell:aekit.AekitWarning")
def test_a_finished_checkpoint_resumes_to_the_same_model_at_once(tmp_path):
    df = table(120)
    kw = dict(n_models=2, random_state=0)
    model = Autoencoder(latent_dim=1, noise="masking", mask_input=True, max_epochs=20)
    first = Imputer(model, **kw).fit(df, checkpoint_dir=tmp_path)
    again = Imputer(model, **kw).fit(df, checkpoint_dir=tmp_path, resume=True)
    holed = df.mask(np.random.default_rng(1).random(df.shape) < 0.2)
    pd.testing.assert_frame_equal(first.transform(holed), again.transform(holed))
    assert first.n_iter_ == again.n_iter_


@pytest.mark.slow
def test_cli_fit_checkpoints_and_resumes(tmp_path):
    path = tmp_path / "data.csv"
    table(80).to_csv(path, index=False)
    base = ["fit", str(path), "--model", "ae", "-q", "--checkpoint-dir", str(tmp_path / "c")]
    assert main([*base, "-o", str(tmp_path / "m1")]) == 0
    # the widths are chosen (hidden_dims="auto"): each candidate checkpoints apart
    saved = (tmp_path / "c").rglob("autoencoder.safetensors")
    assert sorted(p.parent.name for p in saved) == ["candidate0", "candidate1"]
    assert main([*base, "-o", str(tmp_path / "m2"), "--resume"]) == 0
    a, b = aekit.load(tmp_path / "m1"), aekit.load(tmp_path / "m2")
    assert a.offset_ == b.offset_


# ------------------------------------------------------------ determinism
@pytest.mark.parametrize(
    "make",
    [
        lambda: Autoencoder(latent_dim=1, noise="masking", max_epochs=5, random_state=3),
        lambda: VAE(latent_dim=1, max_epochs=5, random_state=3),
        lambda: Imputer(Autoencoder(latent_dim=1, max_epochs=5), n_models=2, random_state=3),
    ],
)
def test_same_seed_gives_bit_identical_weights_and_outputs(tmp_path, make):
    df = table(60)
    holed = df.mask(np.random.default_rng(2).random(df.shape) < 0.2)
    a, b = make().fit(holed), make().fit(holed)
    models = (a.models_, b.models_) if isinstance(a, Imputer) else ([a], [b])
    for ma, mb in zip(*models, strict=True):
        for name, value in ma.module_.state_dict().items():
            assert torch.equal(mb.module_.state_dict()[name], value), name
    aekit.save(a, tmp_path / "m")
    loaded = aekit.load(tmp_path / "m")
    out = "transform" if isinstance(a, Imputer) else "reconstruct"
    for other in (b, loaded):
        pd.testing.assert_frame_equal(getattr(a, out)(holed), getattr(other, out)(holed))


# ------------------------------------------------------------ fuzzing
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_csv_reader_raises_only_aekit_errors(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    path.write_bytes(data)
    try:
        read_table(path)
    except AekitError:
        pass


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_parquet_reader_raises_only_aekit_errors(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "f.parquet"
    path.write_bytes(b"PAR1" + data + b"PAR1")
    try:
        read_table(path)
    except AekitError:
        pass


CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.text(max_size=4),
    st.just(""),
    st.none(),
    st.booleans(),
)


@FUZZ
@given(st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=0, max_size=8))
def test_fuzz_schema_inference_raises_only_aekit_errors(rows):
    df = pd.DataFrame(rows, columns=["a", "b", "c"])
    try:
        schema = infer_schema(df)
    except AekitError:
        return
    assert [c.name for c in schema] == ["a", "b", "c"]


@FUZZ
@given(
    st.lists(CELLS, min_size=12, max_size=12),
    st.lists(st.floats(-5, 5), min_size=12, max_size=12),
)
def test_fuzz_fit_on_messy_tables_raises_only_aekit_errors(messy, clean):
    df = pd.DataFrame({"x": clean, "y": messy})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AekitWarning)
            Autoencoder(latent_dim=1, hidden_dims=(4,), max_epochs=1, validation_fraction=0).fit(df)
    except AekitError:
        pass


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m"
    aekit.save(VAE(latent_dim=1, hidden_dims=(4,), max_epochs=1).fit(table()), path)
    return {name: (path / name).read_bytes() for name in ("config.json", "model.safetensors")}


@pytest.mark.filterwarnings("ignore:.*has no observed value:aekit.AekitWarning")
@pytest.mark.parametrize(
    "crafted",
    [
        {"positions": [9], "names": ["notes"], "n_features": 4},
        {"positions": [1, 1], "names": None, "n_features": 4},
        {"positions": [1], "names": ["a", "b"], "n_features": 4},
        {"positions": "x", "names": None, "n_features": 4},
        {"positions": [3], "names": ["notes"], "n_features": 9},
        {"positions": [3.5], "names": None, "n_features": 4},
        {"positions": [3], "names": "notes", "n_features": 4},
        {"positions": [3], "names": ["age"], "n_features": 4},  # a column of the model
    ],
)
def test_a_model_file_whose_empty_columns_do_not_fit_its_table_is_refused(tmp_path, crafted):
    df = table().assign(notes=np.nan)
    path = tmp_path / "m"
    aekit.save(Imputer(Autoencoder(**FAST), n_models=1, random_state=0).fit(df), path)
    config = json.loads((path / "config.json").read_text())
    assert config["empty_columns"] == {"positions": [3], "names": ["notes"], "n_features": 4}
    config["empty_columns"] = crafted
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError):
        aekit.load(path)


@FUZZ
@given(
    st.sampled_from(["config.json", "model.safetensors"]),
    st.integers(0, 10**6),
    st.binary(min_size=1, max_size=8),
    st.booleans(),
)
def test_fuzz_model_loader_raises_only_model_file_errors(
    tmp_path_factory, model_files, name, at, patch, truncate
):
    path = tmp_path_factory.mktemp("load") / "m"
    path.mkdir()
    for file, content in model_files.items():
        (path / file).write_bytes(content)
    content = bytearray(model_files[name])
    at %= len(content)
    content = content[:at] if truncate else content[:at] + patch + content[at + len(patch) :]
    (path / name).write_bytes(bytes(content))
    try:
        aekit.load(path)
    except ModelFileError:
        pass


@FUZZ
@given(st.dictionaries(st.text(max_size=8), st.one_of(st.none(), st.integers(), st.text())))
@example(extra={"models": 1})  # once a TypeError (the saved devices' check)
def test_fuzz_hand_crafted_configs_are_refused_cleanly(tmp_path_factory, model_files, extra):
    path = tmp_path_factory.mktemp("crafted") / "m"
    path.mkdir()
    (path / "model.safetensors").write_bytes(model_files["model.safetensors"])
    config = json.loads(model_files["config.json"])
    for key, value in extra.items():  # overwrite or add keys, the checksum still right
        config[key] = value
    (path / "config.json").write_text(json.dumps(config))
    try:
        aekit.load(path)
    except ModelFileError:
        pass
