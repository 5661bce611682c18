"""Run by tests/test_distributed.py under torchrun: fit on this process's shard and
write what the test compares (each process its own files, written here directly,
since aekit itself writes only on rank 0)."""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import save_file

import aekit
from aekit.distributed import rank

torch.set_num_threads(1)


def low_rank(n=400, p=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)) @ rng.normal(size=(2, p)) + 0.1 * rng.normal(size=(n, p))


def main(out: Path) -> None:
    X = low_rank()
    ae = aekit.Autoencoder(latent_dim=2, hidden_dims=(16,), max_epochs=60, random_state=0)
    ae.fit(X)
    X_miss = aekit.ampute(X, "mcar", 0.2, random_state=0)
    dae = aekit.Autoencoder(
        noise="masking", mask_input=True, latent_dim=2, hidden_dims=(16,), max_epochs=40
    )
    imputer = aekit.Imputer(dae, n_models=2, random_state=0).fit(X_miss)
    vae = aekit.VAE(prior="student-t", latent_dim=2, hidden_dims=(16,), max_epochs=20)
    vae.set_params(random_state=0).fit(X)
    r = rank()
    table = Path(tempfile.mkdtemp()) / "table.csv"  # the same rows, a copy per process
    pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]).to_csv(table, index=False)
    streamed = aekit.Autoencoder(latent_dim=2, hidden_dims=(16,), max_epochs=30, random_state=0)
    streamed.fit(aekit.TableFile(table, chunk_rows=150))  # chunks of 150, 150 and 100 rows
    streamed_t = aekit.VAE(prior="student-t", latent_dim=2, hidden_dims=(8,), max_epochs=5)
    streamed_t.set_params(random_state=0).fit(aekit.TableFile(table, chunk_rows=150))
    # no seed: each process draws its own, and rank 0's is used by all (held-out rows
    # and steps alike; otherwise the processes would wait on each other for ever)
    unseeded = aekit.Imputer(n_models=1).fit(aekit.TableFile(table, chunk_rows=150))
    weights = {f"ae.{k}": v.contiguous() for k, v in ae.module_.state_dict().items()}
    models = (("stream", streamed), ("stream_t", streamed_t), ("unseeded", unseeded.model_))
    for name, m in models:
        weights.update({f"{name}.{k}": v.contiguous() for k, v in m.module_.state_dict().items()})
    weights.update({f"vae.{k}": v.contiguous() for k, v in vae.module_.state_dict().items()})
    for i, m in enumerate(imputer.models_):
        weights.update({f"dae{i}.{k}": v.contiguous() for k, v in m.module_.state_dict().items()})
    save_file(weights, str(out / f"rank{r}.safetensors"))
    summary = {
        "world_size": torch.distributed.get_world_size(),
        "ae_rmse": float(np.sqrt(np.mean((ae.reconstruct(X) - X) ** 2))),
        "ae_epochs": ae.n_epochs_,
        "imputed": imputer.transform(X_miss).tolist(),
    }
    (out / f"rank{r}.json").write_text(json.dumps(summary))
    aekit.save(ae, out / "model")  # rank 0 only


if __name__ == "__main__":
    main(Path(sys.argv[1]))
