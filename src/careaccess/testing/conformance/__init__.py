"""The conformance suite every :class:`~careaccess.store.Store` must pass.

Subclass :class:`StoreConformance` in a test module and give it a ``store`` fixture
that yields a fresh, empty store (and closes it)::

    import pytest
    from careaccess.testing.conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self):
            store = MyStore("...")
            yield store
            store.close()

The suite drives the store through the public :class:`~careaccess.CareAccess` API and,
for atomicity, through :meth:`~careaccess.store.Store.apply` directly. It needs
``pytest``; it runs against real servers, never fakes.

Capability flags (class attributes) switch off what a backend does not claim:

- ``supports_threads``: the store may be shared by several threads (default True).
- ``race_threads``: how many threads race in the concurrency tests (default 8).

The suite is one class assembled from one module per area, so a failing test's module
names the area that broke: :mod:`.decisions` (the decision table), :mod:`.workflows`
(every administrator workflow), :mod:`.listing` (the resident list), :mod:`.feed` (the
event feed), :mod:`.contract` (``apply`` called directly), :mod:`.reads` (every read
method called directly), :mod:`.concurrency` (threads racing) and :mod:`.importing`
(bulk import); :mod:`.fixtures` holds the standard world they share.
"""

from __future__ import annotations

from careaccess.testing.conformance.bulk import BulkTests
from careaccess.testing.conformance.concurrency import ConcurrencyTests
from careaccess.testing.conformance.contract import StoreContractTests
from careaccess.testing.conformance.decisions import DecisionTests
from careaccess.testing.conformance.feed import FeedTests
from careaccess.testing.conformance.fixtures import make_pnr
from careaccess.testing.conformance.importing import ImportTests
from careaccess.testing.conformance.listing import ListingTests
from careaccess.testing.conformance.reads import StoreReadTests
from careaccess.testing.conformance.workflows import WorkflowTests

__all__ = ["StoreConformance", "make_pnr"]


class StoreConformance(
    DecisionTests,
    WorkflowTests,
    ListingTests,
    FeedTests,
    StoreContractTests,
    StoreReadTests,
    ConcurrencyTests,
    ImportTests,
    BulkTests,
):
    """Generic tests of a Store; subclasses provide the ``store`` fixture."""
