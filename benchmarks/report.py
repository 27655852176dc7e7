"""Writing BENCHMARKS.md: machine, versions, command, dataset, tables, and the targets."""

from __future__ import annotations

import collections
import os
import platform
import statistics
from importlib import metadata

from benchmarks.accuracy import ROBUST_FAMILIES, MethodResult
from benchmarks.crops import OTHER_OVERLAP, TARGET_OVERLAP
from benchmarks.dataset import Dataset, Sizes
from benchmarks.graphics import KINDS
from benchmarks.scale import ExtractionTimes, IndexTimes
from benchmarks.transforms import CORE_TRANSFORMS, TRANSFORMS

__all__ = ["ENGINE", "machine", "render", "table"]

ENGINE = "ris (RobustEngine)"
#: The photograph families the issue's targets are set on ("graphic" is reported apart).
_ISSUE_FAMILIES = frozenset(t.family for t in CORE_TRANSFORMS)
_PACKAGES = (
    "numpy",
    "pillow",
    "opencv-python-headless",
    "faiss-cpu",
    "imagehash",
    "pdqhash",
    "scikit-image",
    "scikit-learn",
)


def machine() -> str:
    """The machine and the versions of the packages that decide the figures, as Markdown."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(f"{name} {_version(name)}" for name in _PACKAGES)
    return (
        f"- Machine: {cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, no GPU; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}\n- Versions: {versions}"
    )


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _families(results: list[MethodResult], metric: str) -> str:
    families = [f for f in results[0].families if f != "all"] + ["all"]
    rows = [[family] + [f"{getattr(r.families[family], metric):.3f}" for r in results] for family in families]
    return table(["family"] + [r.name for r in results], rows)


def _dataset(data: Dataset, sizes: Sizes) -> str:
    per_family = collections.Counter(q.family for q in data.positives)
    families = collections.OrderedDict((t.family, []) for t in TRANSFORMS)
    for t in TRANSFORMS:
        families[t.family].append(t.name)
    listing = "; ".join(f"**{f}** ({per_family[f]} queries): {', '.join(names)}" for f, names in families.items())
    crops = data.crops
    photos = len({c.photo for c in crops.targets + crops.distractors + crops.negatives})
    lines = [
        f"- Sources (installed from package registries, nothing downloaded at run time): {', '.join(data.sources)}; "
        f"{photos} photographs.",
        f"- Index: {len(data.index)} images = {len(crops.targets)} targets (pairwise overlap <= {TARGET_OVERLAP:.0%} "
        f"of the smaller) + {len(crops.distractors)} distractors (overlap with targets/negatives <= "
        f"{OTHER_OVERLAP:.0%}), all crops stored as JPEG q90, 128-640 px, + {sizes.graphics} graphics.",
        f"- Positives: {len(data.positives)} queries, {sizes.queries_per_transform} targets per transform, "
        f"{len(TRANSFORMS)} transforms: {listing}.",
        f"- Negatives: {len(data.negatives) - sizes.graphic_negatives} crops of the same photographs that are not "
        "indexed (overlap with any "
        f"indexed target <= {OTHER_OVERLAP:.0%}; half share >= 15% with a target), each through a random transform "
        "that keeps the whole frame.",
        f"- Graphics ({', '.join(KINDS)}; drawn from seeds, see `benchmarks/graphics.py`): {sizes.graphics} indexed, "
        f"{sizes.graphic_queries} transformed copies of them as positives (family `graphic`, not among the issue's "
        f"families), {sizes.graphic_negatives} never indexed as negative queries. They do not enter the 1%-FPR "
        "threshold (set on the photograph negatives, as the issue defines it); the share of them passing is "
        "reported beside it.",
        f"- Find-duplicates collection: {len(data.duplicates)} images = {sizes.duplicate_groups} targets with 1-2 "
        f"transformed copies each (any transform) + {len(data.negatives) - sizes.graphic_negatives} photograph "
        f"negatives and {sizes.graphic_negatives} graphics as singletons.",
        "- Crops with almost no visible edges (< 3% of pixels on an edge at 128x128: sky, bokeh, smooth gradients) "
        "are not used as targets or negatives.",
    ]
    return "\n".join(lines)


def _summary(results: list[MethodResult]) -> str:
    rows = []
    for r in results:
        at_default = (
            f"{r.at_default[0]:.3f} / {r.at_default[1]:.3f} (at {r.default_threshold:g})" if r.at_default else "-"
        )
        d = r.duplicates
        at_1, at_d = r.graphics_passing
        graphics = f"{at_1:.3f}" + (f" / {at_d:.3f}" if at_d is not None else "")
        rows.append(
            [
                r.name,
                f"{r.families['all'].recall_at_1:.3f}",
                f"{min(f.recall_at_1 for n, f in r.families.items() if n in _ISSUE_FAMILIES):.3f}",
                f"{r.threshold:.1f}",
                f"{r.families['all'].accepted:.3f}",
                at_default,
                graphics,
                f"{d.precision:.3f} / {d.recall:.3f} / {d.f1:.3f} (at {r.duplicate_threshold:.1f}; "
                f"{r.duplicate_seconds:.1f} s)",
                f"{statistics.mean(r.extract_ms):.2f}",
                f"{statistics.median(r.search_ms['all']):.2f}",
                f"{r.blob_bytes:.0f}",
            ]
        )
    return table(
        [
            "method",
            "recall@1",
            "worst family recall@1",
            "threshold at 1% FPR",
            "accepted at that threshold",
            "accepted / negatives passing at default",
            "graphic negatives passing at 1%-FPR threshold / at default",
            "duplicates P / R / F1",
            "extract ms (mean, 1 core)",
            "search ms (median)",
            "blob bytes",
        ],
        rows,
    )


def _extraction(extraction: list[ExtractionTimes]) -> str:
    rows = []
    for e in extraction:
        ref = e.ms["Pillow draft decode (RGB)"]
        for name, ms in e.ms.items():
            rows.append(
                [e.label if name.startswith("Pillow draft decode (RGB)") else "", name, f"{ms:.3f}", f"{ms / ref:.2f}x"]
            )
    return table(["images", "step", "median ms / image (1 core)", "vs draft decode (RGB)"], rows)


def _targets(
    index_size: int,
    results: list[MethodResult],
    extraction: list[ExtractionTimes],
    hashes: list[IndexTimes],
    robust: list[IndexTimes],
) -> str:
    engine = next(r for r in results if r.name == ENGINE)
    by_size = {h.size: h.figures for h in hashes}
    rows: list[list[str]] = []

    def add(target: str, value: str, met: bool | None) -> None:
        rows.append([target, value, "n/a" if met is None else ("met" if met else "**not met**")])

    worst = min((f.recall_at_1, n) for n, f in engine.families.items() if n in _ISSUE_FAMILIES)
    add("recall@1 >= 0.99 in every family", f"worst: {worst[1]} {worst[0]:.3f}", worst[0] >= 0.99)
    add(
        ">= 98% of true matches accepted at <= 1% FPR",
        f"{engine.families['all'].accepted:.3f} at {engine.threshold:.1f}",
        engine.families["all"].accepted >= 0.98,
    )
    add("find-duplicates F1 >= 0.98", f"{engine.duplicates.f1:.3f}", engine.duplicates.f1 >= 0.98)
    for e in extraction:
        hash_ratio = e.ms["ris hash stage"] / e.ms["Pillow draft decode (RGB)"]
        speedup = e.ms["imagehash.phash, full decode"] / e.ms["ris hash stage"]
        add(f"hash stage <= 1.2x Pillow draft decode ({e.label})", f"{hash_ratio:.2f}x", hash_ratio <= 1.2)
        add(f"hash stage >= 3x faster than imagehash.phash on full decode ({e.label})", f"{speedup:.1f}x", speedup >= 3)
        add(
            f"whole extraction <= 25 ms / image / core ({e.label})",
            f"{e.ms['ris whole extraction']:.1f} ms",
            e.ms["ris whole extraction"] <= 25,
        )
    robust_ms = statistics.median(engine.search_ms["crop"] + engine.search_ms["rotation"])
    add(
        f"robust-stage query median <= 25 ms at {index_size:,} images (crops, rotations; search only)",
        f"{robust_ms:.1f} ms",
        robust_ms <= 25,
    )
    for r in robust:
        add(
            f"robust-stage query median <= 200 ms at {r.size:,} images",
            f"{r.figures['robust query median ms']:.1f} ms",
            r.figures["robust query median ms"] <= 200,
        )
        add(
            "robust index <= 2 KB / image",
            f"{r.figures['robust bytes per image']:.0f} B",
            r.figures["robust bytes per image"] <= 2048,
        )
    for n, limit_q, limit_d in ((1_000_000, 2.0, 30.0), (10_000_000, 20.0, 600.0)):
        if n in by_size:
            f = by_size[n]
            add(
                f"hash-settled find_similar median at {n:,}",
                f"{f['find_similar median ms']:.2f} ms (limit {limit_q:g})",
                f["find_similar median ms"] <= limit_q,
            )
            add(
                f"find_duplicates at {n:,}",
                f"{f['find_duplicates s']:.1f} s (limit {limit_d:g})",
                f["find_duplicates s"] <= limit_d,
            )
            add(
                f"hash-stage index memory at {n:,}",
                f"{f['bytes per image']:.0f} B / image (limit 64)",
                f["bytes per image"] <= 64,
            )
    if 10_000_000 in by_size:
        f = by_size[10_000_000]
        add(
            "reopen a 10M index <= 2 s",
            f"{f['reopen from SQLite s']:.2f} s ({f['saved MB']:.0f} MB SQLite file, real IndexStore path)",
            f["reopen from SQLite s"] <= 2,
        )
    return table(["target", "measured", "status"], rows)


def _scale(hashes: list[IndexTimes], robust: list[IndexTimes]) -> str:
    rows = [
        [f"{h.size:,}", name, f"{value:.3f}" if isinstance(value, float) else str(value)]
        for h in hashes
        for name, value in h.figures.items()
    ]
    rows += [[f"{r.size:,}", name, f"{value:.3f}"] for r in robust for name, value in r.figures.items()]
    return table(["indexed images", "figure", "value"], rows)


def render(
    command: str,
    data: Dataset,
    sizes: Sizes,
    results: list[MethodResult],
    extraction: list[ExtractionTimes],
    hashes: list[IndexTimes],
    robust: list[IndexTimes],
) -> str:
    """The whole report as Markdown."""
    engine = next(r for r in results if r.name == ENGINE)
    robust_search = statistics.median(engine.search_ms["crop"] + engine.search_ms["rotation"])
    return f"""# Benchmarks

