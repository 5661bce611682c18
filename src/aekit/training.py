"""One training loop for every model.

A model only supplies ``loss(x, mask) -> {"loss": scalar, term: scalar, ...}``.
The loop batches in-memory tensors by slicing a shuffled index (no per-sample
DataLoader work), steps Adam, evaluates on a validation split, stops early when
the validation loss stops improving and restores the best weights. Losses stay
on the device during an epoch; they are read back once per epoch. Under
``torchrun`` the loop runs as PyTorch's DistributedDataParallel, each process
on its own shard of the rows (see :mod:`aekit.distributed`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from . import distributed
from .checkpoint import (
    Checkpointer,
    load_optimiser_state,
    optimiser_state,
    rng_state,
    set_rng_state,
)
from .errors import AekitError


@dataclass(frozen=True)
class TrainSettings:
    """How to train: the estimator's shared parameters, checked."""

    batch_size: int
    max_epochs: int
    learning_rate: float
    patience: int
    verbose: bool = False
    tol: float = 1e-4  # an epoch improves if the loss drops by more than tol (relative)
    max_grad_norm: float | None = None  # clip each network's gradient norm to this
    autocast: torch.dtype | None = None  # run the training passes under torch.autocast
    checkpoint: Checkpointer | None = None


def resolve_device(device) -> torch.device:
    """``"auto"`` picks CUDA when present, else the CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise AekitError(f"device={device!r} is not a torch device ({exc})") from None


@contextmanager
def seeded(seed: int, device: torch.device):
    """Run a block with torch's generators seeded, restoring the caller's state after."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _evaluate(module: nn.Module, x: Tensor, mask: Tensor, chunk: int = 4096) -> dict[str, Tensor]:
    """Loss terms averaged over all rows, in eval mode."""
    module.eval()
    sums: dict[str, Tensor] = {}
    with torch.no_grad():
        for s in range(0, len(x), chunk):
            terms = module.loss(x[s : s + chunk], mask[s : s + chunk])
            n = min(chunk, len(x) - s)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0) + v.detach() * n
    return {k: v / len(x) for k, v in sums.items()}


def _adam(params: list[Tensor], lr: float) -> torch.optim.Optimizer:
    """Adam with the fused kernel where this torch and device have one (fewer
    kernel launches a step: most of a small network's step time), else foreach."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except RuntimeError:
        return torch.optim.Adam(params, lr=lr, foreach=True)


class _Loss(nn.Module):
    """``module.loss`` as a forward pass, for DistributedDataParallel to wrap."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: Tensor, mask: Tensor) -> dict[str, Tensor]:
        return self.module.loss(x, mask)


class _Best:
    """The best weights seen so far, per member of an ensemble (one for a single
    network): ``update`` copies the improved members' slices, ``restore`` writes
    them back."""

    def __init__(self, module: nn.Module, members: int | None):
        self.module, self.members = module, members
        self.state: dict[str, Tensor] | None = None

    def update(self, improved: np.ndarray) -> None:
        with torch.no_grad():
            if self.members is None or self.state is None:
                self.state = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
                return
            index = np.flatnonzero(improved).tolist()
            for name, p in self.module.named_parameters():
                self.state[name][index] = p.detach()[index]

    def restore(self) -> None:
        if self.state is not None:
            self.module.load_state_dict(self.state)


def chunks_of(data, rank: int = 0, size: int = 1) -> Iterator[tuple[Tensor, Tensor]]:
    """The (x, mask) chunks of training data: one for tensors held in memory, one
    per chunk for a streamed source (an object with ``chunks(rank, size)``); with
    ``size`` > 1, the rows ``rank::size`` of each chunk, as many on every process."""
    if not isinstance(data, tuple):
        yield from data.chunks(rank, size)
        return
    x, mask = data
    if size > 1:
        local = len(x) // size
        x, mask = x[rank::size][:local], mask[rank::size][:local]
    yield x, mask


