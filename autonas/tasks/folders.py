"""Image files on disk: a class-per-subfolder tree read into an array on disk, chunk by chunk.

The layout is the one of ``keras.utils.image_dataset_from_directory``: one
subfolder per class (its name is the class name), image files anywhere below
it. Files are decoded with Pillow. Images are resized to one training size
(:func:`default_image_size` unless the user gives one) and written to a
``.npy`` file in chunks, so a folder larger than memory is never held whole.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageArray",
    "ImageFolder",
    "batches_by_shape",
    "default_image_size",
    "image_files",
    "is_image_path",
    "read_image",
    "read_images",
    "scan_image_folder",
    "write_image_array",
]

#: File name endings read as images (case-insensitive).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
#: The longest side of the default training size, in pixels.
MAX_DEFAULT_SIDE = 64
#: The shortest side of the default training size, in pixels.
MIN_DEFAULT_SIDE = 8
#: Pillow modes read as one grey channel; every other mode is read as RGB (alpha dropped).
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
#: Images decoded and written at once.
CHUNK_IMAGES = 512


def is_image_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder or an image file (by its ending), i.e. input to read from disk."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    path = Path(path)
    return path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES


def image_files(folder: Path) -> list[Path]:
    """The image files anywhere below ``folder``, sorted; hidden files and folders left out."""
    files = []
    for parent, folders, names in os.walk(folder, followlinks=True):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        files.extend(
            Path(parent) / name
            for name in names
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES
        )
    return sorted(files)


@dataclass(frozen=True)
class ImageFolder:
    """The image files of a class-per-subfolder tree.

    Attributes:
        root: The folder.
        class_names: The subfolders' names, sorted (class ``i`` is ``class_names[i]``).
        paths: Every image file, class by class.
        labels: The class index of each file.
    """

    root: Path
    class_names: tuple[str, ...]
    paths: tuple[Path, ...]
    labels: np.ndarray


def scan_image_folder(folder: str | os.PathLike, name: str = "x") -> ImageFolder:
    """List a class-per-subfolder tree of images (no file is decoded).

    Raises:
        ValueError: naming the folder, when it does not exist, has fewer than
            two class subfolders, or a class subfolder holds no image file.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"{name}: {str(root)!r} is not a folder")
    classes = sorted(child for child in root.iterdir() if child.is_dir() and not child.name.startswith("."))
    if len(classes) < 2:
        raise ValueError(
            f"{name}: the folder {str(root)!r} must hold one subfolder of images per class, at least 2; "
            f"found {len(classes)} ({[c.name for c in classes]})"
        )
    paths, labels = [], []
    for index, class_folder in enumerate(classes):
        files = image_files(class_folder)
        if not files:
            raise ValueError(
                f"{name}: the class folder {str(class_folder)!r} holds no image file "
                f"(files ending in {', '.join(IMAGE_SUFFIXES)})"
            )
        paths.extend(files)
        labels.extend([index] * len(files))
    return ImageFolder(root, tuple(c.name for c in classes), tuple(paths), np.asarray(labels, dtype=np.int64))


def _header(path: Path) -> tuple[int, int, str] | None:
    """``(width, height, mode)`` from the file's header, or None when Pillow cannot identify it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.width, image.height, image.mode
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None


def read_image(path: Path, channels: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode one image file as uint8 ``(height, width, channels)``.

    Grey modes give one channel, or three equal ones when ``channels`` is 3;
    alpha is dropped; a GIF gives its first frame. With ``size`` =
    ``(height, width)``, the image is resized with Pillow's bilinear filter
    (which averages over the whole footprint when shrinking).

    Raises:
        OSError: (or Pillow's errors) for a file that cannot be decoded.
    """
    from PIL import Image

    with Image.open(path) as image:
        image.seek(0)
        image = image.convert("L" if channels == 1 else "RGB")
        if size is not None and (image.height, image.width) != tuple(size):
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if channels == 1 else array


