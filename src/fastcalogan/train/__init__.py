"""Training: the family-agnostic loop, energy injection, checkpoints and resume, the run folder."""

from .checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from .config import INJECTION_ORDER_LOG2, PHOTON_SPLIT_RANGES, SPLIT_RANGES, TrainConfig
from .ensemble import (
    EnsembleMember,
    EnsembleResult,
    ensemble_members,
    ensemble_supported,
    train_ensemble,
)
from .loop import TrainProgress, TrainResult, train
from .routing import EnergyRouting
from .run_folder import (
    BestCheckpoint,
    PartScore,
    PointScore,
    RunFolder,
    RunInfo,
    RunWriter,
    SelectionRow,
    checkpoint_iteration,
    checkpoint_path,
    list_checkpoints,
)
from .sampling import (
    PRECISIONS,
    TrainedGenerator,
    model_shape,
    resolve_device,
    showers_from_noise,
)
from .schedule import InjectionSchedule, injection_schedule

__all__ = [
    "CHECKPOINT_FORMAT",
    "INJECTION_ORDER_LOG2",
    "PHOTON_SPLIT_RANGES",
    "PRECISIONS",
    "SPLIT_RANGES",
    "BestCheckpoint",
    "EnergyRouting",
    "EnsembleMember",
    "EnsembleResult",
    "InjectionSchedule",
    "PartScore",
    "PointScore",
    "RunFolder",
    "RunInfo",
    "RunWriter",
    "SelectionRow",
    "TrainConfig",
    "TrainProgress",
    "TrainResult",
    "TrainedGenerator",
    "checkpoint_iteration",
    "checkpoint_path",
    "ensemble_members",
    "ensemble_supported",
    "injection_schedule",
    "list_checkpoints",
    "load_checkpoint",
    "model_shape",
    "resolve_device",
    "save_checkpoint",
    "showers_from_noise",
    "train",
    "train_ensemble",
]
