"""Training: one loop for every model (:mod:`.loop`), early stopping per member
of an ensemble (:mod:`.stopping`), and checkpoints to resume from (:mod:`.checkpoint`)."""

from .checkpoint import Checkpointer, CheckpointPlan, fingerprint
from .loop import (
    INFERENCE_CHUNK,
    PASS_VALUES,
    SCHEDULES,
    TrainSettings,
    chunk_rows,
    learning_rate,
    resolve_device,
    seeded,
    train,
)
from .stopping import EarlyStopping

__all__ = [
    "INFERENCE_CHUNK",
    "PASS_VALUES",
    "SCHEDULES",
    "CheckpointPlan",
    "Checkpointer",
    "EarlyStopping",
    "TrainSettings",
    "chunk_rows",
    "fingerprint",
    "learning_rate",
    "resolve_device",
    "seeded",
    "train",
]
