"""Where the backend keeps things in Aspose storage, and how ris ids map to paths.

The imageSearch API names images by their *storage path*, and echoes those paths in
every result. Each context gets its own folder, so ids never clash across contexts and
deleting the folder deletes everything the context stored::

    {folder}/{context}.search                  the service's own index file
    {folder}/{context}/images/{image id}       the images (ids may contain "/")
    {folder}/{context}/tags/{sha256}.json      one marker per tag the backend created
    {folder}/scratch/{epoch}-{uuid}{suffix}    query images, deleted after each call

Every path ris builds is a full storage path from the storage root, under ``folder``:
that is how the vendor's examples name images (``Examples/AI/FindSimilar/4.jpg``), and
imageSearch calls send no ``folder`` parameter (see ``AsposeBase._scope``). Scratch
files carry their creation time (Unix seconds) in their name, so a sweep can tell a
stale one (left by a killed process) without trusting the storage's dates.

ris ids are checked by the core (no ``..``, no leading ``/``), so an image path can
never leave its context's ``images`` folder. Tag markers use a hash because tag names
may contain ``/``, and a tag ``a`` next to a tag ``a/b`` would need ``tags/a`` to be a
file and a folder at once.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass

__all__ = ["StorageLayout"]

_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp"}


@dataclass(frozen=True, slots=True)
class StorageLayout:
    """Storage paths under ``folder`` ("" for the storage root)."""

    folder: str

    def context_folder(self, context: str) -> str:
        """The folder holding everything of ``context``."""
        return f"{self.folder}/{context}" if self.folder else context

    def image_path(self, context: str, image_id: str) -> str:
        """The storage path (and imageSearch imageId) of a ris image id."""
        return f"{self.context_folder(context)}/images/{image_id}"

    def image_id(self, context: str, path: str) -> str | None:
        """The ris id of a storage path, or None if the path is not one of our images."""
        prefix = f"{self.context_folder(context)}/images/"
        if path.startswith(prefix) and len(path) > len(prefix):
            return path[len(prefix) :]
        return None

    def tag_marker(self, context: str, tag: str) -> str:
        """The marker file that records that ``tag`` exists in ``context``."""
        digest = hashlib.sha256(tag.encode("utf-8")).hexdigest()[:32]
        return f"{self.context_folder(context)}/tags/{digest}.json"

    def scratch_folder(self) -> str:
        """The one folder holding query scratch files of every context."""
        return f"{self.folder}/scratch" if self.folder else "scratch"

    def scratch_path(self, image_format: str) -> str:
        """A fresh path for a query image; the suffix lets the service sniff the format."""
        suffix = _SUFFIXES.get(image_format.upper(), "")
        return f"{self.scratch_folder()}/{int(time.time())}-{uuid.uuid4().hex}{suffix}"

    @staticmethod
    def scratch_is_stale(name: str, age: float, now: float | None = None) -> bool:
        """Whether a scratch file name was made more than ``age`` seconds ago."""
        stamp, dash, _ = name.partition("-")
        if not dash or not stamp.isdigit():
            return False
        return (time.time() if now is None else now) - int(stamp) > age

    @staticmethod
    def suffix(image_format: str) -> str:
        """The file suffix for an image format (PNG -> .png), or "" if unknown."""
        return _SUFFIXES.get(image_format.upper(), "")
