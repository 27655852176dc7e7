"""Pinned values that catch drift in Pillow, OpenCV, NumPy, faiss or the vocabulary.

Like imagehash's ``test_hash_is_constant``: if one of these changes, stored blobs of
this algorithm version no longer match new ones, and the version must be bumped.
"""

from __future__ import annotations

import hashlib

from PIL import Image

from ris_core.images import load_image
from ris_local.features import layout, vocabulary
from ris_local.robust import RobustEngine

from .conftest import encode


def test_hash_codes_are_constant(astronaut: Image.Image) -> None:
    codes = layout.extract_hashes(load_image(encode(astronaut, "PNG")))
    assert (hex(codes.dct), hex(codes.gradient)) == ("0xc2924c5532bddfc8", "0xdd8dbd0d993295a6")
    assert (hex(codes.mirrored_dct), hex(codes.mirrored_gradient)) == ("0x97c7191867e88a9d", "0x444e424f46b3569a")


def test_dct_code_equals_imagehash_phash_on_a_png(astronaut: Image.Image) -> None:
    import imagehash

    codes = layout.extract_hashes(load_image(encode(astronaut, "PNG")))
    assert f"{codes.dct:016x}" == str(imagehash.phash(astronaut))


def test_keypoints_are_constant(astronaut: Image.Image) -> None:
    f = layout.extract(load_image(encode(astronaut, "PNG")))
    assert f.size == (256, 256)
    # 300 indexed keypoints of the work scale, 100 coarse ones (indexed too), the other
    # 500 of the work scale, then 400 on the work image shrunk to SECOND_SCALE
    assert (len(f.normal.packed), f.n_index, len(f.mirrored.packed)) == (1300, 400, 400)
    assert f.normal.packed[:6].tolist() == [574944731, 793619933, 3359288932, 1625144125, 582486626, 367858476]
    assert f.normal.rest[:6].tolist() == [18690, 24762, 2400, 20118, 34769, 43007]
    assert f.normal.words[:6, 0].tolist() == [35841, 32828, 9835, 51421, 37380, 20680]
    assert f.normal.words[0].tolist() == [35841, 47852, 6692, 6876]
    assert f.normal.packed[400:403].tolist() == [670539051, 77833657, 670112662]
    assert f.normal.words[400:403, 0].tolist() == [37034, 44431, 37279]


def test_thumbnail_is_constant(astronaut: Image.Image) -> None:
    thumbnail = layout.extract(load_image(encode(astronaut, "PNG"))).thumbnail
    assert thumbnail.shape == (64, 64)
    assert thumbnail[:2, :6].tolist() == [[183, 58, 7, 19, 71, 123], [206, 72, 6, 50, 143, 131]]
    digest = hashlib.sha256(thumbnail.tobytes()).hexdigest()
    assert digest == "e6e088b9d486c415da5c92f7a90787cd9df945965ae9f0f5ccd558e98c7275ca"


def test_chroma_map_is_constant(astronaut: Image.Image) -> None:
    chroma = layout.extract(load_image(encode(astronaut, "PNG"))).chroma
    assert chroma.shape == (32, 32, 2)
    assert chroma[0, :4].tolist() == [[5, -4], [10, -14], [2, 3], [2, 1]]
    digest = hashlib.sha256(chroma.tobytes()).hexdigest()
    assert digest == "724a116acc5204361ba7b71beed2d4fd9ad59e4bdbed0f3e784bf2ce09ed84db"


def test_vocabulary_is_constant() -> None:
    tree = vocabulary.load()
    digest = hashlib.sha256(tree.coarse.tobytes() + tree.fine.tobytes()).hexdigest()
    assert digest == "d1a2d1343e9d7b5f6809c1a11bfe5ad13f202249daf94a91303038b0eef5d5bc"


def test_engine_identity_is_recorded() -> None:
    assert (RobustEngine.algorithm, RobustEngine.version) == ("ris-hash+orb", "15")


def test_jpeg_codes_are_constant_for_both_engines(astronaut: Image.Image) -> None:
    jpeg = load_image(encode(astronaut, "JPEG", 90))
    codes = layout.extract(jpeg).codes  # derived from the keypoint stage's decode (1/1 here)
    assert (hex(codes.dct), hex(codes.gradient)) == ("0xc2924c5532bddfc8", "0xdd8dbd0d9d3295a6")
    assert (hex(codes.mirrored_dct), hex(codes.mirrored_gradient)) == ("0x97c7191867e88a9d", "0x444e424f46b3569a")
    alone = layout.extract_hashes(jpeg)  # the hash stage alone decodes a 1/8 draft
    assert (hex(alone.dct), hex(alone.gradient)) == ("0xc2924c5532bddfc8", "0xcd8dbd0d9d3295a6")
