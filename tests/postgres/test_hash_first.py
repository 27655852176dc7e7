"""Hashes-first queries on the PostgreSQL store: the same results as a search from each
query's whole blob, and a hash-settled query extracts no keypoints (issue 18)."""

from __future__ import annotations

import ris_core
from ris_core.testing.images import photo
from ris_local.robust import RobustEngine
from tests.local.test_hash_first import WholeQueries, fill, hash_first_queries, jpeg, search_all


def test_hashes_first_on_postgresql_gives_the_whole_extractions_results(postgres_url: str) -> None:
    fill(postgres_url)
    queries = hash_first_queries()
    for limits in ({}, {"max_count": 1}):
        staged, stats = search_all(postgres_url, RobustEngine(), queries, **limits)
        whole, _ = search_all(postgres_url, WholeQueries(), queries, **limits)
        assert staged == whole
        assert 0 < stats.hash_settled < stats.staged_queries == len(queries)
    with ris_core.open("local", database=postgres_url) as system:
        [hit] = system.context("c").find_similar_images(image=jpeg(photo(6, (400, 300))), max_count=1)
        stats = system.backend.extraction_statistics()  # type: ignore[attr-defined]
    assert hit.image_id == "p6" and stats.hash_settled == 1 and stats.extractions == 0
