"""Progress lines on the terminal (rich) and the leaderboard table."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

from autonas.engine.project import TrialRecord
from autonas.objectives.latency import latency_label

__all__ = ["Progress"]

logger = logging.getLogger("autonas")


class Progress:
    """Prints one line per trial (best so far, time left) when ``verbose`` > 0; logs otherwise.

    On a terminal, while trials train, a live bar per running trial shows its
    epoch, its elapsed time and the search's time left (:meth:`epoch` feeds
    it; use the object as a context manager around the search).

    Args:
        verbose: 0 logs the lines, otherwise they are printed.
        max_trials: Shown as "trial i/N".
        deadline: ``time.monotonic()`` at which the search ends, for "s left".
        objective: The :class:`~autonas.objectives.Objective` whose ranking
            (:meth:`~autonas.objectives.Objective.rank_key`) names the best trial.
    """

    def __init__(self, verbose: int, max_trials: int | None, deadline: float | None, objective) -> None:
        self.objective = objective
        self.verbose = verbose
        self.max_trials = max_trials
        self.deadline = deadline
        self._console = None
        self._bars = None
        self._running: dict[int, int] = {}  # trial id -> its bar
        if verbose:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=True)

    def __enter__(self) -> Progress:
        if self._console is not None and self._console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bars

            self._bars = Bars(
                TextColumn("{task.description}"), BarColumn(), TextColumn("epoch"), MofNCompleteColumn(),
                TimeElapsedColumn(), _TimeLeft(self.deadline), console=self._console, transient=True,
            )
            self._bars.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
        self._running.clear()

    def epoch(self, trial_id: int, epochs_done: int, epochs_planned: int) -> None:
        """A trial started (0 epochs done) or finished an epoch: move its bar (called from any thread)."""
        if self._bars is None:
            return
        if trial_id not in self._running:
            self._running[trial_id] = self._bars.add_task(f"trial {trial_id}", total=epochs_planned or None)
        self._bars.update(self._running[trial_id], completed=epochs_done, total=epochs_planned or None)

    def _emit(self, text: str) -> None:
        if self._console is not None:
            self._console.print(text)
        else:
            logger.info(text)

    def trial(self, record: TrialRecord, history: Sequence[TrialRecord]) -> None:
        task = self._running.pop(record.id, None)
        if task is not None and self._bars is not None:
            self._bars.remove_task(task)
        ranked = [r for r in history if self.objective.rank_key(r)[0] != -math.inf]
        if ranked:
            leader = max(ranked, key=self.objective.rank_key)
            best = f"best trial {leader.id} (reward {self.objective.reward(leader):.4f})"
        else:
            best = "no trial within the constraints yet"
        of = f"/{self.max_trials}" if self.max_trials else ""
        left = "" if self.deadline is None else f", {max(0.0, self.deadline - time.monotonic()):.0f} s left"
        origin = "initial" if record.parent is None else f"child of {record.parent}"
        if record.status == "completed":
            outcome = f"val_accuracy {record.metrics['val_accuracy']:.4f}, {record.metrics['params']:,} params"
            if record.metrics.get("latency_ms") is not None:
                where = record.metrics.get("latency_runtime", "keras")
                outcome += f", {record.metrics['latency_ms']:.3g} ms in {where}"
        else:
            kind = "" if record.failure_kind is None else f" ({record.failure_kind.label})"
            outcome = f"[red]failed[/red]{kind}: {record.error}"
            if record.metrics.get("worker_log"):
                outcome += f" (worker output: {record.metrics['worker_log']})"
        self._emit(
            f"trial {record.id}{of} ({origin}: {record.name}) {outcome}, {record.epochs} epochs in "
            f"{record.seconds:.1f} s; {best}{left}"
        )

    def done(self, best: TrialRecord, seconds: float) -> None:
        self._emit(
            f"search done in {seconds:.0f} s: best trial {best.id} "
            f"(reward {self.objective.reward(best):.4f}, val_accuracy {best.val_accuracy:.4f})"
        )

    @staticmethod
    def table(records: Sequence[TrialRecord], objective) -> str:
        """A plain-text leaderboard with each trial's reward under ``objective`` ("-inf": breaks a constraint),
        a batch-1 latency column named after the runtime that measured it when trials were timed, and a
        ``robust`` column (accuracy under attack) when trials were attacked."""
        label = latency_label(records)  # e.g. "latency (ms, onnxruntime)"
        width = 0 if label is None else len(label)
        latency_header = "" if label is None else f" {label:>{width}}"
        robust = any(r.metrics.get("robust_accuracy") is not None for r in records)
        robust_header = f" {'robust':>7}" if robust else ""
        header = (
            f"{'trial':>5} {'parent':>6} {'status':<9} {'reward':>8} {'val_acc':>7}{robust_header} {'params':>10}"
            f"{latency_header} {'epochs':>6} {'seconds':>7}  name"
        )
        rows = [header]
        for r in records:
            reward = objective.reward(r)
            reward = "-" if reward is None else f"{reward:.4f}"
            accuracy = f"{r.val_accuracy:.4f}" if r.val_accuracy is not None else "-"
            params = f"{int(r.metrics['params']):,}" if "params" in r.metrics else "-"
            parent = "-" if r.parent is None else str(r.parent)
            latency = ""
            if label is not None:
                latency = f" {r.metrics['latency_ms']:>{width}.4g}" if r.metrics.get("latency_ms") else f" {'-':>{width}}"
            robust_cell = ""
            if robust:  # accuracy under the objective's attack
                value = r.metrics.get("robust_accuracy")
                robust_cell = f" {value:>7.4f}" if value is not None else f" {'-':>7}"
            rows.append(
                f"{r.id:>5} {parent:>6} {r.status:<9} {reward:>8} {accuracy:>7}{robust_cell} {params:>10}{latency} "
                f"{r.epochs:>6} {r.seconds:>7.1f}  {r.name}"
            )
        return "\n".join(rows)


def _TimeLeft(deadline: float | None):
    """A rich progress column with the search's time left (empty without a time limit)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class TimeLeft(ProgressColumn):
        def render(self, task) -> Text:
            if deadline is None:
                return Text("")
            return Text(f"search: {max(0.0, deadline - time.monotonic()):.0f} s left", style="cyan")

    return TimeLeft()
