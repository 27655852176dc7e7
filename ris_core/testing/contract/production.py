"""Contract: what the core adds on every backend: caching that is never stale,
statistics, batch ingest with metadata, export and import."""

from __future__ import annotations

from pathlib import Path

from ris_core.backend import Capability
from ris_core.context import SearchContext
from ris_core.system import ImageSearch
from ris_core.testing.contract.base import ContractBase, near_copy_bytes, photo_bytes


def _ids(context: SearchContext, seed: int) -> list[str]:
    return [r.image_id for r in context.find_similar_images(image=photo_bytes(seed), threshold=0, max_count=20)]


class ProductionContract(ContractBase):
    """Cache, statistics, batch ingest, export and import."""

    def test_repeated_searches_hit_the_cache_and_writes_invalidate_it(self, gallery: SearchContext) -> None:
        first = _ids(gallery, 1)
        hits = gallery.system.cache.hits
        assert _ids(gallery, 1) == first and gallery.system.cache.hits == hits + 1
        gallery.add_image("p1-copy", near_copy_bytes(1))
        assert "p1-copy" in _ids(gallery, 1)
        gallery.delete_image("p1")
        assert "p1" not in _ids(gallery, 1)
        gallery.update_image("p2", photo_bytes(1))
        assert "p2" in [r.image_id for r in gallery.find_similar_images(image=photo_bytes(1), threshold=100)]
        gallery.delete_features("p2")
        assert "p2" not in _ids(gallery, 1)

    def test_cached_results_cannot_be_changed_by_the_caller(self, gallery: SearchContext) -> None:
        gallery.set_metadata("p1", {"a": [1]})
        first = gallery.find_similar_images(image=photo_bytes(1), max_count=1)
        assert first[0].metadata is not None
        first[0].metadata["a"].append(2)
        again = gallery.find_similar_images(image=photo_bytes(1), max_count=1)
        assert again[0].metadata == {"a": [1]}

    def test_statistics_count_searches_queries_and_matches(self, gallery: SearchContext) -> None:
        gallery.create_collection("c", ["p1"])
        for _ in range(3):
            gallery.find_similar_images("p1", threshold=0, max_count=2)
        gallery.find_similar_images(image=photo_bytes(4), max_count=1)
        stats = gallery.stats()
        assert (stats.context, stats.images, stats.collections) == (gallery.name, 6, 1)
        assert stats.searches == {"find_similar_images": 4}
        assert stats.most_searched == (("p1", 3),)
        top_two = [r.image_id for r in gallery.find_similar_images("p1", threshold=0, max_count=2)]
        assert stats.most_matched == (*sorted((image_id, 3) for image_id in top_two), ("p4", 1))
        summary = stats.latency["find_similar_images"]
        assert summary.count == 4 and 0 <= summary.p50 <= summary.p90 <= summary.p99 <= summary.max
        assert stats.cache_hits == 2

    def test_batch_ingest_with_metadata(self, context: SearchContext) -> None:
        report = context.add_images(
            [("a", photo_bytes(1), {"k": 1}), ("b", photo_bytes(2), None), ("bad", b"not an image", {"k": 2})],
            progress=False,
        )
        assert report.summary() == {"added": 2, "updated": 0, "skipped": 0, "failed": 1}
        assert context.get_metadata("a") == {"k": 1} and context.get_metadata("b") == {}
        again = context.add_images([("a", photo_bytes(1), {"k": 3})], progress=False)
        assert again.summary()["skipped"] == 1 and context.get_metadata("a") == {"k": 3}

    def test_export_then_import_recreates_the_context(
        self, gallery: SearchContext, system: ImageSearch, tmp_path: Path
    ) -> None:
        gallery.set_metadata("p1", {"camera": "X100"})
        gallery.create_collection("pair", ["p1", "p2"])
        has_tags = Capability.TAGS in system.backend.capabilities
        if has_tags:
            gallery.create_tag("four", photo_bytes(4))
        for target in (tmp_path / "export", tmp_path / "export.tar.gz"):
            gallery.export(target)
            copy, report = system.import_context(target, name=f"copy-{target.suffix or 'dir'}")
            assert report.summary()["added"] == 6 and not report.failed
            assert copy.image_ids() == gallery.image_ids()
            assert copy.get_image("p3") == gallery.get_image("p3")
            assert copy.get_metadata("p1") == {"camera": "X100"}
            assert copy.collection_images("pair") == ["p1", "p2"]
            assert _ids(copy, 2)[0] == "p2"
            if has_tags:
                assert [r.image_id for r in copy.find_images_by_tags("four")] == ["p4"]
            again, report = system.import_context(target, name=copy.name)
            assert report.summary()["skipped"] == 6 and len(again) == 6
