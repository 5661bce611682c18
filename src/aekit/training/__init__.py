"""Training: one loop for every model (:mod:`.loop`), early stopping per member
of an ensemble (:mod:`.stopping`), and checkpoints to resume from (:mod:`.checkpoint`)."""

from .checkpoint import Checkpointer, CheckpointPlan, fingerprint
from .loop import (
    INFERENCE_CHUNK,
    SCHEDULES,
    TrainSettings,
    learning_rate,
    resolve_device,
    seeded,
    train,
)
from .stopping import EarlyStopping

__all__ = [
    "INFERENCE_CHUNK",
    "SCHEDULES",
    "CheckpointPlan",
    "Checkpointer",
    "EarlyStopping",
    "TrainSettings",
    "fingerprint",
    "learning_rate",
    "resolve_device",
    "seeded",
    "train",
]
