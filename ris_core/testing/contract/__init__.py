"""The contract suite, one module per area, combined into :class:`BackendContract`."""

from ris_core.testing.contract.collections import CollectionContract
from ris_core.testing.contract.contexts import ContextContract
from ris_core.testing.contract.features import FeatureContract
from ris_core.testing.contract.images import ImageContract
from ris_core.testing.contract.metadata import MetadataContract
from ris_core.testing.contract.persistence import PersistenceContract
from ris_core.testing.contract.production import ProductionContract
from ris_core.testing.contract.search import SearchContract
from ris_core.testing.contract.tags import TagContract

__all__ = ["BackendContract"]


class BackendContract(
    ContextContract,
    ImageContract,
    FeatureContract,
    SearchContract,
    TagContract,
    MetadataContract,
    CollectionContract,
    ProductionContract,
    PersistenceContract,
):
    """Every contract test; subclass it and define the ``make_system`` fixture."""
