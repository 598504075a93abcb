"""Why a trial failed, as a kind the executors and reports read, and the texts that go with it.

Where a trial fails, the code that sees the failure sets its
:class:`FailureKind` on the :class:`~autonas.execution.runner.TrialResult`
(the runner, a worker, the local and Ray executors); the search records it on
the trial (``TrialRecord.failure_kind``, saved in ``record.json``). The error
text stays for people; code decides by the kind (an out-of-memory retry, a
report's column), never by the words of the text.
"""

from __future__ import annotations

import enum
import traceback

from autonas.backend import is_out_of_memory

__all__ = ["ERROR_CHARS", "TRACEBACK_CHARS", "FailureKind", "error_text", "traceback_text"]

#: Characters of a failed trial's error text kept (:func:`error_text`).
ERROR_CHARS = 2000

#: Characters of a traceback kept in a failed trial's metrics (``traceback``): its start and its end.
TRACEBACK_CHARS = 4000


class FailureKind(enum.StrEnum):
    """What made a trial fail.

    Attributes:
        OUT_OF_MEMORY: The device (or host) ran out of memory
            (:func:`autonas.backend.is_out_of_memory`), or the trial needs more
            GPU memory than a trial may use.
        NON_FINITE_LOSS: The loss became NaN or infinite.
        DEADLINE: The clock ran out before the trial had a result.
        CONVERSION: The trained model could not be converted to, or run in,
            the runtime its latency is measured in.
        DATA: The data do not fit the network (images of another shape than
            its input, labels outside its classes) or could not be read.
        OTHER: Anything else (an error while fitting, a worker that died).
    """

    OUT_OF_MEMORY = "out_of_memory"
    NON_FINITE_LOSS = "non_finite_loss"
    DEADLINE = "deadline"
    CONVERSION = "conversion"
    DATA = "data"
    OTHER = "other"

    @property
    def label(self) -> str:
        """A few words for people (a report's column, the progress line)."""
        return _LABELS[self]

    @classmethod
    def of_error(cls, error: BaseException) -> FailureKind:
        """The kind of a failure raised as ``error``: out of memory where the backend says so, else OTHER."""
        return cls.OUT_OF_MEMORY if is_out_of_memory(error) else cls.OTHER

    @classmethod
    def parse(cls, value: object) -> FailureKind | None:
        """``value`` (a kind or its name as saved in ``record.json``) as a kind; None stays None.

        A name this version does not know (written by a newer one) reads as OTHER.
        """
        if value is None or isinstance(value, cls):
            return value
        try:
            return cls(str(value))
        except ValueError:
            return cls.OTHER

    @classmethod
    def from_error_text(cls, text: str | None) -> FailureKind:
        """The kind that a failed trial's error text names, for records saved before trials carried a kind.

        Reads only the texts autonas itself wrote at the start of an error;
        any other text is OTHER.
        """
        text = text or ""
        return next((kind for prefix, kind in _LEGACY_PREFIXES if text.startswith(prefix)), cls.OTHER)


_LABELS = {
    FailureKind.OUT_OF_MEMORY: "out of memory",
    FailureKind.NON_FINITE_LOSS: "NaN or infinite loss",
    FailureKind.DEADLINE: "out of time",
    FailureKind.CONVERSION: "conversion",
    FailureKind.DATA: "data",
    FailureKind.OTHER: "other",
}

#: How the error texts autonas wrote begin, and the kind each names (:meth:`FailureKind.from_error_text`).
_LEGACY_PREFIXES = (
    ("out of memory", FailureKind.OUT_OF_MEMORY),
    ("needs about", FailureKind.OUT_OF_MEMORY),  # more GPU memory than a trial may use
    ("loss became NaN or infinite", FailureKind.NON_FINITE_LOSS),
    ("stopped before the first epoch ended", FailureKind.DEADLINE),
    ("stopped by force", FailureKind.DEADLINE),
    ("could not convert the model to", FailureKind.CONVERSION),
    ("the model converted to", FailureKind.CONVERSION),
)


def error_text(text: str) -> str:
    """A failed trial's error text as it is kept: its first :data:`ERROR_CHARS` characters."""
    return text[:ERROR_CHARS]


def traceback_text() -> str:
    """The traceback being handled, its middle cut when it is longer than :data:`TRACEBACK_CHARS`."""
    text = traceback.format_exc()
    if len(text) <= TRACEBACK_CHARS:
        return text
    head = TRACEBACK_CHARS // 4
    return f"{text[:head]}\n[... {len(text) - TRACEBACK_CHARS} characters cut ...]\n{text[-(TRACEBACK_CHARS - head):]}"
