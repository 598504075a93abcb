"""User-facing estimators."""

from autonas.tasks.image import AutoImageClassifier

__all__ = ["AutoImageClassifier"]
