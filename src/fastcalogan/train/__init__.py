"""Training: the loop, energy injection, atomic checkpoints and resume, the run folder."""

from .checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from .config import INJECTION_ORDER_LOG2, PHOTON_SPLIT_RANGES, RECIPES, Recipe, TrainConfig
from .loop import LOSS_COLUMNS, TrainProgress, TrainResult, train
from .routing import EnergyRouting
from .run_folder import (
    BestCheckpoint,
    PointScore,
    RunFolder,
    RunInfo,
    RunWriter,
    SelectionRow,
    checkpoint_iteration,
    checkpoint_path,
    list_checkpoints,
)
from .sampling import TrainedGenerator, resolve_device, showers_from_noise
from .schedule import InjectionSchedule, injection_schedule

__all__ = [
    "CHECKPOINT_FORMAT",
    "INJECTION_ORDER_LOG2",
    "LOSS_COLUMNS",
    "PHOTON_SPLIT_RANGES",
    "RECIPES",
    "BestCheckpoint",
    "EnergyRouting",
    "InjectionSchedule",
    "PointScore",
    "Recipe",
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
    "injection_schedule",
    "list_checkpoints",
    "load_checkpoint",
    "resolve_device",
    "save_checkpoint",
    "showers_from_noise",
    "train",
]
