"""A bounded cache of search results that can never serve a stale answer.

Every entry remembers the generation of its context (a counter in the catalog that every
write advances, in whichever process it happens). A lookup passes the current
generation; an entry from an older one is a miss and is dropped. So the cache is
correct across writes and across processes sharing one database, and needs no explicit
invalidation. Least recently used entries go first when it is full.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

__all__ = ["MISSING", "SearchCache"]

#: Returned by :meth:`SearchCache.get` on a miss (None can be a cached value).
MISSING: Any = object()


class SearchCache:
    """Least-recently-used results, keyed by query and tagged with a generation."""

    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be >= 0 (0 turns the cache off)")
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, generation: int) -> Any:
        """A copy of the value cached under ``key`` at ``generation``, or MISSING."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != generation:
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
                return MISSING
            self._entries.move_to_end(key)
            self.hits += 1
            value = entry[1]
        # A copy, so a caller editing a result's metadata cannot change the cache.
        return copy.deepcopy(value)

    def put(self, key: Hashable, generation: int, value: Any) -> None:
        """Cache a copy of ``value`` under ``key`` as of ``generation``."""
        if self.max_entries == 0:
            return
        stored = copy.deepcopy(value)
        with self._lock:
            self._entries[key] = (generation, stored)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
