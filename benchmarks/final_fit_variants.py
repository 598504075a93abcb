"""What pays in the long final fit: a regulariser, or a wider network? Run by hand.

The search's trials train on short schedules, where every regulariser loses
(docs/search.md: augmentation and dropout cost 1.1-1.4 points after one child
schedule), so the search never picks one; the final fit trains the chosen
network many epochs on all the labelled images, where it overfits (training
accuracy about 0.97 against 0.89 on the test set). This benchmark asks
whether the final fit should regularise by itself, or train a wider network.

Fashion-MNIST 10k (``benchmarks/_small_data.fashion_mnist_subset``; a
stratified 80/20 split, standardised as in ``benchmarks/trial_anatomy.py``):
the initial CNN trains its initial schedule (``Recipe.initial_settings``),
then a final fit of ``--seconds`` seconds on training + validation images
(``Recipe.final_settings`` under a time limit: cosine annealed by the clock,
the deadline stops it), in one of these variants:

* ``none``: the final fit without a regulariser (as autonas ran it until 2026-12-06);
* ``translate``: random translation (±10 %, ``to_augmented(graph, "translate")``);
* ``adamw``: AdamW, decoupled weight decay 0.05, in place of Adam;
* ``smooth``: cross-entropy with the recipe's label smoothing (``Recipe.final_label_smoothing``,
  0.1; the final fit as autonas runs it since 2026-12-06);
* ``ema``: Adam with an exponential moving average of the weights (momentum 0.99), which
  replaces the weights when the fit ends;
* ``dropout``: the network's dropout before its classifier at 0.5 (the CNN's is 0.25);
* ``wider``, ``wider, noise``: every Conv2D and hidden Dense layer widened to twice its units by
  ``to_wider`` (Net2WiderNet, function-preserving) before the final fit: without noise, as the
  search's ``Wider`` edits were applied until 2026-12-03, and with zero-sum noise 0.1 on the
  copies' outgoing weights, as they are now (``Wider.search_noise``; the function is still
  preserved exactly, and the copies can drift apart).

Each run is a process of its own, pinned to one core (``--parallel`` at once),
one thread. Prints per variant the test accuracy (official 10,000 test
images), mean ± standard error over the seeds, the paired difference from
``none`` with its standard error, the last epoch's training accuracy and the
epochs run.

    python benchmarks/final_fit_variants.py [--seeds 0 1] [--seconds 170] [--parallel 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

VARIANTS = ("none", "translate", "adamw", "smooth", "ema", "dropout", "wider", "wider, noise")


def _data():
    """Standardised float32 ``(x_train, y_train, x_val, y_val, x_test, y_test)`` of Fashion-MNIST 10k."""
    from _small_data import fashion_mnist_subset, standardised_split

    x, x_test, y, y_test = fashion_mnist_subset(10_000)
    return (*standardised_split(x, y, x_test), y_test)


def _compile_with(variant: str):
    """A stand-in for ``runner.compile_for_training`` with ``variant``'s optimiser or loss."""
    import keras

    from autonas.execution import compiling

    def compile_for_training(model, learning_rate, optimizer="adam", steps_per_execution=1, example=None,
                             label_smoothing=0.0):
        if variant == "adamw":
            chosen = keras.optimizers.AdamW(learning_rate, weight_decay=0.05)
        elif variant == "ema":
            chosen = keras.optimizers.Adam(learning_rate, use_ema=True, ema_momentum=0.99)
        else:
            chosen = keras.optimizers.Adam(learning_rate)
        model.compile(optimizer=chosen, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      steps_per_execution=steps_per_execution)
        if example is not None:
            compiling._build_training_state(model, *example)

    return compile_for_training


def one_run(seed: int, variant: str, seconds: float) -> dict:
    """The initial CNN trained, then ``variant``'s final fit of ``seconds``; its figures."""
    import numpy as np

    from trial_anatomy import initial_graph, start_worker

    start_worker(tempfile.mkdtemp())  # one thread, as a worker process trains
    from autonas.engine.recipe import Recipe
    from autonas.execution import runner
    from autonas.graph import layers as L
    from autonas.morphism import to_augmented

    x_train, y_train, x_val, y_val, x_test, y_test = _data()
    recipe = Recipe()
    parent = runner.train_graph(initial_graph(x_train.shape[1:]), x_train, y_train,
                                recipe.initial_settings(len(x_train)), validation=(x_val, y_val),
                                seed=seed, measure=False)
    graph = parent.graph
    if variant in ("adamw", "ema"):
        runner.compile_for_training = _compile_with(variant)
    elif variant == "translate":
        graph = to_augmented(graph, "translate")
    elif variant == "dropout":
        for node, layer in list(graph.iter_layers()):
            if isinstance(layer, L.Dropout):
                graph.set_layer(node, L.Dropout(0.5), graph.weights(node))
    elif variant.startswith("wider"):
        graph = _doubled(graph, noise=0.1 if variant.endswith("noise") else 0.0, seed=seed)
    x, y = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])
    smoothing = recipe.final_label_smoothing if variant == "smooth" else 0.0  # the recipe's own value, or none
    settings = replace(recipe.final_settings(len(x), time_limited=True), label_smoothing=smoothing)
    fitted = runner.train_graph(graph, x, y, settings, deadline=time.monotonic() + seconds, seed=seed, measure=False)
    if fitted.status != "completed":
        raise RuntimeError(f"the final fit failed: {fitted.error}")
    predicted = fitted.graph.to_keras().predict(x_test, batch_size=256, verbose=0).argmax(1)
    return dict(seed=seed, variant=variant, parent_val_accuracy=parent.metrics["val_accuracy"],
                test_accuracy=float(np.mean(predicted == y_test)), epochs=fitted.epochs,
                train_accuracy=fitted.metrics["history"]["accuracy"][-1])


