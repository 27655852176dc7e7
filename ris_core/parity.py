"""Parity: run one workload against two backends and report where they agree.

The workload is a folder of images and a set of query images. Both backends index the
same images (an image either one refuses is left out of both), answer every query with
a full ranking (threshold 0, every image), and group duplicates at their own calibrated
threshold (or one given). The report compares, per query, the top match, the overlap of
the top ``k`` and Spearman's rank correlation of the similarities over every image both
ranked; then the duplicate groups; and lists the queries where the backends disagree.

::

    with ris_core.open("local") as local, ris_core.open("aspose", ...) as cloud:
        report = compare_backends(local, cloud, "photos/", "queries/", k=10)
    print(report.format())

Any two backends work, third-party ones included; ``ris parity`` is the same on the
command line. Spearman is computed with numpy (average ranks for ties, then Pearson).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ris_core.backend import Capability
from ris_core.context import SearchContext
from ris_core.errors import InvalidArgumentError, RisError
from ris_core.ingest import collect_files
from ris_core.models import SearchResult
from ris_core.system import ImageSearch

__all__ = ["DuplicateParity", "ParityReport", "QueryParity", "compare_backends", "spearman"]

Source = str | os.PathLike[str]


@dataclass(frozen=True)
class QueryParity:
    """How the two backends answered one query.

    ``top_a``/``top_b`` are the ids of the best ``k`` matches; ``overlap`` is the share
    of ids in both (out of ``k``, or of every image when there are fewer); ``spearman``
    is None when fewer than two images were ranked by both or a ranking is constant.
    ``error`` says why the query could not be compared (it is then left out of the means).
    """

    query: str
    top_a: tuple[str, ...]
    top_b: tuple[str, ...]
    overlap: float
    spearman: float | None
    error: str | None = None

    @property
    def top1_agrees(self) -> bool:
        """Both backends put the same image first (or both found nothing)."""
        return self.top_a[:1] == self.top_b[:1]

    @property
    def agrees(self) -> bool:
        """Same top match and the same top ``k``, and no error."""
        return self.error is None and self.top1_agrees and set(self.top_a) == set(self.top_b)


@dataclass(frozen=True)
class DuplicateParity:
    """The duplicate groups of each backend, as sets of ids, and those in common."""

    threshold_a: float
    threshold_b: float
    only_a: tuple[tuple[str, ...], ...]
    only_b: tuple[tuple[str, ...], ...]
    common: tuple[tuple[str, ...], ...]

    @property
    def groups_a(self) -> int:
        """How many groups backend A found."""
        return len(self.only_a) + len(self.common)

    @property
    def groups_b(self) -> int:
        """How many groups backend B found."""
        return len(self.only_b) + len(self.common)


@dataclass(frozen=True)
class ParityReport:
    """Everything :func:`compare_backends` measured; :meth:`format` prints it."""

    backend_a: str
    backend_b: str
    images: int
    k: int
    queries: tuple[QueryParity, ...]
    duplicates: DuplicateParity | None
    skipped_images: Mapping[str, str] = field(default_factory=dict)

    @property
    def compared(self) -> tuple[QueryParity, ...]:
        """The queries both backends answered."""
        return tuple(query for query in self.queries if query.error is None)

    @property
    def top1_agreement(self) -> float | None:
        """Share of compared queries whose top match is the same."""
        compared = self.compared
        return sum(query.top1_agrees for query in compared) / len(compared) if compared else None

    @property
    def mean_overlap(self) -> float | None:
        """Mean top-``k`` overlap over the compared queries."""
        compared = self.compared
        return float(np.mean([query.overlap for query in compared])) if compared else None

    @property
    def mean_spearman(self) -> float | None:
        """Mean rank correlation over the queries where it is defined."""
        values = [query.spearman for query in self.compared if query.spearman is not None]
        return float(np.mean(values)) if values else None

    @property
    def disagreements(self) -> tuple[QueryParity, ...]:
        """The queries where the top match or the top ``k`` differ, or a search failed."""
        return tuple(query for query in self.queries if not query.agrees)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary with every query."""
        duplicates = None
        if self.duplicates is not None:
            d = self.duplicates
            duplicates = {
                "threshold_a": d.threshold_a,
                "threshold_b": d.threshold_b,
                "groups_a": d.groups_a,
                "groups_b": d.groups_b,
                "common": [list(g) for g in d.common],
                "only_a": [list(g) for g in d.only_a],
                "only_b": [list(g) for g in d.only_b],
            }
        return {
            "backend_a": self.backend_a,
            "backend_b": self.backend_b,
            "images": self.images,
            "k": self.k,
            "top1_agreement": self.top1_agreement,
            "mean_overlap": self.mean_overlap,
            "mean_spearman": self.mean_spearman,
            "duplicates": duplicates,
            "queries": [
                {
                    "query": q.query,
                    "top_a": list(q.top_a),
                    "top_b": list(q.top_b),
                    "overlap": q.overlap,
                    "spearman": q.spearman,
                    "agrees": q.agrees,
                    "error": q.error,
                }
                for q in self.queries
            ],
            "disagreements": [q.query for q in self.disagreements],
            "skipped_images": dict(self.skipped_images),
        }

    def format(self) -> str:
        """The report as text for a terminal."""
        a, b = self.backend_a, self.backend_b
        compared = len(self.compared)
        lines = [f"Parity of {a} and {b}: {self.images} images, {len(self.queries)} queries, k={self.k}"]
        top1 = self.top1_agreement
        agreeing = sum(query.top1_agrees for query in self.compared)
        lines.append(
            f"  top-1 agreement    {_share(agreeing, compared)}"
            if top1 is not None
            else "  top-1 agreement    n/a (no query answered by both)"
        )
        lines.append(f"  {f'top-{self.k} overlap':<19}{_number(self.mean_overlap)} (mean)")
        lines.append(f"  Spearman rho       {_number(self.mean_spearman)} (mean of similarities' rank correlation)")
        if self.duplicates is not None:
            d = self.duplicates
            lines.append(f"  duplicate groups   {a}: {d.groups_a}, {b}: {d.groups_b}, in common: {len(d.common)}")
            lines += [f"    only {a}: {', '.join(group)}" for group in d.only_a]
            lines += [f"    only {b}: {', '.join(group)}" for group in d.only_b]
        else:
            lines.append("  duplicate groups   n/a (a backend does not offer find_duplicates)")
        if self.disagreements:
            lines.append("Queries where they disagree:")
            lines += [f"  {_describe(query, a, b)}" for query in self.disagreements]
        else:
            lines.append("They agree on every query.")
        if self.skipped_images:
            lines.append(f"Images left out ({len(self.skipped_images)}):")
            lines += [f"  {image_id}: {reason}" for image_id, reason in sorted(self.skipped_images.items())]
        return "\n".join(lines)


