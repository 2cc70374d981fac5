"""Training: the WGAN-GP loop, energy injection, atomic checkpoints and resume."""

from .checkpoint import (
    CHECKPOINT_FORMAT,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from .config import INJECTION_ORDER_LOG2, PHOTON_SPLIT_RANGES, RECIPES, Recipe, TrainConfig
from .loop import LOSS_COLUMNS, TrainProgress, TrainResult, train
from .sampling import TrainedGenerator, resolve_device, showers_from_noise
from .schedule import InjectionSchedule, injection_schedule

__all__ = [
    "CHECKPOINT_FORMAT",
    "INJECTION_ORDER_LOG2",
    "LOSS_COLUMNS",
    "PHOTON_SPLIT_RANGES",
    "RECIPES",
    "InjectionSchedule",
    "Recipe",
    "TrainConfig",
    "TrainProgress",
    "TrainResult",
    "TrainedGenerator",
    "checkpoint_path",
    "injection_schedule",
    "list_checkpoints",
    "load_checkpoint",
    "resolve_device",
    "save_checkpoint",
    "showers_from_noise",
    "train",
]
