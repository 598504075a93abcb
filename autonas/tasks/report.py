"""A self-contained HTML report of a search: leaderboard, progress, trade-off, morphism tree, best network.

The page is one file with its plots inlined (PNG, base64): it opens offline
and can be mailed. It reads the project folder without changing it (no lock,
no checksum repair), so it can be written while a search runs.
"""

from __future__ import annotations

import base64
import html
import io
import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from autonas.engine.project import Project, TrialRecord
from autonas.objectives.latency import latency_label
from autonas.objectives.plots import attack_label, pyplot, trials_figure

__all__ = ["read_trials", "write_report"]


def read_trials(project: str | os.PathLike) -> list[TrialRecord]:
    """The trial records of a project folder, in id order, read without changing anything.

    Each trial's files are checked against their checksums, as a search checks
    them; a damaged trial is left out with a
    :class:`~autonas.engine.DamagedTrialWarning` (and left where it is).

    Raises:
        ValueError: when ``project`` is not an autonas project folder (no ``project.json`` of autonas's).
    """
    return Project.open_read_only(project).load_trials()


def _png(figure) -> str:
    """The figure as a base64 PNG data URL (and the figure closed)."""
    plt = pyplot()
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _progress_plot(records: Sequence[TrialRecord], objective) -> str:
    """Best reward so far against the time each trial finished."""
    plt = pyplot()
    done = [r for r in records if r.status == "completed" and objective.reward(r) not in (None, -np.inf)]
    if all("finished_at" in r.metrics for r in done):
        start = min((r.metrics["finished_at"] - r.seconds for r in done), default=0.0)
        times = [(r.metrics["finished_at"] - start) / 60 for r in done]
        label = "minutes since the search started"
    else:  # records written before finish times were kept
        times = list(np.cumsum([r.seconds for r in done]) / 60)
        label = "minutes of training, summed over trials"
    order = np.argsort(times)
    figure, axes = plt.subplots(figsize=(6, 3.6))
    rewards = [objective.reward(done[i]) for i in order]
    axes.scatter([times[i] for i in order], rewards, color="0.6", s=18, label="trials")
    axes.step([times[i] for i in order], np.maximum.accumulate(rewards) if rewards else [], where="post",
              color="C0", label="best so far")
    axes.set_xlabel(label)
    axes.set_ylabel("reward")
    axes.set_title("search progress")
    axes.legend(loc="lower right")
    return _png(figure)


def _energy(record: TrialRecord) -> float:
    return float(record.metrics.get("energy_mj", np.nan))


def _front_objectives(objective, records: Sequence[TrialRecord]) -> tuple[tuple[str, str], ...]:
    """The objective's Pareto metrics, and latency when the trials were timed in a deployment runtime
    (so ``autonas report``, which knows no objective, shows what the search constrained)."""
    objectives = objective.pareto_objectives
    deployed = any(r.metrics.get("latency_runtime", "keras") != "keras" for r in records)
    if deployed and ("latency_ms", "min") not in objectives:
        objectives = (*objectives, ("latency_ms", "min"))
    attacked = any(r.metrics.get("robust_accuracy") is not None for r in records)
    if attacked and ("robust_accuracy", "max") not in objectives:
        objectives = (*objectives, ("robust_accuracy", "max"))
    return objectives


def _short(operation: dict) -> str:
    """An operation as a few characters: its type and its first argument."""
    values = [str(v) for k, v in operation.items() if k != "kind"]
    return str(operation.get("kind", "?")) + (f"({values[0]})" if values else "")


