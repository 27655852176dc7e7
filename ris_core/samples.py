"""Real photographs to try ris on, taken from the images scikit-image ships in its wheel.

``ris samples DIR`` writes ``DIR/photos`` (the photographs, to index) and ``DIR/queries``
(edited copies: smaller, re-compressed, brightened, grey), so a first search has
something to find. Needs the ``samples`` extra: ``pip install 'ris[samples]'``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

from ris_core.errors import ConfigurationError

__all__ = ["PHOTOS", "QUERIES", "data_folder", "write_samples"]

#: scikit-image sample files that are photographs (file name -> name to save under).
PHOTOS: dict[str, str] = {
    "astronaut.png": "astronaut",
    "brick.png": "brick",
    "camera.png": "camera",
    "cell.png": "cell",
    "chelsea.png": "chelsea",
    "coffee.png": "coffee",
    "coins.png": "coins",
    "grass.png": "grass",
    "gravel.png": "gravel",
    "hubble_deep_field.jpg": "hubble",
    "ihc.png": "ihc",
    "moon.png": "moon",
    "motorcycle_left.png": "motorcycle-left",
    "motorcycle_right.png": "motorcycle-right",
    "retina.jpg": "retina",
    "rocket.jpg": "rocket",
}


def _smaller(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


#: Edited copies written to ``queries/``: (photo, edit name, edit).
QUERIES: tuple[tuple[str, str, Callable[[Image.Image], Image.Image]], ...] = (
    ("coffee", "small", _smaller),
    ("astronaut", "bright", lambda image: ImageEnhance.Brightness(image).enhance(1.3)),
    ("chelsea", "grey", lambda image: ImageOps.grayscale(image).convert("RGB")),
    ("rocket", "small", _smaller),
)


def data_folder() -> Path:
    """The folder of scikit-image's bundled sample images (ConfigurationError without it)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        raise ConfigurationError("the sample photos come with scikit-image: pip install 'ris[samples]'")
    return Path(spec.origin).parent / "data"


def write_samples(folder: str | Path) -> tuple[list[Path], list[Path]]:
    """Write the photos (as JPEG) and the edited queries; return both lists of paths."""
    source = data_folder()
    photos_dir, queries_dir = Path(folder) / "photos", Path(folder) / "queries"
    photos_dir.mkdir(parents=True, exist_ok=True)
    queries_dir.mkdir(parents=True, exist_ok=True)
    loaded: dict[str, Image.Image] = {}
    photos = []
    for file_name, name in PHOTOS.items():
        with Image.open(source / file_name) as original:
            loaded[name] = original.convert("RGB")
        path = photos_dir / f"{name}.jpg"
        loaded[name].save(path, quality=90)
        photos.append(path)
    queries = []
    for name, edit, transform in QUERIES:
        path = queries_dir / f"{name}-{edit}.jpg"
        transform(loaded[name]).save(path, quality=60)
        queries.append(path)
    return photos, queries
