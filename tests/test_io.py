"""Model files: safetensors + JSON, checked on load; no pickle anywhere."""

import hashlib
import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

import aekit
from aekit import VAE, AekitError, ModelFileError


@pytest.fixture
def saved(tmp_path, curve):
    vae = VAE(latent_dim=1, hidden_dims=(8,), max_epochs=3, random_state=0).fit(curve)
    aekit.save(vae, tmp_path / "m")
    return tmp_path / "m"


def test_files_are_json_and_safetensors(saved):
    assert sorted(p.name for p in saved.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((saved / "config.json").read_text())
    assert config["format"] == "aekit-model" and config["format_version"] == 1
    assert config["aekit_version"] == aekit.__version__
    assert config["estimator"] == "VAE" and config["params"]["latent_dim"] == 1
    assert [c["kind"] for c in config["state"]["encoder"]["columns"]] == ["continuous"] * 3


def test_truncated_weights_are_refused(saved):
    data = (saved / "model.safetensors").read_bytes()
    (saved / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"the weights do not match config\.json"):
        aekit.load(saved)


def test_weights_with_a_forged_hash_still_fail_cleanly(saved):
    config = json.loads((saved / "config.json").read_text())
    (saved / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    config["weights_sha256"] = hashlib.sha256(
        (saved / "model.safetensors").read_bytes()
    ).hexdigest()
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError):
        aekit.load(saved)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.update(format="something-else"), "not an aekit model file"),
        (lambda c: c.update(format_version=99), "model format version 99"),
        (lambda c: c.update(estimator="os.system"), "unknown estimator 'os.system'"),
        (lambda c: c["params"].update(latent_dim=5), "the weights do not fit the model"),
        (lambda c: c["params"].update(prior="cauchy"), "prior must be one of"),
        (lambda c: c["state"].pop("encoder"), "the model file is malformed"),
    ],
)
def test_hand_edited_config_is_refused(saved, edit, message):
    config = json.loads((saved / "config.json").read_text())
    edit(config)
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=message):
        aekit.load(saved)


def test_not_json_and_missing_files(saved, tmp_path):
    (saved / "config.json").write_bytes(b"\xff\xfe not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        aekit.load(saved)
    with pytest.raises(ModelFileError, match="no model directory there"):
        aekit.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match=r"config\.json is missing"):
        aekit.load(tmp_path / "empty")


def test_save_refuses_unfitted_and_foreign_objects(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        aekit.save(VAE(), tmp_path / "m")
    with pytest.raises(aekit.AekitError, match="save expects an aekit estimator; got dict"):
        aekit.save({}, tmp_path / "m")
    (tmp_path / "file").write_text("x")
    fitted = VAE(latent_dim=1, max_epochs=1).fit(np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises(aekit.AekitError, match="exists and is not a directory"):
        aekit.save(fitted, tmp_path / "file")


def test_no_pickle_in_the_source():
    src = Path(aekit.__file__).parent
    pattern = re.compile(r"import pickle|from pickle|cloudpickle|joblib\.load|torch\.load\(")
    offenders = [
        f"{p.name}:{i}"
        for p in src.rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line) and "weights_only=True" not in line
    ]
    assert offenders == []


def test_written_files_get_the_usual_permissions(saved):
    umask = os.umask(0)
    os.umask(umask)
    for name in ("config.json", "model.safetensors"):
        assert stat.S_IMODE((saved / name).stat().st_mode) == 0o666 & ~umask


def test_saving_over_a_model_replaces_it_whole(tmp_path, monkeypatch):
    X = np.random.default_rng(0).normal(size=(60, 4))
    first = aekit.Autoencoder(latent_dim=1, max_epochs=2, random_state=0).fit(X)
    second = aekit.Autoencoder(latent_dim=2, max_epochs=2, random_state=1).fit(X)
    path = tmp_path / "model"
    aekit.save(first, path)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(aekit.io, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        aekit.save(second, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(aekit.load(path).transform(X), first.transform(X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no debris
    aekit.save(second, path)
    np.testing.assert_array_equal(aekit.load(path).transform(X), second.transform(X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    (path / "notes.txt").write_text("mine")
    with pytest.raises(AekitError, match=r"notes\.txt"):
        aekit.save(first, path)
    assert (path / "notes.txt").read_text() == "mine"
