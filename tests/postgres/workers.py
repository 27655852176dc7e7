"""The processes the multi-process tests start: ingest workers and searchers on one database.

Run as ``python workers.py ingest URL CONTEXT ACKS FIRST COUNT`` or ``python workers.py
search URL CONTEXT COUNT``. An ingest worker adds the photos ``p0`` ... in an order that
starts at FIRST, and appends each id to ACKS (flushed and synced) only once ris has
reported it: an acknowledged image.
"""

from __future__ import annotations

import os
import sys

import ris_core
from ris_core.testing.contract.base import photo_bytes


def ingest(url: str, context_name: str, acks: str, first: int, count: int) -> None:
    """Add every photo, one item at a time, acknowledging each as ris reports it."""
    order = [(first + step) % count for step in range(count)]
    with ris_core.open("local", database=url) as system, open(acks, "a", encoding="utf-8") as ack:
        context = system.context(context_name)
        for seed in order:
            # One thread, no extraction pool: a one-item batch would start (and stop) a
            # pool of one process per core for each photo, which is most of a worker's time.
            report = context.add_images([(f"p{seed}", photo_bytes(seed))], workers=1, progress=False)
            for item in report.items:
                if item.status.value in ("added", "skipped", "updated"):
                    ack.write(item.image_id + "\n")
                    ack.flush()
                    os.fsync(ack.fileno())


def search(url: str, context_name: str, count: int) -> None:
    """Search for every photo over and over; a wrong hit or an error ends the process with 1."""
    with ris_core.open("local", database=url) as system:
        context = system.context(context_name)
        while True:
            for seed in range(count):
                results = context.find_similar_images(image=photo_bytes(seed), max_count=3)
                if results and results[0].image_id not in {f"p{s}" for s in range(count)}:
                    sys.exit(1)


if __name__ == "__main__":
    kind, url, name, *rest = sys.argv[1:]
    if kind == "ingest":
        ingest(url, name, rest[0], int(rest[1]), int(rest[2]))
    else:
        search(url, name, int(rest[0]))
