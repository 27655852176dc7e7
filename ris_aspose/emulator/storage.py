"""Aspose Cloud storage, in memory: the file endpoints the ``aspose`` backend uses.

Files are keyed by ``(storage name, path)``; the default storage is ``""``. A folder
exists while a file lies under it. The ``{path}`` of every endpoint is one
percent-encoded segment (``folder%2Fsub%20dir%2Fup.png``), decoded by the router.
"""

from __future__ import annotations

from ris_aspose.emulator.wire import ApiError, Request, Response, json_response

__all__ = ["Storage"]


class Storage:
    """Named storages of files."""

    def __init__(self) -> None:
        self._files: dict[tuple[str, str], bytes] = {}

    def get(self, storage: str, path: str) -> bytes | None:
        """A file's bytes, or None."""
        return self._files.get((storage, path))

    def read(self, storage: str, path: str) -> bytes:
        """A file's bytes; 404 ``FileNotFound`` if there is none."""
        data = self._files.get((storage, path))
        if data is None:
            raise ApiError(404, "FileNotFound", f"file {path} not found in storage")
        return data

    def write(self, storage: str, path: str, data: bytes) -> None:
        """Create or replace a file."""
        self._files[(storage, path)] = data

    def remove(self, storage: str, path: str) -> None:
        """Delete a file if it exists."""
        self._files.pop((storage, path), None)

    def under(self, storage: str, folder: str) -> list[str]:
        """Every file path below ``folder``, sorted."""
        prefix = folder + "/"
        return sorted(path for name, path in self._files if name == storage and path.startswith(prefix))

    def paths(self, storage: str) -> list[str]:
        """Every file path of a storage, sorted."""
        return sorted(path for name, path in self._files if name == storage)

    def clear(self) -> None:
        """Delete everything."""
        self._files.clear()

    def handle(self, request: Request, kind: str, path: str) -> Response:
        """``/storage/{file,exist,folder}/{path}``, as the SDK calls them."""
        storage = request.param("storageName") or ""
        route = (kind, request.method)
        if route == ("file", "PUT"):
            data = request.image_data()
            if data is None:
                raise ApiError(400, "BadRequest", "no file in the request")
            self.write(storage, path, data)
            return json_response({"uploaded": [path], "errors": []})
        if route == ("file", "GET"):
            return Response(200, self.read(storage, path), "application/octet-stream")
        if route == ("file", "DELETE"):
            self.read(storage, path)
            self.remove(storage, path)
            return Response(200)
        if route == ("exist", "GET"):
            is_folder = bool(self.under(storage, path))
            return json_response({"exists": (storage, path) in self._files or is_folder, "isFolder": is_folder})
        if route == ("folder", "DELETE"):
            inside = self.under(storage, path)
            if not inside:
                raise ApiError(404, "FolderNotFound", f"folder {path} not found")
            if request.param("recursive") not in ("True", "true"):
                raise ApiError(400, "FolderNotEmpty", f"folder {path} is not empty")
            for found in inside:
                self.remove(storage, found)
            return Response(200)
        raise ApiError(404, "NotFound", f"no storage operation at {request.raw_path}")
