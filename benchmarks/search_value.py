"""What the search is worth on real images, at one wall-clock budget. Run by hand.

``python benchmarks/search_value.py [--budget 600] [--seeds 0 1] [--parallel 2] [--train-images 10000] [--dataset fashion]``

``--dataset fashion`` (default): Fashion-MNIST (``autonas.datasets.fashion_mnist``: Debian's
``dataset-fashion-mnist``), ``--train-images`` training images drawn once (the same for every
arm and seed) and the official 10,000 test images. ``--dataset shapes``:
``autonas.datasets.colour_shapes()`` (2,100 generated 32×32 colour images of six shapes, 70 %
for training, 30 % held out for testing; ``--train-images`` is ignored). Each arm runs once
per seed with the same budget:

* ``bayesian``: ``AutoImageClassifier()`` (Bayesian optimisation over morphisms, defaults);
* ``random``: the same with ``searcher="random"``;
* ``keras-tuner``: ``keras_tuner.BayesianOptimization`` over the hand-written CNN space of
  ``benchmarks/peers.py``; ``keras-tuner hyperband``: ``keras_tuner.Hyperband`` over it;
* ``keras.io recipe``: keras.io's "Simple MNIST convnet" trained for the whole budget (what a
  user would write instead of a search; ``benchmarks/peers.py``);
* ``strong recipe``: what a skilled practitioner writes instead: a small residual CNN with batch
  normalisation, augmentation, AdamW, label smoothing and a wall-clock cosine schedule, on all
  images (``peers.run_strong_recipe``);
* ``more-training``: the control, ``searcher="more-training"``. After the same initial
  architectures, each "child" is the best trained model so far with *no* edit, trained on from
  its weights with the settings a function-preserving child gets. What ``bayesian`` gains over
  it is what the edits add beyond more training;
* ``multi-objective`` and ``multi-objective, no shrinking``: ``Objective(beta, gamma)``
  (default 0.05 and 0.05), the Bayesian searcher with every edit, and with the shrinking
  edits left out (``kinds=GROWING | REGULARISING``);
* ``bayesian, generations``, ``random, generations``: the same searchers in generations of
  siblings (``generation_children=--generation-children``, default 2): each generation trains
  that many children of the incumbent and the incumbent itself alike;
* ``more-training, generations``: the control in generations (``generation_children=0``): each
  generation is the incumbent trained on alone;
* ``bayesian, generations, growing only`` and ``random, generations, growing only``: the
  generations arms with the growing edits only (deeper, wider, skip connections), no
  regularising ones (dropout, augmentation);
* ``bayesian, generations, fixed child limit``: ``bayesian, generations`` without the children's
  growth allowance (``Recipe(growth=None)``: no child predicted to outlast the even
  share of the budget, however good its parent), the design before it; ``bayesian, fixed child
  limit``: the defaults without it; ``bayesian, growth 3x``: the defaults with a larger allowance
  (``Recipe(growth=3.0)``: a child of the best network may have up to 3 times its
  multiply-accumulates, not 2, still within ``Recipe.stretch`` times the share); ``bayesian, stretch 2x``:
  the defaults with the growth allowance's time bound halved (``Recipe(stretch=2.0)``: a
  child of the best network may be predicted to take up to twice the even share, not four times);
* ``bayesian, generations, halving`` and ``more-training, generations, halving``: the generations
  arms with successive halving on inherited weights (``generation_rungs=2``): the best third of
  each generation trains on from its own weights for two more child schedules;
* ``bayesian, half-epoch children``: the defaults with children of half the examples
  (``Recipe(child_examples=4000, trials=100)``: one epoch on 4,000 of 8,000 images, and a
  child time limit that asks for twice the trials): are more, cheaper trials worth more?
* ``bayesian, 80-trial limit``, ``bayesian, 50-trial limit`` and ``bayesian, 120-trial limit``: a
  child time limit that asks for 80 trials (``Recipe(trials=80)``, the default: whole-epoch
  children, kept smaller), for 50 (the default before; larger children) and for 120 (smaller
  still; benchmarks/results/child_limit_trials.md).
* ``bayesian, float32 trials``: the defaults with every trial in float32
  (``Recipe(trial_precision="float32")``), the default before the defaults trained trials in
  mixed bfloat16 where that is faster (benchmarks/results/bfloat16_trials.md).
* ``bayesian, bfloat16 final fit 22 %``: the final fit in mixed bfloat16 keeping 22 % of the limit,
  not 30 %, wherever it runs; ``bayesian, float32 final fit``: the final fit in float32 keeping
  30 % (``Recipe(final_precision="float32")``), the default before
  (benchmarks/results/bfloat16_final_fit.md).
* ``bayesian, final fit 15 %``: the defaults keeping 15 % of the limit for the final fit, not
  30 % (``Recipe(final_fit_fraction=...)``): the search gets the rest, so more trials; paired by
  seed with ``bayesian`` in one invocation (``--final-fit-fraction`` sets every arm of one;
  benchmarks/results/final_fit_share.md).

Every arm that changes the library's settings does so by the ``recipe`` it passes
(``AutoImageClassifier(recipe=Recipe(...))``), never by setting attributes of its classes.

``--results FILE`` keeps every run in ``FILE`` (JSON, rewritten after each run) and skips the
(arm, seed) runs it already holds for the same budget, images and children: a proof over many
seeds can be gathered over several sittings, and the table covers every run in the file.

Each run is a separate process. ``--parallel N`` runs N at once, each pinned to its own
share of the cores (``os.sched_setaffinity``), so arms never compete for a core; the table
says how many cores each run had.

Prints: per arm, test accuracy mean, standard error and range over the seeds, the differences
between arms with the standard error of each difference, trials (children), best
model's parameters; for the multi-objective arms the hypervolume of the Pareto front
(validation accuracy, energy, parameters, normalised by the largest value over both arms)
and the smallest front model reaching the test-accuracy bar (``--bar``, default 0.85); for the
generations arms, the mean gain of each edit kind over the no-edit sibling (validation accuracy).
Writes ``search_value.png`` (best validation accuracy so far against seconds since the
start: per arm the mean over the seeds, with a band of ± one standard error), ``search_value.json`` (every run's figures) and each run's log in ``search_value-logs/``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from _small_data import COMPARISON_DATASETS, comparison_data  # noqa: E402
from _search_value_report import plot, print_table  # noqa: E402

ARMS = (
    "bayesian", "random", "keras-tuner", "keras-tuner hyperband", "keras.io recipe", "strong recipe", "more-training", "multi-objective", "multi-objective, no shrinking",
    "bayesian, generations", "random, generations", "more-training, generations",
    "bayesian, generations, growing only", "random, generations, growing only",
    "bayesian, generations, fixed child limit", "bayesian, generations, halving", "more-training, generations, halving",
    "bayesian, half-epoch children", "bayesian, 80-trial limit", "bayesian, 50-trial limit",
    "bayesian, 120-trial limit", "bayesian, fixed child limit", "bayesian, growth 3x",
    "bayesian, final fit 15 %", "bayesian, float32 trials", "bayesian, bfloat16 final fit 22 %",
    "bayesian, float32 final fit", "bayesian, stretch 2x",
)
_GROWING_ONLY = ("bayesian, generations, growing only", "random, generations, growing only")
_HALVING = ("bayesian, generations, halving", "more-training, generations, halving")
_GENERATIONS = ("bayesian, generations", "random, generations", "more-training, generations", *_GROWING_ONLY,
                "bayesian, generations, fixed child limit", *_HALVING)
_MULTI = ("multi-objective", "multi-objective, no shrinking")
#: Arms that change the default recipe: the Recipe fields they set.
_RECIPES = {
    "bayesian, half-epoch children": {"child_examples": 4_000, "trials": 100},  # cheaper children, twice the trials
    "bayesian, 80-trial limit": {"trials": 80},  # children kept small enough for 80 trials (the default)
    "bayesian, 50-trial limit": {"trials": 50},  # the default before: larger children
    "bayesian, 120-trial limit": {"trials": 120},  # smaller children still
    "bayesian, float32 trials": {"trial_precision": "float32"},  # the default before
    "bayesian, float32 final fit": {"final_precision": "float32"},  # the default before
    # measured before the default: 22 % of the limit in mixed bfloat16, wherever it runs
    "bayesian, bfloat16 final fit 22 %": {"final_precision": "mixed_bfloat16"},
    # the children's growth allowance (growth None: none)
    "bayesian, generations, fixed child limit": {"growth": None},
    "bayesian, fixed child limit": {"growth": None},
    "bayesian, growth 3x": {"growth": 3.0},
    "bayesian, stretch 2x": {"stretch": 2.0},
}
#: Arms that change the share of the limit kept for the final fit, in whatever precision it trains.
_FINAL_FIT_SHARES = {"bayesian, final fit 15 %": 0.15, "bayesian, bfloat16 final fit 22 %": 0.22}


def _recipe(arm: str, final_fit_fraction: float | None = None):
    """The ``Recipe`` ``arm`` runs with: its fields (``_RECIPES``), its final fit keeping the arm's share of
    the limit (``_FINAL_FIT_SHARES``), else ``final_fit_fraction`` (``--final-fit-fraction``), else the
    library's. ``Recipe.final_fit_fraction`` is a float32 final fit's share, of which one in mixed bfloat16
    keeps ``final_fit.BFLOAT16_SHARE``: divided out here, so that the share holds in either precision."""
    from autonas.engine.final_fit import final_fit_share
    from autonas.engine.recipe import Recipe

    fields = dict(_RECIPES.get(arm, {}))
    share = _FINAL_FIT_SHARES.get(arm, final_fit_fraction)
    if share is not None:
        precision = fields.get("final_precision", Recipe.final_precision)
        fields["final_fit_fraction"] = share / final_fit_share(1.0, precision)
    return Recipe(**fields)


def _classifier(arm: str, seed: int, budget: float, folder: str, beta: float, gamma: float, children: int,
                final_fit_fraction: float | None = None):
    from autonas import AutoImageClassifier, Objective

    settings: dict = {"recipe": _recipe(arm, final_fit_fraction)}
    if arm.startswith("random"):
        settings["searcher"] = "random"
    elif arm.startswith("more-training"):
        settings["searcher"] = "more-training"
    if arm in _GENERATIONS:
        settings["generation_children"] = 0 if arm.startswith("more-training") else children
    if arm in _HALVING:
        settings["generation_rungs"] = 2
    if arm in _GROWING_ONLY:  # no regularising edits (dropout, augmentation): what the edit-gain table asks
        from autonas.morphism import GROWING
        from autonas.search import SEARCHERS

        settings["searcher"] = SEARCHERS[arm.split(",")[0]](seed=seed, kinds=GROWING)
    elif arm in _MULTI:
        objective = Objective(beta=beta, gamma=gamma)
        settings["objective"] = objective
        if arm == "multi-objective, no shrinking":
            from autonas.morphism import GROWING, REGULARISING
            from autonas.search import BayesianSearcher

            settings["searcher"] = BayesianSearcher(
                seed=seed, reward=objective.predicted_reward, kinds=GROWING | REGULARISING
            )
    return AutoImageClassifier(time_limit=budget, directory=folder, seed=seed, verbose=0, **settings)


def run_arm(
    arm: str, seed: int, budget: float, train_images: int, beta: float, gamma: float, children: int,
    dataset: str = "fashion", final_fit_fraction: float | None = None,
) -> dict:
    """One run of one arm; the figures the table needs, as plain JSON values (``final_fit_fraction``:
    the share of the limit every autonas arm but those of ``_FINAL_FIT_SHARES`` keeps for its final fit)."""
    data = comparison_data(dataset, train_images)
    x_train, x_test, y_train, y_test = data
    with tempfile.TemporaryDirectory() as folder:
        if arm in ("keras-tuner", "keras-tuner hyperband", "keras.io recipe", "strong recipe"):
            from peers import run_keras_io_recipe, run_keras_tuner, run_strong_recipe

            if arm == "keras.io recipe":
                accuracy, params, trials, seconds, curve = run_keras_io_recipe(data, budget, seed)
            elif arm == "strong recipe":
                accuracy, params, trials, seconds, curve = run_strong_recipe(data, budget, seed)
            else:
                tuner = "hyperband" if arm.endswith("hyperband") else "bayesian"
                accuracy, params, trials, seconds, curve = run_keras_tuner(data, budget, folder, seed, tuner)
            return dict(test_accuracy=accuracy, params=params, trials=trials, children=0, seconds=seconds, curve=curve)
        start_wall, start = time.time(), time.monotonic()
        classifier = _classifier(arm, seed, budget, folder, beta, gamma, children, final_fit_fraction)
        classifier.fit(x_train, y_train)
        seconds = time.monotonic() - start
        history = classifier.history_
        curve, best = [], 0.0
        for record in sorted(history, key=lambda r: r.metrics.get("finished_at", 0.0)):
            if record.status == "completed":
                best = max(best, record.metrics["val_accuracy"])
                curve.append((record.metrics["finished_at"] - start_wall, best))
        result = dict(
            test_accuracy=classifier.score(x_test, y_test),
            params=classifier.best_graph_.num_params(),
            trials=len(history),
            children=sum(r.parent is not None for r in history),
            seconds=seconds,
            phases=classifier.fit_seconds_,
            curve=curve,
            best_trial=classifier.best_trial_.id,
            best_trial_epochs=sum(r.epochs for r in _lineage(history, classifier.best_trial_.id)),
            largest_child_macs=max((r.metrics.get("macs", 0) for r in history if r.parent is not None), default=0),
            initial_macs=max((r.metrics.get("macs", 0) for r in history if r.parent is None), default=0),
        )
        if arm in _GENERATIONS:
            from autonas.engine.generations import edit_gains

            result["edit_gains"] = edit_gains(history)
        if arm in _MULTI:
            front = []
            for record in classifier.pareto_front():
                predictions = classifier.export_model(record.id).predict(x_test.astype(np.float32), verbose=0)
                test = float(np.mean(classifier.classes_[predictions.argmax(1)] == y_test))
                front.append({key: record.metrics.get(key) for key in ("val_accuracy", "energy_mj", "params")} | {"test_accuracy": test})
            result["front"] = front
            result["max_params"] = max(r.metrics.get("params", 0) for r in history if r.status == "completed")
        return result


def _lineage(history, trial_id: int):
    """The trial and its ancestors (their epochs add up to the chosen model's training)."""
    by_id = {r.id: r for r in history}
    chain, current = [], by_id.get(trial_id)
    while current is not None:
        chain.append(current)
        current = by_id.get(current.parent) if current.parent is not None else None
    return chain


def _launch(arm: str, seed: int, cores: list[int], args) -> subprocess.Popen:
    logs = Path(f"{args.output}-logs")
    logs.mkdir(exist_ok=True)
    command = [
        sys.executable, __file__, "--one", arm, "--seeds", str(seed), "--budget", str(args.budget),
        "--train-images", str(args.train_images), "--beta", str(args.beta), "--gamma", str(args.gamma),
        "--generation-children", str(args.generation_children), "--dataset", args.dataset,
    ]
    if args.final_fit_fraction is not None:
        command += ["--final-fit-fraction", str(args.final_fit_fraction)]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=(logs / f"{arm.replace(', ', '-').replace(' ', '-')}-{seed}.log").open("w"),
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, cores),
    )


