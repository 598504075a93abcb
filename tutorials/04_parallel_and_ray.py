"""Tutorial 4: train several trials at once, in local worker processes and on Ray.

Run it from the repository root:

    python tutorials/04_parallel_and_ray.py            # up to ten minutes on a laptop CPU
    python tutorials/04_parallel_and_ray.py --quick    # under a minute and a half (or AUTONAS_TUTORIAL_QUICK=1)

The Ray part needs Ray (pip install autonas[ray]); without it that part is skipped with a message.
Projects go to a temporary folder (or --output-dir / AUTONAS_TUTORIAL_DIR).

Executors start new Python processes. LocalExecutor's workers never import this script, so a
script calling fit() at top level works too; the `if __name__ == "__main__":` below is only habit.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time  # noqa: E402
from pathlib import Path  # noqa: E402




def search(executor, name: str, quick: bool, output: Path, data):
    """One search with ``executor``; returns the fitted classifier."""
    from autonas import AutoImageClassifier

    x_train, y_train = data
    classifier = AutoImageClassifier(
        max_trials=2 if quick else 6,
        time_limit=None if quick else 240,
        directory=output,
        project_name=name,
        overwrite=True,
        seed=0,
        verbose=1,
        executor=executor,
    )
    started = time.monotonic()
    # In quick mode one epoch per trial: this tutorial is about where trials run, not accuracy.
    classifier.fit(x_train, y_train, epochs=1 if quick else None)
    elapsed = time.monotonic() - started
    trained = sum(r.seconds for r in classifier.history_)
    print(
        f"{name}: {len(classifier.history_)} trials in {elapsed:.0f} s of wall time "
        f"({trained:.0f} s of training summed over the trials)"
    )
    return classifier

from _settings import tutorial_settings  # noqa: E402  (tutorials/_settings.py, beside this file)


def main() -> None:
    quick, output = tutorial_settings(__doc__.splitlines()[0])
    print(f"quick mode: {quick}; writing into {output}; {os.cpu_count()} CPU cores")
    start = time.monotonic()

    from autonas.datasets import load_digits
    from autonas.execution import LocalExecutor

    x_train, x_test, y_train, y_test = load_digits()
    if quick:
        x_train, y_train = x_train[:600], y_train[:600]
    data = (x_train, y_train)

    # --------------------------------------------------------------------------------------------
    # 1. The default, LocalExecutor: trials in worker processes on this machine.
    #
    # With executor=None, AutoImageClassifier uses LocalExecutor(): one worker per CPU core (or,
    # on a GPU, as many as the free GPU memory holds); only with a time_limit under 60 s does it
    # train in your process instead, since starting workers would take much of so short a budget.
    # Here it is given explicitly, with max_workers=2. Each trial runs in a worker process, so a
    # crashing trial cannot take the search down (it becomes a failed trial). On a CPU each
    # worker gets cores // max_workers TensorFlow threads and trains several trials in turn (up
    # to trials_per_worker, default 8) before a fresh one replaces it: starting a process and
    # importing TensorFlow costs seconds.
    # On a GPU (seen through nvidia-ml-py or nvidia-smi) every trial gets
    # a fresh process, so its GPU memory is returned when it ends, and a trial starts only when
    # its estimated training memory fits in the free GPU memory next to the running ones.
    #
    # While the workers train, the search process asks the searcher for the next child, so the
    # proposals are ready when a worker frees up. peak_concurrency records how many trials were
    # seen running at the same time.
    # --------------------------------------------------------------------------------------------
    local = LocalExecutor(max_workers=2)
    classifier = search(local, "local_workers", quick, output, data)
    accuracy = classifier.score(x_test, y_test)
    print(f"LocalExecutor: peak concurrency {local.peak_concurrency}, test accuracy {accuracy:.4f}")
    assert all(record.status == "completed" for record in classifier.history_), "every trial should finish"

    # --------------------------------------------------------------------------------------------
    # 2. RayExecutor: trials as Ray tasks.
    #
    # RayExecutor() starts a local Ray (init_kwargs go to ray.init; num_cpus=2 keeps it to two
    # cores here) or joins a cluster with RayExecutor(address="ray://head:10001"). The training
    # data is put into Ray's object store once; each trial is a task asking for cpus_per_trial
    # CPUs (and, on GPU clusters, the fraction of a GPU its memory estimate needs) and runs in a
    # fresh worker process. The Ray it started is shut down when the search ends.
    # From the command line: autonas fit --data images.npz --ray-address local
    #
    # (SerialExecutor() trains each trial in your own process, one after the other: simplest to
    # debug, and the only way a seeded search repeats exactly. Not run here to save time.)
    # --------------------------------------------------------------------------------------------
    try:
        import ray  # noqa: F401
    except ImportError:
        print("RayExecutor: skipped, Ray is not installed (pip install 'autonas[ray]')")
    else:
        from autonas.execution.ray_executor import RayExecutor

        executor = RayExecutor(init_kwargs={"num_cpus": 2})
        classifier = search(executor, "ray_tasks", quick, output, data)
        accuracy = classifier.score(x_test, y_test)
        ran = sum(record.status == "completed" for record in classifier.history_)
        print(f"RayExecutor: ran {ran} trials, {executor.max_workers} at once, test accuracy {accuracy:.4f}")
        assert ran == len(classifier.history_) > 0, "every trial should finish as a Ray task"

    # Every executor writes the same project folders, so a search started with one executor can
    # be resumed with another (tutorial 5 shows resuming).
    print(f"tutorial 04 done in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
