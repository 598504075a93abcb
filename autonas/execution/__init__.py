"""Running trials: train and measure a graph, in this process, in worker processes or on Ray."""

from autonas.execution.executor import Executor, SerialExecutor, TrainingData, TrialJob
from autonas.execution.failures import FailureKind
from autonas.execution.local import LocalExecutor
from autonas.execution.memory import DeviceMemory, MemoryLedger, estimate_training_bytes
from autonas.execution.runner import TrialResult, train_graph
from autonas.execution.settings import TrainingSettings

__all__ = [
    "DeviceMemory",
    "Executor",
    "FailureKind",
    "LocalExecutor",
    "MemoryLedger",
    "RayExecutor",
    "SerialExecutor",
    "TrainingData",
    "TrainingSettings",
    "TrialJob",
    "TrialResult",
    "estimate_training_bytes",
    "train_graph",
]


def __getattr__(name: str):
    """``RayExecutor`` is imported on first use: its module is light, but it belongs to the ``ray`` extra."""
    if name == "RayExecutor":
        from autonas.execution.ray_executor import RayExecutor

        return RayExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
