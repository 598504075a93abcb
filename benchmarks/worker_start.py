"""A fresh worker's first trial under JAX or PyTorch: seeded by ``keras.utils.set_random_seed`` against autonas's seeding.

Keras's ``set_random_seed`` also seeds TensorFlow whenever it is installed,
importing it into a process that runs another backend;
``autonas.backend.set_random_seed`` seeds the same generators without that
import. Each run is a fresh process (as a worker is) that trains the initial
CNN one epoch on 2,048 random 28×28 images, seeded one way or the other;
alternated; prints the process's seconds (imports included), the trial's
start-up (building, compiling), its peak resident memory and whether
TensorFlow was imported, with medians and the ratio.

    KERAS_BACKEND=jax python benchmarks/worker_start.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

WAYS = ("keras.utils.set_random_seed", "autonas.backend.set_random_seed")


def one_process(way: str) -> dict:
    """Train the initial CNN one epoch in this fresh process, seeded ``way``."""
    start = time.perf_counter()
    from _small_data import timed_trial_on_random_images

    from autonas.execution import runner
    from autonas.graph import generators

    if way == WAYS[0]:
        import keras

        runner.set_random_seed = keras.utils.set_random_seed
    _, result = timed_trial_on_random_images(generators.cnn((28, 28, 1), 10))
    return {
        "process": time.perf_counter() - start,
        "startup": result.metrics["startup_seconds"],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tensorflow_imported": "tensorflow" in sys.modules,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="processes of each way, alternated; medians shown")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one_process(WAYS[args.one])))
        return
    import keras

    runs: dict[str, list[dict]] = {way: [] for way in WAYS}
    for _ in range(args.repeats):
        for index, way in enumerate(WAYS):
            output = subprocess.run([sys.executable, __file__, "--one", str(index)], check=True,
                                    capture_output=True, text=True).stdout
            runs[way].append(json.loads(output.strip().splitlines()[-1]))
    print(f"backend {keras.config.backend()}, medians of {args.repeats} fresh processes")
    print(f"{'seeded by':34} {'process s':>9} {'start-up s':>10} {'peak RSS MiB':>12}  tensorflow imported")
    medians = {}
    for way in WAYS:
        medians[way] = {key: statistics.median(run[key] for run in runs[way])
                        for key in ("process", "startup", "peak_rss_mib")}
        imported = sorted({run["tensorflow_imported"] for run in runs[way]})
        print(f"{way:34} {medians[way]['process']:9.2f} {medians[way]['startup']:10.2f} "
              f"{medians[way]['peak_rss_mib']:12.0f}  {imported}")
    before, after = medians[WAYS[0]], medians[WAYS[1]]
    print(f"{'ratio':34} {before['process'] / after['process']:9.2f} {before['startup'] / after['startup']:10.2f} "
          f"{before['peak_rss_mib'] / after['peak_rss_mib']:12.2f}")


if __name__ == "__main__":
    main()
