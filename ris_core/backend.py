"""The interface a backend implements: one abstract method per operation.

This is the implementer's side. Users never call a backend directly: they go through
:class:`ris_core.ImageSearch` and :class:`ris_core.SearchContext`, which validate every
argument, turn image inputs into :class:`~ris_core.images.ImageData`, keep the catalog
of names, and notify observers. By the time a backend method runs:

* ids have passed :func:`ris_core.validation.check_id`, thresholds are floats in
  0..100 and counts are positive ints;
* ``context`` is the backend's own reference, the string its :meth:`create_context`
  returned (the core maps user-facing context names to these);
* images are :class:`ImageData` whose header was checked; :meth:`ImageData.decode`
  raises :class:`~ris_core.errors.InvalidImageError` if the pixels are broken.

A backend raises the :mod:`ris_core.errors` documented on each method, and translates
its own failures (network, SDK, driver) into :class:`~ris_core.errors.BackendError`
subclasses, setting ``transient=True`` when a retry may succeed. A failed call must leave
stored data exactly as it was. Methods may be called from several threads at once.

:class:`ris_core.testing.BackendContract` is the executable form of this document.
"""

from __future__ import annotations

import abc
import contextlib
import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from ris_core.images import ImageData
from ris_core.models import Comparison, ContextStatus, DuplicateGroup, ImageFeatures, SearchResult
from ris_core.paths import default_database_path
from ris_core.retry import RetryPolicy

__all__ = ["Backend", "Capability", "Progress", "Query"]

#: A query is either the id of a stored image or new image data.
Query = str | ImageData
#: ``progress(done, total)``: how far a long ``find_duplicates`` has come, in units the
#: backend chooses. ``total`` stays the same through one call, ``done`` never goes back
#: and reaches ``total`` when the work is done. A backend that cannot tell need not call it.
Progress = Callable[[int, int], None]


class Capability(enum.Enum):
    """Optional abilities; the contract suite skips the tests of undeclared ones."""

    #: ``get_features`` returns the stored feature bytes and ``extract_features`` works.
    FEATURE_DATA = "feature-data"
    #: ``find_duplicates`` is offered.
    DUPLICATES = "duplicates"
    #: ``compare_images`` is offered.
    COMPARE = "compare"
    #: ``create_tag`` and ``find_by_tags`` are offered.
    TAGS = "tags"
    #: Data outlives ``close()``: a new instance with the same options sees it.
    PERSISTENT = "persistent"
    #: An :class:`~ris_core.images.ImageData` with ``by_reference`` set is stored as its
    #: source file's path, not its bytes; ``get_image`` reads the file and checks its
    #: hash (SourceFileMissingError, SourceFileChangedError).
    REFERENCES = "references"


