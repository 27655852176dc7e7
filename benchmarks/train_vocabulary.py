"""Rebuild ``ris_local/data/vocabulary-<version>.npz`` from scikit-image's photographs.

    python -m benchmarks.train_vocabulary

The training photographs are scikit-image's, scikit-learn's and PyWavelets' bundled
ones (the ``core`` sources), those of the tuning half of :mod:`benchmarks.split` only, cut
into random crops at random scales so the words cover the pyramid levels queries land on.
The result is deterministic for a seed (faiss k-means with a fixed seed, single-threaded).
The shipped ``vocabulary-1.npz`` predates the split: it was trained on every core
photograph, held-out ones included.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.sources import load_photos
from benchmarks.split import split_of
from ris_local.features import keypoints, vocabulary

__all__ = ["collect", "main"]

TRAINING_SOURCES = ("skimage", "sklearn", "pywt")


def collect(per_photo: int = 60, seed: int = 7) -> np.ndarray:
    """ORB descriptors from random crops of the training photographs."""
    rng = np.random.default_rng(seed)
    found = []
    for photo in (p for p in load_photos(TRAINING_SOURCES) if split_of(p.name) == "tuning"):
        gray = np.asarray(Image.fromarray(photo.pixels).convert("L"))
        height, width = gray.shape
        for _ in range(per_photo):
            side = rng.uniform(0.35, 1.0)
            w, h = max(32, int(width * side)), max(32, int(height * side))
            x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            found.append(keypoints.detect(keypoints.work_image(gray[y : y + h, x : x + w])).descriptors)
    return np.concatenate(found)


def main() -> None:
    """Train and write the vocabulary file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(vocabulary.__file__).parents[1] / "data" / f"vocabulary-{vocabulary.VERSION}.npz",
    )
    args = parser.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)  # k-means results must not depend on the core count
    descriptors = collect()
    print(f"training on {len(descriptors)} descriptors")
    tree = vocabulary.train(descriptors)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, coarse=tree.coarse, fine=tree.fine)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