def _tree_plot(records: Sequence[TrialRecord], best: int | None) -> str:
    """Which trial came from which: x is the trial id, y the number of edits from an initial architecture."""
    plt = pyplot()
    by_id = {r.id: r for r in records}
    depth: dict[int, int] = {}
    for r in records:  # parents have smaller ids
        depth[r.id] = 0 if r.parent is None or r.parent not in depth else depth[r.parent] + 1
    figure, axes = plt.subplots(figsize=(max(6.0, 0.45 * len(records)), 3.8))
    for r in records:
        if r.parent in by_id:
            axes.plot([r.parent, r.id], [depth[r.parent], depth[r.id]], color="0.7", zorder=1)
            middle = ((r.parent + r.id) / 2, (depth[r.parent] + depth[r.id]) / 2)
            text = ", ".join(_short(op) for op in r.operations)[:28]
            axes.annotate(text, middle, fontsize=6, color="0.35", ha="center", va="bottom")
    accuracy = [r.metrics.get("val_accuracy", np.nan) if r.status == "completed" else np.nan for r in records]
    points = axes.scatter([r.id for r in records], [depth[r.id] for r in records], c=accuracy, cmap="viridis",
                          s=[140 if r.id == best else 70 for r in records], zorder=2,
                          edgecolors=["C3" if r.id == best else "k" for r in records],
                          linewidths=[2.5 if r.id == best else 0.8 for r in records])
    for r in records:
        axes.annotate(str(r.id), (r.id, depth[r.id]), fontsize=7, ha="center", va="center", color="w", zorder=3)
        if r.status != "completed":
            axes.scatter([r.id], [depth[r.id]], marker="x", color="C3", s=60, zorder=4)
    figure.colorbar(points, ax=axes, label="validation accuracy")
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("trial (x: failed; red ring: best)")
    axes.set_ylabel("edits from an initial architecture")
    axes.set_title("morphism tree")
    axes.margins(0.08, 0.25)
    return _png(figure)


def _layer_label(graph, node: str) -> str:
    layer = graph.layer(node)
    config = layer.to_config()
    details = [f"{k}={v}" for k, v in config.items() if k in ("filters", "units", "kernel_size", "rate", "strides")]
    return layer.type + ("\n" + " ".join(details) if details else "")


#: Horizontal distance of side branches in the architecture drawing (in layer heights).
_COLUMN_SPACING = 2.0


def _architecture_plot(graph) -> str:
    """The network's layers top to bottom; side branches (skip connections) drawn beside the main path."""
    plt = pyplot()
    nodes = graph.nodes
    level: dict[str, int] = {}
    for node in nodes:
        level[node] = 1 + max((level[i] for i in graph.inputs(node)), default=-1)
    columns: dict[int, int] = {}
    position = {}
    for node in nodes:
        column = columns.get(level[node], 0)
        columns[level[node]] = column + 1
        position[node] = (_COLUMN_SPACING * column, -level[node])
    height = max(4.0, 0.42 * (max(level.values()) + 1))
    figure, axes = plt.subplots(figsize=(max(4.0, 3.0 * max(columns.values())), height))
    for node in nodes:
        for source in graph.inputs(node):
            (x0, y0), (x1, y1) = position[source], position[node]
            axes.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "color": "0.5"})
    for node in nodes:
        x, y = position[node]
        axes.text(x, y, _layer_label(graph, node), ha="center", va="center", fontsize=7,
                  bbox={"boxstyle": "round", "facecolor": "#eef3fb", "edgecolor": "#5577aa"})
    axes.set_xlim(-0.9, _COLUMN_SPACING * (max(columns.values()) - 1) + 0.9)
    axes.set_ylim(-max(level.values()) - 0.7, 0.7)
    axes.axis("off")
    axes.set_title(f"best architecture: {len(nodes)} layers, {graph.num_params():,} parameters")
    return _png(figure)


