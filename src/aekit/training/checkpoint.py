"""Training checkpoints: everything needed to continue a fit where it stopped.

A checkpoint is one safetensors file per training stage in the checkpoint
directory: the weights, the optimiser's moments, the best weights so far, the
random generators' states, and (as JSON in the file's metadata) the epoch, the
early-stopping counters and the history. It is written atomically, so a run
killed at any instant leaves the previous checkpoint or the new one, whole.
Resuming restores all of it, so a resumed fit ends with the same weights as
one that was never interrupted (same seed, data, settings and machine).

The checkpoint also records a fingerprint of the data and the settings; a
checkpoint made for other data or settings is refused, not silently reused.
Like model files, checkpoints hold tensors and JSON only: nothing in them runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor

from ..distributed import is_main_process
from ..errors import AekitError
from ..io import atomic_write
from .adam import Adam

FORMAT = "aekit-checkpoint"
FORMAT_VERSION = 1
_META = "aekit-checkpoint"


def fingerprint(*parts) -> str:
    """SHA-256 over tensors, arrays and JSON-able values: what a checkpoint was made from."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Tensor):
            part = part.detach().cpu().contiguous().numpy()
        if isinstance(part, np.ndarray):
            h.update(str((part.dtype.str, part.shape)).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()


class Checkpointer:
    """Where and how often one fit saves its training state.

    Parameters
    ----------
    directory : path
        Created if absent. One file per training stage (e.g. ``training``, or
        ``pretrain-layer-1`` ... ``finetune`` for a stacked DAE).
    fingerprint : str
        Of the data and settings (see :func:`fingerprint`).
    resume : bool
        Continue from the checkpoints found there; without it they are
        overwritten by a fresh fit.
    every : float
        Seconds between saves (0: after every epoch). The state at the end of
        a stage is always saved.
    """

    def __init__(self, directory, fingerprint: str, *, resume: bool, every: float):
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise AekitError(f"checkpoint_dir {self.directory} exists and is not a directory")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fingerprint = fingerprint
        self.resume = bool(resume)
        self.every = float(every)
        self._last = time.monotonic()

    def path(self, stage: str) -> Path:
        slug = re.sub(r"[^a-z0-9]+", "-", stage.lower()).strip("-") or "training"
        return self.directory / f"{slug}.safetensors"

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.every

    def save(self, stage: str, tensors: dict[str, Tensor], meta: dict) -> None:
        """Write one stage's state atomically."""
        tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "stage": stage,
        }
        text = json.dumps({**header, **meta})
        path = self.path(stage)
        if path.exists() and not _is_checkpoint(path):  # the user's own file: never replaced
            raise AekitError(
                f"checkpoint folder {self.directory}: {path.name} is a file aekit did not "
                "write; use a folder of its own for checkpoints"
            )
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={_META: text}))
        self._last = time.monotonic()

    def load(self, stage: str) -> tuple[dict[str, Tensor], dict] | None:
        """The saved state of ``stage``, or None when not resuming or none was saved."""
        path = self.path(stage)
        if not self.resume or not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = json.loads((f.metadata() or {})[_META])
            tensors = load_file(str(path))
        except (SafetensorError, OSError, KeyError, ValueError) as exc:
            raise AekitError(
                f"checkpoint {path} is unreadable ({exc}); delete it to start afresh"
            ) from None
        if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise AekitError(f"checkpoint {path} is not an aekit checkpoint of this version")
        if meta.get("fingerprint") != self.fingerprint:
            raise AekitError(
                f"checkpoint {path} was made for other data or settings; fit without "
                "resume (or delete the checkpoint) to start afresh"
            )
        return tensors, meta

    def save_training(self, stage: str, epoch: int, done: bool, module, optimiser, stopping):
        """Save a training stage's state after ``epoch``: the weights, the optimiser,
        early stopping (best weights, counters, history) and the random generators."""
        device = next(module.parameters()).device
        tensors = {f"module.{k}": v for k, v in module.state_dict().items()}
        best, meta = stopping.state()
        moments, groups = optimiser_state(optimiser)
        tensors.update({**best, **moments, **rng_state(device)})
        self.save(
            stage, tensors, {"epoch": epoch, "finished": done, "param_groups": groups, **meta}
        )

    def restore_training(self, stage: str, module, optimiser, stopping) -> tuple[int, bool]:
        """Restore what :meth:`save_training` saved of ``stage``, if resuming and
        there is a checkpoint; return (the first epoch to train, whether the stage
        had finished)."""
        saved = self.load(stage)
        if saved is None:
            return 1, False
        tensors, meta = saved
        device = next(module.parameters()).device
        prefix = "module."
        module.load_state_dict(
            {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        )
        load_optimiser_state(optimiser, tensors, meta["param_groups"])
        stopping.load_state(tensors, meta, device)
        set_rng_state(tensors, device)
        return meta["epoch"] + 1, meta["finished"]


@dataclass(frozen=True)
class CheckpointPlan:
    """What the user asked of ``fit``: where to checkpoint, whether to resume, how often."""

    directory: Path
    resume: bool
    every: float

    @classmethod
    def from_args(
        cls, checkpoint_dir, resume, checkpoint_every, random_state
    ) -> CheckpointPlan | None:
        """Check ``fit``'s checkpoint arguments. Without ``resume``, the checkpoints
        of an earlier run in ``checkpoint_dir`` are removed: a fresh fit starts there."""
        if checkpoint_dir is None:
            if resume:
                raise AekitError("resume=True needs checkpoint_dir, where the checkpoints are")
            return None
        every = checkpoint_every
        if isinstance(every, bool) or not isinstance(every, (int, float)) or not every >= 0:
            raise AekitError(f"checkpoint_every must be a number of seconds >= 0; got {every!r}")
        if not isinstance(random_state, numbers.Integral):
            raise AekitError(
                "checkpoint_dir needs an int random_state (got "
                f"{type(random_state).__name__}): resuming replays the same run"
            )
        plan = cls(Path(checkpoint_dir), bool(resume), float(every))
        if not resume and plan.directory.is_dir() and is_main_process():
            for path in plan.directory.rglob("*.safetensors"):
                if _is_checkpoint(path):
                    path.unlink()
        return plan

    def open(self, fingerprint: str) -> Checkpointer:
        return Checkpointer(self.directory, fingerprint, resume=self.resume, every=self.every)

    def below(self, name: str) -> CheckpointPlan:
        """The same plan in a subdirectory (one per model trained on its own)."""
        return dataclasses.replace(self, directory=self.directory / name)


def _is_checkpoint(path: Path) -> bool:
    try:
        with safe_open(str(path), framework="pt") as f:
            return _META in (f.metadata() or {})
    except (SafetensorError, OSError, ValueError):
        return False


def rng_state(device: torch.device) -> dict[str, Tensor]:
    """torch's generator states (CPU, and the CUDA device when training there)."""
    out = {"rng.cpu": torch.get_rng_state()}
    if device.type == "cuda":
        out["rng.cuda"] = torch.cuda.get_rng_state(device)
    return out


def set_rng_state(tensors: dict[str, Tensor], device: torch.device) -> None:
    torch.set_rng_state(tensors["rng.cpu"])
    if device.type == "cuda" and "rng.cuda" in tensors:
        torch.cuda.set_rng_state(tensors["rng.cuda"], device)


def optimiser_state(optimiser: Adam) -> tuple[dict[str, Tensor], list]:
    """The optimiser's per-parameter tensors (flattened) and its param_groups (JSON)."""
    state = optimiser.state_dict()
    tensors = {}
    for i, per_param in state["state"].items():
        for key, value in per_param.items():
            tensors[f"optim.{i}.{key}"] = torch.as_tensor(value)
    return tensors, state["param_groups"]


def load_optimiser_state(optimiser: Adam, tensors: dict[str, Tensor], groups: list) -> None:
    state: dict[int, dict[str, Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, i, key = name.split(".", 2)
            state.setdefault(int(i), {})[key] = value
    optimiser.load_state_dict({"state": state, "param_groups": groups})
