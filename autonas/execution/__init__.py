"""Running trials: build, train and measure a graph."""

from autonas.execution.runner import TrainingSettings, TrialResult, hyperparameter_space, train_graph

__all__ = ["TrainingSettings", "TrialResult", "hyperparameter_space", "train_graph"]
