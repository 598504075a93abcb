"""The ``autonas`` command line: ``autonas demo``, ``fit``, ``predict``, ``report`` and ``export``."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _add_search_options(parser: argparse.ArgumentParser, time_limit: float | None) -> None:
    from autonas.search import SEARCHERS  # the searchers a classifier takes by name: one list

    parser.add_argument("--time-limit", type=_seconds, default=time_limit, help=f"seconds for the search (default {time_limit})")
    parser.add_argument("--max-trials", type=_positive_int, default=None, help="stop after this many trials (default: no limit)")
    parser.add_argument(
        "--searcher", choices=list(SEARCHERS), default="bayesian",
        help="default bayesian; more-training makes no edits (the control)",
    )
    parser.add_argument(
        "--generation-children", type=int, default=None,
        help="search in generations: this many children of the best network and the network itself trained on "
        "alike, the best leading the next (default: one child at a time)",
    )
    parser.add_argument(
        "--generation-rungs", type=int, default=1,
        help="with --generation-children: successive-halving rungs per generation, the best third of each rung "
        "trained on from its own weights (default 1: none)",
    )
    parser.add_argument("--directory", default="autonas_projects", help="folder of project folders (default autonas_projects)")
    parser.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming")
    parser.add_argument("--seed", type=_seed, default=0, help="random seed, 0 to 2**32 - 1 (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--workers", type=int, default=None,
        help="train this many trials at once in local worker processes (default: one per core, or as many as "
        "the free GPU memory holds); 0 trains one at a time in this process",
    )
    parser.add_argument("--ray-address", default=None, help="run trials on this Ray cluster ('local' for a local Ray)")
    parser.add_argument(
        "--robustness", type=float, default=None,
        help="weight of the accuracy under attack in the reward (Objective(robustness=...)); trials then train "
        "adversarially and record robust_accuracy (pip install 'autonas[robust]'); default: not measured",
    )
    parser.add_argument("--epsilon", type=float, default=0.1,
                        help="with --robustness: the attack's budget on the [0, 1] pixel scale (default 0.1)")
    parser.add_argument("--attack", choices=["pgd", "fgsm"], default="pgd", help="with --robustness: default pgd")


def _seconds(text: str) -> float:
    """``--time-limit``: a finite number of seconds > 0, refused before anything runs."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds > 0, got {text!r}")
    return seconds


def _positive_int(text: str) -> int:
    """``--max-trials``: an int >= 1."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}")
    return number


def _seed(text: str) -> int:
    """``--seed``: an int from 0 to ``2**32 - 1``, refused before anything runs."""
    from autonas._checks import check_seed

    try:
        seed = int(text)
        check_seed(seed, "--seed")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int from 0 to 2**32 - 1 (4294967295), got {text!r}") from None
    return seed


def _executor(args: argparse.Namespace):
    """The executor the options ask for (None: the classifier's default, a LocalExecutor)."""
    if args.ray_address is not None and args.workers is not None:
        raise ValueError("give --workers or --ray-address, not both")
    if args.ray_address is not None:
        from autonas.execution.ray_executor import RayExecutor

        return RayExecutor(address=None if args.ray_address == "local" else args.ray_address)
    if args.workers is not None:
        if args.workers < 0:
            raise ValueError(f"--workers must be 0 (in this process) or a positive int, got {args.workers}")
        from autonas.execution import LocalExecutor, SerialExecutor

        return SerialExecutor() if args.workers == 0 else LocalExecutor(max_workers=args.workers)
    return None


def _classifier(args: argparse.Namespace, project_name: str):
    from autonas import AutoImageClassifier, Objective

    objective = None
    if args.robustness is not None:
        objective = Objective(robustness=args.robustness, epsilon=args.epsilon, attack=args.attack)
    return AutoImageClassifier(
        objective=objective,
        image_size=getattr(args, "image_size", None),
        max_trials=args.max_trials,
        time_limit=args.time_limit,
        searcher=args.searcher,
        directory=args.directory,
        project_name=project_name,
        overwrite=args.overwrite,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        executor=args.executor,
        generation_children=args.generation_children,
        generation_rungs=args.generation_rungs,
    )


def _check_output(output: str) -> None:
    """Refuse an ``--output`` the model could not be saved to, before any search.

    Raises:
        ValueError: naming the path, for a name not ending in ``.keras``, an
            existing folder, or a folder that cannot be created or written.
    """
    path = Path(output)
    if path.suffix != ".keras":
        raise ValueError(f"--output must be a file name ending in .keras (Keras's model format), got {output!r}")
    if path.is_dir():
        raise ValueError(f"--output {output!r} is a folder; give a file name ending in .keras")
    existing = path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--output {output!r}: cannot write in {str(existing)!r} (not a writable folder)")


def _save(classifier, output: str) -> str:
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(classifier.save_model(path))


def _image_size(text: str) -> tuple[int, int]:
    """``--image-size``: ``32`` or ``48x64`` (height x width)."""
    try:
        sides = tuple(int(side) for side in text.lower().split("x"))
    except ValueError:
        sides = ()
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2 or min(sides) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int or HEIGHTxWIDTH (e.g. 64x48), got {text!r}")
    return sides


def _load_npz(path: str):
    """The arrays of an ``.npz`` file.

    Raises:
        ValueError: naming ``--data`` when the file is missing, not an ``.npz``
            archive, or lacks ``x`` / ``y``.
    """
    import zipfile

    import numpy as np

    if not os.path.isfile(path):
        raise ValueError(f"--data {path!r} does not exist")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"--data {path!r} is not an .npz archive (a zip of .npy arrays, as numpy.savez writes)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read --data {path!r}: {error}") from None
    missing = {"x", "y"} - set(archive.files)
    if missing:
        raise ValueError(f"--data {path!r} must hold arrays x and y; missing {sorted(missing)}")
    try:
        return archive["x"], archive["y"]
    except ValueError as error:  # an object array inside
        raise ValueError(f"--data {path!r}: arrays x and y must be numeric or string arrays ({error})") from None


