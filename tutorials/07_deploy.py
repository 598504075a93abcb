"""Tutorial 7: deploy what the search found - ONNX and int8 LiteRT files run without autonas or Keras.

Run it from the repository root (needs pip install autonas[deploy]):

    python tutorials/07_deploy.py            # a few minutes on a laptop CPU
    python tutorials/07_deploy.py --quick    # under a minute (or AUTONAS_TUTORIAL_QUICK=1)

The project and the exported files go to a temporary folder (or --output-dir / AUTONAS_TUTORIAL_DIR).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from _settings import tutorial_settings  # noqa: E402  (tutorials/_settings.py, beside this file)

#: What a device runs: numpy and the runtime, nothing of autonas, Keras or TensorFlow.
RUNTIME_ONLY = textwrap.dedent(
    """
    import sys
    import numpy as np
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    folder = sys.argv[1]
    x = np.load(f"{folder}/x_test.npy").astype(np.float32)  # raw uint8 pixels as float32, (N, 8, 8)

    session = onnxruntime.InferenceSession(f"{folder}/digits.onnx", providers=["CPUExecutionProvider"])
    onnx_probabilities = session.run(None, {session.get_inputs()[0].name: x})[0]

    interpreter = Interpreter(model_path=f"{folder}/digits_int8.tflite")
    source = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(source, list(x.shape))  # any batch size
    interpreter.allocate_tensors()
    interpreter.set_tensor(source, x)
    interpreter.invoke()
    int8_probabilities = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    np.save(f"{folder}/onnx.npy", onnx_probabilities)
    np.save(f"{folder}/int8.npy", int8_probabilities)
    print("runtime-only process imported:", sorted(m for m in ("autonas", "keras", "tensorflow") if m in sys.modules))
    """
)


def main() -> None:
    quick, output = tutorial_settings(__doc__.splitlines()[0])
    print(f"quick mode: {quick}; writing into {output}")
    start = time.monotonic()

    from autonas import AutoImageClassifier
    from autonas.datasets import load_digits

    x_train, x_test, y_train, y_test = load_digits()
    if quick:
        x_train, y_train = x_train[:600], y_train[:600]

    # --------------------------------------------------------------------------------------------
    # 1. A search for a model small enough for a microcontroller-class device.
    #
    # max_params is a hard limit checked before any training: larger candidates are never trained.
    # --------------------------------------------------------------------------------------------
    classifier = AutoImageClassifier(
        max_trials=2 if quick else 8, max_params=20_000, directory=output, project_name="deploy", seed=0,
        verbose=1, overwrite=True,
    )
    classifier.fit(x_train, y_train, epochs=2 if quick else None)
    print(f"best trial {classifier.best_trial_.id}: {classifier.best_trial_.metrics['params']:,} parameters, "
          f"Keras test accuracy {classifier.score(x_test, y_test):.4f}")

    # --------------------------------------------------------------------------------------------
    # 2. Export.
    #
    # classifier.export(path, format) writes the model with its preprocessing inside: the files
    # take the raw pixels fit took (as float32) and return class probabilities in the order of
    # classes_. "onnx" runs in onnxruntime; "litert" in the LiteRT interpreter (TensorFlow Lite's
    # successor). quantize="int8" quantises weights and activations after training, calibrated
    # on up to 200 training images that fit kept (calibration_sample_): about 4x smaller.
    # The shell does the same from the project folder:
    #     autonas export PROJECT --format onnx --output digits.onnx
    # --------------------------------------------------------------------------------------------
    onnx_path = classifier.export(output / "digits.onnx", format="onnx")
    float_path = classifier.export(output / "digits.tflite", format="litert")
    int8_path = classifier.export(output / "digits_int8.tflite", format="litert", quantize="int8")
    for path in (onnx_path, float_path, int8_path):
        print(f"exported {path.name}: {path.stat().st_size / 1024:.1f} KiB")

    # --------------------------------------------------------------------------------------------
    # 3. Run them where Keras is not: a fresh Python process with numpy and the runtimes only.
    # --------------------------------------------------------------------------------------------
    np.save(output / "x_test.npy", x_test)
    (output / "runtime_only.py").write_text(RUNTIME_ONLY)
    result = subprocess.run([sys.executable, str(output / "runtime_only.py"), str(output)],
                            capture_output=True, text=True, check=True)
    print(result.stdout.strip())
    keras_probabilities = classifier.predict_proba(x_test)
    onnx_probabilities, int8_probabilities = np.load(output / "onnx.npy"), np.load(output / "int8.npy")
    difference = np.max(np.abs(onnx_probabilities - keras_probabilities))
    print(f"onnxruntime against Keras: max |difference| {difference:.1e}")
    assert difference <= 1e-4, "the ONNX file should compute what the Keras model computes"
    agreement = np.mean(int8_probabilities.argmax(axis=1) == keras_probabilities.argmax(axis=1))
    int8_accuracy = np.mean(classifier.classes_[int8_probabilities.argmax(axis=1)] == y_test)
    print(f"int8 LiteRT: same top-1 class as Keras on {agreement:.1%} of the test images, "
          f"test accuracy {int8_accuracy:.4f}")
    # int8 rounding moves a few borderline images to another class, no more
    assert agreement >= 0.95, "the int8 file should pick the Keras model's class on almost every image"
    print(f"tutorial 07 done in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
