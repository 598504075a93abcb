"""Trial records and the project folder that keeps them.

Layout of ``directory/project_name``::

    project.json              marks the folder as an autonas project; what the search is about
    .lock                     held (``flock``) by the process searching; names it (pid, host)
    trials/trial_0007/        one folder per finished trial, renamed into place when complete
        record.json           the TrialRecord
        graph.json            the architecture
        weights.npz           the trained weights (completed trials)
        checksums.json        SHA-256 of each file above, written with them
    damaged/trial_0003/       trials whose files were missing or did not match, set aside on resume
    final/                    the best graph after the final fit

A trial folder appears only by an atomic rename of a fully written temporary
folder, so a search killed at any moment leaves every finished trial intact
and no half-written one. Leftovers of an interrupted write are removed when
the project is next locked. On resume every trial's files are checked against
their checksums; one that fails is reported by path and moved to ``damaged/``
(never deleted, never used).

``project.json`` is ``{"format": "autonas-project", "version": 1, ...}`` with
the search's configuration (``task``, ``input_shape``, ``classes``) beside the
marker. A ``project.json`` is autonas's own when it carries that marker, or
when it was written by an earlier autonas, which wrote no marker: an empty
object (a project whose search never started), or exactly the keys ``task``,
``input_shape`` and ``classes`` with ``"task": "image_classification"``. Any
other ``project.json`` (a JavaScript workspace's, say) or one that cannot be
read makes the folder someone else's: it is neither resumed nor emptied; nor
is a project of a newer format version than this autonas reads.

Safety rules: a project name is one plain folder name (:func:`project_folder`);
``overwrite`` empties only a folder whose ``project.json`` is autonas's own
(checked by content, as above); only one process at a time searches in a
project (:meth:`Project.lock`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autonas._files import write_atomically
from autonas.execution.failures import FailureKind
from autonas.graph import Graph

__all__ = [
    "DamagedTrialWarning",
    "Project",
    "ProjectFileError",
    "ProjectLockedError",
    "ProjectWriteError",
    "TrialRecord",
    "project_folder",
]

logger = logging.getLogger(__name__)

_CONFIG_FILE = "project.json"
#: The marker of autonas's ``project.json``: ``{"format": _FORMAT, "version": _FORMAT_VERSION, ...}``.
_FORMAT = "autonas-project"
_FORMAT_VERSION = 1
#: The keys of the configuration that autonas wrote, without a marker, before the marker existed.
_LEGACY_KEYS = {"task", "input_shape", "classes"}
_LOCK_FILE = ".lock"
_CHECKSUMS = "checksums.json"
_TRIAL_FILES = ("record.json", "graph.json", "weights.npz")


class ProjectLockedError(RuntimeError):
    """Another process is searching in this project folder."""


class ProjectWriteError(OSError):
    """A file of the project could not be written (disk full, permissions); the message names it."""


class ProjectFileError(ValueError):
    """A project file is missing, unreadable or does not match its checksum; the message names it."""


class DamagedTrialWarning(UserWarning):
    """A trial's files were missing or corrupt on resume; the trial was set aside."""


