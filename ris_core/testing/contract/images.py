"""Contract: adding, replacing, reading and deleting images, and refusing bad input."""

from __future__ import annotations

import datetime
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ris_core import ImageInfo, errors
from ris_core.context import SearchContext
from ris_core.testing.contract.base import ContractBase, photo_bytes
from ris_core.testing.images import bomb_png, not_an_image, photo, truncated_jpeg

BAD_IMAGES = {
    "zero-bytes": (b"", errors.EmptyImageError),
    "not-an-image": (not_an_image(), errors.InvalidImageError),
    "truncated-jpeg": (truncated_jpeg(), errors.InvalidImageError),
    "decompression-bomb": (bomb_png(), errors.ImageTooLargeError),
}

PATH_LIKE_IDS = ["../x", "a/../b", "./a", "/etc/passwd", "C:/x", "a//b", "a/", "back\\slash", "", " x", "x\n"]


class ImageContract(ContractBase):
    """Images: storage round trips, duplicates, and bad input."""

    def test_add_then_get_returns_the_exact_bytes(self, context: SearchContext) -> None:
        jpeg = photo_bytes(1, "JPEG")
        context.add_image("a.jpg", jpeg)
        assert context.get_image("a.jpg") == jpeg
        assert context.image_ids() == ["a.jpg"]
        assert "a.jpg" in context and len(context) == 1

    def test_image_info_says_what_is_stored(self, context: SearchContext) -> None:
        jpeg = photo_bytes(1, "JPEG")
        before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        context.add_image("a.jpg", jpeg)
        info = context.image_info("a.jpg")
        assert isinstance(info, ImageInfo)
        assert (info.image_id, info.sha256, info.size) == ("a.jpg", hashlib.sha256(jpeg).hexdigest(), len(jpeg))
        with Image.open(io.BytesIO(jpeg)) as opened:
            assert (info.width, info.height) == opened.size
        assert info.added_at.tzinfo is not None and info.added_at >= before
        # The API copies by default: nothing is referenced.
        assert (info.reference, info.source, info.modified) == (False, None, None)
        with pytest.raises(errors.ImageNotFoundError):
            context.image_info("missing")

    def test_images_are_accepted_as_path_file_object_and_pil(self, context: SearchContext, tmp_path: Path) -> None:
        path = tmp_path / "on disk.png"
        path.write_bytes(photo_bytes(1))
        context.add_image("from-path", path)
        context.add_image("from-str-path", str(path))
        with path.open("rb") as handle:
            context.add_image("from-file", handle)
        context.add_image("from-pil", photo(2))
        assert context.get_image("from-path") == photo_bytes(1)
        assert context.get_image("from-file") == photo_bytes(1)
        stored = Image.open(io.BytesIO(context.get_image("from-pil")))
        assert np.array_equal(np.asarray(stored.convert("RGB")), np.asarray(photo(2)))

    def test_ids_may_be_relative_paths(self, context: SearchContext) -> None:
        context.add_image("holiday/2024/beach.png", photo_bytes(1))
        assert context.get_image("holiday/2024/beach.png") == photo_bytes(1)

    def test_adding_a_taken_id_fails_and_keeps_the_original(self, context: SearchContext) -> None:
        context.add_image("a", photo_bytes(1))
        with pytest.raises(errors.ImageExistsError, match="update_image"):
            context.add_image("a", photo_bytes(2))
        assert context.get_image("a") == photo_bytes(1)
        assert context.find_similar_images(image=photo_bytes(1), max_count=1)[0].image_id == "a"

    def test_update_replaces_bytes_and_features(self, context: SearchContext) -> None:
        context.add_image("a", photo_bytes(1))
        context.add_image("b", photo_bytes(3))
        context.update_image("a", photo_bytes(2))
        assert context.get_image("a") == photo_bytes(2)
        top = context.find_similar_images(image=photo_bytes(2), max_count=1)
        assert [result.image_id for result in top] == ["a"]
        assert "a" not in [r.image_id for r in context.find_similar_images(image=photo_bytes(1))]
        assert len(context) == 2

    def test_update_unknown_image_fails(self, context: SearchContext) -> None:
        with pytest.raises(errors.ImageNotFoundError):
            context.update_image("missing", photo_bytes(1))
        assert len(context) == 0

    def test_get_unknown_image_fails(self, context: SearchContext) -> None:
        with pytest.raises(errors.ImageNotFoundError):
            context.get_image("missing")

    def test_delete_removes_the_image_from_storage_and_search(self, gallery: SearchContext) -> None:
        gallery.delete_image("p1")
        with pytest.raises(errors.ImageNotFoundError):
            gallery.get_image("p1")
        assert "p1" not in gallery and len(gallery) == 5
        matches = gallery.find_similar_images(image=photo_bytes(1), threshold=0, max_count=10)
        assert "p1" not in [result.image_id for result in matches]
        gallery.add_image("p1", photo_bytes(1))  # the id is free again
        assert gallery.find_similar_images(image=photo_bytes(1), max_count=1)[0].image_id == "p1"

    def test_delete_unknown_image_fails(self, gallery: SearchContext) -> None:
        with pytest.raises(errors.ImageNotFoundError):
            gallery.delete_image("missing")
        assert len(gallery) == 6

    @pytest.mark.parametrize("case", sorted(BAD_IMAGES))
    def test_bad_image_is_refused_and_stores_nothing(self, gallery: SearchContext, case: str) -> None:
        data, error = BAD_IMAGES[case]
        before = {image_id: gallery.get_image(image_id) for image_id in gallery.image_ids()}
        with pytest.raises(error):
            gallery.add_image("bad", data)
        with pytest.raises(error):
            gallery.update_image("p0", data)
        with pytest.raises(error):
            gallery.find_similar_images(image=data)
        assert {image_id: gallery.get_image(image_id) for image_id in gallery.image_ids()} == before
        assert gallery.find_similar_images(image=photo_bytes(0), max_count=1)[0].image_id == "p0"

    def test_missing_file_is_a_source_not_found(self, context: SearchContext, tmp_path: Path) -> None:
        with pytest.raises(errors.SourceNotFoundError, match="no such file") as raised:
            context.add_image("a", tmp_path / "does-not-exist.jpg")
        assert isinstance(raised.value, FileNotFoundError)
        assert len(context) == 0

    @pytest.mark.parametrize("image_id", PATH_LIKE_IDS)
    def test_path_like_ids_are_refused(self, context: SearchContext, image_id: str) -> None:
        with pytest.raises(errors.InvalidIdError):
            context.add_image(image_id, photo_bytes(1))
        with pytest.raises(errors.InvalidIdError):
            context.get_image(image_id)
        assert len(context) == 0

    def test_non_string_id_is_refused(self, context: SearchContext) -> None:
        with pytest.raises(errors.InvalidIdError):
            context.add_image(42, photo_bytes(1))  # type: ignore[arg-type]
