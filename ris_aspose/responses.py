"""Reading the SDK's answer models, refusing anything the API does not document.

The SDK never fails on an unexpected body: garbled JSON, PascalCase keys or ``null``
all come back as a model whose fields are None. Each reader here checks the fields it
needs and raises :func:`ris_aspose.translate.malformed` (a transient BackendError)
instead of letting a None travel on.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ris_aspose.translate import malformed
from ris_core.errors import BackendError

__all__ = [
    "context_id",
    "duplicate_groups",
    "exists",
    "features",
    "file_names",
    "first_similarity",
    "results",
    "status_text",
    "upload_ok",
]


def context_id(model: Any, what: str) -> str:
    """The ``id`` of a SearchContextStatus."""
    return _text(getattr(model, "id", None), what, "id")


def status_text(model: Any, what: str) -> str:
    """The ``searchStatus`` of a SearchContextStatus (``Idle``, ``ExtractingFeatures``...)."""
    return _text(getattr(model, "search_status", None), what, "searchStatus")


def results(model: Any, what: str) -> list[tuple[str, float]]:
    """``(imageId, similarity)`` of each result of a SearchResultsSet."""
    items = getattr(model, "results", None)
    if not isinstance(items, list):
        raise malformed(what, "no results list")
    return [_result(item, what) for item in items]


def first_similarity(model: Any, what: str) -> float:
    """The similarity of the one result ``compare_images`` returns."""
    found = results(model, what)
    if not found:
        raise malformed(what, "compare returned no result")
    return found[0][1]


def duplicate_groups(model: Any, what: str) -> list[list[tuple[str, float]]]:
    """``(imageId, similarity)`` of each member of each group of an ImageDuplicatesSet."""
    groups = getattr(model, "duplicates", None)
    if not isinstance(groups, list):
        raise malformed(what, "no duplicates list")
    found = []
    for group in groups:
        members = getattr(group, "duplicate_images", None)
        if not isinstance(members, list):
            raise malformed(what, "a duplicates group without duplicateImages")
        found.append([_result(member, what) for member in members])
    return found


def file_names(model: Any, what: str) -> list[str]:
    """The names of the files (not folders) of a FilesList."""
    items = getattr(model, "value", None)
    if not isinstance(items, list):
        raise malformed(what, "no value list")
    return [item.name for item in items if isinstance(getattr(item, "name", None), str) and not item.is_folder]


def features(model: Any, what: str) -> tuple[bytes, int, int]:
    """``(decoded features, count, bits per feature)`` of an ImageFeatures."""
    encoded = getattr(model, "features", None)
    count = getattr(model, "features_count", None)
    bits = getattr(model, "feature_length_in_bits", None)
    if not isinstance(encoded, str) or not isinstance(count, int) or not isinstance(bits, int):
        raise malformed(what, "features, featuresCount or featureLengthInBits missing")
    try:
        return base64.b64decode(encoded, validate=True), count, bits
    except binascii.Error as exc:
        raise malformed(what, "features are not base64") from exc


def exists(model: Any, what: str) -> bool:
    """The ``exists`` flag of an ObjectExist."""
    flag = getattr(model, "exists", None)
    if not isinstance(flag, bool):
        raise malformed(what, "no exists flag")
    return flag


def upload_ok(model: Any, what: str) -> None:
    """Check a FilesUploadResult: something uploaded and no errors."""
    uploaded = getattr(model, "uploaded", None)
    errors = getattr(model, "errors", None) or []
    if errors:
        detail = "; ".join(str(getattr(error, "message", None) or "unknown error") for error in errors)
        raise BackendError(f"{what}: the service refused the upload: {detail}", code=getattr(errors[0], "code", None))
    if not isinstance(uploaded, list) or not uploaded:
        raise malformed(what, "nothing uploaded")


def _result(item: Any, what: str) -> tuple[str, float]:
    image_id = getattr(item, "image_id", None)
    similarity = getattr(item, "similarity", None)
    if not isinstance(image_id, str) or isinstance(similarity, bool) or not isinstance(similarity, int | float):
        raise malformed(what, "a result without imageId or similarity")
    return image_id, float(similarity)


def _text(value: Any, what: str, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise malformed(what, f"no {field}")
    return value
