"""Tutorial 3: multi-objective search - accuracy traded against energy and size, under a hard size limit.

Run it from the repository root:

    python tutorials/03_multi_objective.py            # a few minutes on a laptop CPU
    python tutorials/03_multi_objective.py --quick    # under a minute and a half (or AUTONAS_TUTORIAL_QUICK=1)

It writes the project and a plot of the Pareto front into a temporary folder (or --output-dir /
AUTONAS_TUTORIAL_DIR). The plot needs matplotlib (pip install autonas[plot]).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time  # noqa: E402

import numpy as np  # noqa: E402

from _settings import tutorial_settings  # noqa: E402  (tutorials/_settings.py, beside this file)


def main() -> None:
    quick, output = tutorial_settings(__doc__.splitlines()[0])
    print(f"quick mode: {quick}; writing into {output}")
    start = time.monotonic()

    from autonas import AutoImageClassifier, Objective
    from autonas.datasets import load_digits
    from autonas.graph import generators
    from autonas.objectives import graph_costs, hypervolume, objective_points

    x_train, x_test, y_train, y_test = load_digits()
    if quick:
        x_train, y_train = x_train[:600], y_train[:600]

    # --------------------------------------------------------------------------------------------
    # 1. What do models cost?
    #
    # Some costs are known from the architecture alone, before any training: parameters, bytes,
    # multiply-accumulates (MACs) and an *estimate* of the energy of one inference (from the MACs
    # and the memory traffic, with 45 nm per-operation energies). graph_costs reads them from a
    # Graph. Here: the generators' default CNN on 8x8 digits (larger than the small CNN a
    # search starts from).
    # --------------------------------------------------------------------------------------------
    reference = graph_costs(generators.cnn((8, 8, 1), 10))
    print(
        f"default CNN: {reference['params']:,} parameters, {reference['macs']:,} MACs, "
        f"estimated {reference['energy_mj']:.4f} mJ per image"
    )

    # --------------------------------------------------------------------------------------------
    # 2. The objective.
    #
    # Objective (after MONAS) scores a trained trial as
    #     alpha * accuracy - beta * energy / energy_reference - gamma * params / size_reference
    # and gives -inf to a trial that breaks a hard limit. With the references set to the default
    # CNN's costs, beta=0.05 reads: "a model costing as much energy as the default CNN must be 5
    # accuracy points better to be worth it"; gamma=0.05 the same for size.
    #
    # max_params=20_000 is a hard limit known before training: no larger candidate is ever
    # trained. Initial architectures over the limit are slimmed (narrower layers) until they fit.
    # Limits that need a measurement - max_latency (ms) and max_power (W) - are checked after
    # training instead; such a trial trains but can never be chosen.
    #
    # Give each limit in one place: inside the Objective, as here, or - when you use no Objective
    # object - as AutoImageClassifier(max_params=..., max_latency=..., max_power=...).
    # --------------------------------------------------------------------------------------------
    max_params = 20_000
    objective = Objective(
        alpha=1.0,
        beta=0.05,
        energy_reference=reference["energy_mj"],
        gamma=0.05,
        size_reference=reference["params"],
        max_params=max_params,
    )
    print("objective:", objective)

    classifier = AutoImageClassifier(
        objective=objective,
        max_trials=3 if quick else 12,
        time_limit=None if quick else 300,
        directory=output,
        project_name="multi_objective",
        overwrite=True,
        seed=0,
        verbose=1,
    )
    classifier.fit(x_train, y_train, epochs=4 if quick else 8)
    print(f"test accuracy of the chosen model: {classifier.score(x_test, y_test):.4f}")

    # --------------------------------------------------------------------------------------------
    # 3. Every trial's costs.
    #
    # After training, each trial is measured: latency at batch 1, and energy per image from a
    # meter when one answers (an NVIDIA GPU through NVML, or the CPU's RAPL counters), else the
    # estimate. `energy_source` says which. (Trials are timed like this because this objective
    # counts the measured energy; under an objective that reads no measured cost, a trial records
    # the graph's costs and the energy estimate only, with no latency.) The reward is what the
    # classifier ranks by; the chosen model is the trial of highest reward (not necessarily the
    # most accurate one).
    # --------------------------------------------------------------------------------------------
    print(f"{'trial':>5} {'val_acc':>7} {'params':>7} {'energy mJ':>10} {'source':>9} {'latency ms':>10} {'reward':>8}")
    for record in classifier.history_:
        if record.status != "completed":
            print(f"{record.id:>5} failed: {record.error}")
            continue
        m = record.metrics
        reward = objective.reward(record)
        print(
            f"{record.id:>5} {m['val_accuracy']:>7.4f} {m['params']:>7,} {m['energy_mj']:>10.5f} "
            f"{m['energy_source']:>9} {m['latency_ms']:>10.3f} {reward:>8.4f}"
        )
        assert m["params"] <= max_params, "no trial over the hard limit is ever trained"
    print(f"chosen: trial {classifier.best_trial_.id} ({classifier.best_trial_.name})")

    # --------------------------------------------------------------------------------------------
    # 4. The Pareto front.
    #
    # A trial is on the front when no other trial is at least as good on validation accuracy,
    # energy and parameters and better on one of them. These are the trials worth choosing
    # between; the rest are beaten on every count by some front member.
    # --------------------------------------------------------------------------------------------
    front = classifier.pareto_front()
    print(f"Pareto front: trials {[r.id for r in front]} of {len(classifier.history_)}")

    # Hypervolume summarises a front in one number (larger is better): normalise the objectives to
    # [0, 1] with fixed bounds, then measure the region the points dominate up to (1.1, 1.1, 1.1).
    bounds = {"val_accuracy": (0.0, 1.0), "energy_mj": (0.0, reference["energy_mj"]), "params": (0, max_params)}
    points = objective_points(front, bounds=bounds)
    print(f"hypervolume of the front: {hypervolume(points, reference=(1.1, 1.1, 1.1)):.4f}")

    # plot_pareto writes a PNG: accuracy against energy, marker area by parameters, front in colour.
    try:
        path = classifier.plot_pareto(output / "pareto.png")
        print(f"wrote {path}")
    except ImportError as error:
        print(f"no plot: {error}")

    # --------------------------------------------------------------------------------------------
    # 5. Export any member of the front.
    #
    # export_model() gives the chosen model (fine-tuned on training + validation data);
    # export_model(trial_id=...) any completed trial, with the weights it trained. Here: the
    # smallest model on the front.
    # --------------------------------------------------------------------------------------------
    smallest = min(front, key=lambda r: r.metrics["params"])
    model = classifier.export_model(trial_id=smallest.id)
    accuracy = float(np.mean(classifier.classes_[model.predict(x_test, verbose=0).argmax(axis=1)] == y_test))
    print(f"smallest front member: trial {smallest.id}, {smallest.metrics['params']:,} parameters, test accuracy {accuracy:.4f}")
    model.save(output / "smallest.keras")
    print(f"tutorial 03 done in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
