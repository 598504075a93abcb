"""autonas: neural architecture search for Keras by network morphism and Bayesian optimization."""

from autonas.backend import import_keras_quietly

import_keras_quietly()  # before anything imports Keras: no C++ log lines on the user's terminal

from autonas.objectives import Objective  # noqa: E402
from autonas.tasks import AutoImageClassifier  # noqa: E402

__version__ = "0.1.0"

__all__ = ["AutoImageClassifier", "Objective", "__version__"]