def _doubled(graph, noise: float, seed: int):
    """``graph`` with every Conv2D and every Dense but the classifier widened to twice its units."""
    from autonas.graph import layers as L
    from autonas.morphism import to_wider

    classifier = [n for n in graph.nodes if isinstance(graph.layer(n), L.Dense)][-1]
    widths = {n: graph.shape(n)[-1] for n in graph.nodes
              if isinstance(graph.layer(n), (L.Conv2D, L.Dense)) and n != classifier}
    for node, width in widths.items():
        if graph.shape(node)[-1] < 2 * width:  # a layer added into the same Add is widened alike
            graph = to_wider(graph, node, 2 * width, noise=noise, rng=seed)
    return graph


def _mean_se(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0] if values else float("nan")), float("nan")
    return statistics.mean(values), statistics.stdev(values) / len(values) ** 0.5


def table(runs: list[dict]) -> str:
    """Per variant: test accuracy, the paired difference from ``none``, training accuracy, epochs."""
    by = {(r["variant"], r["seed"]): r for r in runs}
    lines = ["| final fit | seeds | test acc. mean ± s.e. | − none, points ± s.e. | train acc. | epochs |",
             "| --- | --- | --- | --- | --- | --- |"]
    for variant in VARIANTS:
        mine = [r for r in runs if r["variant"] == variant]
        if not mine:
            continue
        mean, se = _mean_se([r["test_accuracy"] for r in mine])
        paired = [100 * (r["test_accuracy"] - by[("none", r["seed"])]["test_accuracy"])
                  for r in mine if ("none", r["seed"]) in by]
        diff = "" if variant == "none" or not paired else "{:+.2f} ± {:.2f}".format(*_mean_se(paired))
        train = statistics.mean(r["train_accuracy"] for r in mine)
        epochs = statistics.mean(r["epochs"] for r in mine)
        lines.append(f"| {variant} | {len(mine)} | {mean:.4f} ± {se:.4f} | {diff} | {train:.3f} | {epochs:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--seconds", type=float, default=170.0, help="final fit seconds (default 170)")
    parser.add_argument("--parallel", type=int, default=2, help="runs at once, one core each (default 2)")
    parser.add_argument("--results", help="a JSON file that keeps every run: runs already in it are not run again")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # internal: SEED VARIANT, JSON on stdout
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(int(args.one[0]), args.one[1], args.seconds)))
        return
    path = Path(args.results) if args.results else None
    runs = json.loads(path.read_text()) if path and path.exists() else []
    done = {(r["variant"], r["seed"]) for r in runs if r.get("seconds") == args.seconds}
    todo = [(s, v) for s in args.seeds for v in args.variants if (v, s) not in done]
    cores = sorted(os.sched_getaffinity(0))
    running: list[tuple[subprocess.Popen, int]] = []
    while todo or running:
        while todo and len(running) < max(1, args.parallel):
            seed, variant = todo.pop(0)
            core = next(c for c in cores if c not in {k for _, k in running})
            command = [sys.executable, __file__, "--one", str(seed), variant, "--seconds", str(args.seconds)]
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                       preexec_fn=lambda core=core: os.sched_setaffinity(0, [core]))
            running.append((process, core))
        time.sleep(1.0)
        for entry in [e for e in running if e[0].poll() is not None]:
            running.remove(entry)
            output = entry[0].stdout.read().strip().splitlines()
            if entry[0].returncode or not output:
                print(f"a run failed (exit {entry[0].returncode})", file=sys.stderr)
                continue
            runs.append(json.loads(output[-1]) | {"seconds": args.seconds})
            if path:
                path.write_text(json.dumps(runs, indent=1))
    print(table([r for r in runs if r.get("seconds") == args.seconds]))


if __name__ == "__main__":
    main()
