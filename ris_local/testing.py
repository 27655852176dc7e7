"""The engine contract: the executable specification of a ``local`` feature engine.

Install with ``pip install 'ris[testing]'``, register your engine through
``ris_register_engines``, then subclass :class:`EngineContract` in your own tests with
one fixture, ``engine``, that builds it::

    import pytest
    from ris_local.testing import EngineContract
    from ris_mine import MyEngine

    class TestMyEngine(EngineContract):
        @pytest.fixture
        def engine(self):
            return MyEngine()

The suite checks the engine alone (blobs, scores, its index) and then runs the whole
backend contract (:class:`ris_core.testing.BackendContract`) over
``ris_core.open("local", database=":memory:", engine=<its registered name>)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import ris_core
from ris_core.groups import connected_groups
from ris_core.images import ImageData, load_image
from ris_core.testing.contract import BackendContract
from ris_core.testing.contract.base import SystemFactory, near_copy_bytes, photo_bytes
from ris_local.engine import Engine, FeatureIndex, Score
from ris_local.engines import registered_name

__all__ = ["EngineContract"]

#: Seeds of the gallery the index tests build, and of a photo unrelated to all of them.
GALLERY = range(6)
UNRELATED = 40


def image(data: bytes) -> ImageData:
    """Bytes as the backend hands them to an engine."""
    return load_image(data)


class EngineContract(BackendContract):
    """Every engine contract test, and the backend contract on the engine."""

    @pytest.fixture
    def engine(self) -> Engine:
        """Override in your subclass: return a new instance of your engine."""
        pytest.fail(
            "the engine contract needs an 'engine' fixture: define it in your subclass of "
            "EngineContract to return a new instance of your engine"
        )

    @pytest.fixture
    def make_system(self, engine: Engine) -> SystemFactory:
        """The local backend in memory on the engine, selected by its registered name."""
        name = registered_name(engine)
        if not name:
            pytest.fail(
                f"{type(engine).__qualname__} is not registered: implement the ris_register_engines "
                "hook in a module of the 'ris' entry-point group and register the class there"
            )
        return lambda: ris_core.open("local", database=":memory:", engine=name)

    @pytest.fixture
    def blobs(self, engine: Engine) -> dict[int, bytes]:
        """The blob of each gallery photo, by seed (used as its key)."""
        return {seed: engine.extract(image(photo_bytes(seed))) for seed in GALLERY}

    @pytest.fixture
    def index(self, engine: Engine, blobs: dict[int, bytes]) -> FeatureIndex:
        """An index holding the gallery."""
        built = engine.new_index()
        built.add(list(blobs), list(blobs.values()))
        return built

    # --- the engine's identity and blobs ----------------------------------------------

    def test_algorithm_version_and_thresholds_are_set(self, engine: Engine) -> None:
        assert isinstance(engine.algorithm, str) and engine.algorithm
        assert isinstance(engine.version, str) and engine.version
        assert 0 < engine.default_threshold <= 100 and 0 < engine.duplicate_threshold <= 100

    def test_extraction_is_deterministic(self, engine: Engine) -> None:
        data = photo_bytes(3, "JPEG")
        first = engine.extract(image(data))
        assert isinstance(first, bytes) and first
        assert engine.extract(image(data)) == first
        assert type(engine)().extract(image(data)) == first, "a new instance made another blob"

    def test_describe_counts_features(self, engine: Engine, blobs: dict[int, bytes]) -> None:
        count, bits = engine.describe(blobs[0])
        assert isinstance(count, int) and isinstance(bits, int) and count >= 0 and bits > 0

    # --- scores -----------------------------------------------------------------------

    def test_a_copy_scores_high_and_an_unrelated_image_low(self, engine: Engine, blobs: dict[int, bytes]) -> None:
        for seed in GALLERY:
            copy = engine.extract(image(near_copy_bytes(seed)))
            score = engine.compare(blobs[seed], copy)
            assert isinstance(score, Score) and score.method
            assert score.similarity >= engine.default_threshold, f"the near copy of photo {seed} scored {score}"
        unrelated = engine.extract(image(photo_bytes(UNRELATED)))
        for seed in GALLERY:
            assert engine.compare(blobs[seed], unrelated).similarity < engine.default_threshold

    def test_an_image_scores_100_against_itself(self, engine: Engine, blobs: dict[int, bytes]) -> None:
        assert engine.compare(blobs[2], blobs[2]).similarity == pytest.approx(100.0)

    def test_scores_are_finite_and_on_the_0_100_scale(self, engine: Engine, blobs: dict[int, bytes]) -> None:
        for first in blobs.values():
            for second in blobs.values():
                score = engine.compare(first, second)
                assert 0.0 <= score.similarity <= 100.0 and math.isfinite(score.distance)

    # --- the index --------------------------------------------------------------------

    def test_add_remove_and_len(self, engine: Engine, index: FeatureIndex, blobs: dict[int, bytes]) -> None:
        assert len(engine.new_index()) == 0
        assert len(index) == len(blobs)
        index.add([0], [blobs[0]])  # adding a key again replaces it
        assert len(index) == len(blobs)
        index.remove([0, 1, 999])  # an unknown key is ignored
        assert len(index) == len(blobs) - 2
        assert all(hit.key not in (0, 1) for hit in index.search(blobs[0], 0.0, 100, None))

    def test_a_copy_ranks_its_original_first(self, engine: Engine, index: FeatureIndex) -> None:
        for seed in GALLERY:
            hits = index.search(engine.extract(image(near_copy_bytes(seed))), engine.default_threshold, 10, None)
            assert hits and hits[0].key == seed, f"the near copy of photo {seed} found {hits}"

    def test_search_respects_threshold_count_and_order(self, index: FeatureIndex, blobs: dict[int, bytes]) -> None:
        everything = index.search(blobs[0], 0.0, 100, None)
        assert {hit.key for hit in everything} == set(blobs)
        ranks = [(-hit.score.similarity, hit.key) for hit in everything]
        assert ranks == sorted(ranks), "results are not best first, ties by key"
        assert len(index.search(blobs[0], 0.0, 2, None)) == 2
        middle = sorted(hit.score.similarity for hit in everything)[len(everything) // 2]
        assert all(hit.score.similarity >= middle for hit in index.search(blobs[0], middle, 100, None))

    def test_search_keeps_to_the_allowed_keys(self, index: FeatureIndex, blobs: dict[int, bytes]) -> None:
        allowed = np.array([1, 4], np.int64)
        assert {hit.key for hit in index.search(blobs[0], 0.0, 100, allowed)} == {1, 4}
        assert index.search(blobs[0], 0.0, 100, np.array([], np.int64)) == []

    def test_ties_are_broken_by_key(self, engine: Engine, blobs: dict[int, bytes]) -> None:
        tied = engine.new_index()
        tied.add([9, 3, 5], [blobs[1]] * 3)
        assert [hit.key for hit in tied.search(blobs[1], 0.0, 10, None)] == [3, 5, 9]

    def test_pairs_find_copies_once_each(self, engine: Engine, blobs: dict[int, bytes]) -> None:
        built = engine.new_index()
        built.add(list(blobs), list(blobs.values()))
        built.add([100], [engine.extract(image(near_copy_bytes(2)))])
        found = [(min(a, b), max(a, b)) for a, b, _ in built.pairs(engine.duplicate_threshold, None)]
        assert found == [(2, 100)], f"pairs at the duplicate threshold: {found}"
        everything = [(a, b, score) for a, b, score in built.pairs(0.0, None)]
        unordered = [frozenset((a, b)) for a, b, _ in everything]
        assert len(unordered) == len(set(unordered)) and all(len(pair) == 2 for pair in unordered)
        assert all(score.similarity >= 0.0 for _, _, score in everything)
        groups = connected_groups(((a, b) for a, b, _ in everything), [*blobs, 100])
        assert groups == [sorted([*blobs, 100])], "at threshold 0 the pairs must connect every image"
        allowed = np.array([2, 3, 100], np.int64)
        assert all(pair <= {2, 3, 100} for pair in (frozenset((a, b)) for a, b, _ in built.pairs(0.0, allowed)))
        assert frozenset((2, 100)) in [frozenset((a, b)) for a, b, _ in built.pairs(0.0, allowed)]

    def test_blocks_reopen_the_same_index(self, engine: Engine, index: FeatureIndex, blobs: dict[int, bytes]) -> None:
        blocks = index.to_blocks()
        if blocks is None:
            pytest.skip(f"{type(index).__qualname__} does not save blocks (the backend rebuilds it from blobs)")
        reopened = engine.new_index()
        reopened.load_blocks(blocks)
        assert len(reopened) == len(index)
        for blob in blobs.values():
            assert reopened.search(blob, 0.0, 100, None) == index.search(blob, 0.0, 100, None)
