"""One training loop for every model.

A model only supplies ``loss(x, mask) -> {"loss": scalar, term: scalar, ...}``.
The loop batches rows by slicing a shuffled index over tensors (no per-sample
DataLoader work), steps Adam at a constant, cosine-scheduled or plateau-cut step size
(:func:`learning_rate`), evaluates on validation rows, and stops early
(:class:`~aekit.training.stopping.EarlyStopping`), restoring the best weights
(or the best moving average of them). An ensemble's member that has stopped
leaves the batched network (its best weights kept aside), so that the others
train on without its arithmetic.
Losses stay on the device during an epoch; they are read back once per epoch.
Under ``torchrun`` the loop runs as PyTorch's DistributedDataParallel, each
process on its own shard of the rows (see :mod:`aekit.distributed`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
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

from .. import distributed
from ..errors import AekitError
from ..models.networks import select_members
from .adam import Adam
from .checkpoint import Checkpointer
from .stopping import EarlyStopping

INFERENCE_CHUNK = 4096  # rows per forward pass outside training steps
PASS_VALUES = (
    1 << 23
)  # values a pass outside training holds at most, about (k draws x rows x width)
SCHEDULES = ("constant", "cosine", "plateau")  # how the step size moves over the epochs
FINAL_SHARE = 0.01  # where the cosine schedule ends, as a share of the first step size
PLATEAU_SHARE = 0.4  # "plateau": halve the step after this share of the patience


@dataclass(frozen=True)
class TrainSettings:
    """How to train: the estimator's shared parameters, checked."""

    batch_size: int
    max_epochs: int
    learning_rate: float
    patience: int
    schedule: str = "constant"  # one of SCHEDULES
    verbose: bool = False
    tol: float = 1e-4  # an epoch improves if the loss drops by more than tol (relative)
    max_grad_norm: float | None = None  # clip each network's gradient norm to this
    autocast: torch.dtype | None = None  # run the training passes under torch.autocast
    checkpoint: Checkpointer | None = None
    # row indices, (n,) or (members, n): each network's epoch is a shuffle of its own
    # resample of the rows (a bootstrap), for rows held in one chunk
    resample: Tensor | None = None
    # with a decay, early stopping watches and keeps a moving average of the weights
    # at the ends of epochs instead of the weights themselves (see EarlyStopping)
    average: float | None = None


