"""Aspose Cloud storage in one SQLite database: the storage API the SDK exposes.

Files are keyed by ``(storage name, path)``; the default storage is ``""``. A folder
exists once created or while a file lies under it. The ``{path}`` of every endpoint is
one percent-encoded segment (``folder%2Fsub%20dir%2Fup.png``), decoded by the router.
Storage keeps one version of each file (``versionId`` is always ``""``, the latest).

=====================================================  ======================================
SDK method                                             endpoint
=====================================================  ======================================
upload_file / download_file / delete_file              PUT / GET / DELETE ``file/{path}``
copy_file / move_file                                  PUT ``file/copy|move/{src}?destPath=``
create_folder / get_files_list / delete_folder         PUT / GET / DELETE ``folder/{path}``
copy_folder / move_folder                              PUT ``folder/copy|move/{src}?destPath=``
object_exists                                          GET ``exist/{path}``
storage_exists                                         GET ``{storageName}/exist``
get_disc_usage                                         GET ``disc``
get_file_versions                                      GET ``version/{path}``
=====================================================  ======================================
"""

from __future__ import annotations

import datetime
import posixpath
import sqlite3
import threading
import time

from ris_aspose.emulator.wire import ApiError, Request, Response, json_response

__all__ = ["DISC_SIZE", "Storage"]

