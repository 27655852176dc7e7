"""Exact answers from a service that can only return "the best N above a threshold".

The imageSearch API cannot exclude the query image, restrict results to a set of ids,
or break ties by id. :func:`top_matches` gets the exact answer anyway: it asks for a
little more than needed and, when the answer may have been cut short, asks again for
more. It relies on one property of the service: an answer truncated to ``maxCount``
holds the best matches, so every match scoring *strictly above* the lowest score
returned is present; only ties at that lowest score may be missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

__all__ = ["Match", "merge_best", "rank", "top_matches"]

logger = logging.getLogger("ris_aspose")

#: (ris image id, similarity 0..100)
Match = tuple[str, float]
#: Asks the service: (threshold, max count) -> matches, ids already mapped (None: not ours).
Fetch = Callable[[float, int], list[tuple[str | None, float]]]

_GROWTH = 4


def rank(matches: Iterable[Match]) -> list[Match]:
    """Best first, ties by id."""
    return sorted(matches, key=lambda match: (-match[1], match[0]))


def top_matches(
    fetch: Fetch,
    threshold: float,
    max_count: int,
    keep: Callable[[str], bool],
    first_limit: int,
    max_limit: int,
) -> list[Match]:
    """The best ``max_count`` matches that ``keep`` accepts, ties by id, exactly.

    Starts by asking for ``first_limit`` results and grows the request (up to
    ``max_limit``) while the service's answer was full and too few kept results score
    strictly above its lowest score. If even ``max_limit`` is not enough, the answer
    is the best found and a warning says so.
    """
    limit = max(1, min(first_limit, max_limit))
    while True:
        raw = fetch(threshold, limit)
        kept = rank((image_id, score) for image_id, score in raw if image_id is not None and keep(image_id))
        if len(raw) < limit:  # not truncated: the service returned everything
            return kept[:max_count]
        floor = min(score for _, score in raw)
        certain = [match for match in kept if match[1] > floor]
        if len(certain) >= max_count:
            return certain[:max_count]
        if limit >= max_limit:
            logger.warning(
                "the service returned its maximum of %d results; ties at similarity %.3f may "
                "be incomplete (raise the max_fetch option)",
                limit,
                floor,
            )
            return kept[:max_count]
        limit = min(limit * _GROWTH, max_limit)


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
