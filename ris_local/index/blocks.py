"""Saving a :class:`~ris_local.index.cascade.CascadeIndex` as a few large byte blocks.

Reopening an index must not cost one database row per image (seconds per million), so
the index is written as named arrays, each the raw little-endian bytes of one NumPy
array, which a store can keep as one BLOB each (or cut into chunks and concatenate).
Reading them back is ``numpy.frombuffer``: no sorting, no parsing, no pickle. Removed
rows are compacted away first. The blocks are, for ``n`` rows and ``p`` postings:

==============  ========  ==========  ===========================================
name            dtype     shape       content
==============  ========  ==========  ===========================================
``header``      uint64    (4,)        layout 4, n, p, vocabulary size
``keys``        int64     (n,)        the backend's key of each row
``codes``       uint64    (n, 4)      DCT, gradient, mirrored DCT, mirrored gradient
``sizes``       uint8     (n, 2)      frame width and height on the 128-step grid
``centre``      uint64    (4, n)      DCT codes of the central 60%, 70% and 80%, and
                                      of the whole frame, borders kept
``mih<t>``      uint32    (2, n)      table t (0..2): sorted substring values, rows
``starts``      int64     (w + 1,)    CSR offsets of each word's postings
``rows``        uint32    (p,)        posting rows
``packed``      uint32    (p,)        posting keypoints (see :mod:`ris_local.features.layout`)
``rest``        uint16    (p,)        the rest of their signatures
``doc_freq``    int64     (w,)        rows containing each word
==============  ========  ==========  ===========================================
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ris_local.index.cascade import CascadeIndex

__all__ = ["LAYOUT", "from_blocks", "to_blocks"]

LAYOUT = 4


def to_blocks(core: CascadeIndex) -> dict[str, bytes]:
    """The index's arrays as named blocks (compacting removed rows first)."""
    if not core.alive.all():
        core.compact()
    n = len(core.keys)
    starts, rows, packed, rest, doc_freq = core.postings.arrays()
    codes = np.concatenate([core.mih.codes[:, None], core.other], axis=1) if n else np.empty((0, 4), np.uint64)
    blocks = {
        "header": np.array([LAYOUT, n, len(rows), core.postings.words], "<u8").tobytes(),
        "keys": core.keys.astype("<i8").tobytes(),
        "codes": codes.astype("<u8").tobytes(),
        "sizes": core.sizes.astype(np.uint8).tobytes(),
        "centre": core.centre.astype("<u8").tobytes(),
        "starts": starts.astype("<i8").tobytes(),
        "rows": rows.astype("<u4").tobytes(),
        "packed": packed.astype("<u4").tobytes(),
        "rest": rest.astype("<u2").tobytes(),
        "doc_freq": doc_freq.astype("<i8").tobytes(),
    }
    for t, (values, order) in enumerate(core.mih.tables()):
        blocks[f"mih{t}"] = np.stack([values, order]).astype("<u4").tobytes()
    return blocks


def from_blocks(core: CascadeIndex, blocks: Mapping[str, bytes | bytearray]) -> None:
    """Load ``core`` from blocks made by :func:`to_blocks` (ValueError if they do not fit)."""
    layout, n, p, words = (int(v) for v in np.frombuffer(blocks["header"], "<u8"))
    if layout != LAYOUT or words != core.postings.words:
        raise ValueError(f"index blocks of layout {layout} with {words} words cannot be read here")
    codes = np.frombuffer(blocks["codes"], "<u8").reshape(n, 4)
    core.keys = np.frombuffer(blocks["keys"], "<i8")
    core.alive = np.ones(n, bool)
    core.other = codes[:, 1:]
    core.sizes = np.frombuffer(blocks["sizes"], np.uint8).reshape(n, 2)
    core.centre = np.frombuffer(blocks["centre"], "<u8").reshape(4, n)
    tables = [np.frombuffer(blocks[f"mih{t}"], "<u4").reshape(2, n) for t in range(3)]
    core.mih.load(np.ascontiguousarray(codes[:, 0]), [(table[0], table[1]) for table in tables])
    rows = np.frombuffer(blocks["rows"], "<u4")
    if len(rows) != p:
        raise ValueError("index blocks are truncated (postings)")
    core.postings.load(
        np.frombuffer(blocks["starts"], "<i8"),
        rows,
        np.frombuffer(blocks["packed"], "<u4"),
        np.frombuffer(blocks["rest"], "<u2"),
        np.frombuffer(blocks["doc_freq"], "<i8").copy(),
        n,
    )
