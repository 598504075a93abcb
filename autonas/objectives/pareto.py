"""The Pareto front of trials over (accuracy ↑, energy ↓, size ↓) and its hypervolume.

Hypervolume works on minimisation points normalised to [0, 1]: turn trials into
such points with :func:`objective_points` (``1 − accuracy`` style for maximised
objectives, costs divided by a bound), then measure them against a reference
point such as ``(1, 1, 1)`` (or ``(1.1, 1.1, 1.1)`` so the extreme points count
too). Pass the same ``bounds`` and reference to compare runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from autonas.objectives._records import finite, metrics_of

__all__ = ["DEFAULT_OBJECTIVES", "hypervolume", "objective_points", "pareto_front"]

#: ``(metric, "max" | "min")`` pairs: accuracy up, energy per inference down, parameters down.
DEFAULT_OBJECTIVES: tuple[tuple[str, str], ...] = (("val_accuracy", "max"), ("energy_mj", "min"), ("params", "min"))


def _check_objectives(objectives: Sequence[tuple[str, str]]) -> None:
    if not objectives:
        raise ValueError("need at least one objective")
    for objective in objectives:
        if len(objective) != 2 or objective[1] not in ("max", "min"):
            raise ValueError(f"objectives are (metric, 'max' | 'min') pairs, got {objective!r}")


def _valid(items: Iterable[Any], objectives: Sequence[tuple[str, str]]) -> list[tuple[Any, tuple[float, ...]]]:
    """``(item, minimisation vector)`` of every completed item with all objectives finite."""
    _check_objectives(objectives)
    valid = []
    for item in items:
        metrics = metrics_of(item)
        if metrics is None:
            continue
        values = [finite(metrics.get(key)) for key, _ in objectives]
        if any(v is None for v in values):
            continue
        valid.append((item, tuple(-v if sense == "max" else v for v, (_, sense) in zip(values, objectives))))
    return valid


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether ``a`` is no worse than ``b`` everywhere and better somewhere (minimisation)."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_front(
    records_or_metrics: Iterable[Any], objectives: Sequence[tuple[str, str]] = DEFAULT_OBJECTIVES
) -> list[Any]:
    """The non-dominated trials.

    Args:
        records_or_metrics: Trial records (with ``metrics`` and ``status``) or
            metrics dicts. Failed trials (status other than ``"completed"``) and
            those missing an objective or holding a non-finite one are left out.
        objectives: ``(metric, "max" | "min")`` pairs; default
            :data:`DEFAULT_OBJECTIVES` (``val_accuracy`` max, ``energy_mj`` min,
            ``params`` min).

    Returns:
        The items no other item dominates (at least as good in every objective
        and better in one), in input order. Items with identical objective
        values are kept once: the first of them.
    """
    valid = _valid(records_or_metrics, objectives)
    front = []
    seen: set[tuple[float, ...]] = set()
    for item, vector in valid:
        if vector in seen or any(_dominates(other, vector) for _, other in valid):
            continue
        seen.add(vector)
        front.append(item)
    return front


def objective_points(
    records_or_metrics: Iterable[Any],
    objectives: Sequence[tuple[str, str]] = DEFAULT_OBJECTIVES,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> list[tuple[float, ...]]:
    """Trials as minimisation points normalised to [0, 1], for :func:`hypervolume`.

    A minimised metric ``v`` becomes ``(v − low) / (high − low)``; a maximised
    one ``(high − v) / (high − low)``, so 0 is best and ``high`` or ``low``
    maps to 0 or 1. Values outside the bounds fall outside [0, 1].

    Args:
        records_or_metrics: Trial records or metrics dicts; failed or incomplete
            ones are left out, as in :func:`pareto_front`.
        objectives: ``(metric, "max" | "min")`` pairs; default :data:`DEFAULT_OBJECTIVES`.
        bounds: ``metric -> (low, high)``; a metric not given gets ``(0, largest
            value in the set)`` (``(0, 1)`` when all are 0). Pass fixed bounds to
            compare runs, e.g. ``{"val_accuracy": (0, 1)}``.

    Returns:
        One tuple per valid item, in input order.
    """
    valid = _valid(records_or_metrics, objectives)
    bounds = dict(bounds or {})
    points: list[list[float]] = [[] for _ in valid]
    for index, (key, sense) in enumerate(objectives):
        values = [(-v[index] if sense == "max" else v[index]) for _, v in valid]
        low, high = bounds.get(key) or (0.0, max(values, default=0.0) or 1.0)
        if not high > low:
            raise ValueError(f"bounds for {key!r} need low < high, got {(low, high)}")
        for point, value in zip(points, values):
            point.append((value - low) / (high - low) if sense == "min" else (high - value) / (high - low))
    return [tuple(point) for point in points]


def _hypervolume_2d(points: list[tuple[float, ...]], reference: Sequence[float]) -> float:
    """Area dominated by 2-D points (all strictly below the reference) up to the reference."""
    area = 0.0
    best_y = reference[1]
    staircase = []
    for x, y in sorted(points):
        if y < best_y:
            staircase.append((x, y))
            best_y = y
    for (x, y), (next_x, _) in zip(staircase, [*staircase[1:], (reference[0], 0.0)]):
        area += (next_x - x) * (reference[1] - y)
    return area


def _hypervolume_3d(points: list[tuple[float, ...]], reference: Sequence[float]) -> float:
    """Volume by slicing along the last axis: slabs between successive z values."""
    points = sorted(points, key=lambda p: p[2])
    levels = sorted({p[2] for p in points})
    volume = 0.0
    for level, top in zip(levels, [*levels[1:], reference[2]]):
        below = [p[:2] for p in points if p[2] <= level]
        volume += _hypervolume_2d(below, reference[:2]) * (top - level)
    return volume


def hypervolume(points: Iterable[Sequence[float]], reference: Sequence[float]) -> float:
    """Exact hypervolume of 1-, 2- or 3-D minimisation points up to a reference point.

    The volume of the region dominated by at least one point and bounded by
    ``reference``. Points not strictly below the reference in every coordinate
    add nothing. Normalise the objectives to [0, 1] first (:func:`objective_points`)
    so each counts alike; then a reference of ``(1, 1, 1)`` bounds the volume by 1.
    2-D is a sweep over the sorted points, 3-D slices along the last axis
    (``O(n² log n)``).

    Args:
        points: Points to minimise, each of ``len(reference)`` coordinates.
        reference: The reference (worst) point.

    Returns:
        The hypervolume, 0.0 for no points.

    Raises:
        ValueError: for a dimension other than 1, 2 or 3, points of another
            dimension than the reference, or non-finite coordinates.
    """
    reference = tuple(float(r) for r in reference)
    dimension = len(reference)
    if dimension not in (1, 2, 3):
        raise ValueError(f"hypervolume supports 1, 2 or 3 objectives, got a {dimension}-D reference")
    kept = []
    for point in points:
        point = tuple(float(p) for p in point)
        if len(point) != dimension:
            raise ValueError(f"point {point} has {len(point)} coordinates, the reference {dimension}")
        if any(finite(p) is None for p in (*point, *reference)):
            raise ValueError(f"coordinates must be finite, got {point} and reference {reference}")
        if all(p < r for p, r in zip(point, reference)):
            kept.append(point)
    if not kept:
        return 0.0
    if dimension == 1:
        return reference[0] - min(p[0] for p in kept)
    if dimension == 2:
        return _hypervolume_2d(kept, reference)
    return _hypervolume_3d(kept, reference)
