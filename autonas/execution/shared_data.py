"""The training data written once for worker processes to memory-map, and its removal."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from autonas.execution.executor import TrainingData

__all__ = ["DATA_PREFIX", "remove_stale_copies", "share_array", "share_data"]

logger = logging.getLogger(__name__)

#: Prefix of the data copy's folder in the temporary folder; the search's pid follows.
DATA_PREFIX = "autonas-data-"


def share_data(data: TrainingData) -> str:
    """A new folder in the temporary folder holding ``x_train.npy``, ``y_train.npy``, ``x_val.npy``, ``y_val.npy``.

    The caller removes it (``shutil.rmtree``); copies left by a search that
    died are removed by :func:`remove_stale_copies`.
    """
    folder = tempfile.mkdtemp(prefix=f"{DATA_PREFIX}{os.getpid()}-")
    for name in ("x_train", "y_train", "x_val", "y_val"):
        share_array(getattr(data, name), Path(folder) / f"{name}.npy")
    return folder


def share_array(array: np.ndarray, path: Path) -> None:
    """Put ``array`` at ``path`` (an ``.npy`` file) for the workers to memory-map.

    An array that is already a whole ``.npy`` file on disk (images read from
    a folder) is linked, not copied.
    """
    source = _npy_file_of(array)
    if source is not None:
        os.symlink(os.path.abspath(source), path)
    else:
        np.save(path, np.ascontiguousarray(array))


def remove_stale_copies(parent: str | os.PathLike | None = None, prefix: str = DATA_PREFIX) -> None:
    """Remove data copies left by searches that died: folders ``<parent>/<prefix><pid>-*`` whose pid is gone.

    Args:
        parent: Where they are (default: the temporary folder).
        prefix: Their names before the pid (default: :data:`DATA_PREFIX`, the workers' data copies).
    """
    parent = Path(tempfile.gettempdir() if parent is None else parent)
    for folder in parent.glob(f"{prefix}*-*"):
        pid = folder.name[len(prefix):].split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)) and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            logger.info("removed %s, left by a search that ended without cleaning up", folder)


def _npy_file_of(array: np.ndarray) -> str | None:
    """The ``.npy`` file ``array`` is the whole memory-mapped content of, or None."""
    filename = getattr(array, "filename", None)
    if not isinstance(array, np.memmap) or not filename or not str(filename).endswith(".npy"):
        return None
    try:
        whole = np.load(filename, mmap_mode="r")
    except (OSError, ValueError):
        return None
    same = whole.shape == array.shape and whole.dtype == array.dtype and array.flags.c_contiguous
    return str(filename) if same else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