def train(
    module: nn.Module,
    data: tuple[Tensor, Tensor],
    validation: tuple[Tensor, Tensor] | None,
    settings: TrainSettings,
    *,
    description: str = "training",
    monitor: Callable[[], float] | None = None,
) -> pd.DataFrame | list[pd.DataFrame]:
    """Fit ``module`` in place; return the per-epoch history.

    Parameters
    ----------
    module : nn.Module with a ``loss(x, mask)`` method
        With a ``members`` attribute that is not None, an ensemble (see
        ``aekit.models.networks``): each member sees its own shuffle of the rows,
        its loss terms have shape (members,), and each member stops improving,
        and is restored to its best epoch, on its own; training ends when every
        member has run out of patience.
    data : (x, mask), shapes (n, width) and (n, n_columns), or a streamed source
        An object whose ``chunks()`` yields such pairs (``device`` says where),
        read anew every epoch; rows are shuffled within each chunk. Under
        torchrun each process trains on rows ``rank::world_size`` of every chunk,
        cut to the same count on every process (see :func:`chunks_of`).
    validation : (x, mask) or None
        Early stopping watches the validation loss, or the training loss without it.
    settings : TrainSettings
    monitor : callable, optional
        Called after each epoch (eval mode, no gradients); early stopping watches
        its value instead (one per member for an ensemble), recorded as
        ``val_monitor`` (e.g. the error of imputing held-out cells). It may also
        return a dict with that value under "monitor" and more under other
        keys, each recorded as ``val_<key>``.

    Returns
    -------
    DataFrame with one row per epoch: ``epoch``, ``train_loss``, ``train_<term>``,
    with a validation split ``val_loss`` and ``val_<term>``, and ``best`` (True
    at the epoch whose weights were kept); for an ensemble, a list of such
    frames, one per member, each ending where that member stopped (its weights
    are frozen at its best epoch from then on, whatever the others do).
    """
    device = data[0].device if isinstance(data, tuple) else data.device
    members = getattr(module, "members", None)
    count = members or 1
    params = [p for p in module.parameters() if p.requires_grad]
    optimiser = _adam(params, settings.learning_rate)
    loss_of, batch_size, main = module.loss, settings.batch_size, True
    shared = distributed.start(device)  # one of several processes training one model
    rank, size = 0, 1
    if shared:
        # each process trains on its own equal shard of every chunk (every process
        # takes the same number of steps) with its share of the batch, so the global
        # batch and the steps per epoch are a single process's; the gradients are
        # averaged
        rank, size = distributed.rank(), distributed.world_size()
        batch_size = max(1, math.ceil(batch_size / size))
        ids = [device.index] if device.type == "cuda" else None
        loss_of = DistributedDataParallel(_Loss(module), device_ids=ids)
        main = rank == 0

    cast = settings.autocast is not None
    rows: list[list[dict]] = [[] for _ in range(count)]
    best, waited = np.full(count, math.inf), np.zeros(count, dtype=int)
    best_epoch = np.zeros(count, dtype=int)
    snapshot = _Best(module, members)
    checkpoint = settings.checkpoint
    start, finished = 1, False
    saved = checkpoint.load(description) if checkpoint is not None else None
    if saved is not None:
        tensors, meta = saved
        module.load_state_dict(_prefixed(tensors, "module."))
        load_optimiser_state(optimiser, tensors, meta["param_groups"])
        if any(k.startswith("best.") for k in tensors):
            snapshot.state = {k: v.to(device) for k, v in _prefixed(tensors, "best.").items()}
        set_rng_state(tensors, device)
        rows = meta["rows"]
        best = np.asarray(meta["best"], dtype=np.float64)
        waited = np.asarray(meta["waited"], dtype=int)
        best_epoch = np.asarray(meta["best_epoch"], dtype=int)
        start, finished = meta["epoch"] + 1, meta["finished"]

    def save(epoch: int, done: bool) -> None:
        tensors = {f"module.{k}": v for k, v in module.state_dict().items()}
        if snapshot.state is not None:
            tensors.update({f"best.{k}": v for k, v in snapshot.state.items()})
        moments, groups = optimiser_state(optimiser)
        tensors.update(moments)
        tensors.update(rng_state(device))
        meta = {
            "epoch": epoch,
            "finished": done,
            "rows": rows,
            "best": best.tolist(),
            "waited": waited.tolist(),
            "best_epoch": best_epoch.tolist(),
            "param_groups": groups,
        }
        checkpoint.save(description, tensors, meta)

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not (settings.verbose and main),
        transient=False,
    )
    with progress:
        task = progress.add_task(
            description, total=settings.max_epochs, completed=start - 1, loss="-"
        )
        epoch = start - 1
        for epoch in range(start, 1 if finished else settings.max_epochs + 1):
            module.train()
            sums: dict[str, Tensor] = {}
            n = 0
            for x, mask in chunks_of(data, rank, size):
                if members is None:
                    perm = torch.randperm(len(x), device=device)
                else:  # a shuffle per member, (members, n)
                    perm = torch.rand(members, len(x), device=device).argsort(dim=1)
                for s in range(0, len(x), batch_size):
                    idx = perm[..., s : s + batch_size]
                    with torch.autocast(device.type, settings.autocast, enabled=cast):
                        terms = loss_of(x[idx], mask[idx])
                    optimiser.zero_grad(set_to_none=True)
                    terms["loss"].sum().backward()  # members are independent: sum their losses
                    if settings.max_grad_norm is not None:
                        _clip(params, settings.max_grad_norm, members)
                    optimiser.step()
                    for k, v in terms.items():
                        sums[k] = sums.get(k, 0) + v.detach() * idx.shape[-1]
                n += len(x)
            if n == 0:
                raise AekitError(f"{description}: no training rows")
            values = {f"train_{k}": _per_member(v / n, count) for k, v in sums.items()}
            if validation is not None:
                for k, v in _evaluate(module, *validation).items():
                    values[f"val_{k}"] = _per_member(v, count)
            if monitor is not None:
                module.eval()
                with torch.no_grad():
                    reported = monitor()
                if not isinstance(reported, dict):
                    reported = {"monitor": reported}
                for k, v in reported.items():
                    values[f"val_{k}"] = _per_member(v, count)
            if shared:  # the same decisions on every process
                values = distributed.mean_over_processes(values, device)
            watched = values.get("val_monitor", values.get("val_loss", values["train_loss"]))
            active = waited < settings.patience  # members still training this epoch
            for e in np.flatnonzero(active):
                rows[e].append({"epoch": epoch, **{k: float(v[e]) for k, v in values.items()}})
            if not np.isfinite(watched[active]).all():
                raise AekitError(
                    f"{description} diverged at epoch {epoch} (loss is "
                    f"{watched[active].tolist()}); lower learning_rate or check the data "
                    "for extreme values"
                )
            with np.errstate(invalid="ignore"):  # inf - inf before the first epoch
                improved = ~np.isfinite(best) | (watched < best - settings.tol * np.abs(best))
            improved &= active  # a member that ran out of patience keeps its best weights
            best = np.where(improved, watched, best)
            best_epoch = np.where(improved, epoch, best_epoch)
            waited = np.where(improved, 0, waited + 1)
            if improved.any():
                snapshot.update(improved)
            progress.update(task, advance=1, loss=f"{watched[active].mean():.4g}")
            if (waited >= settings.patience).all():
                break
            if checkpoint is not None and main and checkpoint.due():
                save(epoch, done=False)
        if checkpoint is not None and main and not finished:
            save(epoch, done=True)
    snapshot.restore()
    module.eval()
    frames = [pd.DataFrame(r) for r in rows]
    for frame, kept in zip(frames, best_epoch, strict=True):
        frame["best"] = frame["epoch"] == kept
    return frames if members is not None else frames[0]


def _prefixed(tensors: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _clip(params: list[Tensor], max_norm: float, members: int | None) -> None:
    """Scale gradients so that each network's norm is at most ``max_norm``; the
    members of an ensemble are clipped one by one (their parameters all lead with
    the member axis), so one member's large gradient does not shrink the others'."""
    grads = [p.grad for p in params if p.grad is not None]
    if members is None:
        torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True)
        return
    norms = torch.stack([g.reshape(members, -1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
    factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(factor.view(-1, *([1] * (g.dim() - 1))))


def _per_member(value, count: int) -> np.ndarray:
    """A scalar or a (members,) tensor or sequence as a float array of length count."""
    if isinstance(value, Tensor):
        value = value.detach().double().cpu().numpy()
    return np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (count,))
