"""find_duplicates scores its candidate pairs in worker processes: the same groups and
scores as in one process, whatever the number of workers, and no worker left behind;
a scoring worker goes without the extraction's warm-up."""

from __future__ import annotations

import io
import multiprocessing
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import skimage.data as skimage_data
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

import ris_core
from ris_core.errors import InvalidCountError
from ris_core.models import DuplicateGroup
from ris_local.robust import RobustEngine

NAMES = ("astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "brick", "grass", "gravel", "page")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _copies() -> list[Callable[[Image.Image], Image.Image]]:
    """Copies that leave the hash unsure, so their pairs are scored from the whole evidence."""

    def crop(p: Image.Image) -> Image.Image:
        return p.crop((p.width // 6, p.height // 10, p.width, p.height - p.height // 8))

    return [
        lambda p: ImageOps.mirror(crop(p)),
        lambda p: p.rotate(12, Image.Resampling.BICUBIC),
        lambda p: ImageEnhance.Contrast(crop(p)).enhance(1.4).filter(ImageFilter.GaussianBlur(1)),
    ]


def _workers() -> int:
    return sum(type(child).__name__ == "ForkServerProcess" for child in multiprocessing.active_children())


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twenty pictures (the halves of scikit-image's photographs), each with three copies:
    enough pairs for the scoring to be spread over workers."""
    path = tmp_path_factory.mktemp("workers") / "ris.db"
    with ris_core.open("local", database=path) as system:
        album = system.create_context("album")
        for name in NAMES:
            photo = Image.fromarray(np.asarray(getattr(skimage_data, name)())).convert("RGB")
            w, h = photo.size
            for side, picture in (("left", photo.crop((0, 0, w // 2, h))), ("right", photo.crop((w // 2, 0, w, h)))):
                album.add_image(f"{name}-{side}/original.jpg", _jpeg(picture, 90))
                for n, copy in enumerate(_copies()):
                    album.add_image(f"{name}-{side}/copy{n}.jpg", _jpeg(copy(picture), 75))
    return path


def _duplicates(database: Path, workers: int, threshold: float, seen: list[int]) -> list[DuplicateGroup]:
    """The groups, from a backend whose engine scores in ``workers`` processes; ``seen``
    gets how many worker processes were alive at each progress call."""
    engine = RobustEngine(duplicate_workers=workers)
    with ris_core.open("local", database=database, engine=engine) as system:
        album = system.context("album")
        return album.find_duplicates(threshold, progress=lambda done, total: seen.append(_workers()))


@pytest.mark.parametrize("threshold", [80.0, 50.0])
def test_two_workers_find_the_groups_and_scores_one_finds(database: Path, threshold: float) -> None:
    alone: list[int] = []
    pooled: list[int] = []
    one = _duplicates(database, 1, threshold, alone)
    two = _duplicates(database, 2, threshold, pooled)
    assert two == one  # every member, its strongest link and its score
    assert len(one) >= 10 and all(len(group.images) >= 2 for group in one)
    assert max(alone) == 0  # one worker: this process scored every pair
    assert max(pooled) == 2  # two processes scored while the join ran
    assert _workers() == 0  # and stopped with it


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_a_worker_count_below_one_is_refused(workers: object) -> None:
    with pytest.raises(InvalidCountError):
        RobustEngine(duplicate_workers=workers)  # type: ignore[arg-type]


@pytest.mark.parametrize("warm", [True, False])
def test_a_worker_loads_the_extraction_warm_up_only_when_asked(warm: bool) -> None:
    # find_duplicates' scoring workers extract nothing, so they do without it.
    probe = (
        "import sys; from ris_local.workers import prepare_worker; "
        f"prepare_worker(warm={warm}); print('ris_local.worker_preload' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == str(warm)
