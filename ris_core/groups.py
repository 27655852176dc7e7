"""Turning "these pairs are alike" into groups: connected components by union-find,
and each member's link to its group.

Every backend's ``find_duplicates`` returns connected components, so they share this.
A member's score in its group is its strongest link: the best-scoring pair it is in
(an edge of the group's maximum spanning tree, so at or above the threshold the group
was made at), never a direct score to the first member, which a member joined through
a chain can fall far below.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, Protocol, TypeVar

__all__ = ["connected_groups", "strongest_links"]


class _Sortable(Hashable, Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Sortable)
S = TypeVar("S")


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


def strongest_links(edges: Iterable[tuple[K, K, S]], score: Callable[[S], float]) -> dict[K, tuple[K, S]]:
    """Each node's best edge: ``node -> (the other end, the edge's score)``, highest
    ``score(...)`` first, ties to the smaller other end, so the answer is stable."""
    best: dict[K, tuple[K, S]] = {}
    for first, second, value in edges:
        for node, other in ((first, second), (second, first)):
            held = best.get(node)
            if held is None or (score(value), _Reverse(other)) > (score(held[1]), _Reverse(held[0])):
                best[node] = (other, value)
    return best


class _Reverse:
    """Orders the wrapped key backwards, so a max picks the smallest key on a tie."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: _Reverse) -> bool:
        return bool(other.key < self.key)

    def __gt__(self, other: _Reverse) -> bool:
        return bool(self.key < other.key)