def _setting(args) -> dict:
    """What makes runs of one arm and seed comparable (kept with each run in ``--results``)."""
    setting = dict(budget=args.budget, train_images=args.train_images, children=args.generation_children)
    if args.dataset != "fashion":  # runs kept before the option existed are Fashion-MNIST runs
        setting["dataset"] = args.dataset
    if args.final_fit_fraction is not None:
        setting["final_fit_fraction"] = args.final_fit_fraction
    return setting


def _kept_runs(args) -> list[dict]:
    """The runs ``--results`` already holds (all of them; those of other settings are kept, not shown)."""
    if not args.results or not Path(args.results).exists():
        return []
    return json.loads(Path(args.results).read_text())


def _keep(runs: list[dict], args) -> None:
    if args.results:
        path = Path(args.results)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(runs, indent=1))
        temporary.replace(path)


def run_all(args) -> list[dict]:
    """Every (arm, seed) in its own process, ``--parallel`` at a time on separate cores; with ``--results``,
    those not already there. Returns the runs of this setting (kept ones included)."""
    cores = sorted(os.sched_getaffinity(0))
    share = max(1, len(cores) // args.parallel)
    slots = [cores[i * share : (i + 1) * share] for i in range(min(args.parallel, len(cores)))]
    kept = _kept_runs(args)
    setting = _setting(args)
    done = {(run["arm"], run["seed"]) for run in kept if run.get("setting") == setting}
    queue = [(arm, seed) for seed in args.seeds for arm in args.arms if (arm, seed) not in done]
    if done:
        print(f"{args.results}: {len(done)} runs of this setting kept, {len(queue)} to run", flush=True)
    running: dict[int, tuple[subprocess.Popen, str, int]] = {}
    runs = kept
    while queue or running:
        for slot in range(len(slots)):
            if slot not in running and queue:
                arm, seed = queue.pop(0)
                running[slot] = (_launch(arm, seed, slots[slot], args), arm, seed)
        time.sleep(2)
        for slot, (process, arm, seed) in list(running.items()):
            if process.poll() is None:
                continue
            del running[slot]
            output = process.stdout.read().strip().splitlines()
            if process.returncode != 0 or not output:
                print(f"{arm} seed {seed}: failed (exit {process.returncode})", flush=True)
                continue
            result = json.loads(output[-1])
            runs.append(dict(arm=arm, seed=seed, cores=len(slots[slot]), setting=setting, result=result,
                             finished=time.strftime("%Y-%m-%d %H:%M")))
            _keep(runs, args)
            print(f"{arm} seed {seed}: test accuracy {result['test_accuracy']:.4f}, {result['trials']} trials, "
                  f"{result['seconds']:.0f} s", flush=True)
    return [run for run in runs if run.get("setting", setting) == setting]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per run (default 600)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--parallel", type=int, default=1, help="runs at once, each on its own cores (default 1)")
    parser.add_argument("--dataset", choices=("fashion", "shapes", "hard_shapes"), default="fashion",
                        help="Fashion-MNIST (default), autonas.datasets.colour_shapes() or hard_colour_shapes()")
    parser.add_argument("--train-images", type=int, default=10_000, help="Fashion-MNIST training images (default 10,000)")
    parser.add_argument("--beta", type=float, default=0.05)
    parser.add_argument("--gamma", type=float, default=0.05)
    parser.add_argument("--generation-children", type=int, default=2,
                        help="children per generation in the generations arms (default 2)")
    parser.add_argument("--final-fit-fraction", type=float,
                        help="share of the budget kept for the final fit (default: the library's)")
    parser.add_argument("--bar", type=float, default=0.85, help="test accuracy a front model must reach")
    parser.add_argument("--output", default="search_value", help="stem of the .png and .json written")
    parser.add_argument("--results", help="a JSON file that keeps every run: runs already in it are not run again")
    parser.add_argument("--one", choices=ARMS, help=argparse.SUPPRESS)  # internal: one run, JSON on stdout
    args = parser.parse_args()
    if args.one:
        result = run_arm(
            args.one, args.seeds[0], args.budget, args.train_images, args.beta, args.gamma, args.generation_children,
            args.dataset, args.final_fit_fraction,
        )
        print(json.dumps(result))
        return
    runs = run_all(args)
    Path(f"{args.output}.json").write_text(json.dumps(runs, indent=1))
    print_table(runs, args, ARMS, _MULTI)
    plot(runs, f"{args.output}.png", COMPARISON_DATASETS[args.dataset].split(" (")[0] + " search")


if __name__ == "__main__":
    main()
