"""Argument checks shared by the public classes: one wording for every "must be a positive ..." error."""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["SEED_RANGE", "check_int", "check_positive", "check_seed"]

#: Seeds are ints in ``[0, SEED_RANGE)``: what NumPy's and scikit-learn's ``random_state`` and
#: ``keras.utils.set_random_seed`` all take.
SEED_RANGE = 2**32


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive(value: Any, name: str, *, integer: bool = False, optional: bool = False, unit: str = "") -> None:
    """Refuse anything but a positive int (``integer``) or a positive finite number.

    Args:
        value: The argument.
        name: Its name, for the message.
        integer: Whether only ints are allowed (bools never are).
        optional: Whether None is allowed.
        unit: Words after "number" in the message (e.g. ``" of seconds"``).

    Raises:
        ValueError: ``"<name> must be a positive int[ or None], got <value>"``
            (or "a positive number<unit>").
    """
    if optional and value is None:
        return
    good = isinstance(value, numbers.Integral) if integer else _is_number(value) and math.isfinite(value)
    if isinstance(value, bool) or not good or value <= 0:
        expected = "a positive int" if integer else f"a positive number{unit}"
        raise ValueError(f"{name} must be {expected}{' or None' if optional else ''}, got {value!r}")


def check_int(value: Any, name: str, *, optional: bool = False) -> None:
    """Refuse anything but an int (bools are not), or None when ``optional``.

    Raises:
        ValueError: ``"<name> must be an int[ or None], got <value>"``.
    """
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int{' or None' if optional else ''}, got {value!r}")


def check_seed(value: Any, name: str = "seed", *, optional: bool = False) -> None:
    """Refuse anything but an int from 0 to ``2**32 - 1`` (see :data:`SEED_RANGE`), or None when ``optional``.

    Raises:
        ValueError: ``"<name> must be an int[ or None], got <value>"`` for a
            non-int, ``"<name> must be from 0 to 2**32 - 1 ..."`` for an int outside.
    """
    check_int(value, name, optional=optional)
    if value is not None and not 0 <= value < SEED_RANGE:
        raise ValueError(f"{name} must be from 0 to 2**32 - 1 ({SEED_RANGE - 1}), got {value!r}")
