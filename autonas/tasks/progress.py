"""Progress lines on the terminal (rich) and the leaderboard table."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from autonas.engine.project import TrialRecord

__all__ = ["Progress"]

logger = logging.getLogger("autonas")


class Progress:
    """Prints one line per trial (best so far, time left) when ``verbose`` > 0; logs otherwise."""

    def __init__(self, verbose: int, max_trials: int | None, deadline: float | None) -> None:
        self.verbose = verbose
        self.max_trials = max_trials
        self.deadline = deadline
        self._console = None
        if verbose:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=True)

    def _emit(self, text: str) -> None:
        if self._console is not None:
            self._console.print(text)
        else:
            logger.info(text)

    def trial(self, record: TrialRecord, history: Sequence[TrialRecord]) -> None:
        completed = [r.val_accuracy for r in history if r.val_accuracy is not None]
        best = max(completed) if completed else float("nan")
        of = f"/{self.max_trials}" if self.max_trials else ""
        left = "" if self.deadline is None else f", {max(0.0, self.deadline - time.monotonic()):.0f} s left"
        origin = "initial" if record.parent is None else f"child of {record.parent}"
        if record.status == "completed":
            outcome = f"val_accuracy {record.metrics['val_accuracy']:.4f}, {record.metrics['params']:,} params"
        else:
            outcome = f"[red]failed[/red]: {record.error}"
        self._emit(
            f"trial {record.id}{of} ({origin}: {record.name}) {outcome}, {record.epochs} epochs in "
            f"{record.seconds:.1f} s; best {best:.4f}{left}"
        )

    def done(self, best: TrialRecord, seconds: float) -> None:
        self._emit(f"search done in {seconds:.0f} s: best trial {best.id} (val_accuracy {best.val_accuracy:.4f})")

    @staticmethod
    def table(records: Sequence[TrialRecord]) -> str:
        """A plain-text leaderboard."""
        header = f"{'trial':>5} {'parent':>6} {'status':<9} {'val_acc':>7} {'params':>10} {'epochs':>6} {'seconds':>7}  name"
        rows = [header]
        for r in records:
            accuracy = f"{r.val_accuracy:.4f}" if r.val_accuracy is not None else "-"
            params = f"{int(r.metrics['params']):,}" if "params" in r.metrics else "-"
            parent = "-" if r.parent is None else str(r.parent)
            rows.append(f"{r.id:>5} {parent:>6} {r.status:<9} {accuracy:>7} {params:>10} {r.epochs:>6} {r.seconds:>7.1f}  {r.name}")
        return "\n".join(rows)
