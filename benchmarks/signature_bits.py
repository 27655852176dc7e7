"""Choose the descriptor bits of a keypoint's signature (``ris_local.features.layout.SIGNATURE_BITS``).

    python -m benchmarks.signature_bits

A signature must tell apart the descriptors that share a visual word while true matches
keep it. For each of ORB's 256 bits this measures how often two unrelated descriptors
of one word disagree on it (consecutive descriptors after sorting by word, over the
benchmark's indexed photographs) and how often the two descriptors of a true match do
(matches a brute-force matcher finds between robust-family queries and their target,
kept when a RANSAC similarity transform explains them), then prints the 28 bits with the
largest difference. It builds the 1,000-image dataset the numbers in ``features.py``
were measured on (every source installed; a few minutes here), now from the tuning half of
:mod:`benchmarks.split` only (those numbers predate the split).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.dataset import Sizes, build_dataset
from benchmarks.sources import available_sources
from ris_core.images import load_image
from ris_local.features import keypoints, vocabulary
from ris_local.features.decoding import content_box, decode_gray, draft_size

__all__ = ["SIZES", "bit_disagreement", "choose", "main"]

SIZES = Sizes(
    targets=300,
    index=1000,
    negatives=300,
    queries_per_transform=60,
    duplicate_groups=120,
    graphics=210,
    graphic_negatives=210,
    graphic_queries=105,
)
FAMILIES = ("crop", "rotation", "combination")
Bits = npt.NDArray[np.float64]


def _keypoints(data: bytes) -> keypoints.Keypoints:
    image = load_image(data)
    gray = decode_gray(image, draft_size(image, keypoints.WORK_SIDE))
    left, top, right, bottom = content_box(gray)
    return keypoints.detect(keypoints.work_image(gray[top:bottom, left:right]))


def _true_matches(query: keypoints.Keypoints, target: keypoints.Keypoints) -> tuple[npt.NDArray[np.uint8], ...]:
    """Descriptor pairs of the matches a RANSAC similarity transform explains."""
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = [
        m for m, n in matcher.knnMatch(query.descriptors, target.descriptors, k=2) if m.distance < 0.8 * n.distance
    ]
    if len(pairs) < 8:
        return ()
    src = np.float32([query.xy[m.queryIdx] for m in pairs])
    dst = np.float32([target.xy[m.trainIdx] for m in pairs])
    model, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=2, maxIters=3000)
    if model is None:
        return ()
    kept = [pairs[i] for i in np.flatnonzero(mask.ravel())]
    return (query.descriptors[[m.queryIdx for m in kept]], target.descriptors[[m.trainIdx for m in kept]])


def bit_disagreement(indexed: int = 300, matched: int = 150) -> tuple[Bits, Bits]:
    """Per bit: the disagreement rate within a word, and between true matches."""
    cv2.setRNGSeed(0)
    data = build_dataset(tuple(available_sources()), SIZES, split="tuning")  # tuning work sees one half
    keys = list(data.index)[:indexed]
    descriptors = np.concatenate([_keypoints(data.index[key]).descriptors for key in keys])
    words = vocabulary.load().quantize(descriptors, assign=2)[:, 0]
    order = np.argsort(words, kind="stable")
    bits = np.unpackbits(descriptors[order], axis=1)
    same = np.flatnonzero(words[order][1:] == words[order][:-1])
    within_word = (bits[same] != bits[same + 1]).mean(axis=0)
    found: list[tuple[npt.NDArray[np.uint8], ...]] = []
    for query in data.positives:
        if len(found) == matched:
            break
        if query.family in FAMILIES:
            pair = _true_matches(_keypoints(query.data), _keypoints(data.index[query.expected]))
            if pair:
                found.append(pair)
    first = np.unpackbits(np.concatenate([q for q, _ in found]), axis=1)
    second = np.unpackbits(np.concatenate([t for _, t in found]), axis=1)
    return within_word, (first != second).mean(axis=0)


def choose(within_word: Bits, true: Bits, count: int = 28) -> list[int]:
    """The ``count`` bits where unrelated descriptors of a word disagree most beyond true matches."""
    return sorted(np.argsort(-(within_word - true), kind="stable")[:count].tolist())


def main() -> None:
    """Measure and print the chosen bits with their expected differing bits."""
    within_word, true = bit_disagreement()
    chosen = choose(within_word, true)
    print(f"within a word {within_word[chosen].sum():.1f} differing bits, true matches {true[chosen].sum():.1f}")
    print(chosen)


if __name__ == "__main__":
    main()
