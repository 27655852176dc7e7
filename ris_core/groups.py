"""Turning "these pairs are alike" into groups: connected components by union-find.

Every backend's ``find_duplicates`` returns connected components, so they share this.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, Protocol, TypeVar

__all__ = ["connected_groups"]


class _Sortable(Hashable, Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Sortable)


def connected_groups(edges: Iterable[tuple[K, K]], nodes: Iterable[K] = ()) -> list[list[K]]:
    """The connected components of two or more members that ``edges`` draw over
    ``nodes`` (plus every node an edge names), each sorted, ordered by first member."""
    parent: dict[K, K] = {node: node for node in nodes}

    def root(node: K) -> K:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]  # path halving keeps the trees shallow
            node = parent[node]
        return node

    for first, second in edges:
        a, b = root(first), root(second)
        if a != b:
            parent[max(a, b)] = min(a, b)
    components: dict[K, list[K]] = {}
    for node in parent:
        components.setdefault(root(node), []).append(node)
    return sorted((sorted(members) for members in components.values() if len(members) > 1), key=lambda m: m[0])
