"""Tutorial 8: robust architectures - accuracy under an adversarial attack as an objective.

Run it from the repository root (needs pip install autonas[robust]):

    python tutorials/08_robust.py            # a few minutes on a laptop CPU
    python tutorials/08_robust.py --quick    # about a minute (or AUTONAS_TUTORIAL_QUICK=1)

The projects go to a temporary folder (or --output-dir / AUTONAS_TUTORIAL_DIR).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time  # noqa: E402

from _settings import tutorial_settings  # noqa: E402  (tutorials/_settings.py, beside this file)


def main() -> None:
    quick, output = tutorial_settings(__doc__.splitlines()[0])
    print(f"quick mode: {quick}; writing into {output}")
    start = time.monotonic()

    from autonas import AutoImageClassifier, Objective
    from autonas.datasets import load_digits
    from autonas.execution import SerialExecutor

    x_train, x_test, y_train, y_test = load_digits()
    if quick:
        x_train, y_train = x_train[:800], y_train[:800]
    budget = {"max_trials": 2, "executor": SerialExecutor()} if quick else {"time_limit": 240}
    epochs = 10 if quick else None  # quick mode: shorter initial trainings

    # --------------------------------------------------------------------------------------------
    # 1. How fragile is an ordinary search's model?
    #
    # classifier.robustness(x, y) attacks the fitted network with projected gradient descent
    # (PGD, L-infinity, random start, 10 steps; the Adversarial Robustness Toolbox's): every
    # pixel may move by epsilon of its range, here 0.1 (25 grey levels of 255), which a person
    # hardly notices on a digit. epsilon is always on the [0, 1] pixel scale, whatever the
    # images' own scale (uint8 here).
    # --------------------------------------------------------------------------------------------
    plain = AutoImageClassifier(directory=output, project_name="plain", overwrite=True, seed=0, verbose=1, **budget)
    plain.fit(x_train, y_train, epochs=epochs)
    attacked = plain.robustness(x_test, y_test, epsilon=0.1)
    print(f"plain search: test accuracy {attacked['clean_accuracy']:.4f}, "
          f"under PGD at epsilon 0.1 {attacked['robust_accuracy']:.4f}")

    # --------------------------------------------------------------------------------------------
    # 2. Ask for robustness.
    #
    # Objective(robustness=w) adds w * robust_accuracy to the reward: after each trial's
    # training, off its training clock, the network is attacked on a fixed draw of 256
    # validation images and robust_accuracy is recorded with the attack that measured it.
    # min_robust_accuracy=0.5 would make it a hard limit instead. Because the objective reads
    # robustness, trials and the final fit also train adversarially: every batch is replaced by
    # its FGSM example with a random start (Wong, Rice & Kolter 2020), at twice the cost of a
    # plain batch.
    # --------------------------------------------------------------------------------------------
    objective = Objective(robustness=1.0, attack="pgd", epsilon=0.1)
    robust = AutoImageClassifier(directory=output, project_name="robust", overwrite=True, seed=0, verbose=1,
                                 objective=objective, **budget)
    robust.fit(x_train, y_train, epochs=epochs)
    hardened = robust.robustness(x_test, y_test, epsilon=0.1)
    print(f"robust search: test accuracy {hardened['clean_accuracy']:.4f}, "
          f"under PGD at epsilon 0.1 {hardened['robust_accuracy']:.4f}")
    assert hardened["robust_accuracy"] > attacked["robust_accuracy"], "adversarial training should pay"

    # --------------------------------------------------------------------------------------------
    # 3. The trade-off.
    #
    # The leaderboard shows each trial's robust accuracy; pareto_front() has it as an axis
    # beside accuracy, energy and size, and plot_pareto(cost="robust_accuracy") draws accuracy
    # against robust accuracy (needs matplotlib).
    # --------------------------------------------------------------------------------------------
    robust.leaderboard()
    front = robust.pareto_front()
    print(f"Pareto front (accuracy, energy, size, robust accuracy): trials {[r.id for r in front]}")
    assert all("robust_accuracy" in r.metrics for r in front)
    try:
        print(f"plot: {robust.plot_pareto(output / 'robust_front.png', cost='robust_accuracy')}")
    except ImportError:
        print("plot: skipped, matplotlib is not installed (pip install 'autonas[plot]')")
    print(f"tutorial 08 done in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
