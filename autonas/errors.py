"""Errors that are autonas's own fault.

A trial whose architecture trains badly, runs out of memory or produces NaN is
a *failed trial*: recorded, and the search goes on. An error raised while
autonas turns a graph it proposed into a Keras model is a bug in autonas (or in
a layer it generated), not a property of the architecture: it must not be
counted as a failed trial three times over and hidden in the records, so it
stops the search with its traceback.
"""

from __future__ import annotations

__all__ = ["FatalError"]


class FatalError(RuntimeError):
    """An error that stops the search instead of failing a trial; its message carries the traceback."""
