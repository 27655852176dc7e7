"""Export a context to files and import it into any backend.

The export format is a folder (or the same folder as a tar file: ``.tar``, ``.tar.gz``,
``.tgz``, ``.tar.bz2``, ``.tar.xz``) that any program can read::

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

An import is all or nothing. Before anything is written it reads and checks the whole
manifest (every field's type, every id, every piece of metadata) and then only the files
the manifest names, streamed to a scratch folder a slice at a time with their sha256
checked and their size bounded (:data:`MAX_MEMBER_BYTES` each, :data:`MAX_TOTAL_BYTES`
in all, :data:`MAX_MANIFEST_BYTES` for the manifest). Anything wrong raises
:class:`~ris_core.errors.InvalidExportError` with nothing written. If a write fails
after that (an image the backend refuses, a full disk), what the import wrote is undone:
a context it created is deleted; in an existing context, the images it added, the
collections it created and the members it added are removed. (Tags cannot be deleted
by any backend, so they are created last, from reference images already checked.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tqdm import tqdm

from ris_core.catalog.base import now
from ris_core.errors import InvalidExportError, RisError, SourceNotFoundError, StorageFullError
from ris_core.images import DEFAULT_MAX_BYTES, load_image
from ris_core.ingest import IngestReport, IngestStatus
from ris_core.metadata import dump_metadata
from ris_core.validation import check_id

if TYPE_CHECKING:
    from ris_core.context import SearchContext
    from ris_core.system import ImageSearch

__all__ = [
    "EXPORT_SUFFIXES",
    "FORMAT",
    "MAX_MANIFEST_BYTES",
    "MAX_MEMBER_BYTES",
    "MAX_TOTAL_BYTES",
    "VERSION",
    "TransferProgress",
    "export_context",
    "import_context",
]

FORMAT = "ris-export"
VERSION = 1
#: The largest manifest.json an import parses (it is JSON, so it is read whole).
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
#: The largest image or tag file an import accepts: what ``load_image`` accepts.
MAX_MEMBER_BYTES = DEFAULT_MAX_BYTES
#: The most an import extracts from one archive, all files together.
MAX_TOTAL_BYTES = 64 * 1024**3
#: Tar files by suffix, with the mode tarfile writes them in; anything else is a folder,
#: unless its suffix names an archive format ris does not write (``.zip``: an error).
EXPORT_SUFFIXES = {".tar.gz": "w:gz", ".tgz": "w:gz", ".tar.bz2": "w:bz2", ".tar.xz": "w:xz", ".tar": "w"}
_OTHER_ARCHIVES = (".zip", ".7z", ".rar", ".gz", ".bz2", ".xz", ".zst", ".lz", ".lzma", ".z", ".cpio", ".iso")

#: Called with (steps done, steps in all): one step per file read or written, then one
#: per image stored.
TransferProgress = Callable[[int, int], None]

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif", "MPO": "jpg"}
_MEMBER = re.compile(r"^(images|tags)/[0-9]{6}\.[a-z]{3,4}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024


class _Progress:
    """One count of steps, shown as a bar (when ``show``, default: stderr is a terminal)
    and told to ``on_progress(done, total)`` after each step."""

    def __init__(self, show: bool | None, total: int, description: str, on_progress: TransferProgress | None) -> None:
        self.bar: tqdm[Any] = tqdm(
            total=total, disable=not (sys.stderr.isatty() if show is None else show), unit="file", desc=description
        )
        self.done, self.total, self.on_progress = 0, total, on_progress

    def start(self, total: int) -> None:
        """The number of steps, once it is known."""
        self.total = self.bar.total = total
        self.bar.refresh()

    def step(self) -> None:
        """One more step done."""
        self.done += 1
        self.bar.update(1)
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


# --- export --------------------------------------------------------------------------


def export_kind(path: Path) -> str | None:
    """The tarfile write mode for ``path``, or None for a folder; InvalidExportError for an
    archive suffix ris does not write."""
    name = path.name.lower()
    for suffix, mode in EXPORT_SUFFIXES.items():
        if name.endswith(suffix):
            return mode
    if name.endswith(_OTHER_ARCHIVES):
        raise InvalidExportError(
            f"cannot export to {path.name!r}: {path.suffix} is not a format ris writes; use a folder "
            f"or a file ending in {', '.join(EXPORT_SUFFIXES)}"
        )
    return None


def _file_name(folder: str, number: int, data: bytes) -> str:
    return f"{folder}/{number:06d}.{_EXTENSIONS.get(load_image(data).format, 'bin')}"


class _Writer:
    """Where an export's files go: a folder being built, or a tar file being written."""

    def __init__(self, target: Path, mode: str | None) -> None:
        self.folder = None if mode else target
        # closed in close(); the mode is one of EXPORT_SUFFIXES' values
        self.archive = tarfile.open(target, mode) if mode else None  # type: ignore[call-overload]  # noqa: SIM115
        if self.folder is not None:
            (self.folder / "images").mkdir(parents=True)
            (self.folder / "tags").mkdir()

    def add(self, name: str, data: bytes) -> None:
        if self.archive is None:
            assert self.folder is not None
            (self.folder / name).write_bytes(data)
            return
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
        self.archive.addfile(info, _Reader(data))

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


