"""``ris stats``: what a context holds and how it has been searched."""

from __future__ import annotations

from typing import Any

from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import echo, emit, format_table, json_option
from ris_core.models import ContextStats

__all__ = ["format_stats", "stats", "stats_json"]


def stats_json(found: ContextStats) -> dict[str, Any]:
    """The ``--json`` shape: latencies in milliseconds, top lists as objects."""
    return {
        "context": found.context,
        "backend": found.backend,
        "images": found.images,
        "tags": found.tags,
        "collections": found.collections,
        "searches": dict(found.searches),
        "cache_hits": found.cache_hits,
        "dropped": found.dropped,
        "latency_ms": {
            operation: {
                "count": s.count,
                "mean": s.mean * 1000,
                "p50": s.p50 * 1000,
                "p90": s.p90 * 1000,
                "p99": s.p99 * 1000,
                "max": s.max * 1000,
            }
            for operation, s in found.latency.items()
        },
        "most_searched": [{"image_id": image_id, "count": count} for image_id, count in found.most_searched],
        "most_matched": [{"image_id": image_id, "count": count} for image_id, count in found.most_matched],
    }


def format_stats(found: ContextStats) -> list[str]:
    """The statistics as lines of text for people."""
    total = sum(found.searches.values())
    lines = [
        f"context {found.context!r} on {found.backend}: {found.images} images, {found.tags} tags, "
        f"{found.collections} collections",
        f"{total} searches, {found.cache_hits} answered from the cache",
    ]
    if found.dropped:
        lines.append(
            f"{found.dropped} more searches of this process are not counted: their statistics could not be "
            "written (the database is read-only, full or was locked too long)"
        )
    if found.latency:
        lines.append("")
        lines.extend(
            format_table(
                ["operation", "searches", "mean ms", "p50 ms", "p90 ms", "p99 ms", "max ms"],
                [
                    (
                        operation,
                        found.searches.get(operation, s.count),
                        f"{s.mean * 1000:.2f}",
                        f"{s.p50 * 1000:.2f}",
                        f"{s.p90 * 1000:.2f}",
                        f"{s.p99 * 1000:.2f}",
                        f"{s.max * 1000:.2f}",
                    )
                    for operation, s in sorted(found.latency.items())
                ],
            )
        )
    for title, top in (("most searched", found.most_searched), ("most matched", found.most_matched)):
        if top:
            lines.append(f"{title}: " + ", ".join(f"{image_id} ({count})" for image_id, count in top))
    return lines


@cli.command()
@json_option
@pass_state
def stats(state: CliState, as_json: bool) -> None:
    """Counts, searches, latencies and search analytics.

    Images, tags and collections; searches per operation and their mean and
    percentile latencies (ms); the most searched and most matched images; cache
    hits; searches whose statistics could not be written (a read-only database).
    """
    found = state.context().stats()
    if as_json:
        emit(stats_json(found))
    else:
        for line in format_stats(found):
            echo(line)
