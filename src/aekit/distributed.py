"""Training on several processes: PyTorch's DistributedDataParallel under ``torchrun``.

Run the same script or command on every process, for instance

    torchrun --nproc_per_node=2 my_script.py          # calls aekit.VAE().fit(X)
    torchrun --nproc_per_node=2 -m aekit fit data.csv -o model

and aekit trains one model together: each process takes its own shard of the
training rows, gradients are averaged by ``DistributedDataParallel`` (gloo on
the CPU, NCCL on GPUs), the per-epoch losses that early stopping watches are
averaged over the processes, so every process keeps the same weights, and only
the process of rank 0 writes files (models, checkpoints, outputs, figures).

The process group is started from torchrun's environment variables the first
time a model trains (or by the caller, with ``torch.distributed.init_process_group``).
"""

from __future__ import annotations

import atexit
import os

import numpy as np
import torch
import torch.distributed as dist


def _launched() -> bool:
    """Whether this process was started by torchrun (or alike) as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def start(device: torch.device) -> bool:
    """Join the process group torchrun describes (gloo on the CPU, NCCL on CUDA),
    if there is one; return whether training is distributed."""
    if not dist.is_available():
        return False
    if not dist.is_initialized():
        if not _launched():
            return False
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(_stop)
    return dist.get_world_size() > 1


def agree(value: int, device: torch.device) -> int:
    """Rank 0's ``value`` on every process (an integer such as a seed); ``value``
    itself when not distributed. Seeds drawn at fit time pass through here, so
    that without a fixed ``random_state`` every process still holds out the same
    rows and cells, and takes the same number of steps (DDP needs both)."""
    if not start(device):
        return value
    t = torch.tensor([value], dtype=torch.int64, device=device)
    dist.broadcast(t, src=0)
    return int(t.item())


def _stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0")) if _launched() else 0


def is_main_process() -> bool:
    """Whether this process writes files: always, unless it is one of several with a
    rank other than 0."""
    return rank() == 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def mean_over_processes(values: dict, device: torch.device) -> dict:
    """``values`` (name -> float array) averaged over the processes, key by key."""
    names = sorted(values)
    flat = torch.from_numpy(
        np.concatenate([np.asarray(values[k], dtype=np.float64).reshape(-1) for k in names])
    ).to(device)
    dist.all_reduce(flat)
    flat = (flat / dist.get_world_size()).cpu().numpy()
    out, start = {}, 0
    for k in names:
        size = len(values[k])
        out[k] = flat[start : start + size]
        start += size
    return out
