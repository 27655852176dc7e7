"""Contract: find similar (by id and by data), find duplicates, compare, and limits."""

from __future__ import annotations

import functools
import math

import pytest

from ris_core import errors
from ris_core.backend import Capability
from ris_core.context import SearchContext
from ris_core.models import SearchResult
from ris_core.testing.contract.base import ContractBase, near_copy_bytes, photo_bytes

BAD_THRESHOLDS = [-1, -0.001, 100.5, 1000, math.nan, math.inf, "50", True]
BAD_COUNTS = [0, -1, 1.5, "3", True]


def _check_ranked(results: list[SearchResult], threshold: float, max_count: int) -> None:
    """Results are well formed, at or above the threshold, best first, within the count."""
    assert len(results) <= max_count
    for result in results:
        assert 0.0 <= result.similarity <= 100.0
        assert result.similarity >= threshold
        assert isinstance(result.distance, float)
        assert result.method
    keys = [(-result.similarity, result.image_id) for result in results]
    assert keys == sorted(keys), "results must be best first, ties by id"


class SearchContract(ContractBase):
    """Searching."""

    def test_near_copy_finds_its_original_first(self, gallery: SearchContext) -> None:
        for seed in range(6):
            results = gallery.find_similar_images(image=near_copy_bytes(seed))
            assert results, f"the near copy of p{seed} found nothing at the default threshold"
            assert results[0].image_id == f"p{seed}"
            _check_ranked(results, gallery.system.backend.default_threshold, 10)

    def test_unrelated_images_stay_below_the_default_threshold(self, gallery: SearchContext) -> None:
        results = gallery.find_similar_images(image=photo_bytes(40))
        assert results == []

    def test_search_by_stored_id_excludes_the_query_itself(self, gallery: SearchContext) -> None:
        gallery.add_image("p2-copy", near_copy_bytes(2))
        results = gallery.find_similar_images("p2")
        assert [result.image_id for result in results] == ["p2-copy"]
        everything = gallery.find_similar_images("p2", threshold=0, max_count=100)
        assert "p2" not in [result.image_id for result in everything]
        assert len(everything) == 6

    def test_threshold_and_max_count_bound_the_results(self, gallery: SearchContext) -> None:
        everything = gallery.find_similar_images(image=photo_bytes(0), threshold=0, max_count=100)
        _check_ranked(everything, 0, 100)
        assert {result.image_id for result in everything} == {f"p{seed}" for seed in range(6)}
        assert everything[0].image_id == "p0" and everything[0].similarity == pytest.approx(100, abs=1e-6)
        two = gallery.find_similar_images(image=photo_bytes(0), threshold=0, max_count=2)
        assert two == everything[:2]
        middle = everything[2].similarity
        above = gallery.find_similar_images(image=photo_bytes(0), threshold=middle, max_count=100)
        assert [r.image_id for r in above] == [r.image_id for r in everything if r.similarity >= middle]

    def test_threshold_100_keeps_only_identical_images(self, gallery: SearchContext) -> None:
        results = gallery.find_similar_images(image=photo_bytes(3), threshold=100)
        assert [result.image_id for result in results] == ["p3"]

    def test_empty_context_finds_nothing(self, context: SearchContext) -> None:
        assert context.find_similar_images(image=photo_bytes(1), threshold=0) == []

    @pytest.mark.parametrize("threshold", BAD_THRESHOLDS)
    def test_bad_threshold_is_refused(self, gallery: SearchContext, threshold: object) -> None:
        with pytest.raises(errors.InvalidThresholdError):
            gallery.find_similar_images("p1", threshold=threshold)  # type: ignore[arg-type]

    @pytest.mark.parametrize("max_count", BAD_COUNTS)
    def test_bad_max_count_is_refused(self, gallery: SearchContext, max_count: object) -> None:
        with pytest.raises(errors.InvalidCountError):
            gallery.find_similar_images("p1", max_count=max_count)  # type: ignore[arg-type]

    def test_query_needs_exactly_one_of_id_and_data(self, gallery: SearchContext) -> None:
        with pytest.raises(errors.InvalidArgumentError):
            gallery.find_similar_images()
        with pytest.raises(errors.InvalidArgumentError):
            gallery.find_similar_images("p1", image=photo_bytes(1))

    def test_unknown_query_id_fails(self, gallery: SearchContext) -> None:
        with pytest.raises(errors.ImageNotFoundError):
            gallery.find_similar_images("missing")

    # --- duplicates ----------------------------------------------------------------

    def test_find_duplicates_groups_near_copies(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.DUPLICATES)
        gallery.add_image("p1-copy", near_copy_bytes(1))
        gallery.add_image("p4-copy", near_copy_bytes(4))
        gallery.add_image("p4-copy2", photo_bytes(4, "JPEG"))
        groups = gallery.find_duplicates()
        assert [group.image_ids for group in groups] == [("p1", "p1-copy"), ("p4", "p4-copy", "p4-copy2")]
        threshold = gallery.system.backend.duplicate_threshold
        for group in groups:
            # Each member shows its link to the group, which made it a member.
            assert all(threshold <= result.similarity <= 100 and result.method for result in group.images)
            if group.links:
                assert len(group.links) == len(group.images)
                assert all(
                    link in group.image_ids and link != image_id
                    for image_id, link in zip(group.image_ids, group.links, strict=True)
                )

    def test_find_duplicates_reports_progress_monotonically(self, gallery: SearchContext) -> None:
        """Every backend accepts a progress callback; what it reports never goes back,
        keeps one total, and ends done (the core says ``(1, 1)`` for a backend that
        cannot tell, and for an answer from the cache)."""
        self.require(gallery.system, Capability.DUPLICATES)
        gallery.add_image("p1-copy", near_copy_bytes(1))
        for _ in range(2):  # computed, then from the cache
            calls: list[tuple[int, int]] = []
            groups = gallery.find_duplicates(progress=functools.partial(_record, calls))
            assert [group.image_ids for group in groups] == [("p1", "p1-copy")]
            assert calls, "progress was never called"
            assert len({total for _, total in calls}) == 1, f"the total changed: {calls}"
            assert [done for done, _ in calls] == sorted(done for done, _ in calls), f"progress went back: {calls}"
            assert all(0 <= done <= total for done, total in calls)
            assert calls[-1][0] == calls[-1][1], f"progress did not end done: {calls}"

    def test_find_duplicates_without_duplicates_is_empty(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.DUPLICATES)
        assert gallery.find_duplicates() == []

    def test_find_duplicates_at_threshold_zero_groups_everything(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.DUPLICATES)
        groups = gallery.find_duplicates(threshold=0)
        assert [group.image_ids for group in groups] == [tuple(f"p{seed}" for seed in range(6))]

    @pytest.mark.parametrize("threshold", BAD_THRESHOLDS)
    def test_find_duplicates_refuses_bad_thresholds(self, gallery: SearchContext, threshold: object) -> None:
        self.require(gallery.system, Capability.DUPLICATES)
        with pytest.raises(errors.InvalidThresholdError):
            gallery.find_duplicates(threshold=threshold)  # type: ignore[arg-type]

    # --- compare -------------------------------------------------------------------

    def test_compare_two_stored_images(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.COMPARE)
        gallery.add_image("p1-copy", near_copy_bytes(1))
        alike = gallery.compare_images("p1", "p1-copy")
        unlike = gallery.compare_images("p1", "p2")
        assert (alike.image_id, alike.other_id) == ("p1", "p1-copy")
        assert alike.similarity >= gallery.system.backend.default_threshold > unlike.similarity
        assert alike.method and isinstance(alike.distance, float)
        assert gallery.compare_images("p1-copy", "p1").similarity == pytest.approx(alike.similarity, abs=1.0)

    def test_compare_stored_image_with_new_data(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.COMPARE)
        same = gallery.compare_images("p3", other_image=photo_bytes(3))
        assert same.other_id is None
        assert same.similarity == pytest.approx(100, abs=1e-6)
        assert gallery.compare_images("p3", other_image=photo_bytes(5)).similarity < same.similarity

    def test_compare_unknown_images_fails(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.COMPARE)
        with pytest.raises(errors.ImageNotFoundError):
            gallery.compare_images("missing", "p1")
        with pytest.raises(errors.ImageNotFoundError):
            gallery.compare_images("p1", "missing")
        with pytest.raises(errors.InvalidArgumentError):
            gallery.compare_images("p1")


def _record(calls: list[tuple[int, int]], done: int, total: int) -> None:
    calls.append((done, total))