def _search(args: argparse.Namespace, project_name: str, load_data, **fit_options):
    """Check ``--output``, load the data and fit: ``(classifier, 0)``, or ``(None, exit code)`` once the
    refusal is printed as ``autonas COMMAND: message`` (bad options, data or project folder)."""
    from autonas.engine import ProjectLockedError, ProjectWriteError

    try:
        _check_output(args.output)
        x, y = load_data()
        return _classifier(args, project_name).fit(x, y, **fit_options), 0
    except (ValueError, ProjectLockedError) as error:
        print(f"autonas {args.command}: {error}", file=sys.stderr)
        return None, 2
    except ProjectWriteError as error:  # a read-only or full --directory: the message names the path
        print(f"autonas {args.command}: {error.strerror or error}; give a writable --directory", file=sys.stderr)
        return None, 1


def _demo(args: argparse.Namespace) -> int:
    from autonas.datasets import load_digits

    args.output = args.output or os.path.join(args.directory, "digits_demo", "best.keras")
    x_train, x_test, y_train, y_test = load_digits()

    def training_images():
        print(
            f"digits: {len(x_train)} training and {len(x_test)} test images of shape {x_train.shape[1:]} (uint8); "
            f"searching for {args.time_limit:.0f} s"
        )
        return x_train, y_train

    start = time.monotonic()
    classifier, code = _search(args, "digits_demo", training_images)
    if classifier is None:
        return code
    classifier.leaderboard(top=10)
    accuracy = classifier.score(x_test, y_test)
    output = _save(classifier, args.output)
    print(f"test accuracy {accuracy:.4f} after {time.monotonic() - start:.0f} s; exported model: {output}")
    return 0


def _fit(args: argparse.Namespace) -> int:
    project_name = Path(args.data).resolve().stem if args.project_name is None else args.project_name

    def training_images():
        return (args.data, None) if os.path.isdir(args.data) else _load_npz(args.data)

    classifier, code = _search(args, project_name, training_images, validation_split=args.validation_split)
    if classifier is None:
        return code
    classifier.leaderboard(top=10)
    try:
        print(f"exported model: {_save(classifier, args.output)}")
    except OSError as error:
        print(f"autonas fit: cannot save the model to {args.output!r}: {error}", file=sys.stderr)
        return 1
    return 0


