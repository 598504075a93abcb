"""Tutorial 5: stop a search, resume it where it stopped, and export models.

Run it from the repository root:

    python tutorials/05_resume_and_export.py            # a few minutes on a laptop CPU
    python tutorials/05_resume_and_export.py --quick    # under a minute and a half (or AUTONAS_TUTORIAL_QUICK=1)

Projects and exported models go to a temporary folder (or --output-dir / AUTONAS_TUTORIAL_DIR).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from _settings import tutorial_settings  # noqa: E402  (tutorials/_settings.py, beside this file)


def main() -> None:
    quick, output = tutorial_settings(__doc__.splitlines()[0])
    print(f"quick mode: {quick}; writing into {output}")
    start = time.monotonic()

    import keras

    from autonas import AutoImageClassifier
    from autonas.datasets import load_digits
    from autonas.execution import SerialExecutor
    from autonas.graph import Graph

    x_train, x_test, y_train, y_test = load_digits()
    if quick:
        x_train, y_train = x_train[:600], y_train[:600]
    epochs = 2 if quick else None
    first_budget, second_budget = (2, 3) if quick else (3, 6)

    # --------------------------------------------------------------------------------------------
    # 1. A search that stops early.
    #
    # A search can end before you wanted it to: a time limit, a laptop lid, Ctrl-C, a killed
    # cluster job. autonas writes every trial to directory/project_name/trials/ the moment it
    # finishes, in one atomic rename, so whatever stops the process, the finished trials are on
    # disk and no half-written one is. Here the "interruption" is simply a small max_trials.
    # --------------------------------------------------------------------------------------------
    settings = {"directory": output, "project_name": "resumable", "seed": 0, "verbose": 1}
    if quick:  # train in this process: three short fits would spend most of their time starting workers
        settings["executor"] = SerialExecutor()
    first = AutoImageClassifier(max_trials=first_budget, overwrite=True, **settings)
    first.fit(x_train, y_train, epochs=epochs)
    before = {r.id: (r.fingerprint, r.metrics.get("val_accuracy")) for r in first.history_}
    print(f"first run: trials {sorted(before)}")

    project = Path(first.project_path_)
    print(f"on disk in {project}:")
    for path in sorted(project.rglob("*")):
        if path.is_file():
            print(f"    {path.relative_to(project)}")
    record = json.loads((project / "trials" / "trial_0001" / "record.json").read_text())
    print(f"trial 1's record: name {record['name']!r}, status {record['status']}, val_accuracy "
          f"{record['metrics']['val_accuracy']:.4f}, energy_source {record['metrics']['energy_source']}")

    # --------------------------------------------------------------------------------------------
    # 2. Resume.
    #
    # A new AutoImageClassifier - in a new Python session, tomorrow - with the same directory and
    # project_name and overwrite=False (the default) picks up the project: the finished trials
    # are loaded and shown to the searcher, initial architectures already trained are skipped,
    # and new trials continue the numbering. max_trials counts the trials already there, so
    # raising it from first_budget to second_budget runs the difference.
    # --------------------------------------------------------------------------------------------
    second = AutoImageClassifier(max_trials=second_budget, **settings)
    second.fit(x_train, y_train, epochs=epochs)
    after = {r.id: (r.fingerprint, r.metrics.get("val_accuracy")) for r in second.history_}
    kept = [trial for trial in before if after.get(trial) == before[trial]]
    new = sorted(set(after) - set(before))
    print(f"resumed: {len(kept)} finished trials kept unchanged {kept}, new trials {new}")
    assert len(kept) == len(before), "every finished trial is kept on resume"
    second.leaderboard()

    # A project remembers what it searches (input shape and classes, in project.json). Fitting it
    # on other data is refused rather than mixed in: pass overwrite=True or another project_name.
    # A refused fit leaves the classifier as it was (a fitted one keeps its model).
    try:
        AutoImageClassifier(max_trials=second_budget, **settings).fit(x_train[y_train < 5], y_train[y_train < 5])
    except ValueError as error:
        print(f"other data on the same project is refused: {error}")

    # --------------------------------------------------------------------------------------------
    # 3. Export.
    #
    # export_model() is the best model after its final fit on training + validation data, as a
    # plain keras.Model with the preprocessing inside: it takes the raw uint8 (N, 8, 8) images.
    # export_model(trial_id=...) exports any completed trial with the weights it trained.
    # --------------------------------------------------------------------------------------------
    best_path = output / "best.keras"
    second.export_model().save(best_path)
    restored = keras.models.load_model(best_path)
    difference = float(np.max(np.abs(restored.predict(x_test, verbose=0) - second.predict_proba(x_test))))
    print(f"exported {best_path}: test accuracy {second.score(x_test, y_test):.4f}, "
          f"reloaded max |difference| {difference:.2e}")

    first_trial = second.export_model(trial_id=1)
    first_trial.save(output / "trial_1.keras")
    accuracy = float(np.mean(second.classes_[first_trial.predict(x_test, verbose=0).argmax(axis=1)] == y_test))
    print(f"exported trial 1 ({second.history_[0].name}): test accuracy {accuracy:.4f}")

    # The architecture itself, without Keras: graph.json + weights.npz. Graph.load reads it back
    # (and .to_keras() rebuilds the network, without the preprocessing layers).
    second.best_graph_.save(output / "best_graph")
    graph = Graph.load(output / "best_graph")
    print(f"best graph: {graph.num_params():,} parameters, fingerprint {graph.fingerprint()[:12]}..., "
          f"saved in {output / 'best_graph'}")
    assert graph.fingerprint() == second.best_graph_.fingerprint()
    print(f"tutorial 05 done in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
