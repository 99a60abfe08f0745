"""The service side of the resident's view: what :meth:`CareAccess.clinics_for` and
:meth:`CareAccess.list_clinics` do.

Both read through the store's :class:`~careaccess.reachstore.ReachStore` capability
when it has one, otherwise through the fallback on the plain store contract.

.. versionadded:: 0.2
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
from typing import TYPE_CHECKING, cast

from careaccess import regions
from careaccess.errors import InvalidRequest
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Actor, AreaRule, Clinic, Page, Residence
from careaccess.names import fold
from careaccess.reach import ClinicAccess, ReachFacts, clinics_reachable, residence_keys
from careaccess.reachstore import (
    ClinicQuery,
    ReachRequest,
    ReachStore,
    list_clinics_fallback,
    load_reach_fallback,
)
from careaccess.store import Store

if TYPE_CHECKING:
    from careaccess.reads import Reads

__all__ = ["clinics_for", "list_clinics", "load_reach", "read_clinics"]

_CURSOR_TAG = b"k1"
_MAC_SIZE = 12


#: Whether a store class implements :class:`ReachStore`, for classes whose members are their own.
_NATIVE: dict[type, bool] = {}


def _native(store: Store) -> bool:
    """``isinstance(store, ReachStore)``, remembered per class (a runtime protocol check walks every member).

    A class with ``__getattr__`` (a proxy) may differ from instance to instance: it is checked every time.
    """
    kind = type(store)
    known = _NATIVE.get(kind)
    if known is None:
        known = isinstance(store, ReachStore)
        if not hasattr(kind, "__getattr__"):
            _NATIVE[kind] = known
    return known


def load_reach(store: Store, person: PersonalIdentityNumber, residence: Residence | None) -> ReachFacts:
    """The resident's candidate facts, natively or through the fallback."""
    request = ReachRequest(person.digits, residence_keys(residence))
    if _native(store):
        return cast("ReachStore", store).load_reach(request)
    return load_reach_fallback(store, request)


def read_clinics(store: Store, query: ClinicQuery) -> list[Clinic]:
    """One page of clinics, natively or through the fallback."""
    if _native(store):
        return cast("ReachStore", store).list_clinics(query)
    return list_clinics_fallback(store, query)


def clinics_for(
    access: Reads,
    person: PersonalIdentityNumber,
    moment: dt.datetime,
    residence: Residence | None,
    include_denied: bool,
) -> list[ClinicAccess]:
    """See :meth:`careaccess.CareAccess.clinics_for` (*moment* is aware, checked by the caller)."""
    if residence is None:
        residence = access.residence_of(person)  # asked once; every decision below reuses the answer
    known = residence
    facts = load_reach(access.store, person, residence)
    return clinics_reachable(
        facts, person, moment, access.timezone, residence, lambda _: known, include_denied=include_denied
    )


def list_clinics(
    access: Reads,
    *,
    region: str | None,
    municipality: str | None,
    search: str | None,
    actor: Actor | None,
    limit: int,
    cursor: str | None,
) -> Page[Clinic]:
    """See :meth:`careaccess.CareAccess.list_clinics` (*limit* is checked by the caller)."""
    _check_place(region, municipality)
    needle = _needle(search)
    ids: frozenset[str] | None = None
    hooked = not access.hooks.authorize_is_default()
    if actor is not None and not hooked:
        ids = actor.clinics  # without authorization hooks an actor administers exactly these
    base = ClinicQuery(limit + 1, None, region, municipality, needle, ids)
    key = access.store.cursor_key()
    fingerprint = _fingerprint(base, actor)
    after = None if cursor is None else _decode(key, fingerprint, cursor)
    items: list[Clinic] = []
    while len(items) <= limit:
        rows = read_clinics(access.store, ClinicQuery(limit + 1, after, region, municipality, needle, ids))
        for clinic in rows:
            if actor is None or not hooked or access.hooks.authorize(actor, _VIEW, clinic.id):
                items.append(clinic)
        if len(rows) <= limit:
            break
        after = rows[-1].id
    page = items[:limit]
    next_cursor = _encode(key, fingerprint, page[-1].id) if len(items) > limit else None
    return Page(page, next_cursor)


_VIEW = "view"  # careaccess.reads.VIEW (reads imports this module)


def _check_place(region: str | None, municipality: str | None) -> None:
    if municipality is not None and region is None:
        found = regions.municipality(municipality)
        region = found.county_code if found is not None else None
    if region is not None or municipality is not None:
        AreaRule(region, municipality)  # raises unknown_region, unknown_municipality, municipality_outside_region


def _needle(search: str | None) -> str | None:
    return None if search is None else fold(search) or None


def _fingerprint(query: ClinicQuery, actor: Actor | None) -> bytes:
    parts = [
        query.region or "",
        query.municipality or "",
        query.name_contains or "",
        "" if actor is None else actor.id,
        ",".join(sorted(query.clinic_ids or ())),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def _mac(key: bytes, fingerprint: bytes, after: bytes) -> bytes:
    return hmac.new(key, b"clinics\x00" + fingerprint + after, hashlib.sha256).digest()[:_MAC_SIZE]


def _encode(key: bytes, fingerprint: bytes, after: str) -> str:
    raw = after.encode()
    token = _CURSOR_TAG + _mac(key, fingerprint, raw) + raw
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def _decode(key: bytes, fingerprint: bytes, cursor: str) -> str:
    try:
        token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        head, mac, raw = token[:2], token[2 : 2 + _MAC_SIZE], token[2 + _MAC_SIZE :]
        if head == _CURSOR_TAG and raw and hmac.compare_digest(mac, _mac(key, fingerprint, raw)):
            return raw.decode()
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        pass
    raise InvalidRequest(
        "invalid_cursor",
        "The cursor is not one this list returned.",
        "Markören kommer inte från den här listan.",
    )
