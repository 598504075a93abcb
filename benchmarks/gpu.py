"""Is the GPU used? Serial against parallel trials on one GPU, and epoch time by batch size. Run by hand.

``python benchmarks/gpu.py [--budget 600] [--train-images 60000] [--executors serial local]``

On a GPU machine without TensorFlow (see ``../shared/GPU.md``): ``KERAS_BACKEND=jax
XLA_PYTHON_CLIENT_PREALLOCATE=false``. Data: Fashion-MNIST (``autonas.datasets.fashion_mnist``; all
60,000 training images by default, the official 10,000 test images).

1. **Epoch time by batch size**: ``generators.cnn`` trained 3 epochs at each ``--batches`` size in
   this process with the runner's recipe; the figure is the runner's ``seconds_per_epoch`` (the
   batches after the first, so compilation is left out). On a GPU that is not starved by its
   input, it falls as the batch grows.
2. **Searches**: ``AutoImageClassifier(time_limit=budget)`` with ``SerialExecutor()`` and with
   the default ``LocalExecutor()`` (on a GPU: as many trials at once as the memory ledger admits),
   one after the other. GPU utilisation is sampled with NVML every 0.5 s during each search.

Prints per search: trials completed, most trials at once, mean and max GPU utilisation, test
accuracy, and per trial the estimated and measured peak GPU memory (where the executor measured
it). Writes ``--output``.json with every figure. Without a GPU it still runs (on CPU), and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from _small_data import fashion_mnist_subset  # noqa: E402

MIB = 1 << 20


class UtilisationSampler:
    """GPU utilisation (percent of time a kernel ran) read with NVML every ``interval`` seconds in a thread."""

    def __init__(self, interval: float = 0.5, device_index: int = 0) -> None:
        self.interval, self.samples = interval, []
        self._stop = threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(device_index)
        except Exception:  # noqa: BLE001 - no NVML, no GPU: nothing to sample
            self._nvml = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def available(self) -> bool:
        return self._nvml is not None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(int(self._nvml.nvmlDeviceGetUtilizationRates(self._handle).gpu))

    def __enter__(self) -> UtilisationSampler:
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.available:
            self._thread.join()

    def summary(self) -> tuple[float | None, int | None]:
        if not self.samples:
            return None, None
        return float(np.mean(self.samples)), int(max(self.samples))


def epoch_times(x: np.ndarray, y: np.ndarray, batches: list[int]) -> list[dict]:
    """Seconds per epoch (compilation left out) of ``generators.cnn`` at each batch size."""
    from autonas.execution.runner import train_graph
    from autonas.execution.settings import TrainingSettings
    from autonas.graph import generators
    from autonas.tasks.data import ImagePreprocessing

    images = x[..., None]
    standardised = ImagePreprocessing.fit(images).transform(images)
    rows = []
    for batch in batches:
        graph = generators.cnn(standardised.shape[1:], 10)
        start = time.monotonic()
        with UtilisationSampler(0.2) as sampler:
            result = train_graph(graph, standardised, y, TrainingSettings(batch_size=batch), epochs=3, measure=False)
        mean, _ = sampler.summary()
        rows.append(dict(
            batch=batch, seconds_per_epoch=result.metrics.get("seconds_per_epoch"),
            startup_seconds=result.metrics.get("startup_seconds"), wall=time.monotonic() - start,
            gpu_util_mean=mean, status=result.status, error=result.error,
        ))
        print(f"batch {batch}: {rows[-1]['seconds_per_epoch']} s an epoch", flush=True)
    return rows


def search(name: str, data, budget: float) -> dict:
    from autonas import AutoImageClassifier
    from autonas.execution import LocalExecutor, SerialExecutor

    x_train, x_test, y_train, y_test = data
    executor = SerialExecutor() if name == "serial" else LocalExecutor()
    with tempfile.TemporaryDirectory() as folder, UtilisationSampler() as sampler:
        start = time.monotonic()
        classifier = AutoImageClassifier(time_limit=budget, directory=folder, seed=0, verbose=1, executor=executor)
        classifier.fit(x_train, y_train)
        seconds = time.monotonic() - start
    mean, peak = sampler.summary()
    history = classifier.history_
    return dict(
        executor=name,
        seconds=seconds,
        trials=len(history),
        completed=sum(r.status == "completed" for r in history),
        most_at_once=getattr(executor, "peak_concurrency", 1),
        on_gpu=bool(getattr(executor, "use_gpu", False)),
        gpu_util_mean=mean,
        gpu_util_max=peak,
        test_accuracy=classifier.score(x_test, y_test),
        memory=[
            dict(trial=r.id, estimate_mib=r.metrics.get("gpu_estimate_bytes", 0) / MIB,
                 peak_mib=r.metrics.get("gpu_peak_bytes", 0) / MIB, status=r.status)
            for r in history
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per search (default 600)")
    parser.add_argument("--train-images", type=int, default=60_000)
    parser.add_argument("--executors", nargs="+", default=["serial", "local"], choices=["serial", "local"])
    parser.add_argument("--batches", type=int, nargs="*", default=[32, 256, 1024], help="epoch-time batch sizes")
    parser.add_argument("--output", default="gpu_benchmark")
    args = parser.parse_args()

    from autonas.backend import backend_name

    data = fashion_mnist_subset(args.train_images)
    report = dict(backend=backend_name(), gpu=UtilisationSampler().available, train_images=args.train_images)
    report["epochs"] = epoch_times(data[0], data[2], args.batches) if args.batches else []
    report["searches"] = [search(name, data, args.budget) for name in args.executors]
    with open(f"{args.output}.json", "w") as file:
        json.dump(report, file, indent=1)

    print(f"\nKeras backend {report['backend']}; NVML GPU {'found' if report['gpu'] else 'not found'}; "
          f"Fashion-MNIST, {args.train_images:,} training images, official test set")
    if report["epochs"]:
        print(f"\n{'batch':>6} {'s/epoch':>8} {'startup s':>9} {'GPU util %':>10}")
        for row in report["epochs"]:
            util = "-" if row["gpu_util_mean"] is None else f"{row['gpu_util_mean']:.0f}"
            seconds = row["seconds_per_epoch"]
            print(f"{row['batch']:>6} {'-' if seconds is None else f'{seconds:.2f}':>8} "
                  f"{row['startup_seconds'] or 0:>9.1f} {util:>10}")
    print(f"\n{'executor':<8} {'on GPU':>6} {'trials':>6} {'completed':>9} {'most at once':>12} "
          f"{'GPU util mean/max %':>19} {'test acc':>8} {'seconds':>7}")
    for row in report["searches"]:
        util = "-" if row["gpu_util_mean"] is None else f"{row['gpu_util_mean']:.0f} / {row['gpu_util_max']}"
        print(f"{row['executor']:<8} {str(row['on_gpu']):>6} {row['trials']:>6} {row['completed']:>9} "
              f"{row['most_at_once']:>12} {util:>19} {row['test_accuracy']:>8.4f} {row['seconds']:>7.0f}")
    for row in report["searches"]:
        measured = [m for m in row["memory"] if m["peak_mib"]]
        if measured:
            print(f"\n{row['executor']}: GPU memory per trial (MiB), estimated → measured peak")
            for m in measured:
                print(f"  trial {m['trial']:>3}: {m['estimate_mib']:>8.0f} → {m['peak_mib']:>8.0f} ({m['status']})")
    print(f"\nfigures: {args.output}.json")


if __name__ == "__main__":
    main()
