"""Thumbnails made once per image content and size, kept in a cache folder.

A thumbnail is named by the SHA-256 of the image it shows, so it never goes stale (new
bytes under an id get a new name), one file serves every context and worker holding
the same picture, and a write is a rename of a finished file: two workers making the
same thumbnail at once both end with a whole file.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from PIL import Image

from ris_core.context import SearchContext
from ris_core.errors import ImageNotFoundError
from ris_core.images import ImageData

__all__ = ["SIZES", "ThumbnailCache"]

#: The edge lengths offered: the grid's and the side-by-side compare view's.
SIZES: tuple[int, ...] = (160, 320)


class ThumbnailCache:
    """JPEG thumbnails of stored images, made on first request and kept in ``folder``."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def path_for(self, sha256: str, size: int) -> Path:
        """Where the thumbnail of the image with this content hash is kept."""
        return self.folder / sha256[:2] / f"{sha256}-{size}.jpg"

    def get(self, context: SearchContext, image_id: str, size: int) -> bytes:
        """The thumbnail of a stored image, at most ``size`` pixels on its longer edge."""
        sha256 = context.system.catalog.image_sha256(context.name, image_id)
        if sha256 is None:
            raise ImageNotFoundError(f"no image {image_id!r} in context {context.name!r}")
        path = self.path_for(sha256, size)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        data = context.system.load(context.get_image(image_id))
        thumbnail = self.make(data, size)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(handle, "wb") as stream:
            stream.write(thumbnail)
        os.replace(temporary, path)
        return thumbnail

    @staticmethod
    def make(data: ImageData, size: int) -> bytes:
        """A JPEG of the image fitted into ``size`` x ``size``."""
        image = ImageData(data.data, data.format, data.width, data.height, data.sha256).decode(draft_size=(size, size))
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=85)
        return buffer.getvalue()
