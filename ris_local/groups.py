"""Turning "these pairs are alike" into groups: connected components by union-find."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["group_pairs"]


def group_pairs(pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """The connected components (of two or more keys) of the graph the pairs draw."""
    parent: dict[int, int] = {}

    def root(key: int) -> int:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]  # path halving keeps the trees shallow
            key = parent[key]
        return key

    for first, second in pairs:
        a, b = root(first), root(second)
        if a != b:
            parent[max(a, b)] = min(a, b)
    components: dict[int, list[int]] = {}
    for key in parent:
        components.setdefault(root(key), []).append(key)
    return [sorted(members) for members in components.values() if len(members) > 1]
