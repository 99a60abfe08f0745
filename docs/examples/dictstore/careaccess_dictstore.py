"""careaccess-dictstore: a small third-party careaccess backend, kept in one dict.

Every record is stored as the JSON-ready data that ``careaccess.converter`` makes of it,
in a single dict that ``json.dumps`` can write out as it is::

    {"clinics": {clinic_id: {"clinic": {...},
                             "case_types": {case_type_id: {...}},
                             "approvals": {digits: {...}},
                             "grants": {digits: {case_type_id: {...}}}}},
     "events": [{...}, ...],
     "cursor_key": "<64 hex digits>"}

One lock guards the dict. A changeset is applied to a copy, which replaces the dict only
when every precondition held and every write went in: all or nothing.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Sequence
from typing import Any

from careaccess import Approval, CaseType, Clinic, Event, Grant, InvalidRequest, ResidentAccess, converter, hookimpl
from careaccess.identity import PersonalIdentityNumber
from careaccess.names import fold
from careaccess.store import (
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    DecisionFacts,
    FactsRequest,
    GrantKey,
    Key,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    Put,
    ResidentQuery,
)

__all__ = ["DictStore", "DictStorePlugin", "plugin"]

Data = dict[str, Any]


def empty() -> Data:
    """The data of a store with nothing in it."""
    return {"clinics": {}, "events": [], "cursor_key": secrets.token_hex(32)}


class DictStore:
    """A :class:`careaccess.Store` whose whole state is one JSON-ready dict."""

    def __init__(self, data: Data | None = None) -> None:
        self._lock = threading.RLock()
        self._data = empty() if data is None else copy.deepcopy(data)

    def snapshot(self) -> Data:
        """A copy of the whole state, ready for ``json.dumps``; ``DictStore(snapshot)`` reopens it."""
        with self._lock:
            return copy.deepcopy(self._data)

    # -- reads: JSON-ready data back into careaccess records ---------------------------

    def load_facts(self, request: FactsRequest) -> DecisionFacts:
        with self._lock:
            held = self._data["clinics"].get(request.clinic_id)
            if held is None:
                return DecisionFacts(None, None, None, None)
            return DecisionFacts(
                converter.structure(held["clinic"], Clinic),
                _maybe(held["case_types"].get(request.case_type_id), CaseType),
                _maybe(held["approvals"].get(request.digits), Approval),
                _maybe(held["grants"].get(request.digits, {}).get(request.case_type_id), Grant),
            )

    def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        with self._lock:
            return [self.load_facts(request) for request in requests]

    def get_clinic(self, clinic_id: str) -> Clinic | None:
        with self._lock:
            held = self._data["clinics"].get(clinic_id)
            return None if held is None else converter.structure(held["clinic"], Clinic)

    def list_case_types(self, clinic_id: str) -> list[CaseType]:
        with self._lock:
            held = self._data["clinics"].get(clinic_id)
            if held is None:
                return []
            return [converter.structure(held["case_types"][key], CaseType) for key in sorted(held["case_types"])]

    def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        with self._lock:
            held = self._data["clinics"].get(clinic_id)
            return None if held is None else _access(held, digits)

    def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        with self._lock:
            held = self._data["clinics"].get(query.clinic_id)
            if held is None:
                return []
            listed = sorted(set(held["approvals"]) | {pnr for pnr, grants in held["grants"].items() if grants})
            page: list[ResidentAccess] = []
            for pnr in listed:
                if query.after is not None and pnr <= query.after:
                    continue
                if query.digit_prefixes and not pnr.startswith(query.digit_prefixes):
                    continue
                if query.digit_suffix is not None and not pnr.endswith(query.digit_suffix):
                    continue
                access = _access(held, pnr)
                if access is None or not _name_matches(held, pnr, query.name_contains):
                    continue
                page.append(access)
                if len(page) == query.limit:
                    break
            return page

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        start = 0 if after is None else _position(after)
        with self._lock:
            found = []
            for data in self._data["events"][start:]:
                if clinic_id is None or data["clinic_id"] == clinic_id:
                    found.append(converter.structure(data, Event))
                    if len(found) == limit:
                        break
            return found

    def cursor_key(self) -> bytes:
        """The random key made with the data (or on first use, for data made without one)."""
        with self._lock:
            return bytes.fromhex(self._data.setdefault("cursor_key", secrets.token_hex(32)))

    def close(self) -> None:
        """Nothing to release."""

    # -- writes: check, copy, change the copy, swap ------------------------------------

    def apply(self, changeset: Changeset) -> list[Event]:
        with self._lock:
            for precondition in changeset.preconditions:
                if not self._holds(precondition):
                    raise precondition.conflict()
            data = copy.deepcopy(self._data)
            for write in changeset.writes:
                if isinstance(write, Put):
                    _put(data, converter.unstructure(write.record), write.record)
                else:
                    _delete(data, write.key)
            # Event ids are positions, zero-padded so that text order is feed order.
            events = []
            for draft in changeset.events:
                event = draft.with_id(f"{len(data['events']) + 1:012d}")
                data["events"].append(converter.unstructure(event))
                events.append(event)
            self._data = data
            return events

    def _holds(self, precondition: Precondition) -> bool:
        found = _get(self._data, precondition.key)
        if isinstance(precondition, MustExist):
            return found is not None
        if isinstance(precondition, MustBeAbsent):
            return found is None
        if isinstance(precondition, MustHaveVersion):
            return found is not None and found["version"] == precondition.version
        if isinstance(precondition, CaseTypeRestricted):
            return found is not None and bool(found["restricted"])
        assert isinstance(precondition, CaseTypeUnused)
        held = self._data["clinics"].get(precondition.key.clinic_id)
        return held is None or all(precondition.key.case_type_id not in g for g in held["grants"].values())


def _maybe(data: Data | None, record_type: type[Any]) -> Any:
    return None if data is None else converter.structure(data, record_type)


def _access(held: Data, pnr: str) -> ResidentAccess | None:
    approval = _maybe(held["approvals"].get(pnr), Approval)
    grants = [converter.structure(g, Grant) for g in held["grants"].get(pnr, {}).values()]
    if approval is None and not grants:
        return None
    return ResidentAccess.of(PersonalIdentityNumber.from_digits(pnr), approval, grants)


def _name_matches(held: Data, pnr: str, needle: str | None) -> bool:
    """Whether a stored name, folded as careaccess folds names, contains *needle* (folded already)."""
    if needle is None:
        return True
    names = [held["approvals"].get(pnr, {}).get("name")]
    names += [g.get("name") for g in held["grants"].get(pnr, {}).values()]
    return any(name is not None and needle in fold(name) for name in names)


def _position(event_id: str) -> int:
    if len(event_id) != 12 or not event_id.isdigit():
        raise InvalidRequest(
            "invalid_cursor",
            "The event cursor is not an event id of this store.",
            "Markören är inte ett händelse-id från den här lagringen.",
        )
    return int(event_id)


def _get(data: Data, key: Key) -> Data | None:
    held = data["clinics"].get(key.clinic_id)
    if held is None:
        return None
    if isinstance(key, ClinicKey):
        return held["clinic"]  # type: ignore[no-any-return]
    if isinstance(key, CaseTypeKey):
        return held["case_types"].get(key.case_type_id)  # type: ignore[no-any-return]
    if isinstance(key, ApprovalKey):
        return held["approvals"].get(key.digits)  # type: ignore[no-any-return]
    return held["grants"].get(key.digits, {}).get(key.case_type_id)  # type: ignore[no-any-return]


def _put(data: Data, value: Data, record: Clinic | CaseType | Approval | Grant) -> None:
    if isinstance(record, Clinic):
        held = data["clinics"].setdefault(record.id, {"case_types": {}, "approvals": {}, "grants": {}})
        held["clinic"] = value
        return
    held = data["clinics"][record.clinic_id]
    if isinstance(record, CaseType):
        held["case_types"][record.id] = value
    elif isinstance(record, Approval):
        held["approvals"][record.pnr.digits] = value
    else:
        held["grants"].setdefault(record.pnr.digits, {})[record.case_type_id] = value


def _delete(data: Data, key: Key) -> None:
    held = data["clinics"].get(key.clinic_id)
    if held is None:
        return
    if isinstance(key, ClinicKey):
        del data["clinics"][key.clinic_id]
    elif isinstance(key, CaseTypeKey):
        held["case_types"].pop(key.case_type_id, None)
    elif isinstance(key, ApprovalKey):
        held["approvals"].pop(key.digits, None)
    elif isinstance(key, GrantKey):
        grants = held["grants"].get(key.digits, {})
        grants.pop(key.case_type_id, None)
        if not grants:
            held["grants"].pop(key.digits, None)


class DictStorePlugin:
    """Opens a new, empty :class:`DictStore` for ``dictstore://`` URLs."""

    @hookimpl
    def careaccess_open_store(self, url: str) -> DictStore | None:
        return DictStore() if url.split(":", 1)[0] == "dictstore" else None

    @hookimpl
    def careaccess_store_schemes(self) -> list[str]:
        return ["dictstore"]


#: What the ``careaccess`` entry point names: ``dictstore = "careaccess_dictstore:plugin"``.
plugin = DictStorePlugin()
