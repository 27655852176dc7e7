"""Issue 2's acceptance: a 200-image folder indexed, searched, de-duplicated, tagged,
closed, reopened from its file and searched again with the same results."""

from __future__ import annotations

from pathlib import Path

import ris_core
from ris_core.testing.images import encode, near_copy, photo

ORIGINALS = 190
COPIES = 10


def _make_folder(root: Path) -> Path:
    for seed in range(ORIGINALS):
        (root / f"{seed // 50:02d}").mkdir(parents=True, exist_ok=True)
        (root / f"{seed // 50:02d}" / f"photo{seed:03d}.jpg").write_bytes(encode(photo(seed), "JPEG", quality=88))
    for seed in range(COPIES):
        (root / "copies").mkdir(exist_ok=True)
        (root / "copies" / f"copy{seed:03d}.jpg").write_bytes(encode(near_copy(photo(seed * 7)), "JPEG", quality=80))
    return root


def _snapshot(context: ris_core.SearchContext) -> dict[str, object]:
    queries = [encode(near_copy(photo(seed)), "JPEG", quality=75) for seed in (3, 77, 150)]
    return {
        "ids": context.image_ids(),
        "by_data": [context.find_similar_images(image=query) for query in queries],
        "by_id": context.find_similar_images("00/photo014.jpg", threshold=0, max_count=25),
        "duplicates": context.find_duplicates(),
        "tags": context.find_images_by_tags(["seven", "hundred"]),
    }


def test_two_hundred_images_survive_close_and_reopen(tmp_path: Path) -> None:
    folder = _make_folder(tmp_path / "photos")
    database = tmp_path / "ris.db"
    with ris_core.open("local", database=database) as system:
        context = system.create_context("album")
        report = context.add_images(folder, progress=False)
        assert report.summary() == {"added": 200, "updated": 0, "skipped": 0, "failed": 0}
        context.create_tag("seven", photo(7))
        context.create_tag("hundred", [photo(100), photo(101)])
        before = _snapshot(context)
    duplicate_groups = {group.image_ids for group in before["duplicates"]}  # type: ignore[attr-defined]
    expected = {(f"{s * 7 // 50:02d}/photo{s * 7:03d}.jpg", f"copies/copy{s:03d}.jpg") for s in range(COPIES)}
    assert {tuple(sorted(g)) for g in duplicate_groups} == {tuple(sorted(g)) for g in expected}
    assert [r[0].image_id for r in before["by_data"]] == [  # type: ignore[index]
        "00/photo003.jpg",
        "01/photo077.jpg",
        "03/photo150.jpg",
    ]
    assert {r.image_id for r in before["tags"]} == {  # type: ignore[attr-defined]
        "00/photo007.jpg",
        "copies/copy001.jpg",
        "02/photo100.jpg",
        "02/photo101.jpg",
    }

    with ris_core.open("local", database=database) as reopened:
        assert [(c.name, c.image_count) for c in reopened.list_contexts()] == [("album", 200)]
        assert _snapshot(reopened.context("album")) == before
        again = reopened.context("album").add_images(folder, progress=False)
        assert again.summary()["skipped"] == 200