def _table(records: Sequence[TrialRecord], objective, latency: str | None) -> str:
    """The leaderboard; ``latency``: the latency column's label (None: no column); a robust accuracy column
    (named after its attack) when trials were attacked."""
    ranked = sorted(records, key=objective.rank_key, reverse=True)
    attack = attack_label(records)
    rows = []
    for rank, r in enumerate(ranked, start=1):
        reward = objective.reward(r)
        cells = [
            rank, r.id, "-" if r.parent is None else r.parent, r.status,
            "-" if r.failure_kind is None else r.failure_kind.label,
            "-" if reward is None else ("-inf" if reward == -np.inf else f"{reward:.4f}"),
            "-" if r.val_accuracy is None else f"{r.val_accuracy:.4f}",
            *([] if attack is None else [f"{r.metrics['robust_accuracy']:.4f}"
                                         if r.metrics.get("robust_accuracy") is not None else "-"]),
            f"{int(r.metrics['params']):,}" if "params" in r.metrics else "-",
            f"{_energy(r):.4g}" if r.status == "completed" else "-",
            *([] if latency is None else [f"{r.metrics['latency_ms']:.4g}" if r.metrics.get("latency_ms") else "-"]),
            r.epochs, f"{r.seconds:.1f}",
            r.name if r.status == "completed" else f"{r.name} ({r.error})",
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    header = ["rank", "trial", "parent", "status", "failure", "reward", "val_accuracy",
              *([] if attack is None else [f"robust accuracy ({attack})"]), "params", "energy (mJ)",
              *([] if latency is None else [latency]), "epochs", "seconds", "architecture / operations"]
    return ("<table id='leaderboard'><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _failure_counts(records: Sequence[TrialRecord]) -> str:
    """What the failed trials failed of, e.g. ``": 2 out of memory, 1 NaN or infinite loss"`` (empty: none failed)."""
    counts = Counter(r.failure_kind.label for r in records if r.status == "failed" and r.failure_kind is not None)
    return (": " + ", ".join(f"{n} {label}" for label, n in counts.most_common())) if counts else ""


_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1200px; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
td:last-child { text-align: left; }
th { background: #eef3fb; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
"""

#: Counts the images that decoded, into the page (``data-images-rendered`` on ``body``): a self-check.
_SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var rendered = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute("data-images-rendered", rendered + "/" + images.length);
});
"""


def write_report(
    project: str | os.PathLike,
    path: str | os.PathLike,
    objective=None,
    records: Sequence[TrialRecord] | None = None,
    best_graph=None,
) -> Path:
    """Write one self-contained HTML page about the search in ``project``.

    Args:
        project: The project folder.
        path: The ``.html`` file to write.
        objective: The :class:`~autonas.objectives.Objective` that ranks the
            trials (default: validation accuracy, the default objective).
        records: The trials (default: read from ``project``).
        best_graph: The network to draw (default: the best trial's, read from ``project``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: for a folder that is not an autonas project, or one without trials.
        ImportError: without matplotlib (``pip install autonas[plot]``).
    """
    from autonas.objectives import Objective, pareto_front

    objective = objective or Objective()
    records = list(records) if records is not None else read_trials(project)
    if not records:
        raise ValueError(f"project: {str(project)!r} has no finished trial yet")
    ranked = [r for r in records if objective.rank_key(r)[0] != -np.inf]
    best = max(ranked, key=objective.rank_key) if ranked else None
    completed_ranked = [r for r in ranked if r.status == "completed"]
    latency = latency_label(records)  # e.g. "latency (ms, onnxruntime)": where the trials were timed
    front = {r.id for r in pareto_front(completed_ranked, _front_objectives(objective, records))}
    if best_graph is None and best is not None:
        best_graph = Project.open_read_only(project).load_graph(best.id, weights=False)
    completed = sum(r.status == "completed" for r in records)
    summary = (f"{len(records)} trials ({completed} completed, {len(records) - completed} failed"
               f"{_failure_counts(records)}); "
               + (f"best: trial {best.id} ({html.escape(best.name)}), reward {objective.reward(best):.4f}, "
                  f"validation accuracy {best.val_accuracy:.4f}" if best else "no trial within the constraints"))
    sections = [
        f"<h1>autonas search: {html.escape(Path(project).name)}</h1>",
        f"<p id='summary'>{summary}. Written {time.strftime('%Y-%m-%d %H:%M:%S')} from "
        f"<code>{html.escape(str(Path(project).resolve()))}</code>.</p>",
        "<h2>Leaderboard</h2>",
        "<p>Ranked by the objective's reward (ties: lower validation loss); trials that failed or break a "
        "constraint last.</p>",
        _table(records, objective, latency),
        "<h2>Progress and trade-off</h2><div class='plots'>",
        f"<img alt='best reward so far against time' src='{_progress_plot(records, objective)}'>",
        f"<img alt='validation accuracy against energy, Pareto front' src='{_png(trials_figure(records, front))}'>",
        *([] if latency is None else [
            f"<img alt='validation accuracy against {html.escape(latency)}, Pareto front' "
            f"src='{_png(trials_figure(records, front, cost='latency_ms'))}'>"]),
        *([] if attack_label(records) is None else [
            "<img alt='validation accuracy against accuracy under attack, Pareto front' "
            f"src='{_png(trials_figure(records, front, cost='robust_accuracy'))}'>"]),
        "</div>",
        "<h2>Morphism tree</h2><p>Each trial is drawn at its id (x) and its number of edits from an initial "
        "architecture (y); a line joins it to its parent, labelled with the operations.</p>",
        f"<img alt='morphism tree' src='{_tree_plot(records, best.id if best else None)}'>",
    ]
    if best_graph is not None:
        sections += ["<h2>Best architecture</h2>", f"<img alt='best architecture' src='{_architecture_plot(best_graph)}'>"]
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>autonas report</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(sections)}<script>{_SCRIPT}</script></body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
