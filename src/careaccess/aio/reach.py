"""The resident's side on an asynchronous store: natively, in the adapter's thread, or
through the fallback on the plain :class:`~careaccess.aio.store.AsyncStore` contract.

The twin of :mod:`careaccess.reachstore` (fallbacks) and ``careaccess.reachservice``
(the directory's pages and cursors). A store is read, in this order of preference:

1. through its own :class:`~careaccess.aio.store.AsyncReachStore` methods;
2. for an adapter over a synchronous store (:class:`~careaccess.aio.store.InlineStore`,
   :class:`~careaccess.aio.store.ThreadedStore`), through the synchronous path of
   ``careaccess.reachservice``, run where the adapter runs that store;
3. otherwise through :func:`load_reach_fallback` and :func:`list_clinics_fallback`,
   which read exactly what their synchronous twins read, awaited.

Filters are matched by ``careaccess.reachstore.clinic_matches``, cursors are made
and checked by ``careaccess.reachservice``: no rule is repeated here.

.. versionadded:: 0.2
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import TypeVar

from careaccess import reachservice
from careaccess.aio.store import AsyncReachStore, AsyncStore
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Actor, Approval, CaseType, Clinic, Grant, Page, Residence
from careaccess.plugins import Hooks
from careaccess.reach import ReachFacts, residence_keys
from careaccess.reachstore import FEED_PAGE, ClinicQuery, ReachRequest, clinic_matches
from careaccess.store import Store

__all__ = [
    "clinic_ids_from_feed",
    "list_clinics",
    "list_clinics_fallback",
    "load_reach",
    "load_reach_fallback",
    "read_clinics",
]

_T = TypeVar("_T")


async def _on_sync_store(store: AsyncStore, function: Callable[[Store], _T]) -> _T | None:
    """*function* of the adapter's synchronous store, run where the adapter runs it; None without one."""
    run = getattr(store, "run_sync", None)
    if run is None:
        return None
    result: _T = await run(function)
    return result


async def load_reach(store: AsyncStore, person: PersonalIdentityNumber, residence: Residence | None) -> ReachFacts:
    """The resident's candidate facts: natively, in the adapter's thread, or through the fallback."""
    request = ReachRequest(person.digits, residence_keys(residence))
    if isinstance(store, AsyncReachStore):
        return await store.load_reach(request)
    found = await _on_sync_store(store, lambda sync: reachservice.load_reach(sync, person, residence))
    return found if found is not None else await load_reach_fallback(store, request)


async def read_clinics(store: AsyncStore, query: ClinicQuery) -> list[Clinic]:
    """One page of clinics: natively, in the adapter's thread, or through the fallback."""
    if isinstance(store, AsyncReachStore):
        return await store.list_clinics(query)
    found = await _on_sync_store(store, lambda sync: reachservice.read_clinics(sync, query))
    return found if found is not None else await list_clinics_fallback(store, query)


async def clinic_ids_from_feed(store: AsyncStore) -> list[str]:
    """Every clinic id the event feed names, sorted (see ``careaccess.reachstore.clinic_ids_from_feed``)."""
    seen: set[str] = set()
    after: str | None = None
    while True:
        events = await store.read_events(after, FEED_PAGE, None)
        seen.update(event.clinic_id for event in events)
        if len(events) < FEED_PAGE:
            return sorted(seen)
        after = events[-1].id


async def list_clinics_fallback(store: AsyncStore, query: ClinicQuery) -> list[Clinic]:
    """:meth:`AsyncReachStore.list_clinics` on the plain contract.

    Reads what :func:`careaccess.reachstore.list_clinics_fallback` reads: the whole feed, then each clinic.
    """
    ids: Sequence[str] = await clinic_ids_from_feed(store) if query.clinic_ids is None else sorted(query.clinic_ids)
    start = 0 if query.after is None else bisect.bisect_right(ids, query.after)
    page: list[Clinic] = []
    for clinic_id in ids[start:]:
        clinic = await store.get_clinic(clinic_id)
        if clinic is not None and clinic_matches(clinic, query):
            page.append(clinic)
            if len(page) >= query.limit:
                break
    return page


async def load_reach_fallback(store: AsyncStore, request: ReachRequest) -> ReachFacts:
    """:meth:`AsyncReachStore.load_reach` on the plain contract (see :func:`careaccess.reachstore.load_reach_fallback`).

    Returns every stored clinic as a candidate (a superset, as allowed).
    """
    clinics: list[Clinic] = []
    case_types: list[CaseType] = []
    approvals: list[Approval] = []
    grants: list[Grant] = []
    for clinic_id in await clinic_ids_from_feed(store):
        clinic = await store.get_clinic(clinic_id)
        if clinic is None:
            continue
        clinics.append(clinic)
        case_types.extend(await store.list_case_types(clinic_id))
        listed = await store.get_resident_access(clinic_id, request.digits)
        if listed is not None:
            if listed.approval is not None:
                approvals.append(listed.approval)
            grants.extend(listed.grants)
    return ReachFacts(clinics, case_types, approvals, grants)


async def list_clinics(
    store: AsyncStore,
    hooks: Hooks,
    *,
    region: str | None,
    municipality: str | None,
    search: str | None,
    actor: Actor | None,
    limit: int,
    cursor: str | None,
) -> Page[Clinic]:
    """See :meth:`careaccess.CareAccess.list_clinics` and ``careaccess.reachservice.list_clinics``.

    The same pages and cursors; *limit* is checked by the caller.
    """
    reachservice._check_place(region, municipality)
    needle = reachservice._needle(search)
    ids: frozenset[str] | None = None
    hooked = not hooks.authorize_is_default()
    if actor is not None and not hooked:
        ids = actor.clinics  # without authorization hooks an actor administers exactly these
    base = ClinicQuery(limit + 1, None, region, municipality, needle, ids)
    key = await store.cursor_key()
    fingerprint = reachservice._fingerprint(base, actor)
    after = None if cursor is None else reachservice._decode(key, fingerprint, cursor)
    items: list[Clinic] = []
    while len(items) <= limit:
        rows = await read_clinics(store, ClinicQuery(limit + 1, after, region, municipality, needle, ids))
        for clinic in rows:
            if actor is None or not hooked or hooks.authorize(actor, reachservice._VIEW, clinic.id):
                items.append(clinic)
        if len(rows) <= limit:
            break
        after = rows[-1].id
    page = items[:limit]
    next_cursor = reachservice._encode(key, fingerprint, page[-1].id) if len(items) > limit else None
    return Page(page, next_cursor)