def default_image_size(sizes: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The training size for images of ``sizes`` (``(width, height)`` pairs): ``(height, width)``.

    The median height and width, scaled down (keeping their ratio) so that
    the longer side is at most :data:`MAX_DEFAULT_SIDE`; each side at least
    :data:`MIN_DEFAULT_SIDE`.
    """
    widths, heights = np.asarray(sizes, dtype=np.float64).T
    height, width = float(np.median(heights)), float(np.median(widths))
    scale = min(1.0, MAX_DEFAULT_SIDE / max(height, width))
    return max(MIN_DEFAULT_SIDE, int(round(height * scale))), max(MIN_DEFAULT_SIDE, int(round(width * scale)))


def _warn_skipped(skipped: list[Path], total: int) -> None:
    if skipped:
        shown = ", ".join(repr(str(p)) for p in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        warnings.warn(
            f"skipped {len(skipped)} of {total} image files that could not be read (empty, corrupt or not "
            f"an image): {shown}{more}",
            UserWarning,
            stacklevel=3,
        )


@dataclass(frozen=True)
class ImageArray:
    """Images of a folder written to disk.

    Attributes:
        images: uint8 ``(N, height, width, channels)``, memory-mapped from its ``.npy`` file.
        labels: The class index of each image.
        paths: The file each image came from.
        class_names: The class of each index.
    """

    images: np.ndarray
    labels: np.ndarray
    paths: tuple[Path, ...]
    class_names: tuple[str, ...]


def write_image_array(
    folder: ImageFolder,
    out: str | os.PathLike,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
) -> ImageArray:
    """Decode every readable image of ``folder`` into a uint8 ``.npy`` file at ``out``, a chunk at a time.

    Files Pillow cannot identify or decode are skipped with one warning that
    says how many and names the first few.

    Args:
        folder: What :func:`scan_image_folder` listed.
        out: The ``.npy`` file to write.
        image_size: ``(height, width)`` of the training images (default:
            :func:`default_image_size` of the readable files).
        channels: 1 or 3 (default: 1 when every readable file is grey, else 3).

    Raises:
        ValueError: when a class is left without a readable image, or none is readable.
    """
    headers = [_header(path) for path in folder.paths]
    readable = [i for i, header in enumerate(headers) if header is not None]
    if channels is None:
        channels = 1 if readable and all(headers[i][2] in _GREY_MODES for i in readable) else 3
    if image_size is None and readable:
        image_size = default_image_size([headers[i][:2] for i in readable])
    height, width = image_size or (MIN_DEFAULT_SIDE, MIN_DEFAULT_SIDE)
    images = np.lib.format.open_memmap(out, mode="w+", dtype=np.uint8, shape=(len(readable), height, width, channels))
    kept = []
    for start in range(0, len(readable), CHUNK_IMAGES):
        for index in readable[start:start + CHUNK_IMAGES]:
            try:
                images[len(kept)] = read_image(folder.paths[index], channels, (height, width))
            except Exception:  # noqa: BLE001 - any decoding failure: the file is skipped and reported
                continue
            kept.append(index)
        images.flush()
    skipped = sorted(set(range(len(folder.paths))) - set(kept))
    _warn_skipped([folder.paths[i] for i in skipped], len(folder.paths))
    labels = folder.labels[kept]
    empty = [folder.class_names[c] for c in range(len(folder.class_names)) if not np.any(labels == c)]
    if empty:
        raise ValueError(
            f"x: in the folder {str(folder.root)!r}, the classes {empty} have no readable image"
        )
    del images
    images = np.load(out, mmap_mode="r")[: len(kept)]
    return ImageArray(images, labels, tuple(folder.paths[i] for i in kept), folder.class_names)


def read_images(
    path: str | os.PathLike, image_shape: Sequence[int | None], name: str = "x"
) -> tuple[list[Path], list[np.ndarray]]:
    """Decode an image file, or every image file below a folder, as a model of input ``image_shape`` takes them.

    Unreadable files are skipped with one warning.

    Args:
        path: An image file or a folder (searched to any depth, hidden entries left out).
        image_shape: A model's input shape without the batch axis: ``(None,
            None, channels)`` keeps each image's size, ``(height, width,
            channels)`` or ``(height, width)`` (one grey channel, no channel
            axis) resizes to it.
        name: The argument named in errors.

    Returns:
        The files read and their uint8 arrays, in the same (sorted) order.

    Raises:
        ValueError: naming ``name``, when the path does not exist or holds no readable image.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{name}: {str(path)!r} does not exist")
    channels = image_shape[-1] if len(image_shape) == 3 else 1
    size = None if image_shape[0] is None else (int(image_shape[0]), int(image_shape[1]))
    files = image_files(path) if path.is_dir() else [path]
    paths, images, skipped = [], [], []
    for file in files:
        try:
            image = read_image(file, channels, size)
        except Exception:  # noqa: BLE001 - reported once below
            skipped.append(file)
            continue
        images.append(image if len(image_shape) == 3 else image[..., 0])
        paths.append(file)
    _warn_skipped(skipped, len(files))
    if not images:
        raise ValueError(f"{name}: no readable image file in {str(path)!r}")
    return paths, images


def batches_by_shape(images: Sequence[np.ndarray], batch_size: int = 64) -> Iterator[tuple[list[int], np.ndarray]]:
    """Yield ``(indices, batch)`` with images of one shape stacked, ``batch_size`` at most."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, image in enumerate(images):
        groups.setdefault(image.shape, []).append(index)
    for indices in groups.values():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            yield chunk, np.stack([images[i] for i in chunk])
