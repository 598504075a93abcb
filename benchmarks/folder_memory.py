"""How much memory does the search process use to read a large folder of image files?

Generates a class-per-subfolder tree of PNG files of random content (noise
compresses badly, so the files are about as large as the pixels) until it
holds ``--gigabytes`` on disk, then runs ``AutoImageClassifier.fit`` on it (one
trial, worker processes) while a thread samples this process's resident
memory from ``/proc/self/status`` every 20 ms: ``RssAnon`` (memory the process
owns) and ``RssFile`` (pages of memory-mapped files, which the kernel drops
under pressure). The table gives the peaks above the level before ``fit``,
phase by phase, beside the size of the folder, of one chunk (the float64
working set of the chunked statistics and standardisation) and of the model.
The folder is reused when ``--folder`` already holds one.

Usage: ``python benchmarks/folder_memory.py [--gigabytes 2] [--side 512] [--folder DIR]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

MIB = 1 << 20


def resident() -> dict[str, int]:
    """This process's RssAnon and RssFile in bytes."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("RssAnon:", "RssFile:")):
                name, kb = line.split()[:2]
                values[name.rstrip(":")] = int(kb) * 1024
    return values


class Sampler:
    """Peaks of :func:`resident` per named phase, sampled by a thread."""

    def __init__(self) -> None:
        self.phase = "before"
        self.peaks: dict[str, dict[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = resident()
            peak = self.peaks.setdefault(self.phase, dict(now))
            for name, value in now.items():
                peak[name] = max(peak[name], value)
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def write_folder(root: Path, gigabytes: float, side: int, classes: int = 4) -> tuple[int, int]:
    """PNG files of noise with a class-dependent brightness, ``gigabytes`` in all; returns (files, bytes)."""
    from PIL import Image

    existing = sorted(root.glob("class_*/*.png"))
    if existing:  # written by an earlier run
        return len(existing), sum(path.stat().st_size for path in existing)
    rng = np.random.default_rng(0)
    total, count = 0, 0
    while total < gigabytes * 1e9:
        label = count % classes
        pixels = rng.integers(0, 200, size=(side, side, 3), dtype=np.uint8) + np.uint8(15 * label)
        folder = root / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{count:06d}.png"
        Image.fromarray(pixels, "RGB").save(path, compress_level=1)
        total += path.stat().st_size
        count += 1
    return count, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=2.0, help="size of the generated folder (default 2)")
    parser.add_argument("--side", type=int, default=512, help="side of the generated images in pixels (default 512)")
    parser.add_argument("--folder", default=None, help="where to write the folder (default: a temporary folder)")
    parser.add_argument("--read-only", action="store_true", help="measure reading the folder only, no search")
    args = parser.parse_args()

    from autonas import AutoImageClassifier
    from autonas.tasks import data as data_module

    work = Path(args.folder or tempfile.mkdtemp(prefix="autonas-folder-memory-"))
    photos = work / "photos"
    start = time.monotonic()
    files, size = write_folder(photos, args.gigabytes, args.side)
    print(f"wrote {files} PNG files, {size / 1e9:.2f} GB, in {time.monotonic() - start:.0f} s under {photos}")

    import keras  # noqa: F401 - imported before the baseline, as in any search process

    classifier = AutoImageClassifier(max_trials=1, time_limit=600, directory=work, project_name="memory",
                                     overwrite=True, verbose=0, seed=0, tensorboard=False)
    baseline = resident()
    prepare = classifier._prepare_data
    timings = {}
    with Sampler() as sampler:
        def measured_prepare(*a, **k):
            sampler.phase = "read, split, standardise"
            begin = time.monotonic()
            data = prepare(*a, **k)
            timings["read"] = time.monotonic() - begin
            sampler.phase = "search and final fit"
            return data

        classifier._prepare_data = measured_prepare
        begin = time.monotonic()
        if args.read_only:
            import shutil

            classifier._scratch = None
            try:
                measured_prepare(str(photos), None, 0.2, None)
            finally:
                shutil.rmtree(classifier._scratch, ignore_errors=True)
            classifier.objective_ = classifier._make_objective()
            initial = classifier._spec().initial_graphs(classifier.input_shape_, len(classifier.classes_))
            classifier.best_graph_ = initial[0][1]  # the first initial model, for scale
        else:
            classifier.fit(str(photos))
        timings["fit"] = time.monotonic() - begin
    height, width, channels = classifier.input_shape_
    chunk = data_module.CHUNK_BYTES  # the float64 working chunk of the statistics and the standardised copies
    model = classifier.best_graph_.num_params() * 4
    print(f"\nfit: {timings['fit']:.0f} s ({timings['read']:.0f} s reading); training size {height}x{width}x{channels}; "
          f"one chunk (float64 working set) {chunk / MIB:.1f} MiB; model {model / MIB:.2f} MiB of weights; "
          f"standardised data on disk {files * height * width * channels * 4 / MIB:.0f} MiB")
    print(f"{'phase':<28} {'RssAnon peak - before':>22} {'RssFile peak - before':>22}")
    for phase, peak in sampler.peaks.items():
        if phase == "before":
            continue
        anon = (peak["RssAnon"] - baseline["RssAnon"]) / MIB
        mapped = (peak["RssFile"] - baseline["RssFile"]) / MIB
        print(f"{phase:<28} {anon:>19.1f} MiB {mapped:>19.1f} MiB")
    read_peak = sampler.peaks["read, split, standardise"]["RssAnon"] - baseline["RssAnon"]
    print(f"\nreading the {size / 1e9:.2f} GB folder raised RssAnon by {read_peak / MIB:.1f} MiB = "
          f"{read_peak / max(chunk + model, 1):.2f} x (one chunk + the model); folder / RssAnon rise = "
          f"{size / max(read_peak, 1):.0f}")


if __name__ == "__main__":
    main()