class _Reader:
    """The least file-like object tarfile.addfile reads a member from."""

    def __init__(self, data: bytes) -> None:
        self.view, self.offset = memoryview(data), 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.view) if size < 0 else self.offset + size
        chunk = bytes(self.view[self.offset : end])
        self.offset += len(chunk)
        return chunk


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:12]}")


def export_context(
    context: SearchContext, path: Path, *, progress: bool | None = None, on_progress: TransferProgress | None = None
) -> Path:
    """Write ``context`` to ``path``: a new (or empty) folder, or a tar file by its suffix.

    The export is built beside ``path`` and moved into place when complete, so a failed
    export leaves nothing behind (and an existing tar file is replaced only then).
    ``progress`` shows a bar (default: when stderr is a terminal); ``on_progress(done,
    total)`` is called after each file.
    """
    mode = export_kind(path)
    if mode is None and path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InvalidExportError(f"cannot export to {path}: it exists and is not an empty folder")
    if path.parent.exists() and not path.parent.is_dir():
        raise InvalidExportError(f"cannot export to {path}: {path.parent} is a file, not a folder")
    if not path.parent.is_dir():
        raise SourceNotFoundError(f"cannot export to {path}: no folder {path.parent}")
    catalog = context.system.catalog
    image_ids = context.image_ids()
    tags = catalog.tags(context.name)
    total = len(image_ids) + sum(tags.values()) + 1
    scratch = _partial(path)
    writer = _Writer(scratch, mode)
    try:
        with _Progress(progress, total, f"exporting {context.name}", on_progress) as counter:
            step = counter.step
            metadata = catalog.metadata_for(context.name, image_ids)
            images = []
            for number, image_id in enumerate(image_ids, 1):
                data = context.get_image(image_id)  # in a by-reference context, read from its file
                name = _file_name("images", number, data)
                writer.add(name, data)
                images.append(
                    {
                        "id": image_id,
                        "file": name,
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "metadata": metadata.get(image_id, {}),
                    }
                )
                step()
            tag_files: dict[str, list[str]] = {}
            number = 0
            for tag in tags:
                for data in catalog.tag_references(context.name, tag):
                    number += 1
                    name = _file_name("tags", number, data)
                    writer.add(name, data)
                    tag_files.setdefault(tag, []).append(name)
                    step()
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "context": context.name,
                "backend": context.system.backend_name,
                "exported_at": now(),
                "images": images,
                "collections": {info.name: context.collection_images(info.name) for info in context.list_collections()},
                "tags": tag_files,
            }
            writer.add("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode())
            step()
        writer.close()
        if mode is None and path.is_dir():
            path.rmdir()  # empty, checked above
        os.replace(scratch, path)
    except BaseException:
        writer.close()
        if scratch.is_dir():
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            scratch.unlink(missing_ok=True)
        raise
    return path


# --- reading an export -----------------------------------------------------------------


@dataclass(frozen=True)
class _Image:
    image_id: str
    file: str
    sha256: str
    metadata: Mapping[str, Any] | None


@dataclass
class _Plan:
    """A manifest, checked: everything the import will write."""

    context: str
    images: list[_Image]
    collections: dict[str, list[str]]
    tags: dict[str, list[str]]
    files: list[str] = field(default_factory=list)


def _refuse(problem: str) -> InvalidExportError:
    return InvalidExportError(f"not a valid ris export: {problem}; nothing was imported")


def _checked_id(value: Any, kind: str, where: str) -> str:
    try:
        return check_id(value, kind)
    except RisError as exc:
        raise _refuse(f"{where}: {exc}") from exc


def _plan(manifest: Any) -> _Plan:
    """Every field of the manifest checked, before anything is written."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse("manifest.json has no 'format': 'ris-export'")
    if manifest.get("version") != VERSION:
        raise InvalidExportError(f"ris export version {manifest.get('version')!r} is not supported (only {VERSION})")
    context = _checked_id(manifest.get("context"), "context", "manifest 'context'")
    entries, collections, tags = manifest.get("images", []), manifest.get("collections", {}), manifest.get("tags", {})
    if not isinstance(entries, list):
        raise _refuse(f"manifest 'images' must be a list, not {type(entries).__name__}")
    images, seen = [], set()
    for number, entry in enumerate(entries):
        where = f"manifest images[{number}]"
        if not isinstance(entry, dict):
            raise _refuse(f"{where} must be an object, not {type(entry).__name__}")
        for key in ("id", "file", "sha256"):
            if key not in entry:
                raise _refuse(f"{where} has no {key!r}")
        image_id = _checked_id(entry["id"], "image", where)
        if image_id in seen:
            raise _refuse(f"{where}: image id {image_id!r} appears twice")
        seen.add(image_id)
        if not isinstance(entry["file"], str) or not _MEMBER.match(entry["file"]):
            raise _refuse(f"{where} names a file {entry['file']!r} outside images/ and tags/")
        if not isinstance(entry["sha256"], str) or not _SHA256.match(entry["sha256"]):
            raise _refuse(f"{where}: 'sha256' must be 64 lowercase hex digits")
        metadata = entry.get("metadata") or None
        if metadata is not None:
            try:
                dump_metadata(metadata)
            except RisError as exc:
                raise _refuse(f"{where} 'metadata': {exc}") from exc
        images.append(_Image(image_id, entry["file"], entry["sha256"], metadata))
    if not isinstance(collections, dict):
        raise _refuse(f"manifest 'collections' must be an object, not {type(collections).__name__}")
    for name, members in collections.items():
        _checked_id(name, "collection", "manifest 'collections'")
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise _refuse(f"collection {name!r} must list image ids (strings)")
    if not isinstance(tags, dict):
        raise _refuse(f"manifest 'tags' must be an object, not {type(tags).__name__}")
    for name, files in tags.items():
        _checked_id(name, "tag", "manifest 'tags'")
        if not isinstance(files, list) or not files or not all(isinstance(f, str) and _MEMBER.match(f) for f in files):
            raise _refuse(f"tag {name!r} must list its reference files under tags/")
    files = list(dict.fromkeys([image.file for image in images] + [f for fs in tags.values() for f in fs]))
    return _Plan(context, images, {str(k): list(v) for k, v in collections.items()}, dict(tags), files)


def _parse_manifest(handle: IO[bytes], size: int) -> _Plan:
    if size > MAX_MANIFEST_BYTES:
        raise _refuse(f"manifest.json is {size:,} bytes, over the limit of {MAX_MANIFEST_BYTES:,}")
    try:
        manifest = json.loads(handle.read(MAX_MANIFEST_BYTES + 1).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise _refuse(f"manifest.json is not readable JSON ({type(exc).__name__}: {str(exc)[:80]})") from exc
    return _plan(manifest)


def _copy(source: IO[bytes], target: Path, limit: int, name: str) -> str:
    """Stream ``source`` to ``target`` a slice at a time; its sha256. Refuses more than
    ``limit`` bytes whatever the archive declared."""
    digest, written = hashlib.sha256(), 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                raise _refuse(f"{name} is over the limit of {limit:,} bytes")
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _check_sizes(plan: _Plan, sizes: dict[str, int], member_limit: int, total_limit: int, scratch: Path | None) -> None:
    for name in plan.files:
        if name not in sizes:
            raise _refuse(f"the manifest names {name}, which the export does not hold")
        if sizes[name] > member_limit:
            raise _refuse(f"{name} is {sizes[name]:,} bytes, over the limit of {member_limit:,}")
    total = sum(sizes[name] for name in plan.files)
    if total > total_limit:
        raise _refuse(f"the files the manifest names hold {total:,} bytes, over the limit of {total_limit:,}")
    if scratch is not None and total > shutil.disk_usage(scratch).free:
        raise StorageFullError(f"importing needs {total:,} bytes of temporary space in {scratch}; not enough is free")


@contextmanager
def _read_export(
    path: Path, member_limit: int, total_limit: int, step: Callable[[], None], start: Callable[[int], None]
) -> Iterator[tuple[_Plan, dict[str, Path], dict[str, str]]]:
    """The checked plan, each named file's path and each one's sha256, from a folder or
    a tar file (only the named members are extracted; nothing lands outside scratch)."""
    if not path.exists():
        raise SourceNotFoundError(f"no export at {path}")
    if path.is_dir():
        manifest = path / "manifest.json"
        if not manifest.is_file():
            raise _refuse(f"{path} holds no manifest.json")
        with manifest.open("rb") as handle:
            plan = _parse_manifest(handle, manifest.stat().st_size)
        files = {name: path / name for name in plan.files}
        sizes = {name: file.stat().st_size for name, file in files.items() if file.is_file() and not file.is_symlink()}
        _check_sizes(plan, sizes, member_limit, total_limit, None)
        start(len(plan.files))
        hashes = {}
        for name, file in files.items():
            with file.open("rb") as handle:
                hashes[name] = hashlib.file_digest(handle, "sha256").hexdigest()
            step()
        yield plan, files, hashes
        return
    try:
        archive = tarfile.open(path)  # noqa: SIM115 - entered just below
    except (tarfile.TarError, OSError) as exc:
        raise _refuse(f"{path.name} is neither a folder nor a tar file ({exc})") from exc
    with archive, tempfile.TemporaryDirectory(prefix="ris-import-") as scratch:
        # Headers only (the last of two same-named members wins, as tar extracts them).
        members = {m.name: m for m in archive.getmembers() if m.isfile()}
        if "manifest.json" not in members:
            raise _refuse(f"{path.name} holds no manifest.json")
        source = archive.extractfile(members["manifest.json"])
        assert source is not None
        plan = _parse_manifest(source, members["manifest.json"].size)
        _check_sizes(
            plan, {n: members[n].size for n in plan.files if n in members}, member_limit, total_limit, Path(scratch)
        )
        start(len(plan.files))
        files, hashes = {}, {}
        for name in plan.files:
            source = archive.extractfile(members[name])
            assert source is not None
            files[name] = Path(scratch) / name
            hashes[name] = _copy(source, files[name], member_limit, name)
            step()
        yield plan, files, hashes


# --- import ----------------------------------------------------------------------------


@dataclass
class _Undo:
    """What an import wrote, so that a failure can take it back."""

    context: SearchContext
    created: bool
    images: list[str] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)

    def run(self) -> None:
        system = self.context.system
        if self.created:
            system.delete_context(self.context.name)
            return
        for collection, members in self.members.items():
            self.context.remove_from_collection(collection, members)
        for collection in self.collections:
            self.context.delete_collection(collection)
        for image_id in self.images:
            self.context.delete_image(image_id)


def import_context(
    system: ImageSearch,
    path: Path,
    name: str | None = None,
    progress: bool | None = None,
    *,
    on_progress: TransferProgress | None = None,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> tuple[SearchContext, IngestReport]:
    """Load an export into context ``name`` (default: the exported context's name), all
    or nothing (see the module's docstring). ``progress`` shows a bar (default: when
    stderr is a terminal); ``on_progress(done, total)`` is called after each step."""
    with _Progress(progress, 0, "importing", on_progress) as counter:
        step = counter.step
        with _read_export(path, max_member_bytes, max_total_bytes, step, counter.start) as (plan, files, hashes):
            for image in plan.images:
                if hashes[image.file] != image.sha256:
                    raise _refuse(f"{image.file} (image {image.image_id!r}) does not match its sha256: it is damaged")
            target = name or plan.context
            existing = system.context(target) if target in {i.name for i in system.list_contexts()} else None
            if existing is not None:
                _refuse_conflicts(existing, plan)
            tag_images = _tag_images(system, existing, plan, files)
            counter.start(counter.total + len(plan.images))
            # The first write (a context is falsy when empty: compare with None).
            context = existing if existing is not None else system.context(target, create=True)
            undo = _Undo(context, created=existing is None)
            try:
                report = _write(context, plan, files, tag_images, undo, step)
            except BaseException as exc:
                try:
                    undo.run()
                except Exception as failure:  # say so, but keep the first error
                    exc.add_note(f"undoing the partial import failed too: {failure}")
                raise
    return context, report


def _refuse_conflicts(context: SearchContext, plan: _Plan) -> None:
    """An id the context holds with other bytes would be replaced, and a replacement
    cannot be undone: refused before anything is written."""
    catalog = context.system.catalog
    for image in plan.images:
        stored = catalog.image_sha256(context.name, image.image_id)
        if stored is not None and stored != image.sha256:
            raise InvalidExportError(
                f"image {image.image_id!r} already holds other bytes in context {context.name!r}; "
                "import into another context (--name), or delete it first; nothing was imported"
            )


def _tag_images(
    system: ImageSearch, context: SearchContext | None, plan: _Plan, files: dict[str, Path]
) -> dict[str, list[Any]]:
    """The reference images of the tags to create, each read and checked now."""
    existing = context.list_tags() if context is not None else {}
    images = {}
    for tag, names in plan.tags.items():
        if tag in existing:
            continue
        try:
            images[tag] = [system.load(files[name]) for name in names]
        except RisError as exc:
            raise _refuse(f"tag {tag!r}: {exc}") from exc
    return images


def _write(
    context: SearchContext,
    plan: _Plan,
    files: dict[str, Path],
    tag_images: dict[str, list[Any]],
    undo: _Undo,
    step: Callable[[], None],
) -> IngestReport:
    work = [(image.image_id, files[image.file], image.metadata) for image in plan.images]
    report = context.add_images(work, progress=False, on_progress=lambda *_: step()) if work else IngestReport()
    undo.images = [item.image_id for item in report.items if item.status is IngestStatus.ADDED]
    if report.failed:
        first = report.failed[:3]
        raise InvalidExportError(
            f"{len(report.failed)} of {len(work)} images could not be imported "
            f"({'; '.join(f'{item.image_id}: {item.error}' for item in first)}); nothing was imported"
        )
    held = set(context.image_ids())
    collections = {info.name for info in context.list_collections()}
    for collection, members in plan.collections.items():
        wanted = [m for m in dict.fromkeys(members) if m in held]
        if collection not in collections:
            context.create_collection(collection)
            undo.collections.append(collection)
        else:
            present = set(context.collection_images(collection))
            undo.members[collection] = [m for m in wanted if m not in present]
        context.add_to_collection(collection, wanted)
    for tag, images in tag_images.items():
        context.create_tag(tag, images)
    return report
