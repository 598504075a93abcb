"""autonas: neural architecture search for Keras by network morphism and Bayesian optimization."""

from autonas.engine import Proposal, Search
from autonas.objectives import Objective
from autonas.tasks import AutoImageClassifier

__version__ = "0.1.0"

__all__ = ["AutoImageClassifier", "Objective", "Proposal", "Search", "__version__"]
