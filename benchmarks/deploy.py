"""Deployment files of the initial architectures and a searched model: size, batch-1 latency, int8 accuracy.

For digits and Fashion-MNIST, each initial architecture (its first, largest
setting in ``INITIAL_ARCHITECTURES``, trained with its preprocessing inside for
a few epochs) and the best model of a short search are exported as ``.keras``,
ONNX, LiteRT float and LiteRT int8 (calibrated on 200 training images). Printed
per model: file sizes; median batch-1 latency in Keras (autonas's
``measure_latency``: ``model(x, training=False)``), onnxruntime and the LiteRT
interpreter (both with one intra-op thread); the test accuracy in Keras and of
the int8 file, and the int8 file's top-1 agreement with Keras.

    python benchmarks/deploy.py                      # digits and Fashion-MNIST (10,000 training images)
    python benchmarks/deploy.py --reduced            # 3,000 Fashion-MNIST training images, 2,000 test, 60 s search

Needs ``pip install autonas[deploy]`` and Debian's ``dataset-fashion-mnist`` for Fashion-MNIST.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def _data(name: str, reduced: bool):
    from autonas import datasets

    if name == "digits":
        return datasets.load_digits()
    x_train, x_test, y_train, y_test = datasets.fashion_mnist()
    rng = np.random.default_rng(0)
    train = rng.permutation(len(x_train))[: 3000 if reduced else 10000]
    test = rng.permutation(len(x_test))[: 2000 if reduced else len(x_test)]
    return x_train[train], x_test[test], y_train[train], y_test[test]


def _initial_models(x_train, y_train, epochs: int):
    """``(name, keras model)`` of each initial architecture, trained with its preprocessing inside."""
    import keras

    from autonas.engine.spec import INITIAL_ARCHITECTURES
    from autonas.graph import generators
    from autonas.tasks.data import ImagePreprocessing
    from autonas.tasks.export import export_classifier

    preprocessing = ImagePreprocessing.fit(x_train[..., None].astype(np.float32))
    models = []
    for name, ladder in INITIAL_ARCHITECTURES:
        graph = generators.BY_NAME[name]((*x_train.shape[1:], 1), 10, **ladder[0])
        model = export_classifier(graph, x_train.shape[1:], preprocessing)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        model.fit(x_train.astype(np.float32), y_train, epochs=epochs, batch_size=64, verbose=0)
        plain = export_classifier(graph, x_train.shape[1:], preprocessing)  # no optimizer state, as a search exports
        plain.set_weights(model.get_weights())
        models.append((name, plain))
    return models


def _searched_model(x_train, y_train, seconds: float, folder: Path):
    from autonas import AutoImageClassifier
    from autonas.execution import SerialExecutor

    classifier = AutoImageClassifier(
        time_limit=seconds, executor=SerialExecutor(), directory=folder, project_name="search", seed=0, verbose=0,
        tensorboard=False,
    ).fit(x_train, y_train)
    return f"searched (trial {classifier.best_trial_.id}, {len(classifier.history_)} trials)", classifier.export_model()


def _median_ms(call, x, repeats: int) -> float:
    for _ in range(3):
        call(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(x)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _onnx_call(path: Path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def _litert_call(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    source, target = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    shape = [None]

    def call(x):
        if shape[0] != x.shape:
            interpreter.resize_tensor_input(source, list(x.shape))
            interpreter.allocate_tensors()
            shape[0] = x.shape
        interpreter.set_tensor(source, x)
        interpreter.invoke()
        return interpreter.get_tensor(target)

    return call


def _measure(name: str, model, x_train, x_test, y_test, folder: Path, repeats: int) -> dict:
    """One row: sizes in KiB, latencies in ms, accuracies."""
    from autonas.deploy import export_file
    from autonas.objectives import measure_latency

    paths = {
        "keras": export_file(model, folder / f"{name}.keras", "keras"),
        "onnx": export_file(model, folder / f"{name}.onnx", "onnx"),
        "litert": export_file(model, folder / f"{name}.tflite", "litert"),
        "int8": export_file(model, folder / f"{name}_int8.tflite", "litert", "int8", x_train[:200]),
    }
    one = x_test[:1].astype(np.float32)
    row = {"model": name, "params": model.count_params()}
    row.update({f"{k}_kib": p.stat().st_size / 1024 for k, p in paths.items()})
    row["keras_ms"] = measure_latency(model, batch_sizes=(1,), repeats=repeats)["latency_ms"]
    row["onnx_ms"] = _median_ms(_onnx_call(paths["onnx"]), one, repeats)
    row["litert_ms"] = _median_ms(_litert_call(paths["litert"]), one, repeats)
    int8 = _litert_call(paths["int8"])
    row["int8_ms"] = _median_ms(int8, one, repeats)
    keras_top = model.predict(x_test.astype(np.float32), verbose=0, batch_size=256).argmax(axis=1)
    int8_top = int8(x_test.astype(np.float32)).argmax(axis=1)
    row["accuracy"] = float(np.mean(keras_top == y_test))
    row["int8_change"] = float(np.mean(int8_top == y_test)) - row["accuracy"]
    row["agreement"] = float(np.mean(int8_top == keras_top))
    return row


COLUMNS = (
    ("model", "{:<34}"), ("params", "{:>8,}"), ("keras_kib", "{:>9.1f}"), ("onnx_kib", "{:>8.1f}"),
    ("litert_kib", "{:>10.1f}"), ("int8_kib", "{:>8.1f}"), ("keras_ms", "{:>8.2f}"), ("onnx_ms", "{:>7.3f}"),
    ("litert_ms", "{:>9.3f}"), ("int8_ms", "{:>7.3f}"), ("accuracy", "{:>8.4f}"), ("int8_change", "{:>+11.4f}"),
    ("agreement", "{:>9.4f}"),
)


def _print_table(dataset: str, rows: list[dict]) -> None:
    print(f"\n{dataset}")
    print(" ".join(f"{name:>{len(fmt.format(rows[0][name]))}}" for name, fmt in COLUMNS))
    for row in rows:
        print(" ".join(fmt.format(row[name]) for name, fmt in COLUMNS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reduced", action="store_true", help="fewer Fashion-MNIST images and a 60 s search")
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion"], choices=["digits", "fashion"])
    parser.add_argument("--repeats", type=int, default=200, help="timed batch-1 calls per runtime (default 200)")
    args = parser.parse_args()
    search_seconds, epochs = (60.0, 3) if args.reduced else (300.0, 10)
    with tempfile.TemporaryDirectory(prefix="autonas-deploy-") as scratch:
        for dataset in args.datasets:
            x_train, x_test, y_train, y_test = _data(dataset, args.reduced)
            folder = Path(scratch) / dataset
            folder.mkdir()
            models = _initial_models(x_train, y_train, epochs)
            models.append(_searched_model(x_train, y_train, search_seconds, folder))
            rows = [
                _measure(name.split(" ")[0] if i < len(models) - 1 else "searched", model, x_train, x_test, y_test,
                         folder, args.repeats) | {"model": name}
                for i, (name, model) in enumerate(models)
            ]
            _print_table(f"{dataset}: {len(x_train)} training, {len(x_test)} test images", rows)


if __name__ == "__main__":
    main()
