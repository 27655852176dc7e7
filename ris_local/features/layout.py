"""Feature extraction for :class:`~ris_local.robust.RobustEngine` and its blob layout.

A blob is little-endian and self-describing (no pickle)::

    offset  size        field
    0       4           magic b"RIS" and layout version 7
    4       2 + 2       picture width, height in grid units (the longer side is 256)
    8       8 x 4       hash codes: dct, gradient, mirrored dct, mirrored gradient (u64)
    40      2 + 2       n keypoints, how many of them (the first ones) the index keeps
    44      4n          packed keypoints (u32, below)
    ..      2n          the rest of their signatures (u16, below)
    ..      4 x 2n      the four nearest visual words, nearest first (u16 each)
    ..      2           m keypoints of the mirrored picture
    ..      4m, 2m, 8m  the same arrays for them
    ..      1 + 1       thumbnail width w, height h (the longer side is 64, or both 0)
    ..      w x h       the grey thumbnail, row by row (see :mod:`ris_local.scoring.thumbnails`)
    ..      3 x 8       centre codes: DCT codes of the central 60%, 70% and 80% (u64)
    ..      2 x 8       untrimmed codes: DCT codes of the whole frame, borders kept, and its mirror (u64)
    ..      1 + 1       chroma map width u, height v (the longer side is 32, or both 0)
    ..      u x v x 2   its a* and b* (i8 pairs), row by row (see :mod:`ris_local.scoring.colour`)
    ..      4 x 2       the borders trimmed off left, top, right and bottom, in thousandths
                        of the picture's (trimmed) width or height (u16 each)
    ..      1           r region proposals (at most ``regions.MAX_REGIONS``; layout 7)
    ..      40r         each region: its box left, top, right, bottom in thousandths of the
                        whole (untrimmed) frame (u16 each), then its hash codes: dct,
                        gradient, mirrored dct, mirrored gradient (u64), as for the whole
                        picture (see :mod:`ris_local.features.regions`)
    ..      1           k region keypoint sets (``Features.region_keypoints``; absent
                        when there are none, so a blob without any reads as before)
    ..      per set     the region's position among the proposals (u8), its width and
                        height in its own grid units (u16 each), its n keypoints (u16),
                        then 4n, 2n, 8n: the arrays of a keypoint set, as above

A keypoint's signature is 28 chosen bits of its descriptor (``SIGNATURE_BITS``). A packed
keypoint holds x and y on a 128-step grid (bits 0-6, 7-13), the orientation in 64 steps
(bits 14-19) and the signature's first 12 bits (bits 20-31); the u16 beside it holds the
other 16. The signature filters word collisions (Hamming embedding), while positions and
orientations feed geometric verification. The index keeps only the nearest word of the
first ``n_index`` keypoints (10 bytes each with its row id); queries use all four words of
all keypoints, normal and mirrored. The normal keypoints are, in order: the
``INDEX_KEYPOINTS`` of the work image the index keeps (see ``_spread_order``), the
``COARSE_KEYPOINTS`` of the work image shrunk to ``COARSE_SCALE`` (kept too), then the
rest of the work image's ``WORK_KEYPOINTS`` and those of the work image shrunk to
``SECOND_SCALE``, which only serve when the picture is the query or is verified from
its blob.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image

from ris_core.images import ImageData
from ris_local.features import keypoints, regions, vocabulary
from ris_local.features.decoding import Decoded, area_resize, content_box, decode, hash_view
from ris_local.features.hashcodes import HashCodes, dct_codes, hash_codes
from ris_local.scoring import colour, thumbnails

__all__ = [
    "CENTRE_SHARES",
    "INDEX_KEYPOINTS",
    "Features",
    "KeypointSet",
    "centre_codes",
    "chroma_of",
    "decode_for_extract",
    "extract",
    "extract_decoded",
    "extract_hashes",
    "from_blob",
    "hashes_decoded",
    "thumbnail_of",
    "to_blob",
]

#: Keypoints of the work scale per image the keypoint index keeps (10 bytes each, with the
#: ``COARSE_KEYPOINTS``, a 2-byte frame size and the centre codes: see :mod:`ris_local.index.cascade`).
#: Tuning half, ``benchmarks.tune_keypoints`` (BENCHMARKS.md, "accuracy branch"): the knee of
#: the curve of kept keypoints against recall@1 on the new families.
INDEX_KEYPOINTS = 300
#: The hash stage's view keeps its longer side at least this many pixels (see
#: :func:`~ris_local.features.decoding.hash_view`).
HASH_SIDE = 64
#: The hash base: the hash view inside its borders, area-averaged once to at most this
#: many pixels on each side (each side on its own: the codes' thumbnails squash the
#: aspect anyway), from which every code of the picture is made (its DCT and gradient
#: codes, its centre codes) instead of each from the hash view. A side longer than this
#: makes the 32 x 32 DCT thumbnail's cells whole 4-pixel runs of the base along it.
HASH_BASE = 128
#: Visual words stored per keypoint, nearest first: the index takes the first, queries
#: all of them (multiple assignment: a true match shares at least one word far more often).
WORDS_PER_KEYPOINT = 4
_MAGIC = b"RIS\x07"
#: The descriptor bits that make a keypoint's signature. A signature must tell apart
#: descriptors that share a visual word, and the tree's words already fix the bits that
#: vary most across all descriptors (ORB's first ones). These 28 are the bits on which
#: unrelated descriptors of one word disagree most for how often true matches disagree
#: (measured on 114,000 descriptors of the benchmark's photographs and 16,000 verified
#: matches: 6.8 against 3.1 expected differing bits; ORB's first 28 bits give 3.4 against 1.8).
#: ``python -m benchmarks.signature_bits`` measures them again.
# fmt: off
SIGNATURE_BITS = np.array([
    2, 14, 30, 38, 46, 47, 49, 59, 71, 72, 81, 103, 106, 108,
    124, 125, 146, 153, 158, 165, 168, 186, 200, 203, 204, 207, 230, 237,
])
# fmt: on
_HEADER = struct.Struct("<4sHH4QHH")
_COUNT = struct.Struct("<H")
_THUMB_SIZE = struct.Struct("<BB")
#: Shares of each side that the centre codes keep.
CENTRE_SHARES = (0.6, 0.7, 0.8)
_CENTRE = struct.Struct("<3Q")
_UNTRIMMED = struct.Struct("<2Q")
_BORDER = struct.Struct("<4H")
_REGION_COUNT = struct.Struct("<B")
_REGION = struct.Struct("<4H4Q")
_REGION_SET = struct.Struct("<BHHH")  # region position, size in grid units, keypoints
_SET_BYTES = 4 + 2 + 2 * WORDS_PER_KEYPOINT  # per keypoint: packed, signature rest, words
#: A query also looks for keypoints on its work image shrunk to this scale. A crop or an
#: inner rotation magnifies what is left of the picture, and ORB puts most keypoints on
#: its finest pyramid levels, so the query's finest keypoints have no counterpart in
#: the indexed picture; shrinking brings the crop back near the indexed scale.
SECOND_SCALE = 0.7
#: The index also keeps up to ``COARSE_KEYPOINTS`` keypoints of the work image shrunk to
#: ``COARSE_SCALE``. A picture reused small (a third of a larger frame, half of a
#: collage) shows the query's finest keypoints at the scale of the indexed picture's
#: coarsest pyramid levels, where ORB keeps few; these put some of them in the index.
#: Tuning half (BENCHMARKS.md, "accuracy branch"): picture-in-picture 0.41 -> 0.46.
COARSE_SCALE = 0.4
COARSE_KEYPOINTS = 100
#: Keypoints looked for on the work image. The index keeps ``INDEX_KEYPOINTS`` of them;
#: the rest only serve when this picture is the query (or is verified against, from its
#: stored blob), where the index's budget does not bind: a picture pasted at a third of
#: a larger frame covers a ninth of it and gets a ninth of its keypoints.
WORK_KEYPOINTS = 800
#: Proposed regions (best first) whose own keypoints are found and stored, the largest
#: share of the frame such a region may cover (larger ones, a collage's half or a feed's
#: full-width picture, already verify with the whole frame's keypoints) and the
#: keypoints kept per region (14 bytes each in the blob). Tuning half, --quick (branch
#: cropver, ``/tmp`` harness over ``build_dataset(split="tuning")``): 6 of the 11
#: pictures pasted at a third of a frame that failed against their own original verify
#: from a proposed region's keypoints.
REGION_KEYPOINT_REGIONS = 4
REGION_KEYPOINT_SHARE = 0.5
REGION_KEYPOINTS = 200
#: ...and a region spanning this share of the frame's width or height or more is a band
#: (the sky above a horizon, a strip of a photograph between two of its own edges), not
#: a picture pasted into it. Tuning half, --quick (branch cropver): without it, bands of
#: three photograph negatives matched other crops of their photographs at 78-99; the
#: pictures pasted at a third of a frame span at most 0.4 of it.
REGION_KEYPOINT_SPAN = 0.9
_SPREAD_GRID = 4  # index keypoints are taken round-robin from a 4x4 grid of cells


@dataclass(frozen=True)
class KeypointSet:
    """Keypoints as stored: packed geometry and signature start, the signature's rest,
    the nearest words."""

    packed: npt.NDArray[np.uint32]
    rest: npt.NDArray[np.uint16]
    words: npt.NDArray[np.uint16]  # shape (n, words per keypoint)

    @staticmethod
    def empty() -> KeypointSet:
        """No keypoints."""
        return KeypointSet(np.empty(0, np.uint32), np.empty(0, np.uint16), np.empty((0, WORDS_PER_KEYPOINT), np.uint16))


@dataclass(frozen=True)
class Features:
    """Everything extracted from one image (the thumbnail is empty for the hash stage alone)."""

    size: tuple[int, int]
    codes: HashCodes
    normal: KeypointSet
    n_index: int
    mirrored: KeypointSet
    thumbnail: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    #: DCT codes of the picture's centre at each of ``CENTRE_SHARES``: a query cut from
    #: the middle of this picture has a DCT code close to one of them.
    centre_codes: tuple[int, ...] = (0, 0, 0)
    #: The picture's chroma map (:mod:`ris_local.scoring.colour`); empty for the hash stage alone.
    chroma: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros((0, 0, 2), np.int8))
    #: The DCT codes (normal, mirrored) of the whole frame, borders kept; ``None`` when
    #: nothing was trimmed (they are ``codes``'). A crop whose edge runs through a flat,
    #: dark part of the picture loses that part as a "border", and no longer lines up
    #: with the centre codes of the picture it came from; the whole frame still does.
    untrimmed_codes: tuple[int, int] | None = None

    #: The uniform borders trimmed off (left, top, right, bottom), as shares of the
    #: trimmed picture's width and height: where a picture had nothing but a border. A
    #: match that carries a border onto another picture's detail (the blank foot of a
    #: short list screen onto the rows of a long one) is not a crop of that picture.
    border: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    #: Rectangles of the whole frame that look like a picture pasted into a layout (a
    #: collage's half, a screenshot's photo), each with its hash codes
    #: (:mod:`ris_local.features.regions`): a region's codes can match another picture's
    #: whole codes where this picture's whole codes describe the layout instead.
    regions: tuple[regions.Region, ...] = ()
    #: Keypoints of the first regions of ``regions`` that are small enough to be a
    #: picture pasted into this one (``REGION_KEYPOINT_SHARE``), each found on the
    #: region alone at the work scale: (the region's position in ``regions``, its
    #: keypoints in the region's own grid, the region's size in grid units). A picture
    #: pasted at a third of a frame holds a ninth of the frame's keypoints, on the finest
    #: scale; found on the region, it has as many as a picture of its own, at the scale
    #: the other picture's indexed keypoints were found at.
    region_keypoints: tuple[tuple[int, KeypointSet, tuple[int, int]], ...] = ()

    def whole_frame_codes(self) -> tuple[int, int]:
        """The DCT codes (normal, mirrored) of the whole frame, borders kept."""
        return self.untrimmed_codes or (self.codes.dct, self.codes.mirrored_dct)


def _signature(descriptors: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """The 28 ``SIGNATURE_BITS`` of each descriptor, as one integer each."""
    bits = np.unpackbits(descriptors, axis=1)[:, SIGNATURE_BITS].astype(np.uint32)
    return np.asarray((bits << np.arange(len(SIGNATURE_BITS), dtype=np.uint32)).sum(axis=1), dtype=np.uint32)


def _pack(found: keypoints.Keypoints) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint16]]:
    """Packed keypoints and the rest of their signatures (the layout of the docstring)."""
    x = np.clip(np.round(found.xy[:, 0] / 2), 0, 127).astype(np.uint32)
    y = np.clip(np.round(found.xy[:, 1] / 2), 0, 127).astype(np.uint32)
    angle = (np.round(found.angle / 360.0 * 64).astype(np.int64) % 64).astype(np.uint32)
    signature = _signature(found.descriptors)
    packed = np.asarray(x | (y << 7) | (angle << 14) | ((signature & 0xFFF) << 20), dtype=np.uint32)
    return packed, (signature >> 12).astype(np.uint16)


def _spread_order(found: keypoints.Keypoints) -> npt.NDArray[np.intp]:
    """Strongest first, but taking turns between grid cells, so a crop keeps some; the
    four central cells take three turns per round, since crops keep the middle."""
    width, height = found.size
    cx = np.minimum((found.xy[:, 0] / width * _SPREAD_GRID).astype(np.int64), _SPREAD_GRID - 1)
    cy = np.minimum((found.xy[:, 1] / height * _SPREAD_GRID).astype(np.int64), _SPREAD_GRID - 1)
    cell = cy * _SPREAD_GRID + cx
    by_cell = np.argsort(cell, kind="stable")  # keeps strength order within a cell
    sorted_cells = cell[by_cell]
    starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
    rank = np.empty(len(cell), dtype=np.int64)
    rank[by_cell] = np.arange(len(cell)) - np.repeat(starts, np.diff(np.r_[starts, len(cell)]))
    central = (cx >= 1) & (cx <= 2) & (cy >= 1) & (cy <= 2)
    turn = np.where(central, rank / 3.0, rank.astype(np.float64))
    return np.lexsort((np.arange(len(cell)), turn))


def _keypoint_sets(*sets: keypoints.Keypoints) -> list[KeypointSet]:
    """Each set of keypoints as stored. Their words come from one search of the
    vocabulary for all of them (each descriptor's words depend on it alone), which
    spares a search its fixed cost."""
    descriptors = np.concatenate([found.descriptors for found in sets])
    if not len(descriptors):
        return [KeypointSet.empty() for _ in sets]
    words = vocabulary.load().quantize(descriptors, assign=WORDS_PER_KEYPOINT).astype(np.uint16)
    made, start = [], 0
    for found in sets:
        end = start + len(found.xy)
        made.append(KeypointSet(*_pack(found), words[start:end]) if end > start else KeypointSet.empty())
        start = end
    return made


def _hash_grays(decoded: Decoded) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The hash stage's picture, derived from the one decode, whole and inside its borders."""
    gray = hash_view(decoded, HASH_SIDE)
    left, top, right, bottom = content_box(gray)
    return gray, gray[top:bottom, left:right]


def hash_base(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """``gray`` area-averaged to at most ``HASH_BASE`` pixels on each side (itself if it
    is no larger): the one reduction the picture's codes are made from."""
    height, width = gray.shape
    if height <= HASH_BASE and width <= HASH_BASE:
        return gray
    return area_resize(gray, (min(width, HASH_BASE), min(height, HASH_BASE)))


def extract_hashes(image: ImageData) -> HashCodes:
    """The hash stage alone, from one decode at the hash stage's own size (a 1/8 draft
    where :func:`extract` may need 1/2 or 1/4): the codes :func:`extract` computes, up
    to the rounding of a smaller decode. Its engine's blobs never meet the other's."""
    return hash_codes(_hash_grays(decode(image, HASH_SIDE))[1])


def centre_codes(gray: npt.NDArray[np.uint8]) -> tuple[int, ...]:
    """The DCT codes of the central ``CENTRE_SHARES`` of a picture (each side scaled)."""
    height, width = gray.shape
    codes = []
    for share in CENTRE_SHARES:
        dy, dx = round(height * (1 - share) / 2), round(width * (1 - share) / 2)
        codes.append(dct_codes(gray[dy : height - dy, dx : width - dx])[0])
    return tuple(codes)


def extract(image: ImageData) -> Features:
    """Every stage's features: hash codes, then ORB keypoints of the picture at two scales (the
    index keeps some of the first scale's) and of its mirror."""
    return extract_decoded(decode_for_extract(image))


def decode_for_extract(image: ImageData) -> Decoded:
    """The one decode :func:`extract` makes (at the keypoint stage's size)."""
    return decode(image, keypoints.WORK_SIDE)


def hashes_decoded(decoded: Decoded) -> HashCodes:
    """The hash codes :func:`extract_decoded` computes from ``decoded``, alone: what a
    query needs first, since its hashes may settle it without any keypoint."""
    return hash_codes(hash_base(_hash_grays(decoded)[1]))


def _chroma(decoded: Decoded, box: tuple[int, int, int, int]) -> npt.NDArray[np.int8]:
    """The chroma map of the decode inside ``box``. A colour JPEG's decode stays YCbCr
    (a grey one L): it is reduced to the map's size first and only those few pixels
    turned to RGB. The conversion is affine up to clipping and rounding, so converting
    the averages instead of averaging the conversions moves a cell little, and turning
    a large photo's whole draft to RGB cost more than the rest of the map."""
    left, top, right, bottom = box
    mode = decoded.colour.mode
    if mode not in ("YCbCr", "L"):
        return colour.make(decoded.rgb()[top:bottom, left:right])
    pixels = np.asarray(decoded.colour)[top:bottom, left:right]
    if not pixels.size:
        return colour.make(np.zeros((0, 0, 3), np.uint8))
    small = area_resize(pixels, colour.size_of(pixels.shape[0], pixels.shape[1]))
    return colour.make(np.asarray(Image.fromarray(small, mode).convert("RGB")))


def extract_decoded(decoded: Decoded) -> Features:
    """:func:`extract` of an image already decoded by :func:`decode_for_extract`: every
    view below comes from that one decode."""
    whole, small = _hash_grays(decoded)
    base = hash_base(small)
    codes = hash_codes(base)
    untrimmed = None
    if whole.shape != small.shape:
        untrimmed = dct_codes(hash_base(whole))
    gray = decoded.gray
    left, top, right, bottom = content_box(gray)
    work = keypoints.work_image(gray[top:bottom, left:right])
    # The mirrored keypoints come from the same corner search (see detect_with_mirror).
    found, mirrored = keypoints.detect_with_mirror(work, WORK_KEYPOINTS, keypoints.MAX_KEYPOINTS)
    smaller = keypoints.detect(keypoints.shrink(work, SECOND_SCALE))
    coarse = keypoints.strongest(keypoints.detect(keypoints.shrink(work, COARSE_SCALE)), COARSE_KEYPOINTS)
    order = _spread_order(found) if len(found.xy) else np.empty(0, np.intp)
    kept = min(INDEX_KEYPOINTS, len(order))
    # The index keeps the first n_index: the spread-out ones of the work scale, then the coarse ones.
    indexed, rest = keypoints.select(found, order[:kept]), keypoints.select(found, order[kept:])
    size = (round(found.size[0]), round(found.size[1]))
    first, then = keypoints.concatenate(indexed, coarse), keypoints.concatenate(rest, smaller)
    normal, mirrored_set = _keypoint_sets(keypoints.concatenate(first, then), mirrored)
    n_index = kept + len(coarse.xy)
    chroma = _chroma(decoded, (left, top, right, bottom))
    wide, high = max(1, right - left), max(1, bottom - top)
    border = (left / wide, top / high, (gray.shape[1] - right) / wide, (gray.shape[0] - bottom) / high)
    proposed = regions.region_codes(gray)
    region_sets = _region_keypoints(gray, proposed)
    return Features(
        size,
        codes,
        normal,
        n_index,
        mirrored_set,
        thumbnails.make(work),
        centre_codes(base),
        chroma,
        untrimmed,
        border,
        proposed,
        region_sets,
    )


def _region_keypoints(
    gray: npt.NDArray[np.uint8], proposed: tuple[regions.Region, ...]
) -> tuple[tuple[int, KeypointSet, tuple[int, int]], ...]:
    """The keypoints of each region small enough to be a pasted picture (see
    ``Features.region_keypoints``), found on the region's pixels of the decode scaled
    to the work size, as a picture of its own would be."""
    height, width = gray.shape
    chosen, found = [], []
    for position, region in enumerate(proposed[:REGION_KEYPOINT_REGIONS]):
        left, top, right, bottom = region.box
        if region.share > REGION_KEYPOINT_SHARE or max(right - left, bottom - top) >= REGION_KEYPOINT_SPAN:
            continue
        crop = gray[round(top * height) : round(bottom * height), round(left * width) : round(right * width)]
        if min(crop.shape) < 2:
            continue
        kps = keypoints.detect(keypoints.work_image(crop), REGION_KEYPOINTS)
        if len(kps.xy):
            chosen.append(position)
            found.append(kps)
    if not found:
        return ()
    sets = _keypoint_sets(*found)
    return tuple(
        (position, kps, (round(f.size[0]), round(f.size[1])))
        for position, kps, f in zip(chosen, sets, found, strict=True)
    )


def to_blob(features: Features) -> bytes:
    """Serialise in the layout of the module docstring."""
    codes = features.codes
    parts = [
        _HEADER.pack(
            _MAGIC,
            *features.size,
            codes.dct,
            codes.gradient,
            codes.mirrored_dct,
            codes.mirrored_gradient,
            len(features.normal.packed),
            features.n_index,
        )
    ]
    for index, kps in enumerate((features.normal, features.mirrored)):
        if index:
            parts.append(_COUNT.pack(len(kps.packed)))
        parts += [kps.packed.astype("<u4").tobytes(), kps.rest.astype("<u2").tobytes()]
        parts += [kps.words[:, k].astype("<u2").tobytes() for k in range(WORDS_PER_KEYPOINT)]
    height, width = features.thumbnail.shape
    parts += [_THUMB_SIZE.pack(width, height), np.ascontiguousarray(features.thumbnail, np.uint8).tobytes()]
    parts += [_CENTRE.pack(*features.centre_codes), _UNTRIMMED.pack(*features.whole_frame_codes())]
    rows, cols = features.chroma.shape[:2]
    parts += [_THUMB_SIZE.pack(cols, rows), np.ascontiguousarray(features.chroma, np.int8).tobytes()]
    parts.append(_BORDER.pack(*(min(65535, round(share * 1000)) for share in features.border)))
    parts.append(_REGION_COUNT.pack(len(features.regions)))
    for region in features.regions:
        c = region.codes
        box = (min(1000, max(0, round(share * 1000))) for share in region.box)
        parts.append(_REGION.pack(*box, c.dct, c.gradient, c.mirrored_dct, c.mirrored_gradient))
    if features.region_keypoints:  # absent when empty: a hash-only blob is unchanged
        parts.append(_REGION_COUNT.pack(len(features.region_keypoints)))
    for position, kps, (width, height) in features.region_keypoints:
        parts.append(_REGION_SET.pack(position, width, height, len(kps.packed)))
        parts += [kps.packed.astype("<u4").tobytes(), kps.rest.astype("<u2").tobytes()]
        parts += [kps.words[:, k].astype("<u2").tobytes() for k in range(WORDS_PER_KEYPOINT)]
    return b"".join(parts)


def _read_set(blob: bytes, offset: int, n: int) -> tuple[KeypointSet, int]:
    packed = np.frombuffer(blob, "<u4", n, offset).astype(np.uint32)
    rest = np.frombuffer(blob, "<u2", n, offset + 4 * n).astype(np.uint16)
    offset += 6 * n
    words = np.frombuffer(blob, "<u2", n * WORDS_PER_KEYPOINT, offset).reshape(WORDS_PER_KEYPOINT, n)
    return KeypointSet(packed, rest, words.T.astype(np.uint16)), offset + 2 * n * WORDS_PER_KEYPOINT


def _read_thumbnail(blob: bytes, offset: int) -> tuple[npt.NDArray[np.uint8], int]:
    width, height = _THUMB_SIZE.unpack_from(blob, offset)
    offset += _THUMB_SIZE.size
    pixels = np.frombuffer(blob, np.uint8, width * height, offset).reshape(height, width)
    return pixels, offset + width * height


def _read_chroma(blob: bytes, offset: int) -> tuple[npt.NDArray[np.int8], int]:
    width, height = _THUMB_SIZE.unpack_from(blob, offset)
    offset += _THUMB_SIZE.size
    chroma = np.frombuffer(blob, np.int8, width * height * 2, offset).reshape(height, width, 2)
    return chroma, offset + width * height * 2


def _thumbnail_offset(blob: bytes) -> int:
    """Where the thumbnail starts, past both keypoint sets."""
    (n,) = _COUNT.unpack_from(blob, _HEADER.size - 4)
    offset = _HEADER.size + _SET_BYTES * n
    (m,) = _COUNT.unpack_from(blob, offset)
    return int(offset + _COUNT.size + _SET_BYTES * m)


def thumbnail_of(blob: bytes) -> npt.NDArray[np.uint8]:
    """The thumbnail alone of a blob made by :func:`to_blob` (no keypoint arrays built)."""
    return _read_thumbnail(blob, _thumbnail_offset(blob))[0]


def chroma_of(blob: bytes) -> npt.NDArray[np.int8]:
    """The chroma map alone of a blob made by :func:`to_blob` (no keypoint arrays built)."""
    offset = _read_thumbnail(blob, _thumbnail_offset(blob))[1] + _CENTRE.size + _UNTRIMMED.size
    return _read_chroma(blob, offset)[0]


def from_blob(blob: bytes) -> Features:
    """Parse a blob made by :func:`to_blob`; ValueError if it is not one."""
    if len(blob) < _HEADER.size or blob[:4] != _MAGIC:
        raise ValueError("not a RobustEngine feature blob (bad magic or too short)")
    _, width, height, dct, gradient, mdct, mgradient, n, n_index = _HEADER.unpack_from(blob)
    try:
        normal, offset = _read_set(blob, _HEADER.size, n)
        (m,) = _COUNT.unpack_from(blob, offset)
        mirrored, offset = _read_set(blob, offset + _COUNT.size, m)
        thumbnail, offset = _read_thumbnail(blob, offset)
        centre = _CENTRE.unpack_from(blob, offset)
        untrimmed = _UNTRIMMED.unpack_from(blob, offset + _CENTRE.size)
        chroma, offset = _read_chroma(blob, offset + _CENTRE.size + _UNTRIMMED.size)
        border = tuple(share / 1000 for share in _BORDER.unpack_from(blob, offset))
        offset += _BORDER.size
        (count,) = _REGION_COUNT.unpack_from(blob, offset)
        proposed = []
        for k in range(count):
            *box, r_dct, r_gradient, r_mdct, r_mgradient = _REGION.unpack_from(
                blob, offset + _REGION_COUNT.size + k * _REGION.size
            )
            shares = tuple(v / 1000 for v in box)
            proposed.append(regions.Region(shares, HashCodes(r_dct, r_gradient, r_mdct, r_mgradient)))
        offset += _REGION_COUNT.size + count * _REGION.size
        count = 0
        if offset < len(blob):  # the region keypoints, when there are any
            (count,) = _REGION_COUNT.unpack_from(blob, offset)
            offset += _REGION_COUNT.size
        region_sets = []
        for _ in range(count):
            position, r_width, r_height, r_n = _REGION_SET.unpack_from(blob, offset)
            kps, offset = _read_set(blob, offset + _REGION_SET.size, r_n)
            region_sets.append((position, kps, (r_width, r_height)))
    except struct.error as exc:  # a truncated blob: the same error as a short array
        raise ValueError(f"truncated RobustEngine feature blob ({exc})") from exc
    codes = HashCodes(dct, gradient, mdct, mgradient)
    whole = None if untrimmed == (dct, mdct) else untrimmed
    return Features(
        (width, height),
        codes,
        normal,
        n_index,
        mirrored,
        thumbnail.copy(),
        centre,
        chroma.copy(),
        whole,
        border,
        tuple(proposed),
        tuple(region_sets),
    )
