"""One training loop for every model.

A model only supplies ``loss(x, mask) -> {"loss": scalar, term: scalar, ...}``.
The loop batches in-memory tensors by slicing a shuffled index (no per-sample
DataLoader work), steps Adam, evaluates on a validation split, stops early when
the validation loss stops improving and restores the best weights. Losses stay
on the device during an epoch; they are read back once per epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

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


def train(
    module: nn.Module,
    data: tuple[Tensor, Tensor],
    validation: tuple[Tensor, Tensor] | None,
    settings: TrainSettings,
    *,
    description: str = "training",
    monitor: Callable[[], float] | None = None,
) -> pd.DataFrame:
    """Fit ``module`` in place; return the per-epoch history.

    Parameters
    ----------
    module : nn.Module with a ``loss(x, mask)`` method
    data : (x, mask), shapes (n, width) and (n, n_columns)
    validation : (x, mask) or None
        Early stopping watches the validation loss, or the training loss without it.
    settings : TrainSettings
    monitor : callable, optional
        Called after each epoch (eval mode, no gradients); early stopping watches
        its value instead, recorded as ``val_monitor`` (e.g. the error of
        imputing held-out cells).

    Returns
    -------
    DataFrame with one row per epoch: ``epoch``, ``train_loss``, ``train_<term>``
    and, with a validation split, ``val_loss`` and ``val_<term>``.
    """
    x, mask = data
    n = len(x)
    params = [p for p in module.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=settings.learning_rate, foreach=True)
    rows, best, best_state, waited = [], math.inf, None, 0
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not settings.verbose,
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=settings.max_epochs, loss="-")
        for epoch in range(1, settings.max_epochs + 1):
            module.train()
            perm = torch.randperm(n, device=x.device)
            sums: dict[str, Tensor] = {}
            for s in range(0, n, settings.batch_size):
                idx = perm[s : s + settings.batch_size]
                terms = module.loss(x[idx], mask[idx])
                optimiser.zero_grad(set_to_none=True)
                terms["loss"].backward()
                optimiser.step()
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0) + v.detach() * len(idx)
            row = {"epoch": epoch}
            row.update({f"train_{k}": float(v) / n for k, v in sums.items()})
            if validation is not None:
                row.update(
                    {f"val_{k}": float(v) for k, v in _evaluate(module, *validation).items()}
                )
            if monitor is not None:
                module.eval()
                with torch.no_grad():
                    row["val_monitor"] = float(monitor())
            rows.append(row)
            watched = row.get("val_monitor", row.get("val_loss", row["train_loss"]))
            if not math.isfinite(watched):
                raise AekitError(
                    f"{description} diverged at epoch {epoch} (loss is {watched}); "
                    "lower learning_rate or check the data for extreme values"
                )
            if not math.isfinite(best) or watched < best - settings.tol * abs(best):
                best, waited = watched, 0
                best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            else:
                waited += 1
            progress.update(task, advance=1, loss=f"{watched:.4g}")
            if waited >= settings.patience:
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return pd.DataFrame(rows)