@dataclass
class TrialRecord:
    """One trial of the search.

    Attributes:
        id: Trial number, from 1.
        parent: The parent trial's id, None for an initial architecture.
        operations: The morphism operations applied to the parent (as JSON configs).
        fingerprint: The architecture's fingerprint.
        metrics: ``val_accuracy``, ``val_loss``, ``params``, ``macs``, latency,
            energy with its ``energy_source``, ...
        epochs: Epochs trained.
        seconds: Training wall-clock seconds.
        status: ``"completed"`` or ``"failed"``.
        error: Why it failed, for people.
        failure_kind: Why it failed, for code (None for a completed trial).
            A failed record without one (written before autonas saved the
            kind) takes the kind its error text names
            (:meth:`~autonas.execution.failures.FailureKind.from_error_text`).
        hyperparameters: The training settings used.
        name: A readable description (the generator or the operations).
        generation: In a search in generations, the generation's parent trial (None otherwise).
        rung: Its successive-halving rung: 0 for a new network, ``r`` for one
            trained on from its rung ``r - 1`` trial (its parent). Scores
            compare within a rung.
    """

    id: int
    parent: int | None
    operations: list[dict[str, Any]]
    fingerprint: str
    metrics: dict[str, Any] = field(default_factory=dict)
    epochs: int = 0
    seconds: float = 0.0
    status: str = "completed"
    error: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    generation: int | None = None
    rung: int = 0
    failure_kind: FailureKind | None = None

    def __post_init__(self) -> None:
        self.failure_kind = FailureKind.parse(self.failure_kind)
        if self.status == "failed" and self.failure_kind is None:
            self.failure_kind = FailureKind.from_error_text(self.error)

    def to_dict(self) -> dict[str, Any]:
        """The record as saved in ``record.json`` (the kind by its name)."""
        data = asdict(self)
        data["failure_kind"] = None if self.failure_kind is None else self.failure_kind.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialRecord:
        """The record saved as ``data`` (``record.json``); a field it lacks (saved before it existed) takes its default."""
        return cls(**data)

    @property
    def val_accuracy(self) -> float | None:
        return self.metrics.get("val_accuracy") if self.status == "completed" else None


def project_folder(directory: str | os.PathLike, project_name: Any) -> Path:
    """``directory / project_name``, after checking that the name is one plain folder name.

    Raises:
        ValueError: for a name that is empty, ``.`` or ``..``, holds a path
            separator or a NUL, or is not a string: such a name would point
            outside ``directory`` or at ``directory`` itself.
    """
    if not isinstance(project_name, str):
        raise ValueError(f"project_name must be a folder name (str), got {project_name!r}")
    separators = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    if (
        project_name.strip() in ("", ".", "..")
        or any(sep in project_name for sep in separators)
        or "\0" in project_name
        or os.path.isabs(project_name)
        or Path(project_name).drive
    ):
        raise ValueError(
            f"project_name must be one plain folder name inside directory (no '/', not '.', '..' or empty), "
            f"got {project_name!r}"
        )
    return Path(directory) / project_name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify_checksums(folder: Path, required: tuple[str, ...], what: str) -> None:
    """Check the files of a folder written by :func:`_write_folder` against its ``checksums.json``.

    Args:
        folder: A trial's folder or the final model's.
        required: Files the checksums must list.
        what: Whose files they are, for the message (``"trial"``).

    Raises:
        ProjectFileError: naming the checksums file when it is unreadable or
            lacks a required file, or the first listed file that is missing or
            does not match.
    """
    expected = _read_json(folder / _CHECKSUMS)
    if not isinstance(expected, dict) or any(name not in expected for name in required):
        raise ProjectFileError(f"{str(folder / _CHECKSUMS)!r} does not list the {what}'s files")
    for name, digest in expected.items():
        path = folder / name
        if not path.is_file():
            raise ProjectFileError(f"{str(path)!r} is missing")
        if _sha256(path) != digest:
            raise ProjectFileError(f"{str(path)!r} does not match its checksum (changed or corrupt)")


def _write_folder(target: Path, prefix: str, write: Callable[[Path], None], what: str, replace: bool = False) -> None:
    """Write a folder atomically: ``write`` fills a temporary folder beside ``target`` (named
    ``prefix`` + random), the checksums of its files are added, and it is renamed to ``target``.

    Args:
        target: The folder to write.
        prefix: Start of the temporary folder's name (what :meth:`Project.lock` removes as a leftover).
        write: Writes the files into the folder it is given.
        what: What is written, for the error message (``"trial 7"``).
        replace: Whether an existing ``target`` is replaced (moved aside to
            ``.old-<name>-<pid>``, then removed); without, renaming onto it fails.

    Raises:
        ProjectWriteError: naming ``what`` and ``target`` when it cannot be
            written; the temporary folder is removed.
    """
    staging = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
        write(staging)
        _write_json(staging / _CHECKSUMS, {p.name: _sha256(p) for p in sorted(staging.iterdir())})
        if replace and target.exists():
            old = target.parent / f".old-{target.name}-{os.getpid()}"
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException as error:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):
            raise _write_error(what, target, error) from None
        raise