def _predict(args: argparse.Namespace) -> int:
    from autonas.tasks.predict_files import predict_to_csv

    try:
        rows = predict_to_csv(args.model, args.data, args.output, batch_size=args.batch_size)
    except ValueError as error:
        print(f"autonas predict: {error}", file=sys.stderr)
        return 2
    print(f"wrote {rows} predictions to {args.output}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from autonas.tasks.report import write_report

    output = args.output or os.path.join(args.project, "report.html")
    try:
        path = write_report(args.project, output)
    except (ValueError, ImportError) as error:
        print(f"autonas report: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from autonas.tasks.deployment import export_project

    try:
        path = export_project(
            args.project, args.output, args.format, trial_id=args.trial, quantize=args.quantize,
            calibration_data=args.calibration_data,
        )
    except (ValueError, ImportError) as error:
        print(f"autonas export: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def _add_export(commands) -> None:
    from autonas.deploy import FORMATS

    export = commands.add_parser(
        "export", help="write a project's model for a runtime: .keras, SavedModel, ONNX or LiteRT (int8 optional)"
    )
    export.add_argument("project", help="the project folder (DIRECTORY/PROJECT_NAME) of a finished fit")
    export.add_argument("--format", required=True, choices=list(FORMATS), help="the file format")
    export.add_argument(
        "--output", required=True,
        help="the file to write: .keras, .onnx, .tflite, or a new folder for saved_model",
    )
    export.add_argument("--quantize", choices=["int8"], default=None, help="int8 post-training quantisation (litert)")
    export.add_argument(
        "--calibration-data", default=None,
        help="images to calibrate --quantize int8 on: a folder of image files or an .npz with an array x "
        "(a sample of the training images; up to 200 are used)",
    )
    export.add_argument("--trial", type=int, default=None, help="export this trial instead of the final model")
    export.set_defaults(run=_export)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``autonas`` command."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="autonas", description="Neural architecture search for Keras.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="search on scikit-learn's digits and report the test accuracy")
    _add_search_options(demo, time_limit=180.0)
    demo.add_argument("--output", default=None, help="where to save the model (default DIRECTORY/digits_demo/best.keras)")
    demo.set_defaults(run=_demo)

    fit = commands.add_parser("fit", help="search on a folder of images (a subfolder per class) or an .npz file")
    fit.add_argument(
        "--data", required=True,
        help="a folder with one subfolder of image files (JPEG, PNG, BMP, GIF) per class, or an .npz file with "
        "arrays x (N, H, W[, C]) and y (N,)",
    )
    fit.add_argument(
        "--image-size", type=_image_size, default=None,
        help="training size of images read from a folder: SIDE or HEIGHTxWIDTH (default: the median size, "
        "scaled to at most 64 pixels on the longer side)",
    )
    fit.add_argument("--output", default="best.keras", help="where to save the model (default best.keras)")
    fit.add_argument("--project-name", default=None, help="project folder name (default: the data file's name)")
    fit.add_argument("--validation-split", type=float, default=0.2, help="default 0.2")
    _add_search_options(fit, time_limit=600.0)
    fit.set_defaults(run=_fit)

    predict = commands.add_parser("predict", help="class probabilities of images from a saved model, as CSV")
    predict.add_argument("--model", required=True, help="a .keras file saved by autonas fit (or any Keras classifier)")
    predict.add_argument(
        "--data", required=True, help="an image file, a folder of image files (searched to any depth), or an .npz "
        "file with an array x",
    )
    predict.add_argument("--output", default="predictions.csv", help="the CSV to write (default predictions.csv)")
    predict.add_argument("--batch-size", type=int, default=64, help="images per prediction call (default 64)")
    predict.set_defaults(run=_predict)

    report = commands.add_parser("report", help="write an HTML page about a search (leaderboard, plots, trees)")
    report.add_argument("project", help="the project folder (DIRECTORY/PROJECT_NAME)")
    report.add_argument("--output", default=None, help="the page to write (default PROJECT/report.html)")
    report.set_defaults(run=_report)
    _add_export(commands)

    args = parser.parse_args(argv)
    if args.command in ("predict", "report", "export"):
        return args.run(args)
    try:
        args.executor = _executor(args)
    except ValueError as error:
        print(f"autonas {args.command}: {error}", file=sys.stderr)
        return 2
    return args.run(args)
