"""Exact answers from a service whose cut-off cannot be trusted.

The imageSearch API cannot exclude the query image, restrict results to a set of ids,
or break ties by id, and its matcher (``randomBinaryTree``) is approximate by name: an
answer truncated to ``maxCount`` need not hold the best ``maxCount`` matches. So ris
never relies on the service's cut. :func:`best_matches` asks once for everything above
the threshold (up to the ``max_fetch`` option) and ranks and cuts the answer itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

__all__ = ["Match", "best_matches", "merge_best", "rank"]

logger = logging.getLogger("ris_aspose")

#: (ris image id, similarity 0..100)
Match = tuple[str, float]
#: Asks the service: (threshold, max count) -> matches, ids already mapped (None: not ours).
Fetch = Callable[[float, int], list[tuple[str | None, float]]]


def rank(matches: Iterable[Match]) -> list[Match]:
    """Best first, ties by id."""
    return sorted(matches, key=lambda match: (-match[1], match[0]))


def best_matches(
    fetch: Fetch, threshold: float, max_count: int, keep: Callable[[str], bool], limit: int
) -> list[Match]:
    """The best ``max_count`` matches that ``keep`` accepts, ties by id, from one request
    for up to ``limit`` results. An answer that fills ``limit`` may miss matches, and
    a warning says so."""
    raw = fetch(threshold, limit)
    if len(raw) >= limit:
        logger.warning(
            "the service returned the %d results asked for; lower-scoring matches may be missing "
            "(raise the max_fetch option)",
            limit,
        )
    return rank((image_id, score) for image_id, score in raw if image_id is not None and keep(image_id))[:max_count]


def merge_best(result_lists: Iterable[list[Match]], max_count: int) -> list[Match]:
    """Each image once, scored by its best match in any list, ranked and cut.

    Exact when every list is the exact top ``max_count`` of its own query: an image in
    the merged top ``max_count`` is in the top ``max_count`` of the list it scored best in.
    """
    best: dict[str, float] = {}
    for matches in result_lists:
        for image_id, score in matches:
            if score > best.get(image_id, -1.0):
                best[image_id] = score
    return rank(best.items())[:max_count]