Generated by `{command}` (see `benchmarks/__main__.py`); every figure below comes from that one run.

{machine()}

## Targets (issue 5)

{_targets(len(data.index), results, extraction, hashes, robust)}

## Dataset

{_dataset(data, sizes)}

At 1M and 10M images, `find_duplicates` is the hash stage's self-join (exact multi-index join of the
DCT codes and their mirrors, then the summed distance); the robust join that follows by default
(every image searched with its stored features, as a query) is timed on the find-duplicates
collection in the accuracy table. At 1M and 10M images the indexes
hold **synthetic distractors**: random 64-bit codes for the hash stage
(1% planted near-copies) and, for the robust stage, 200 postings per image, each copying the word and
signature of a random posting of the real images at a random position and orientation (signatures of
one word are alike, so random ones would flatter the signature filter), and four random centre codes;
the real benchmark images are added on top, so robust queries still look for their true answer among
them. When a query reads stored blobs for thumbnails, a synthetic image's blob is a real one with a
noise thumbnail. Stored blobs are read from memory here; the backend reads them from SQLite.

## Accuracy (anchors and ris side by side)

{_summary(results)}

The threshold at 1% FPR is the lowest similarity that at most 1% of the photograph negative queries
reach (their best hit); a true match is *accepted* when it is returned at or above it. Find-duplicates
precision and recall are pairwise over the groups `find_duplicates` returns (the connected components
of the pairs a method finds), for every method alike. Robust-stage
queries (families {", ".join(ROBUST_FAMILIES)}) take {robust_search:.1f} ms median for ris at this index size
(search only; extraction is in the speed table).

### recall@1 per family

{_families(results, "recall_at_1")}

### recall@10 per family

{_families(results, "recall_at_10")}

### mAP per family (one relevant image per query, so 1/rank)

{_families(results, "mean_ap")}

### True matches accepted at each method's 1%-FPR threshold

{_families(results, "accepted")}

## Speed

### Extraction (median per image, one core; ratios against Pillow's draft-mode decode)

{_extraction(extraction)}

The reference decode is what `ImageData.decode(draft_size=...)` does for the hash stage's size;
ris decodes each image once, at the keypoint stage's size (a JPEG draft in YCbCr, whose Y plane is
libjpeg's own grey), and derives the hash stage's view from it, so the hash stage alone costs that
decode, border trimming and the codes. `python -m benchmarks.large_photos` times the whole
extraction against one decode on large photographs.

### Indexes at scale

{_scale(hashes, robust)}
"""
