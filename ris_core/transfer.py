"""Export a context to files and import it into any backend.

The export format is a folder (or the same folder as a ``.tar``/``.tar.gz`` file) that
any program can read::

    manifest.json          what the export holds (below)
    images/000001.jpg      each image's original bytes, numbered, extension from its format
    tags/000001.png        each tag reference image

``manifest.json``::

    {"format": "ris-export", "version": 1, "context": "photos", "backend": "local",
     "exported_at": "2026-11-24T10:00:00+00:00",
     "images": [{"id": "2024/beach.jpg", "file": "images/000001.jpg",
                 "sha256": "...", "metadata": {"camera": "X100"}}],
     "collections": {"summer": ["2024/beach.jpg"]},
     "tags": {"sea": ["tags/000001.png"]}}

Features are not exported: they belong to the backend that made them, and the importing
backend computes its own. Importing into an existing context merges: images already
holding the same bytes are skipped, tags that already exist are left as they are.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ris_core.catalog.base import now
from ris_core.errors import InvalidArgumentError, SourceNotFoundError
from ris_core.images import load_image
from ris_core.ingest import IngestItem, IngestReport, IngestStatus

if TYPE_CHECKING:
    from ris_core.context import SearchContext
    from ris_core.system import ImageSearch

__all__ = ["FORMAT", "VERSION", "export_context", "import_context"]

FORMAT = "ris-export"
VERSION = 1
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif", "MPO": "jpg"}
_MEMBER = re.compile(r"^(images|tags)/[0-9]{6}\.[a-z]{3,4}$")
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def _file_name(folder: str, number: int, data: bytes) -> str:
    return f"{folder}/{number:06d}.{_EXTENSIONS.get(load_image(data).format, 'bin')}"


def export_context(context: SearchContext, path: Path) -> Path:
    """Write ``context`` to ``path`` (a new folder, or a tar file by its suffix)."""
    with tempfile.TemporaryDirectory(prefix="ris-export-") as scratch:
        folder = Path(scratch) if path.name.endswith(_TAR_SUFFIXES) else path
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "images").mkdir(exist_ok=True)
        (folder / "tags").mkdir(exist_ok=True)
        catalog = context.system.catalog
        metadata = catalog.metadata_for(context.name, context.image_ids())
        images = []
        for number, image_id in enumerate(context.image_ids(), 1):
            data = context.get_image(image_id)
            name = _file_name("images", number, data)
            (folder / name).write_bytes(data)
            images.append(
                {
                    "id": image_id,
                    "file": name,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "metadata": metadata.get(image_id, {}),
                }
            )
        tags: dict[str, list[str]] = {}
        number = 0
        for tag in catalog.tags(context.name):
            for data in catalog.tag_references(context.name, tag):
                number += 1
                name = _file_name("tags", number, data)
                (folder / name).write_bytes(data)
                tags.setdefault(tag, []).append(name)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "context": context.name,
            "backend": context.system.backend_name,
            "exported_at": now(),
            "images": images,
            "collections": {info.name: context.collection_images(info.name) for info in context.list_collections()},
            "tags": tags,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        if folder != path:
            compressed = path.name.endswith((".gz", ".tgz"))
            with tarfile.open(path, "w:gz") if compressed else tarfile.open(path, "w") as archive:
                for member in sorted(folder.rglob("*")):
                    archive.add(member, arcname=member.relative_to(folder).as_posix(), recursive=False)
    return path


@contextmanager
def _opened(path: Path) -> Iterator[Path]:
    """The export as a folder (a tar file is unpacked, member by checked member)."""
    if not path.exists():
        raise SourceNotFoundError(f"no export at {path}")
    if path.is_dir():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="ris-import-") as scratch, tarfile.open(path) as archive:
        for member in archive.getmembers():
            # Only regular files with the names an export uses: nothing can land outside
            # the scratch folder, whatever the archive claims.
            if member.isfile() and (member.name == "manifest.json" or _MEMBER.match(member.name)):
                source = archive.extractfile(member)
                assert source is not None
                target = Path(scratch) / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(source.read())
        yield Path(scratch)


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidArgumentError(f"not a ris export (manifest.json unreadable: {exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidArgumentError("not a ris export (manifest.json has no 'format': 'ris-export')")
    if manifest.get("version") != VERSION:
        raise InvalidArgumentError(f"ris export version {manifest.get('version')!r} is not supported (only {VERSION})")
    return manifest


def _member(folder: Path, name: Any) -> Path:
    if not isinstance(name, str) or not _MEMBER.match(name):
        raise InvalidArgumentError(f"the export names a file {name!r} outside images/ and tags/")
    return folder / name


def import_context(
    system: ImageSearch, path: Path, name: str | None = None, progress: bool | None = None
) -> tuple[SearchContext, IngestReport]:
    """Load an export into context ``name`` (default: the exported context's name);
    ``progress`` as for :meth:`SearchContext.add_images`."""
    with _opened(path) as folder:
        manifest = _manifest(folder)
        context = system.context(name or str(manifest["context"]), create=True)
        work, corrupt = [], []
        for entry in manifest["images"]:
            file = _member(folder, entry["file"])
            if not file.is_file() or hashlib.sha256(file.read_bytes()).hexdigest() != entry.get("sha256"):
                corrupt.append(
                    IngestItem(
                        str(entry["id"]),
                        IngestStatus.FAILED,
                        str(file),
                        "the file is missing or does not match its sha256",
                        "InvalidImageError",
                    )
                )
                continue
            work.append((str(entry["id"]), file, entry.get("metadata") or None))
        report = context.add_images(work, progress=progress) if work else IngestReport()
        report.items.extend(corrupt)
        imported = {item.image_id for item in report.items if item.status is not IngestStatus.FAILED}
        for collection, members in manifest.get("collections", {}).items():
            if collection not in {info.name for info in context.list_collections()}:
                context.create_collection(collection)
            context.add_to_collection(collection, [m for m in members if m in imported])
        existing_tags = context.list_tags()
        for tag, files in manifest.get("tags", {}).items():
            if tag not in existing_tags:
                context.create_tag(tag, [_member(folder, file).read_bytes() for file in files])
    return context, report