def _write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON through a temporary file renamed over ``path`` (never half a file)."""
    text = json.dumps(data, indent=1, sort_keys=True).encode()
    write_atomically(path, lambda handle: handle.write(text))


def _read_json(path: Path) -> Any:
    """JSON from ``path``.

    Raises:
        ProjectFileError: naming the file when it is missing or not valid JSON.
    """
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ProjectFileError(f"{str(path)!r} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProjectFileError(f"{str(path)!r} cannot be read: {error}") from None


def _marker() -> dict[str, Any]:
    return {"format": _FORMAT, "version": _FORMAT_VERSION}


def _is_autonas_config(data: Any) -> bool:
    """Whether the content of a ``project.json`` is autonas's own (see the module's docstring)."""
    if not isinstance(data, dict):
        return False
    if "format" in data or "version" in data:
        version = data.get("version")
        good_version = isinstance(version, int) and not isinstance(version, bool) and version >= 1
        return data.get("format") == _FORMAT and good_version
    return not data or (set(data) == _LEGACY_KEYS and data["task"] == "image_classification")


def _search_config(data: dict[str, Any]) -> dict[str, Any]:
    """An autonas ``project.json``'s configuration of the search, without the format marker."""
    return {key: value for key, value in data.items() if key not in ("format", "version")}


def _write_error(what: str, path: Path, error: OSError) -> ProjectWriteError:
    return ProjectWriteError(error.errno, f"cannot write {what} to {str(path)!r}: {error.strerror or error}")


def _load_trial_file(path: Path, load: Callable[[Path], Any]) -> Any:
    """``load(path)``, with any sign of a damaged file turned into an error naming it.

    Raises:
        ProjectFileError: naming ``path`` when it cannot be read or parsed (a
            truncated ``weights.npz`` is not a zip archive any more, say).
    """
    try:
        return load(path)
    except (OSError, ValueError, KeyError, TypeError, EOFError, UnicodeDecodeError, zipfile.BadZipFile) as error:
        raise ProjectFileError(f"{str(path)!r} cannot be loaded ({type(error).__name__}: {error})") from None


