"""Contract: a persistent backend gives back everything after close and reopen."""

from __future__ import annotations

from ris_core.backend import Capability
from ris_core.testing.contract.base import ContractBase, SystemFactory, near_copy_bytes, photo_bytes


class PersistenceContract(ContractBase):
    """Persistence."""

    def test_reopening_restores_contexts_images_features_and_tags(self, make_system: SystemFactory) -> None:
        first = make_system()
        try:
            self.require(first, Capability.PERSISTENT)
            context = first.create_context("kept")
            for seed in range(4):
                context.add_image(f"p{seed}", photo_bytes(seed))
            context.add_image("p1-copy", near_copy_bytes(1))
            context.delete_image("p3")
            has_tags = Capability.TAGS in first.backend.capabilities
            if has_tags:
                context.create_tag("two", photo_bytes(2))
            before = context.find_similar_images(image=photo_bytes(1), threshold=0, max_count=10)
        finally:
            first.close()
        second = make_system()
        try:
            reopened = second.context("kept")
            assert reopened.image_ids() == ["p0", "p1", "p1-copy", "p2"]
            assert reopened.get_image("p2") == photo_bytes(2)
            after = reopened.find_similar_images(image=photo_bytes(1), threshold=0, max_count=10)
            # Compared without distances: a backend that reports none uses NaN, never equal to itself.
            assert [(r.image_id, r.similarity, r.method) for r in after] == [
                (r.image_id, r.similarity, r.method) for r in before
            ]
            if has_tags:
                assert [r.image_id for r in reopened.find_images_by_tags("two")] == ["p2"]
        finally:
            second.close()