def chunk_rows(values_per_row: int) -> int:
    """Rows per forward pass outside training: :data:`INFERENCE_CHUNK`, or fewer
    where each row takes ``values_per_row`` values (k draws x the encoded width),
    so that a pass holds about :data:`PASS_VALUES` (a thousand-level column's 100
    draws of 4,096 rows took 8 GB)."""
    return max(1, min(INFERENCE_CHUNK, PASS_VALUES // max(values_per_row, 1)))


def resolve_device(device) -> torch.device:
    """``"auto"`` picks CUDA when present, else the CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise AekitError(f"device={device!r} is not a torch device ({exc})") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise AekitError(
            f"device={device!r}, but this torch sees no CUDA device (torch.cuda.is_available() "
            "is False); pass device='cpu', or 'auto' to use a GPU where there is one"
        )
    return chosen


@contextmanager
def seeded(seed: int, device: torch.device):
    """Run a block with torch's generators seeded, restoring the caller's state after."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def learning_rate(settings: TrainSettings, epoch: int) -> float:
    """Adam's step size in ``epoch`` (1-based): constant, or falling along a half
    cosine from ``learning_rate`` at the first epoch towards ``FINAL_SHARE`` of it
    after the last (a function of the epoch alone: a resumed fit continues it).
    "plateau" is constant here; early stopping cuts it (``EarlyStopping.step_share``)."""
    lr = settings.learning_rate
    if settings.schedule != "cosine":
        return lr
    low = lr * FINAL_SHARE
    return low + (lr - low) * (1 + math.cos(math.pi * (epoch - 1) / settings.max_epochs)) / 2


def train(
    module: nn.Module,
    data,
    validation,
    settings: TrainSettings,
    *,
    description: str = "training",
    monitor: Callable[[], float | dict] | None = None,
) -> pd.DataFrame | list[pd.DataFrame]:
    """Fit ``module`` in place; return the per-epoch history.

    Parameters
    ----------
    module : nn.Module with a ``loss(x, mask)`` method
        With a ``members`` attribute that is not None, an ensemble (see
        ``aekit.models.networks``): each member sees its own shuffle of the rows,
        its loss terms have shape (members,), and it stops on its own (see
        :class:`~aekit.training.stopping.EarlyStopping`).
    data : training rows, e.g. :class:`aekit.data.rows.TensorRows`
        An object with a ``device`` and ``chunks(rank, size)``, which yields
        ``(x, mask)`` pairs of shapes (n, width) and (n, n_columns), asked for
        anew every epoch (process ``rank`` of ``size`` gets its own shard of each);
        rows are shuffled within each chunk.
    validation : rows with ``x`` and ``mask`` tensors, or None
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
    with validation rows ``val_loss`` and ``val_<term>``, and ``best`` (True at
    the epoch whose weights were kept); for an ensemble, a list of such frames,
    one per member, each ending where that member stopped.
    """
    step = _Steps(module, settings, data.device, description)
    plateau = None
    if settings.schedule == "plateau":
        plateau = max(1, round(PLATEAU_SHARE * settings.patience))
    stopping = EarlyStopping(module, settings.patience, settings.tol, settings.average, plateau)
    checkpoint = settings.checkpoint
    start, finished = (1, False)
    if checkpoint is not None:
        start, finished = checkpoint.restore_training(description, module, step.optimiser, stopping)
    saving = checkpoint is not None and step.main
    epoch = start - 1
    with _progress(description, settings, start, step.main) as advance:
        for epoch in range(start, 1 if finished else settings.max_epochs + 1):
            # a pass over the training rows, one optimiser step per batch
            values = step.epoch(data, learning_rate(settings, epoch) * stopping.step_share)
            trained = stopping.average_in()  # the module holds the average, if any
            # the loss terms on the validation rows
            if validation is not None:
                values.update(_evaluate(module, validation, step.count))
            # the monitor's values (e.g. the error of imputing held-out cells)
            if monitor is not None:
                values.update(_watch(module, monitor, step.count))
            # the same decisions on every process
            if step.shared:
                values = distributed.mean_over_processes(values, data.device)
            # early stopping: each member keeps its best weights
            advance(stopping.update(epoch, values, description))
            stopping.average_out(trained)
            if stopping.done:
                break
            # members that stopped leave the batched network: no more arithmetic
            if step.can_drop and (kept := stopping.drop_stopped()) is not None:
                step.keep(kept)
            # the whole training state, now and then
            if saving and checkpoint.due():
                checkpoint.save_training(
                    description, epoch, False, module, step.optimiser, stopping
                )
        if saving and not finished:
            checkpoint.save_training(description, epoch, True, module, step.optimiser, stopping)
    stopping.restore()
    module.eval()
    return stopping.history()


class _Steps:
    """The optimiser steps of an epoch: Adam, autocast, gradient clipping, and
    under torchrun DistributedDataParallel on this process's shard, with its
    share of the batch (the global batch and the steps per epoch are a single
    process's; the gradients are averaged)."""

    def __init__(self, module: nn.Module, settings: TrainSettings, device, description: str):
        self.module, self.settings, self.device = module, settings, device
        self.description = description
        self.members = getattr(module, "members", None)
        self.resample = settings.resample
        self.params = [p for p in module.parameters() if p.requires_grad]
        self.optimiser = Adam(self.params, settings.learning_rate)
        self.loss_of, self.batch_size = module.loss, settings.batch_size
        self.shared = distributed.start(device)  # one of several processes training one model
        self.rank, self.size = 0, 1
        if self.shared:
            self.rank, self.size = distributed.rank(), distributed.world_size()
            self.batch_size = max(1, math.ceil(self.batch_size / self.size))
            ids = [device.index] if device.type == "cuda" else None
            self.loss_of = DistributedDataParallel(_Loss(module), device_ids=ids)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def count(self) -> int:
        """Networks trained now (members still in the ensemble, or 1)."""
        return self.members or 1

    @property
    def can_drop(self) -> bool:
        """Whether stopped members may leave the ensemble: not under torchrun (the
        processes' parameters must keep one shape), nor with a checkpoint (it
        holds whole ensembles) or a moving average (it is kept whole)."""
        settings = self.settings
        return (
            self.members is not None
            and not self.shared
            and settings.checkpoint is None
            and settings.average is None
        )

    def keep(self, index: Tensor) -> None:
        """Train only the members at ``index`` from now on: their slices of the
        parameters, of Adam's moments and of the rows' resamples."""
        index = index.to(self.device)
        self.optimiser.keep(index)
        select_members(self.module, index)
        self.members = len(index)
        if self.resample is not None and self.resample.dim() > 1:  # one per member
            self.resample = self.resample[index]

    def _order(self, n: int) -> Tensor:
        """The rows of a chunk of ``n`` in this epoch's order: a shuffle, one per
        member (members, n), of the rows or of each network's resample of them."""
        members, resample = self.members, self.resample
        if resample is None:
            if members is None:
                return torch.randperm(n, device=self.device)
            return torch.rand(members, n, device=self.device).argsort(dim=1)
        if self.shared or resample.shape[-1] != n:
            raise AekitError(
                f"{self.description}: a resample of {resample.shape[-1]} rows needs the "
                f"training rows in one chunk of one process; got a chunk of {n}"
            )
        order = torch.rand(resample.shape, device=self.device).argsort(dim=-1)
        return resample.gather(-1, order)

    def _batches(self, data):
        """The epoch's batches ``(x, mask)``, of shape (b, ...) or (members, b, ...):
        ``batch_size`` rows each, in each chunk's own shuffled order. The rows left
        at a chunk's end open the next chunk's first batch, so that only the last
        batch may be short, as in memory (and a file takes the steps of its rows
        in memory, not a short batch a chunk)."""
        bs, left = self.batch_size, None
        for x, mask in data.chunks(self.rank, self.size):
            perm, start = self._order(len(x)), 0
            if left is not None:  # the last chunk's rows first, then enough of this one's
                start = bs - left[0].shape[-2]
                idx = perm[..., :start]
                xb = torch.cat([left[0], _rows(x, idx)], dim=-2)
                left = (xb, torch.cat([left[1], _rows(mask, idx)], dim=-2))
                if xb.shape[-2] == bs:
                    yield left
                    left = None
            for s in range(start, len(x), bs):
                idx = perm[..., s : s + bs]
                batch = _rows(x, idx), _rows(mask, idx)
                if idx.shape[-1] == bs:
                    yield batch
                else:
                    left = batch
        if left is not None:
            yield left

    def epoch(self, data, lr: float) -> dict[str, np.ndarray]:
        """One pass over the rows at step size ``lr``; the mean training loss
        terms, one per member."""
        self.module.train()
        cast, members = self.settings.autocast, self.members
        steps: list[tuple[dict[str, Tensor], int]] = []  # each step's terms and rows
        n = 0
        plain = nullcontext()  # without autocast, no context to enter a step
        # a perceptron's gradients written out, where the module can (not under
        # autocast, nor torchrun, whose gradients autograd's hooks average); asked
        # at the epoch's first batch
        written = hasattr(self.module, "loss_and_gradients") and cast is None and not self.shared
        hand = None if written else False
        for xb, mb in self._batches(data):
            if hand is None:
                hand = self.module.gradients_by_hand(xb)
            # gradients written out need no autograd: in inference mode its
            # dispatch and version counts are skipped too (the same values)
            with torch.inference_mode() if hand else plain:
                if hand:
                    terms = self.module.loss_and_gradients(xb, mb)  # and every .grad
                else:
                    with torch.autocast(self.device.type, cast) if cast is not None else plain:
                        terms = self.loss_of(xb, mb)
                    for p in self.params:  # zero_grad(set_to_none=True) without its hook
                        p.grad = None
                    loss = terms["loss"]  # members are independent: the sum of their losses
                    (loss.sum() if loss.dim() else loss).backward()
                if self.settings.max_grad_norm is not None:
                    clip_gradients(self.params, self.settings.max_grad_norm, members)
                self.optimiser.step([p.grad for p in self.params], lr)
            steps.append(({k: v.detach() for k, v in terms.items()}, xb.shape[-2]))
            n += xb.shape[-2]
        if n == 0:
            raise AekitError(f"{self.description}: no training rows")
        # the row-weighted mean of each term, in a few kernels once an epoch rather
        # than a few every step (a small table's step is mostly kernel launches)
        rows = torch.tensor([b for _, b in steps], dtype=torch.float32, device=self.device)
        out = {}
        for k in steps[0][0]:
            values = torch.stack([t[k].float() for t, _ in steps])  # (steps,) or (steps, members)
            total = (values * rows.view(-1, *[1] * (values.dim() - 1))).sum(0)
            out[f"train_{k}"] = _per_member(total / n, members or 1)
        return out


def _rows(t: Tensor, idx: Tensor) -> Tensor:
    """``t[idx]`` for rows ``idx`` of shape (b,) or (members, b), by ``index_select``
    (the same values, in two thirds of an advanced index's time at a batch's size)."""
    return t.index_select(0, idx.reshape(-1)).view(*idx.shape, *t.shape[1:])


@contextmanager
def _progress(description: str, settings: TrainSettings, start: int, main: bool):
    """A progress bar over the epochs (when verbose, on the main process); yields
    the function that advances it by an epoch, showing a loss."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not (settings.verbose and main),
        transient=False,
    )
    with bar:
        task = bar.add_task(description, total=settings.max_epochs, completed=start - 1, loss="-")
        yield lambda loss: bar.update(task, advance=1, loss=f"{loss:.4g}")


def _evaluate(module: nn.Module, rows, count: int) -> dict[str, np.ndarray]:
    """Loss terms averaged over all validation rows, in eval mode, as ``val_<term>``."""
    module.eval()
    x, mask = rows.x, rows.mask
    sums: dict[str, Tensor] = {}
    with torch.no_grad():
        for s in range(0, len(x), INFERENCE_CHUNK):
            terms = module.loss(x[s : s + INFERENCE_CHUNK], mask[s : s + INFERENCE_CHUNK])
            n = min(INFERENCE_CHUNK, len(x) - s)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0) + v.detach() * n
    return {f"val_{k}": _per_member(v / len(x), count) for k, v in sums.items()}


def _watch(module: nn.Module, monitor: Callable, count: int) -> dict[str, np.ndarray]:
    """The monitor's values after an epoch (eval mode, no gradients), as ``val_<key>``."""
    module.eval()
    with torch.no_grad():
        reported = monitor()
    if not isinstance(reported, dict):
        reported = {"monitor": reported}
    return {f"val_{k}": _per_member(v, count) for k, v in reported.items()}


class _Loss(nn.Module):
    """``module.loss`` as a forward pass, for DistributedDataParallel to wrap."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: Tensor, mask: Tensor) -> dict[str, Tensor]:
        return self.module.loss(x, mask)


def clip_gradients(params: list[Tensor], max_norm: float, members: int | None) -> None:
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
