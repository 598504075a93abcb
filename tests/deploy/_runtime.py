"""Run an exported file in its own runtime, as a deployment would: numpy and the runtime, nothing else.

``python _runtime.py FORMAT MODEL INPUTS.npz OUTPUTS.npz`` runs every array of
``INPUTS.npz`` (each a batch) through ``MODEL`` and saves the outputs under the
same names. FORMAT: ``onnx`` (onnxruntime), ``litert`` (ai_edge_litert's
interpreter) or ``saved_model`` (TensorFlow). Exits non-zero if autonas, or
for ONNX and LiteRT Keras, was imported (TensorFlow's SavedModel loader imports
Keras itself).
"""

import sys

import numpy as np


def onnx_runner(path):
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {name: batch})[0]


def litert_runner(path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    source, target = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]

    def run(batch):
        interpreter.resize_tensor_input(source, list(batch.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(source, batch)
        interpreter.invoke()
        return interpreter.get_tensor(target).copy()

    return run


def saved_model_runner(path):
    import tensorflow as tf

    loaded = tf.saved_model.load(path)  # kept alive: its functions refer to its variables
    return lambda batch: loaded.serve(tf.constant(batch)).numpy()


def main(format, model, inputs, outputs):
    run = {"onnx": onnx_runner, "litert": litert_runner, "saved_model": saved_model_runner}[format](model)
    arrays = np.load(inputs)
    np.savez(outputs, **{name: run(arrays[name].astype(np.float32)) for name in arrays.files})
    forbidden = ("autonas",) if format == "saved_model" else ("autonas", "keras", "tensorflow")
    imported = sorted(name for name in forbidden if name in sys.modules)
    if imported:
        sys.exit(f"the {format} runtime check imported {imported}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