class Backend(abc.ABC):
    """Base class of every backend. Subclasses set the class attributes and implement
    every abstract method; the constructor receives the user's backend options."""

    #: The name users select the backend by (lower case, ``-`` between words).
    name: ClassVar[str]
    #: One line saying what the backend is.
    description: ClassVar[str] = ""
    #: Options the constructor accepts, each with a line of help. Anything else passed
    #: to ``ris_core.open`` is refused with UnsupportedOptionError before construction.
    options: ClassVar[Mapping[str, str]] = {}
    #: Options ``create_context`` accepts, each with a line of help.
    context_options: ClassVar[Mapping[str, str]] = {}
    # The next three may differ per instance (a backend in memory is not persistent).
    #: What this backend offers beyond the required operations.
    capabilities: frozenset[Capability] = frozenset(Capability)
    #: The similarity threshold used when a search does not give one.
    default_threshold: float = 70.0
    #: The threshold ``find_duplicates`` uses when none is given.
    duplicate_threshold: float = 85.0

    #: True if the backend retries each request itself with :attr:`retry_policy`
    #: (per HTTP call, say); otherwise the core retries whole operations with it.
    manages_retries: ClassVar[bool] = False
    #: The policy for transient failures; the core sets it from ``ris_core.open(retry=)``.
    retry_policy: RetryPolicy = RetryPolicy()

    def __init__(self, **options: Any) -> None:
        """Store the options; connect lazily if connecting can fail or take time."""
        self.backend_options: Mapping[str, Any] = options

    def catalog_location(self) -> str:
        """Where the core keeps names, metadata and collections when the user gives no
        ``catalog``: the shared default database for persistent backends, memory for
        backends that keep nothing."""
        if Capability.PERSISTENT in self.capabilities:
            return default_database_path()
        return ":memory:"

    def close(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Release connections and files. Called once; later calls are not made."""

    @contextlib.contextmanager
    def batch(self, workers: int) -> Iterator[None]:
        """Many adds and updates follow, from up to ``workers`` threads (batch ingest).

        An optional hook: a backend may start helpers for the block (the local backend
        extracts features in ``workers`` processes) and must stop them when it ends.
        By default nothing happens.
        """
        yield

    # --- search contexts ---------------------------------------------------------

    @abc.abstractmethod
    def create_context(self, options: Mapping[str, str]) -> str:
        """Create an empty search context and return the reference to address it by."""

    @abc.abstractmethod
    def delete_context(self, context: str) -> None:
        """Delete the context and everything in it. ContextNotFoundError if unknown."""

    @abc.abstractmethod
    def context_exists(self, context: str) -> bool:
        """Whether the context exists in the backend."""

    @abc.abstractmethod
    def context_status(self, context: str) -> ContextStatus:
        """Whether the context is idle or busy. ContextNotFoundError if unknown."""

    # --- images ------------------------------------------------------------------

    @abc.abstractmethod
    def add_image(self, context: str, image_id: str, image: ImageData) -> None:
        """Store the image and index its features.

        ImageExistsError if ``image_id`` is taken (the stored image is kept);
        InvalidImageError if it cannot be decoded (nothing is stored).
        """

    @abc.abstractmethod
    def update_image(self, context: str, image_id: str, image: ImageData) -> None:
        """Replace a stored image and its features. ImageNotFoundError if unknown."""

    @abc.abstractmethod
    def get_image(self, context: str, image_id: str) -> bytes:
        """Return the stored bytes, exactly as added. ImageNotFoundError if unknown."""

    @abc.abstractmethod
    def delete_image(self, context: str, image_id: str) -> None:
        """Delete the image and its features. ImageNotFoundError if unknown."""

    # --- features ----------------------------------------------------------------

    @abc.abstractmethod
    def create_features(self, context: str, image_id: str, image: ImageData | None) -> None:
        """(Re)compute and store the features of a stored image, from ``image`` if given
        or else from the stored bytes. ImageNotFoundError if the image is unknown."""

    @abc.abstractmethod
    def get_features(self, context: str, image_id: str) -> ImageFeatures:
        """Return the stored features. ImageNotFoundError, FeaturesNotFoundError."""

    @abc.abstractmethod
    def update_features(self, context: str, image_id: str, image: ImageData | None) -> None:
        """Replace the features of a stored image, from ``image`` if given or else from
        the stored bytes. ImageNotFoundError if the image is unknown."""

    @abc.abstractmethod
    def delete_features(self, context: str, image_id: str) -> None:
        """Delete the features but keep the image; it no longer matches any search
        until features are created again. ImageNotFoundError, FeaturesNotFoundError."""

    @abc.abstractmethod
    def extract_features(self, context: str, image: ImageData) -> ImageFeatures:
        """Compute features for new image data without storing anything."""

    # --- search ------------------------------------------------------------------

    @abc.abstractmethod
    def find_similar(
        self,
        context: str,
        query: Query,
        threshold: float,
        max_count: int,
        within: frozenset[str] | None,
    ) -> list[SearchResult]:
        """Images with similarity >= ``threshold`` to ``query``, best first (ties by
        id), at most ``max_count``. A stored query image is not among its own results.
        ``within``, when given, is the set of image ids allowed in the results: the
        answer is the best matches *inside* it, not a trimmed global answer."""

    @abc.abstractmethod
    def find_duplicates(
        self, context: str, threshold: float, within: frozenset[str] | None, progress: Progress | None = None
    ) -> list[DuplicateGroup]:
        """Groups of two or more images linked by similarity >= ``threshold``
        (connected components), each ordered by id, groups ordered by first id. A
        backend that can tell how far it has come calls ``progress`` (see
        :data:`Progress`); every backend accepts the argument."""

    @abc.abstractmethod
    def compare(self, context: str, image_id: str, other: Query) -> Comparison:
        """Similarity of a stored image to another stored image or to new data."""

    # --- tags --------------------------------------------------------------------

    @abc.abstractmethod
    def create_tag(self, context: str, tag: str, images: Sequence[ImageData]) -> None:
        """Register reference images under ``tag``; an existing tag gains them."""

    @abc.abstractmethod
    def find_by_tags(
        self,
        context: str,
        tags: Sequence[str],
        threshold: float,
        max_count: int,
        within: frozenset[str] | None,
    ) -> list[SearchResult]:
        """Images similar to any reference image of any of ``tags``, scored by their
        best match, filtered and ordered like :meth:`find_similar`.
        TagNotFoundError if a tag is unknown."""