def compare_backends(
    system_a: ImageSearch,
    system_b: ImageSearch,
    images_folder: Source,
    queries: Source | Sequence[Source],
    k: int = 10,
    *,
    duplicate_threshold: float | None = None,
    context_name: str | None = None,
    keep: bool = False,
) -> ParityReport:
    """Run the workload against both systems and compare the answers.

    ``queries`` is a file, a folder or a list of them. A fresh context named
    ``context_name`` (default ``parity-<random>``) is created in each system and
    deleted afterwards unless ``keep``. ``duplicate_threshold`` None means each
    backend's own calibrated default. Raises SourceNotFoundError for a missing path
    and InvalidArgumentError when there are no images or no queries, or ``k < 1``.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidArgumentError(f"k must be a positive integer, got {k!r}")
    images = collect_files([images_folder])
    query_sources = [queries] if isinstance(queries, str | os.PathLike) else list(queries)
    query_files = collect_files(query_sources)
    if not images or not query_files:
        raise InvalidArgumentError("parity needs at least one image and one query image")
    name = context_name or f"parity-{uuid.uuid4().hex[:12]}"
    context_a = system_a.create_context(name)
    try:
        context_b = system_b.create_context(name)
        try:
            return _run(context_a, context_b, images, query_files, k, duplicate_threshold)
        finally:
            if not keep:
                system_b.delete_context(name)
    finally:
        if not keep:
            system_a.delete_context(name)


def spearman(first: Sequence[float], second: Sequence[float]) -> float | None:
    """Spearman's rank correlation of two paired samples (ties get average ranks);
    None for fewer than two pairs or when either sample is constant."""
    if len(first) != len(second):
        raise ValueError("spearman needs two samples of the same length")
    if len(first) < 2:
        return None
    ranks_a, ranks_b = _average_ranks(np.asarray(first, float)), _average_ranks(np.asarray(second, float))
    if np.ptp(ranks_a) == 0 or np.ptp(ranks_b) == 0:
        return None
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def _average_ranks(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_ranks = (ends - counts + ends - 1) / 2.0  # 0-based ranks of each tie block, averaged
    return np.asarray(mean_ranks[inverse], dtype=np.float64)


def _run(
    context_a: SearchContext,
    context_b: SearchContext,
    images: list[tuple[str, Path]],
    query_files: list[tuple[str, Path]],
    k: int,
    duplicate_threshold: float | None,
) -> ParityReport:
    skipped = _index_both(context_a, context_b, images)
    indexed = len(images) - len(skipped)
    results = [_query(context_a, context_b, name, path, k, indexed) for name, path in query_files]
    label_a, label_b = _labels(context_a.system.backend_name, context_b.system.backend_name)
    return ParityReport(
        label_a, label_b, indexed, k, tuple(results), _duplicates(context_a, context_b, duplicate_threshold), skipped
    )


def _index_both(context_a: SearchContext, context_b: SearchContext, images: list[tuple[str, Path]]) -> dict[str, str]:
    """Add every image to both contexts; one refused by either is removed from both."""
    skipped: dict[str, str] = {}
    for image_id, path in images:
        added: list[SearchContext] = []
        for context in (context_a, context_b):
            try:
                context.add_image(image_id, path)
                added.append(context)
            except RisError as exc:
                skipped[image_id] = f"{context.system.backend_name}: {type(exc).__name__}: {exc}"
                break
        if image_id in skipped:
            for context in added:
                context.delete_image(image_id)
    return skipped


def _query(
    context_a: SearchContext, context_b: SearchContext, name: str, path: Path, k: int, indexed: int
) -> QueryParity:
    rankings: list[list[SearchResult]] = []
    for context in (context_a, context_b):
        try:
            rankings.append(context.find_similar_images(image=path, threshold=0, max_count=max(indexed, 1)))
        except RisError as exc:
            return QueryParity(name, (), (), 0.0, None, f"{context.system.backend_name}: {type(exc).__name__}: {exc}")
    ranked_a, ranked_b = rankings
    top_a = tuple(result.image_id for result in ranked_a[:k])
    top_b = tuple(result.image_id for result in ranked_b[:k])
    overlap = len(set(top_a) & set(top_b)) / max(1, min(k, indexed))
    scores_b = {result.image_id: result.similarity for result in ranked_b}
    common = [(result.similarity, scores_b[result.image_id]) for result in ranked_a if result.image_id in scores_b]
    rho = spearman([a for a, _ in common], [b for _, b in common])
    return QueryParity(name, top_a, top_b, overlap, rho)


def _duplicates(context_a: SearchContext, context_b: SearchContext, threshold: float | None) -> DuplicateParity | None:
    backends = (context_a.system.backend, context_b.system.backend)
    if not all(Capability.DUPLICATES in backend.capabilities for backend in backends):
        return None
    levels = [backend.duplicate_threshold if threshold is None else threshold for backend in backends]
    groups_a, groups_b = (
        {group.image_ids for group in context.find_duplicates(level)}
        for context, level in zip((context_a, context_b), levels, strict=True)
    )
    return DuplicateParity(
        levels[0],
        levels[1],
        tuple(sorted(groups_a - groups_b)),
        tuple(sorted(groups_b - groups_a)),
        tuple(sorted(groups_a & groups_b)),
    )


def _labels(name_a: str, name_b: str) -> tuple[str, str]:
    return (f"{name_a} (A)", f"{name_b} (B)") if name_a == name_b else (name_a, name_b)


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100.0 * part / whole:.1f}%)"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _describe(query: QueryParity, a: str, b: str) -> str:
    if query.error is not None:
        return f"{query.query}: not compared ({query.error})"
    rho = "n/a" if query.spearman is None else f"{query.spearman:.3f}"
    first_a = query.top_a[0] if query.top_a else "-"
    first_b = query.top_b[0] if query.top_b else "-"
    return f"{query.query}: top-1 {a}={first_a} {b}={first_b}, overlap {query.overlap:.2f}, rho {rho}"
