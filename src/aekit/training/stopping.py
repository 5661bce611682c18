"""Early stopping, per member of an ensemble, with the best weights so far.

A single network is an ensemble of one. Each epoch the loop hands over its
values (name -> one number per member); the watched one is the monitor's when
there is one, else the validation loss, else the training loss. A member
improves when its watched value drops by more than ``tol`` (relative); after
``patience`` epochs without improvement it stops, its weights frozen at its
best epoch whatever the others do, and training ends when every member has
stopped. The object also holds the per-epoch history, and gives all of this
to a checkpoint and takes it back (:meth:`state`, :meth:`load_state`).

With ``plateau`` (a number of epochs), the object also sets the step size's
share, :attr:`EarlyStopping.step_share`: halved once every network still
training has gone ``plateau`` epochs without improving, and as many since the
last cut (a reduction on plateau: the steps settle into the minimum the
network has found rather than wander around it until patience runs out).

With ``average`` (a decay in (0, 1)), what is watched and kept is not the
weights an epoch ends with but their exponential moving average over epochs,
``a_t = average * a_(t-1) + (1 - average) * w_t``, a Polyak average that takes
out much of the noise of steps at a constant step size (its held-out error is
mostly below the weights' at equal epochs). Training itself continues from the
weights, not from the average.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from ..errors import AekitError
from ..models.networks import select_members


class EarlyStopping:
    """When to stop each member of ``module``, and its best weights.

    Parameters
    ----------
    module : nn.Module
        With a ``members`` attribute that is not None, an ensemble (see
        ``aekit.models.networks``) whose parameters lead with the member axis.
    patience : int
    tol : float
    average : float, optional
        The moving average's decay per epoch (None: watch the weights).
    plateau : int, optional
        Epochs without improvement after which the step size is halved (None:
        :attr:`step_share` stays 1).
    """

    def __init__(
        self,
        module: nn.Module,
        patience: int,
        tol: float,
        average: float | None = None,
        plateau: int | None = None,
    ):
        self.module, self.patience, self.tol = module, patience, tol
        self.decay, self.plateau = average, plateau
        self.step_share, self.last_cut = 1.0, 0  # the step size's share, and when cut
        self.average: dict[str, Tensor] | None = None  # the trained weights' moving average
        self.members = getattr(module, "members", None)
        self.count = self.members or 1
        self.rows: list[list[dict]] = [[] for _ in range(self.count)]
        self.best = np.full(self.count, math.inf)
        self.waited = np.zeros(self.count, dtype=int)
        self.best_epoch = np.zeros(self.count, dtype=int)
        self.weights: dict[str, Tensor] | None = None  # the best state dict so far
        # which members the module holds now: all, until the loop drops stopped
        # ones from it (see :meth:`drop_stopped`)
        self.present = np.arange(self.count)

    @property
    def active(self) -> np.ndarray:
        """Which members are still training."""
        return self.waited < self.patience

    @property
    def done(self) -> bool:
        return not self.active.any()

    def update(self, epoch: int, values: dict[str, np.ndarray], description: str) -> float:
        """Record an epoch's values (one per member the module holds) and keep the
        improved members' weights; return the watched value, averaged over the
        members still training."""
        if len(self.present) < self.count:  # back to one value per member, NaN if dropped
            values = {k: self._full(v) for k, v in values.items()}
        watched = values.get("val_monitor", values.get("val_loss", values["train_loss"]))
        active = self.active
        for e in np.flatnonzero(active):
            self.rows[e].append({"epoch": epoch, **{k: float(v[e]) for k, v in values.items()}})
        if not np.isfinite(watched[active]).all():
            raise AekitError(
                f"{description} diverged at epoch {epoch} (loss is "
                f"{watched[active].tolist()}); lower learning_rate or check the data "
                "for extreme values"
            )
        with np.errstate(invalid="ignore"):  # inf - inf before the first epoch
            improved = ~np.isfinite(self.best) | (
                watched < self.best - self.tol * np.abs(self.best)
            )
        improved &= active  # a member that ran out of patience keeps its best weights
        self.best = np.where(improved, watched, self.best)
        self.best_epoch = np.where(improved, epoch, self.best_epoch)
        self.waited = np.where(improved, 0, self.waited + 1)
        if improved.any():
            self._keep(improved)
        training = self.active
        if (
            self.plateau is not None
            and training.any()
            and self.waited[training].min() >= self.plateau
            and epoch - self.last_cut >= self.plateau
        ):
            self.step_share, self.last_cut = self.step_share / 2, epoch
        return float(watched[active].mean())

    def average_in(self) -> dict[str, Tensor] | None:
        """With a moving average: fold the weights of the epoch just trained into
        it, put it into the module (to be watched and kept) and return the trained
        weights, for :meth:`average_out`; without one, None."""
        if self.decay is None:
            return None
        params = {k: p for k, p in self.module.named_parameters() if p.requires_grad}
        with torch.no_grad():
            trained = {k: p.detach().clone() for k, p in params.items()}
            if self.average is None:
                self.average = {k: v.clone() for k, v in trained.items()}
            else:
                for k, v in self.average.items():
                    v.lerp_(trained[k], 1 - self.decay)
            for k, p in params.items():
                p.copy_(self.average[k])
        return trained

    def average_out(self, trained: dict[str, Tensor] | None) -> None:
        """Put back the trained weights that :meth:`average_in` returned."""
        if trained is None:
            return
        with torch.no_grad():
            for k, p in self.module.named_parameters():
                if k in trained:
                    p.copy_(trained[k])

    def _full(self, value: np.ndarray) -> np.ndarray:
        out = np.full(self.count, np.nan)
        out[self.present] = value
        return out

    def drop_stopped(self) -> Tensor | None:
        """The positions, in the module, of the members it holds that are still
        training, when some it holds have stopped (for the loop to keep only
        those: a stopped member's best weights are kept here); else None."""
        held = self.active[self.present]
        if held.all() or not held.any():
            return None
        self.present = self.present[held]
        return torch.from_numpy(np.flatnonzero(held))

    def _keep(self, improved: np.ndarray) -> None:
        """Copy the improved members' weights (their slices of an ensemble's)."""
        with torch.no_grad():
            if self.members is None or self.weights is None:
                self.weights = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
                return
            index = np.flatnonzero(improved)
            where = np.searchsorted(self.present, index).tolist()  # their places in the module
            for name, p in self.module.named_parameters():
                self.weights[name][index.tolist()] = p.detach()[where]

    def restore(self) -> None:
        """Put every member's best weights back into the module (at its full size,
        if stopped members were dropped from it)."""
        if self.weights is None:
            return
        if len(self.present) < self.count:
            device = next(self.module.parameters()).device
            select_members(self.module, torch.zeros(self.count, dtype=torch.long, device=device))
            self.present = np.arange(self.count)
        self.module.load_state_dict(self.weights)

    def history(self) -> pd.DataFrame | list[pd.DataFrame]:
        """One row per epoch, with ``best`` True at the epoch whose weights were
        kept; for an ensemble a list of such frames, one per member, each ending
        where that member stopped."""
        frames = [pd.DataFrame(r) for r in self.rows]
        for frame, kept in zip(frames, self.best_epoch, strict=True):
            frame["best"] = frame["epoch"] == kept
        return frames if self.members is not None else frames[0]

    def state(self) -> tuple[dict[str, Tensor], dict]:
        """The best weights (as ``best.<name>`` tensors), the moving average
        (``average.<name>``) and the counters and history (JSON), for a checkpoint."""
        weights = self.weights or {}
        average = {f"average.{k}": v for k, v in (self.average or {}).items()}
        meta = {
            "rows": self.rows,
            "best": self.best.tolist(),
            "waited": self.waited.tolist(),
            "best_epoch": self.best_epoch.tolist(),
            "step_share": self.step_share,
            "last_cut": self.last_cut,
        }
        return {**{f"best.{k}": v for k, v in weights.items()}, **average}, meta

    def load_state(self, tensors: dict[str, Tensor], meta: dict, device: torch.device) -> None:
        """Take back what :meth:`state` gave (from a checkpoint)."""
        self.weights = _prefixed(tensors, "best.", device)
        self.average = _prefixed(tensors, "average.", device)
        self.rows = meta["rows"]
        self.best = np.asarray(meta["best"], dtype=np.float64)
        self.waited = np.asarray(meta["waited"], dtype=int)
        self.best_epoch = np.asarray(meta["best_epoch"], dtype=int)
        self.step_share = float(meta.get("step_share", 1.0))
        self.last_cut = int(meta.get("last_cut", 0))


def _prefixed(tensors: dict[str, Tensor], prefix: str, device) -> dict[str, Tensor] | None:
    """The tensors whose names start with ``prefix``, without it; None if none."""
    found = {k[len(prefix) :]: v.to(device) for k, v in tensors.items() if k.startswith(prefix)}
    return found or None
