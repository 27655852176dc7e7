"""What scoring derives from one picture's arrays, remembered while those arrays live.

A pair's evidence is a function of the two pictures alone (:mod:`ris_local.scoring.gather`),
but much of the work is one side's: the sorted words and unpacked positions of the keypoints
a verification looks up, a thumbnail's float copy, its half-size templates at every scale.
``find_duplicates`` scores each picture in several pairs, and a search scores one query
against every candidate, so that work is done once per picture and looked up after.

The memo is keyed on the *identity* of the array (or keypoint set) it was derived from,
with a weak reference to it: a hit needs the very same object, still alive, so a value
can never be served for another picture (an ``id`` reused after an object died misses).
The features it is used on are never changed after they are made (``Features`` is a
frozen record, and blobs decode to read-only views), so a remembered value is what the
computation would give again, bit for bit. It holds at most ``size`` entries (least
recently used first out), so its memory does not grow with the collection.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

__all__ = ["Memo"]

T = TypeVar("T")


class Memo:
    """A bounded, thread-safe cache of values derived from live objects (by identity)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[int, Hashable], tuple[weakref.ref[object], object]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, owner: object, tag: Hashable, make: Callable[[], T]) -> T:
        """The value ``make()`` gives for ``owner`` (and ``tag``), made on the first ask;
        ``owner`` must support weak references (numpy arrays and plain objects do)."""
        key = (id(owner), tag)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0]() is owner:
                self._entries.move_to_end(key)
                return entry[1]  # type: ignore[return-value]
        value = make()
        with self._lock:
            self._entries[key] = (weakref.ref(owner), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value
