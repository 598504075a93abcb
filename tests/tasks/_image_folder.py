"""A generated class-per-subfolder tree of image files, as users have them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: (width, height) of the generated images, cycled: 20×30 up to 90×60.
SIZES = ((20, 30), (36, 28), (48, 48), (64, 40), (90, 60), (30, 45))
MODES = ("L", "RGB", "RGBA")
FORMATS = ("png", "jpg", "bmp", "gif")


def pattern(label: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A (height, width) grey pattern of class ``label``: horizontal stripes, vertical stripes or a checkerboard."""
    rows, cols = np.mgrid[0:height, 0:width]
    period = max(4, min(width, height) // 5)
    phase = rng.integers(0, period)
    if label == 0:
        on = ((rows + phase) // (period // 2)) % 2
    elif label == 1:
        on = ((cols + phase) // (period // 2)) % 2
    else:
        on = (((rows + phase) // (period // 2)) + ((cols + phase) // (period // 2))) % 2
    noise = rng.normal(0, 12, size=on.shape)
    return np.clip(60 + 140 * on + noise, 0, 255).astype(np.uint8)


def make_image_folder(root: Path, per_class: int = 20, classes: tuple[str, ...] = ("checks", "horizontal", "vertical"),
                      corrupt: bool = True, seed: int = 0) -> list[Path]:
    """Write ``per_class`` images of each class under ``root/<class>/`` in mixed sizes, modes and formats.

    Returns:
        The readable image files written (the corrupt one, if any, is ``root/<first class>/broken.jpg``).
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    written = []
    order = {"horizontal": 0, "vertical": 1, "checks": 2}
    for name in classes:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            width, height = SIZES[i % len(SIZES)]
            grey = pattern(order.get(name, 2), width, height, rng)
            mode, suffix = MODES[i % len(MODES)], FORMATS[(i // len(MODES)) % len(FORMATS)]
            image = Image.fromarray(grey, "L")
            if mode != "L":
                tint = rng.uniform(0.8, 1.0, size=3)
                colour = np.clip(grey[..., None] * tint, 0, 255).astype(np.uint8)
                image = Image.fromarray(colour, "RGB")
                if mode == "RGBA":
                    alpha = np.full(grey.shape + (1,), 255, np.uint8)
                    image = Image.fromarray(np.concatenate([colour, alpha], axis=-1), "RGBA")
            if suffix in ("jpg", "bmp") and image.mode == "RGBA":
                suffix = "png"  # JPEG and BMP (as Pillow writes them) have no alpha
            path = folder / f"{name}_{i:03d}.{suffix}"
            image.save(path)
            written.append(path)
    if corrupt:
        (root / classes[0] / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG" + bytes(range(200)))
    return written
