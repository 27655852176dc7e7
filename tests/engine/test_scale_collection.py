"""The scale benchmark's index of synthetic images plus real ones (benchmarks.duplicates)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from benchmarks.duplicates import SyntheticCollection
from ris_core.images import load_image
from ris_local.index.scored import RobustIndex
from ris_local.robust import RobustEngine

from .conftest import encode


def test_the_built_index_holds_what_adding_every_blob_gives(photos: dict[str, Image.Image]) -> None:
    """Built straight into one set of CSR arrays (no tail merge at a million images),
    the index holds exactly the postings, codes and frames that adding the synthetic
    blobs and then the real ones the ordinary way gives: the benchmark measures the
    index find_duplicates would have."""
    engine = RobustEngine()
    real = [engine.extract(load_image(encode(picture))) for picture in photos.values()]
    n = 300  # more than one block of synthetic images, the last one partial
    synthetic = SyntheticCollection(n, real)
    real_keys = [n + k for k in range(len(real))]
    built = synthetic.index(real_keys, real)

    ordinary = RobustIndex()
    ordinary.add(list(range(n)) + real_keys, [synthetic.blob(row) for row in range(n)] + real)

    for mine, theirs in zip(built.core.postings.arrays()[:4], ordinary.core.postings.arrays()[:4], strict=True):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(built.core.keys, ordinary.core.keys)
    np.testing.assert_array_equal(built.core.sizes, ordinary.core.sizes)
    np.testing.assert_array_equal(built.core.mih.codes, ordinary.core.mih.codes)
    np.testing.assert_array_equal(built.core.other, ordinary.core.other)
    np.testing.assert_array_equal(built.core.centre, ordinary.core.centre)
    assert len(built) == len(ordinary) == n + len(real)
