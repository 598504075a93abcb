"""autonas: neural architecture search for Keras by network morphism and Bayesian optimization."""

__version__ = "0.1.0"

__all__ = ["__version__"]
