"""Training under torchrun with DistributedDataParallel (gloo, CPU): two processes
end with the same weights, as good as one process's, and only rank 0 writes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import aekit
from aekit import distributed
from ddp_worker import low_rank

pytestmark = pytest.mark.slow  # pytest -m 'not slow' leaves these out

WORKER = Path(__file__).with_name("ddp_worker.py")


def torchrun(*args) -> subprocess.CompletedProcess:
    """Run ``args`` as two processes under torchrun (one thread each); fail on an error."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    done = subprocess.run(
        [*command, "--nproc_per_node=2", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    torchrun(WORKER, out)
    return out


def test_both_processes_hold_identical_weights(two_processes):
    a = load_file(str(two_processes / "rank0.safetensors"))
    b = load_file(str(two_processes / "rank1.safetensors"))
    assert a.keys() == b.keys() and len(a) > 10
    assert all(torch.equal(a[k], b[k]) for k in a)
    ra, rb = (json.loads((two_processes / f"rank{r}.json").read_text()) for r in (0, 1))
    assert ra["world_size"] == 2 and ra["imputed"] == rb["imputed"]


def test_as_good_as_one_process(two_processes):
    summary = json.loads((two_processes / "rank0.json").read_text())
    X = low_rank()
    single = aekit.Autoencoder(latent_dim=2, hidden_dims=(16,), max_epochs=60, random_state=0)
    rmse = float(np.sqrt(np.mean((single.fit(X).reconstruct(X) - X) ** 2)))
    assert summary["ae_rmse"] < 1.25 * rmse
    X_miss = aekit.ampute(X, "mcar", 0.2, random_state=0)
    mask = np.isnan(X_miss)
    ddp = aekit.metrics.nrmse(X, np.asarray(summary["imputed"]), mask)
    mean = aekit.metrics.nrmse(X, np.where(mask, np.nanmean(X_miss, axis=0), X_miss), mask)
    assert ddp < 0.6 * mean  # it learned to impute


def test_only_rank_0_writes(two_processes):
    loaded = aekit.load(two_processes / "model")  # whole, written once
    assert loaded.n_epochs_ == json.loads((two_processes / "rank0.json").read_text())["ae_epochs"]
    names = sorted(p.name for p in two_processes.iterdir())
    assert names == ["model", "rank0.json", "rank0.safetensors", "rank1.json", "rank1.safetensors"]


def test_a_single_process_is_not_distributed():
    assert distributed.rank() == 0 and distributed.is_main_process()
    assert not distributed.start(torch.device("cpu"))


def test_the_command_line_under_torchrun(tmp_path):
    X = low_rank(120, 4)
    np.save(tmp_path / "data.npy", X)
    data, model = tmp_path / "data.npy", tmp_path / "model"
    done = torchrun("-m", "aekit", "fit", data, "-o", model, "--model", "ae", "--latent-dim", 2)
    assert done.stderr.count("Saved ae (2-d code") == 1  # rank 0 speaks
    detector = aekit.load(tmp_path / "model")
    assert np.isfinite(detector.score_samples(X)).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.npy", "model"]
