"""The hash candidates of find_duplicates reach as far whatever the threshold (issue 14 item 2).

A pair whose DCT codes are 16 bits apart and gradient codes 2 apart (18 summed) and that
only the thumbnail look links scores 90. A run at 60 proposes it by hash (every pair
within 25 bits); a run at 80 used to look only within its own hash radius with the DCT
codes within 8 bits, and missed it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image, ImageFilter

from ris_core.images import load_image
from ris_local.features import layout
from ris_local.features.hashcodes import HashCodes
from ris_local.index.scored import RobustIndex
from ris_local.robust import RobustEngine

from .conftest import encode

ENGINE = RobustEngine()


def _features(picture: Image.Image) -> layout.Features:
    return layout.from_blob(ENGINE.extract(load_image(encode(picture, "JPEG", 85))))


def test_a_thumbnail_pair_far_in_dct_is_found_at_every_threshold_it_passes(photos: dict[str, Image.Image]) -> None:
    smooth = _features(photos["coffee"].filter(ImageFilter.GaussianBlur(3)))
    codes, sixteen = smooth.codes, sum(1 << bit for bit in range(0, 64, 4))
    moved = HashCodes(
        codes.dct ^ sixteen, codes.gradient ^ 3, codes.mirrored_dct ^ sixteen, codes.mirrored_gradient ^ 3
    )
    none = layout.KeypointSet.empty()
    first = dataclasses.replace(smooth, normal=none, mirrored=none, n_index=0)
    second = dataclasses.replace(first, codes=moved)
    stored = {1: layout.to_blob(first), 2: layout.to_blob(second)}
    for key, name in enumerate(("astronaut", "rocket", "chelsea"), start=10):
        stored[key] = ENGINE.extract(load_image(encode(photos[name], "JPEG", 85)))
    score = ENGINE.compare(stored[1], stored[2])
    assert score.similarity >= 80 and "thumbnail" in score.method, score
    index = RobustIndex()
    index.add(list(stored), list(stored.values()))
    reader = lambda keys: {key: stored[key] for key in keys if key in stored}  # noqa: E731
    for threshold in (80.0, 70.0, 60.0):
        found = {(a, b): s for a, b, s in index.pairs(threshold, None, reader)}
        assert found.get((1, 2)) == score, (threshold, found)
    assert np.bitwise_count(np.uint64(codes.dct ^ moved.dct)) == 16