#: What ``get_disc_usage`` reports as the total size (an emulator has no quota).
DISC_SIZE = 10 * 1024**3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (storage TEXT, path TEXT, data BLOB, modified REAL, PRIMARY KEY (storage, path));
CREATE TABLE IF NOT EXISTS folders (storage TEXT, path TEXT, PRIMARY KEY (storage, path));
"""


class Storage:
    """Named storages of files and folders, in the emulator's database."""

    def __init__(self, database: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = database
        self._lock = lock
        with self._lock:
            self._db.executescript(_SCHEMA)

    # --- files -------------------------------------------------------------------

    def get(self, storage: str, path: str) -> bytes | None:
        """A file's bytes, or None."""
        with self._lock:
            row = self._db.execute("SELECT data FROM files WHERE storage=? AND path=?", (storage, path)).fetchone()
        return None if row is None else bytes(row[0])

    def read(self, storage: str, path: str) -> bytes:
        """A file's bytes; 404 ``FileNotFound`` if there is none."""
        data = self.get(storage, path)
        if data is None:
            raise ApiError(404, "FileNotFound", f"file {path} not found in storage")
        return data

    def write(self, storage: str, path: str, data: bytes) -> None:
        """Create or replace a file."""
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (storage, path, data, time.time()))

    def remove(self, storage: str, path: str) -> None:
        """Delete a file if it exists."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM files WHERE storage=? AND path=?", (storage, path))

    def under(self, storage: str, folder: str) -> list[str]:
        """Every file path below ``folder`` ("" for the root), sorted."""
        prefix = f"{folder}/" if folder else ""
        with self._lock:
            rows = self._db.execute(
                "SELECT path FROM files WHERE storage=? AND substr(path, 1, ?)=? ORDER BY path",
                (storage, len(prefix), prefix),
            ).fetchall()
        return [row[0] for row in rows]

    def paths(self, storage: str) -> list[str]:
        """Every file path of a storage, sorted."""
        return self.under(storage, "")

    def storages(self) -> set[str]:
        """The names of the storages holding anything, and the default one (``""``)."""
        with self._lock:
            rows = self._db.execute("SELECT storage FROM files UNION SELECT storage FROM folders").fetchall()
        return {""} | {row[0] for row in rows}

    def clear(self) -> None:
        """Delete everything."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM files")
            self._db.execute("DELETE FROM folders")

    # --- folders -------------------------------------------------------------------

    def is_folder(self, storage: str, path: str) -> bool:
        """Whether ``path`` is a folder: created, or holding files (the root always is)."""
        if not path:
            return True
        with self._lock:
            made = self._db.execute(
                "SELECT 1 FROM folders WHERE storage=? AND (path=? OR substr(path, 1, ?)=?)",
                (storage, path, len(path) + 1, path + "/"),
            ).fetchone()
        return made is not None or bool(self.under(storage, path))

    def _folders_under(self, storage: str, folder: str) -> list[str]:
        prefix = f"{folder}/" if folder else ""
        with self._lock:
            rows = self._db.execute(
                "SELECT path FROM folders WHERE storage=? AND substr(path, 1, ?)=?", (storage, len(prefix), prefix)
            ).fetchall()
        return [row[0] for row in rows]

    def _listing(self, storage: str, folder: str) -> list[dict[str, object]]:
        """The direct children of ``folder``: files and folders, as StorageFile JSON."""
        if not self.is_folder(storage, folder):
            raise ApiError(404, "FolderNotFound", f"folder {folder} not found")
        prefix = f"{folder}/" if folder else ""
        children: dict[str, dict[str, object]] = {}
        for path in self._folders_under(storage, folder) + self.under(storage, folder):
            name, _, rest = path[len(prefix) :].partition("/")
            if rest or path in self._folders_under(storage, folder):
                children.setdefault(name, _entry(name, prefix + name, True, 0, time.time()))
            else:
                with self._lock:
                    size, modified = self._db.execute(
                        "SELECT length(data), modified FROM files WHERE storage=? AND path=?", (storage, path)
                    ).fetchone()
                children[name] = _entry(name, path, False, size, modified)
        return [children[name] for name in sorted(children)]

    def _copy(self, storage: str, source: str, target_storage: str, target: str, move: bool, folder: bool) -> None:
        pairs = (
            [(path, target + path[len(source) :]) for path in self.under(storage, source)]
            if folder
            else [(source, target)]
        )
        if folder and not self.is_folder(storage, source):
            raise ApiError(404, "FolderNotFound", f"folder {source} not found")
        for old, new in pairs:
            self.write(target_storage, new, self.read(storage, old))
            if move:
                self.remove(storage, old)
        if folder:
            with self._lock, self._db:
                self._db.execute("INSERT OR IGNORE INTO folders VALUES (?, ?)", (target_storage, target))
                if move:
                    self._db.execute(
                        "DELETE FROM folders WHERE storage=? AND (path=? OR substr(path, 1, ?)=?)",
                        (storage, source, len(source) + 1, source + "/"),
                    )

    # --- the endpoints -------------------------------------------------------------

    def handle(self, request: Request, rest: tuple[str, ...]) -> Response:
        """``/imaging/storage/...`` as the SDK calls it (see the module docstring)."""
        storage = request.param("storageName") or ""
        route = (rest[0] if rest else "", request.method, len(rest))
        if route == ("disc", "GET", 1):
            used = sum(len(self.read(storage, path)) for path in self.paths(storage))
            return json_response({"usedSize": used, "totalSize": DISC_SIZE})
        if len(rest) == 2 and rest[1] == "exist" and request.method == "GET":
            return json_response({"exists": rest[0] in self.storages()})
        if len(rest) == 3 and rest[0] in ("file", "folder") and rest[1] in ("copy", "move") and request.method == "PUT":
            target = _required(request, "destPath").strip("/")
            target_storage = request.param("destStorageName") or ""
            source_storage = request.param("srcStorageName") or ""
            self._copy(source_storage, rest[2], target_storage, target, rest[1] == "move", rest[0] == "folder")
            return Response(200)
        if len(rest) != 2:
            raise ApiError(404, "NotFound", f"no storage operation at {request.raw_path}")
        kind, path = rest[0], rest[1].strip("/")
        return self._path_operation(request, kind, path, storage)

    def _path_operation(self, request: Request, kind: str, path: str, storage: str) -> Response:
        route = (kind, request.method)
        if route == ("file", "PUT"):
            data = request.image_data()
            if data is None:
                raise ApiError(400, "BadRequest", "no file in the request")
            self.write(storage, path, data)
            return json_response({"uploaded": [posixpath.basename(path)], "errors": []})
        if route == ("file", "GET"):
            name = posixpath.basename(path).replace('"', "")
            disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
            return Response(200, self.read(storage, path), "application/octet-stream", disposition)
        if route == ("file", "DELETE"):
            self.read(storage, path)
            self.remove(storage, path)
            return Response(200)
        if route == ("exist", "GET"):
            is_folder = self.is_folder(storage, path)
            return json_response({"exists": self.get(storage, path) is not None or is_folder, "isFolder": is_folder})
        if route == ("version", "GET"):
            self.read(storage, path)
            (entry,) = [item for item in self._listing(storage, posixpath.dirname(path)) if item["path"] == "/" + path]
            return json_response({"value": [{**entry, "versionId": "", "isLatest": True}]})
        return self._folder_operation(request, route, path, storage)

    def _folder_operation(self, request: Request, route: tuple[str, str], path: str, storage: str) -> Response:
        if route == ("folder", "PUT"):
            with self._lock, self._db:
                for depth in range(1, path.count("/") + 2):
                    self._db.execute(
                        "INSERT OR IGNORE INTO folders VALUES (?, ?)", (storage, "/".join(path.split("/")[:depth]))
                    )
            return Response(200)
        if route == ("folder", "GET"):
            return json_response({"value": self._listing(storage, path)})
        if route == ("folder", "DELETE"):
            if not self.is_folder(storage, path) or not path:
                raise ApiError(404, "FolderNotFound", f"folder {path} not found")
            inside = self.under(storage, path)
            if inside and request.param("recursive") not in ("True", "true"):
                raise ApiError(400, "FolderNotEmpty", f"folder {path} is not empty")
            for found in inside:
                self.remove(storage, found)
            with self._lock, self._db:
                self._db.execute(
                    "DELETE FROM folders WHERE storage=? AND (path=? OR substr(path, 1, ?)=?)",
                    (storage, path, len(path) + 1, path + "/"),
                )
            return Response(200)
        raise ApiError(404, "NotFound", f"no storage operation at {request.raw_path}")


def _entry(name: str, path: str, is_folder: bool, size: int, modified: float) -> dict[str, object]:
    when = datetime.datetime.fromtimestamp(modified, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {"name": name, "isFolder": is_folder, "modifiedDate": when, "size": size, "path": "/" + path}


def _required(request: Request, name: str) -> str:
    value = request.param(name)
    if not value:
        raise ApiError(400, "BadRequest", f"the parameter {name} is required")
    return value
