"""Staged file writes: the one helper the library uses to write a file that must never be half there."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Write a file through a temporary one in the same folder, then rename it over ``path``.

    A reader sees the old file or the complete new one, never a partial write;
    a failed or interrupted ``write`` leaves ``path`` as it was and removes the
    temporary file. Missing parent folders are created.

    Args:
        path: The file to write.
        write: Writes the content into the binary handle it is given
            (``lambda handle: handle.write(data)``, ``lambda handle: np.savez(handle, ...)``).

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
        >>> write_atomically(target, lambda handle: handle.write(b"done"))
        >>> target.read_bytes()
        b'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