class _FileLock:
    """An exclusive, non-blocking lock on a file (``flock``), released when the holder dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> None:
        """Take the lock or raise :class:`ProjectLockedError` naming the holder."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no locking
            fcntl = None
        handle = open(self.path, "a+")
        try:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "an unknown process"
            handle.close()
            raise ProjectLockedError(
                f"project {str(self.path.parent)!r} is in use by another search ({holder}); "
                "wait for it to end or use another project_name"
            ) from None
        handle.seek(0)
        previous = handle.read().strip()
        if previous:
            warnings.warn(
                f"taking over the lock of project {str(self.path.parent)!r} from {previous}, which is gone",
                RuntimeWarning,
                stacklevel=4,
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on host {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            handle.seek(0)
            handle.truncate()
        except OSError:
            pass
        handle.close()  # closing the descriptor releases the flock


class Project:
    """The on-disk home of a search; resumes by default.

    Reads need no lock; a search holds :meth:`lock` while it writes.

    Args:
        path: The project folder (``directory/project_name``; see :func:`project_folder`).
        overwrite: Empty the folder first (only an autonas project, see :meth:`clear`).

    Raises:
        ValueError: for an existing file, or a folder that holds files but no
            ``project.json`` of autonas's (it is not an autonas project; nothing
            in it is touched).
        ProjectWriteError: naming the folder when it cannot be created or locked.
    """

    def __init__(self, path: str | os.PathLike, overwrite: bool = False) -> None:
        self._attach(path, read_only=False)
        self._refuse_foreign_folder()
        if overwrite:
            with self.lock():
                self.clear()
        self._create()

    @classmethod
    def open_read_only(cls, path: str | os.PathLike) -> Project:
        """A view of an existing project that changes nothing on disk (for reports and tools).

        Trials are read with their checksums verified like a search reads them,
        but a damaged trial is only left out (with a :class:`DamagedTrialWarning`),
        never moved; nothing is created, locked or written.

        Raises:
            ValueError: naming the folder when it is not an autonas project
                (no ``project.json`` of autonas's).
            ProjectFileError: naming ``project.json`` when it cannot be read.
        """
        project = cls.__new__(cls)
        project._attach(path, read_only=True)
        if not (project.path / _CONFIG_FILE).is_file():
            raise ValueError(
                f"project: {str(project.path)!r} is not an autonas project folder (it has no {_CONFIG_FILE})"
            )
        project._read_config()
        return project

    def _attach(self, path: str | os.PathLike, read_only: bool) -> None:
        """The state every project object holds, before anything is read or written."""
        self.path = Path(path)
        self.read_only = read_only
        self._lock = _FileLock(self.path / _LOCK_FILE)
        self._unsaved: dict[int, Graph] = {}  # trials a full disk kept from being written

    def _refuse_writes(self, what: str) -> None:
        if self.read_only:
            raise PermissionError(f"project {str(self.path)!r} was opened read-only: it cannot {what}")

    def _refuse_foreign_folder(self) -> None:
        """Refuse a folder that is not an autonas project (nothing in it is touched).

        Raises:
            ValueError: for a file, a folder whose ``project.json`` is not
                autonas's, or a folder that holds files but no ``project.json``.
            ProjectFileError: naming ``project.json`` when it cannot be read.
        """
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"the project folder {str(self.path)!r} is a file; choose another project_name")
        if not self.path.exists():
            return
        if (self.path / _CONFIG_FILE).is_file():
            self._read_config()
            return
        if any(entry.name != _LOCK_FILE for entry in self.path.iterdir()):
            raise ValueError(
                f"{str(self.path)!r} holds files but is not an autonas project (it has no {_CONFIG_FILE}); "
                "nothing in it was changed: choose another project_name or directory"
            )

    def _create(self) -> None:
        """The folder, its ``trials/`` and the ``project.json`` that marks it as a project."""
        try:
            self.trials_path.mkdir(parents=True, exist_ok=True)
            if not (self.path / _CONFIG_FILE).exists():
                _write_json(self.path / _CONFIG_FILE, _marker())
        except OSError as error:
            raise _write_error("the project folder", self.path, error) from None

    def _read_config(self) -> dict[str, Any]:
        """The search configuration in ``project.json`` (without the marker; empty when none is stored).

        Raises:
            ProjectFileError: naming ``project.json`` when it cannot be read.
            ValueError: naming the folder when ``project.json`` is not autonas's
                (another program's file of that name), or written by a newer autonas.
        """
        path = self.path / _CONFIG_FILE
        data = _read_json(path)
        if not _is_autonas_config(data):
            raise ValueError(
                f"{str(self.path)!r} is not an autonas project: its {_CONFIG_FILE} is another program's "
                f"(it lacks autonas's \"format\": \"{_FORMAT}\" marker); nothing in it was changed: "
                "choose another project_name or directory"
            )
        if data.get("version", _FORMAT_VERSION) > _FORMAT_VERSION:
            raise ValueError(
                f"project {str(self.path)!r} was written by a newer autonas (project format version "
                f"{data['version']}, this one reads up to {_FORMAT_VERSION}); upgrade autonas or choose another "
                "project_name"
            )
        return _search_config(data)

    @property
    def trials_path(self) -> Path:
        return self.path / "trials"

    @property
    def damaged_path(self) -> Path:
        return self.path / "damaged"

    @property
    def final_path(self) -> Path:
        """The final model's folder (:meth:`save_final`)."""
        return self.path / "final"

    # ------------------------------------------------------------------ lock
    @contextlib.contextmanager
    def lock(self) -> Iterator[Project]:
        """Hold the project's lock (re-entrant within this object); cleans leftovers of dead writers.

        Raises:
            ProjectLockedError: if another process holds it; the message names the folder and the holder.
        """
        self._refuse_writes("be locked")
        if self._lock.held:
            yield self
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except OSError as error:  # a read-only folder, say
            raise _write_error("the lock", self._lock.path, error) from None
        try:
            self._remove_leftovers()
            yield self
        finally:
            self._lock.release()

    def _remove_leftovers(self) -> None:
        """Temporary folders of writes that never finished (the writer died or the disk filled)."""
        leftovers = [*self.trials_path.glob(".tmp-*"), *self.path.glob(".tmp-final-*"), *self.path.glob(".old-final-*")]
        for leftover in leftovers:
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)
        if leftovers:
            logger.info("removed %d unfinished writes in %s", len(leftovers), self.path)

    def clear(self) -> None:
        """Delete the project's contents (``overwrite``), keeping the folder and its lock.

        Raises:
            ValueError: if the folder holds files but no ``project.json`` of
                autonas's (see the module's docstring): it is not an autonas
                project, and nothing in it is deleted.
        """
        self._refuse_writes("be cleared")
        if not self.path.exists():
            return
        self._refuse_foreign_folder()
        for entry in [entry for entry in self.path.iterdir() if entry.name != _LOCK_FILE]:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        self._unsaved.clear()
        self._create()

    # ------------------------------------------------------------------ config
    def check_config(self, config: dict[str, Any]) -> None:
        """Record what the search is about, or check that a resumed project is about the same.

        Raises:
            ValueError: if the project holds a search on other data (shape or
                classes), or its ``project.json`` is not autonas's.
            ProjectFileError: if ``project.json`` cannot be read.
        """
        path = self.path / _CONFIG_FILE
        stored = self._read_config() if path.exists() else {}
        if stored:
            if stored != json.loads(json.dumps(config)):
                raise ValueError(
                    f"project {str(self.path)!r} holds a search on other data ({stored}); "
                    "pass overwrite=True or another project_name"
                )
            return
        self._refuse_writes("record its configuration")
        try:
            _write_json(path, {**config, **_marker()})
        except OSError as error:
            raise _write_error("the project's configuration", path, error) from None

    # ------------------------------------------------------------------ trials
    def trial_path(self, trial_id: int) -> Path:
        return self.trials_path / f"trial_{trial_id:04d}"

    def max_trial_id(self) -> int:
        """The largest trial id used in this project, set-aside trials included (0 when none)."""
        ids = [0]
        for folder in [*self.trials_path.glob("trial_*"), *self.damaged_path.glob("trial_*")]:
            digits = folder.name.split("_")[1].split("-")[0]
            if digits.isdigit():
                ids.append(int(digits))
        return max(ids)

    def load_trials(self) -> list[TrialRecord]:
        """Every finished trial whose files check out, in id order.

        A trial folder with a missing, unreadable or altered file is moved to
        ``damaged/`` with a :class:`DamagedTrialWarning` naming the file.
        """
        records = []
        for folder in sorted(self.trials_path.glob("trial_*")):
            try:
                records.append(self._verified_record(folder))
            except ProjectFileError as error:
                self._set_aside(folder, str(error))
        return sorted(records, key=lambda r: r.id)

    def _verified_record(self, folder: Path) -> TrialRecord:
        """The record of a trial folder after checking its files.

        Raises:
            ProjectFileError: naming the first file that is missing or does not match.
        """
        if (folder / _CHECKSUMS).exists():
            _verify_checksums(folder, ("record.json", "graph.json"), "trial")
        else:  # written before checksums existed: check what can be checked
            for name in ("record.json", "graph.json"):
                if not (folder / name).is_file():
                    raise ProjectFileError(f"{str(folder / name)!r} is missing")
        data = _read_json(folder / "record.json")
        try:
            record = TrialRecord.from_dict(data)
        except TypeError as error:
            raise ProjectFileError(f"{str(folder / 'record.json')!r} is not a trial record: {error}") from None
        if record.status == "completed" and not (folder / "weights.npz").is_file():
            raise ProjectFileError(f"{str(folder / 'weights.npz')!r} is missing")
        return record

    def set_aside(self, trial_id: int, reason: str) -> None:
        """Move a trial whose files cannot be trusted to ``damaged/`` (warning with ``reason``)."""
        self._set_aside(self.trial_path(trial_id), reason)

    def _set_aside(self, folder: Path, reason: str) -> None:
        if self.read_only:
            message = f"trial {folder.name} left out (the project was opened read-only): {reason}"
            logger.warning(message)
            warnings.warn(message, DamagedTrialWarning, stacklevel=3)
            return
        target = self.damaged_path / folder.name
        if target.exists():
            target = self.damaged_path / f"{folder.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        try:
            self.damaged_path.mkdir(exist_ok=True)
            os.replace(folder, target)
            where = f"moved to {str(target)!r}"
        except OSError as error:
            where = f"left in place, it could not be moved: {error}"
        message = f"trial {folder.name} set aside ({where}): {reason}"
        logger.warning(message)
        warnings.warn(message, DamagedTrialWarning, stacklevel=3)

    def save_trial(self, record: TrialRecord, graph: Graph) -> None:
        """Write a finished trial atomically (temporary folder, checksums, then rename).

        Raises:
            ProjectWriteError: naming the trial folder when it cannot be written;
                the graph stays readable through :meth:`load_graph` in this process.
        """
        self._refuse_writes("save a trial")

        def write(staging: Path) -> None:
            (staging / "graph.json").write_text(graph.to_json(indent=1))
            if record.status == "completed" and graph.has_weights:
                graph.save_weights(staging / "weights.npz")
            _write_json(staging / "record.json", record.to_dict())

        try:
            _write_folder(self.trial_path(record.id), ".tmp-", write, f"trial {record.id}")
        except ProjectWriteError:
            self._unsaved[record.id] = graph
            raise

    def load_graph(self, trial_id: int, weights: bool = True) -> Graph:
        """The architecture of a trial, with its trained weights when it has them (and ``weights``).

        Raises:
            ProjectFileError: naming the file when the trial's files are missing or do not match.
        """
        if trial_id in self._unsaved:
            return self._unsaved[trial_id].copy()
        folder = self.trial_path(trial_id)
        record = self._verified_record(folder)
        graph = _load_trial_file(folder / "graph.json", lambda path: Graph.from_json(path.read_text()))
        if not weights:
            return graph
        weights = folder / "weights.npz"
        if weights.exists():
            graph = _load_trial_file(weights, graph.load_weights)
        if record.status == "completed" and not graph.has_weights:
            raise ProjectFileError(f"{str(folder / 'weights.npz')!r} holds no weights")
        return graph

    def save_final(self, graph: Graph, info: dict[str, Any]) -> None:
        """Keep the final model's graph and weights (replacing an earlier one atomically).

        Raises:
            ProjectWriteError: naming the folder when it cannot be written
                (nothing half-written is left behind).
        """
        self._refuse_writes("save the final model")

        def write(staging: Path) -> None:
            graph.save(staging)
            _write_json(staging / "info.json", info)

        _write_folder(self.final_path, ".tmp-final-", write, "the final model", replace=True)

    def load_final_info(self) -> dict[str, Any] | None:
        """The final model's ``info.json``, after checking the final model's files against their checksums.

        Returns:
            What :meth:`save_final` was given as ``info``; None when the
            project has no final model yet (no ``final/info.json``).

        Raises:
            ProjectFileError: naming the first file that is missing, unreadable
                or does not match its checksum.
        """
        if not (self.final_path / "info.json").is_file():
            return None
        try:
            _verify_checksums(self.final_path, ("info.json",), "final model")
        except OSError as error:  # a listed file that cannot be read
            raise ProjectFileError(f"cannot read the final model in {str(self.final_path)!r}: {error}") from None
        return _read_json(self.final_path / "info.json")
