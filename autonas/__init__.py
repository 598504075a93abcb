"""autonas: neural architecture search for Keras by network morphism and Bayesian optimization."""

from autonas.tasks import AutoImageClassifier

__version__ = "0.1.0"

__all__ = ["AutoImageClassifier", "__version__"]
