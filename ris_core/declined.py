"""Duplicate groups with the pairs a person declined ("not a duplicate") cut apart.

A backend groups images by connected components, so one declined pair inside a group
of three may still be joined through the third image. Cutting the declined edge is
therefore not enough: :func:`cut_declined` re-draws the group's links without it, and
then makes sure no two images of a declined pair share a group, whatever joins them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from itertools import combinations

from ris_core.groups import connected_groups

__all__ = ["cut_declined"]


def cut_declined(
    members: Sequence[str], declined: Collection[frozenset[str]], linked: Callable[[str, str], bool]
) -> list[list[str]]:
    """The groups (two or more members, each sorted) left of one duplicate group.

    ``linked(a, b)`` says whether two members are alike enough to be grouped;
    ``declined`` holds the pairs that must never share a group.
    """
    edges = [(a, b) for a, b in combinations(sorted(members), 2) if frozenset((a, b)) not in declined and linked(a, b)]
    groups: list[list[str]] = []
    for component in connected_groups(edges):
        groups.extend(_apart(component, declined, {frozenset(edge) for edge in edges}))
    return sorted((group for group in groups if len(group) > 1), key=lambda group: group[0])


def _apart(component: list[str], declined: Collection[frozenset[str]], edges: set[frozenset[str]]) -> list[list[str]]:
    # Greedy in id order: each image joins the first group it links to and has no
    # declined pair in, else starts its own. Deterministic, and never joins a declined pair.
    groups: list[list[str]] = []
    for image in component:
        for group in groups:
            clash = any(frozenset((image, other)) in declined for other in group)
            if not clash and any(frozenset((image, other)) in edges for other in group):
                group.append(image)
                break
        else:
            groups.append([image])
    return groups
