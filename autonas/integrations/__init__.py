"""Bridges to other AutoML tools.

Submodules import their tool (and with it Keras and TensorFlow) only when
used, so ``import autonas.integrations`` stays light:

- :mod:`autonas.integrations.keras_tuner`: :class:`MorphismOracle` and
  :class:`MorphismHyperModel` run the network-morphism search inside a stock
  ``keras_tuner.Tuner``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MorphismHyperModel", "MorphismOracle"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from autonas.integrations import keras_tuner

        return getattr(keras_tuner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
