"""Facts for decisions: one script call for one decision, one per chunk for many.

On one server (not a cluster) the facts scripts, which only read, are sent on a
connection directly (:func:`call_read_only`, through
:func:`careaccess_redis.scripting.send_read_only`): the same EVALSHA and the same reply,
without redis-py's per-command layer and pool checkout. Anything unusual (NOSCRIPT, a
lost connection, no connection to be had) sends the call again through the client,
which loads scripts and retries as for every other command: a script that only reads
is safe to send twice. A single decision's call is packed here (:func:`load_facts`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any, Final, TypeVar, cast

from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Approval
from careaccess.store import DecisionFacts, FactsRequest
from redis import Redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from careaccess_redis import lua
from careaccess_redis.connection import Client, is_down, reachable, unavailable
from careaccess_redis.keys import KeySchema
from careaccess_redis.records import approval_from, grant_from, load_approval, load_case_type, load_clinic, load_grant
from careaccess_redis.scripting import AGAIN, send_read_only
from careaccess_redis.steps import Batch, Call, Command, Steps, run

T = TypeVar("T")

__all__ = ["call_read_only", "decode_facts", "facts_call", "facts_many_steps", "load_facts", "load_facts_many"]

_NO_FACTS: Final = DecisionFacts(None, None, None, None)
#: Requests per FACTS_MANY call: bounds how long one call holds the server (2-6 ms measured).
_FACTS_PER_CALL: Final = 1000
#: Sent in place of an identity number that is not 12 ASCII characters (see _FactsCall.seal).
_NO_RESIDENT: Final = " " * 12


def call_read_only(client: Client, call: Call) -> Any:
    """The reply of a script *call* that only reads (FACTS, FACTS_MANY).

    On one server it is sent on a connection directly; see the module's docstring.
    :raises StoreUnavailable: Redis cannot serve the call now.
    """
    if type(client) is Redis and client.connection is None:
        reply = send_read_only(client, None, ("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args))
        if reply is not AGAIN:
            return reply
    with reachable():
        return call.script(client, call.keys, call.args)


def _run_reads(client: Client, steps: Steps[T]) -> T:
    """:func:`~careaccess_redis.steps.run` for read-only steps, their script calls through :func:`call_read_only`."""
    try:
        op = next(steps)
        while True:
            reply = call_read_only(client, op) if isinstance(op, Call) else run(client, _one(op))
            op = steps.send(reply)
    except StopIteration as stop:
        return cast(T, stop.value)


def _one(op: Command | Batch) -> Steps[Any]:
    reply = yield op
    return reply


def facts_call(schema: KeySchema, request: FactsRequest) -> Call:
    """The FACTS call for one decision (key: the clinic's; arguments: the case type id, the identity number)."""
    return Call(lua.FACTS, (schema.of(request.clinic_id).clinic,), (request.case_type_id, request.digits))


def _facts_head(clinic_key: str, case_type_id: str) -> bytes:
    """FACTS's EVALSHA in the protocol's bytes, up to its last argument (12 ASCII digits follow, then CRLF)."""
    key, case_type = clinic_key.encode(), case_type_id.encode()
    return b"*6\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n1\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$12\r\n" % (
        lua.FACTS.sha.encode(),
        len(key),
        key,
        len(case_type),
        case_type,
    )


#: Heads of clinic keys and case type ids together up to this many characters are cached.
_CACHED_HEAD_CHARS: Final = 512
_cached_head = functools.lru_cache(maxsize=4096)(_facts_head)


def decode_facts(request: FactsRequest, found: str) -> DecisionFacts:
    """The facts in FACTS's reply (see :func:`load_facts`)."""
    if not found:
        return _NO_FACTS
    clinic_text, case_type_text, approval_text, grant_text = found.split("\n")
    clinic_id = request.clinic_id
    case_type_id = request.case_type_id
    clinic = load_clinic(clinic_id, clinic_text)
    case_type = load_case_type(clinic_id, case_type_id, case_type_text) if case_type_text else None
    if not (approval_text or grant_text):
        return DecisionFacts(clinic, case_type, None, None)
    person = request.person if request.person is not None else PersonalIdentityNumber.from_digits(request.digits)
    return DecisionFacts(
        clinic,
        case_type,
        load_approval(clinic_id, person, approval_text) if approval_text else None,
        load_grant(clinic_id, person, case_type_id, grant_text) if grant_text else None,
    )


def load_facts(client: Client, schema: KeySchema, request: FactsRequest) -> DecisionFacts:
    """Every stored fact for one decision (see :class:`DecisionFacts`): one script call.

    The clinic, the case type, the resident's approval at the clinic and grant of the
    case type id, whatever the case type is (or if it is missing); all None without
    the clinic. On one server (with redis-py's default UTF-8 encoding) the call is
    packed here, its head cached per clinic and case type: the bytes redis-py would
    send, in a fraction of the time.
    """
    digits = request.digits
    if (
        type(client) is Redis
        and client.connection is None
        and len(digits) == 12
        and digits.isascii()
        and client.connection_pool.connection_kwargs.get("encoding", "utf-8") == "utf-8"
    ):
        clinic_key = schema.of(request.clinic_id).clinic
        case_type_id = request.case_type_id
        if len(clinic_key) + len(case_type_id) <= _CACHED_HEAD_CHARS:
            head = _cached_head(clinic_key, case_type_id)
        else:
            head = _facts_head(clinic_key, case_type_id)
        found = send_read_only(client, [head + digits.encode() + b"\r\n"], ())
        if found is not AGAIN:
            return decode_facts(request, found)
        call = facts_call(schema, request)
        with reachable():
            return decode_facts(request, call.script(client, call.keys, call.args))
    return decode_facts(request, call_read_only(client, facts_call(schema, request)))


def load_facts_many(client: Client, schema: KeySchema, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
    """Facts as :meth:`load_facts` gives them, with one script call per chunk of requests.

    A call carries up to 1,000 requests (on a cluster, of clinics in one hash slot),
    each distinct clinic and case type once. Several calls go out as one pipeline:
    one round trip per server, or per cluster node.
    """
    return _run_reads(client, facts_many_steps(schema, isinstance(client, RedisCluster), requests))


def facts_many_steps(schema: KeySchema, cluster: bool, requests: Sequence[FactsRequest]) -> Steps[list[DecisionFacts]]:
    """The steps of :func:`load_facts_many` (*cluster*: one call per hash slot)."""
    if not requests:
        return []
    calls = _plan_calls(schema, cluster, requests)
    results: list[Any]
    if len(calls) == 1:
        results = [(yield Call(lua.FACTS_MANY, calls[0].keys, calls[0].args))]
    else:
        results = yield Batch(tuple(Call(lua.FACTS_MANY, c.keys, c.args) for c in calls), raise_on_error=False)
    facts: list[DecisionFacts] = [_NO_FACTS] * len(requests)
    # One parse per resident asked about, none where the caller passed the parsed number.
    persons = {r.digits: r.person for r in requests if r.person is not None}
    for call, result in zip(calls, results, strict=True):
        if isinstance(result, Exception):
            raise unavailable(result) if is_down(result) else result
        call.unpack(result, persons, facts)
    return facts


def _plan_calls(schema: KeySchema, cluster: bool, requests: Sequence[FactsRequest]) -> list[_FactsCall]:
    """Split the requests into calls of at most _FACTS_PER_CALL, of one hash slot each on a cluster."""
    calls: list[_FactsCall] = []
    if not cluster:
        for start in range(0, len(requests), _FACTS_PER_CALL):
            call = _FactsCall(schema)
            call.extend(range(start, min(start + _FACTS_PER_CALL, len(requests))), requests)
            calls.append(call.seal())
        return calls
    by_slot: dict[int, list[int]] = {}
    slots: dict[str, int] = {}
    for position, request in enumerate(requests):
        slot = slots.get(request.clinic_id)
        if slot is None:
            slot = slots[request.clinic_id] = key_slot(schema.of(request.clinic_id).clinic.encode())
        by_slot.setdefault(slot, []).append(position)
    for positions in by_slot.values():
        for start in range(0, len(positions), _FACTS_PER_CALL):
            call = _FactsCall(schema)
            call.extend(positions[start : start + _FACTS_PER_CALL], requests)
            calls.append(call.seal())
    return calls


class _FactsCall:
    """One FACTS_MANY call: its requests (of one hash slot on a cluster), its arguments, its reply."""

    def __init__(self, keys: KeySchema) -> None:
        self._keys = keys
        self.clinics: dict[str, int] = {}  # clinic id -> its 1-based index in the call
        self.pairs: dict[tuple[str, str], int] = {}  # (clinic id, case type id) -> its 1-based index
        self.positions: list[int] = []
        self.pnrs: list[str] = []
        self.codes: list[int] = []  # each request's pair
        self.keys: tuple[str, ...] = ()
        self.pair_of: list[tuple[str, str]] = []  # (clinic id, case type id) by pair code, once sealed
        self.args: list[str] = []

    def extend(self, positions: Iterable[int], requests: Sequence[FactsRequest]) -> None:
        clinics, pairs = self.clinics, self.pairs
        for position in positions:
            request = requests[position]
            pnr, clinic_id, case_type_id = request.digits, request.clinic_id, request.case_type_id
            pair = (clinic_id, case_type_id)
            code = pairs.get(pair)
            if code is None:
                clinics.setdefault(clinic_id, len(clinics) + 1)
                code = pairs[pair] = len(pairs) + 1
            self.positions.append(position)
            self.pnrs.append(pnr)
            self.codes.append(code)

    def seal(self) -> _FactsCall:
        """Build the call's keys and arguments, once every request is added."""
        of = self._keys.of
        clinics, pairs = self.clinics, self.pairs
        self.keys = (of(next(iter(clinics))).clinic,)
        self.pair_of = [("", ""), *pairs]
        # The script cuts identity numbers at every 12th byte: anything else (never a stored
        # number) is sent as 12 spaces, a resident key no record is stored under.
        pnrs = "".join(p if len(p) == 12 and p.isascii() else _NO_RESIDENT for p in self.pnrs)
        self.args = [
            str(len(clinics)),
            *(of(clinic_id).base for clinic_id in clinics),
            str(len(pairs)),
            ",".join([str(clinics[clinic_id]) for clinic_id, _ in pairs]),
            *(case_type_id for _, case_type_id in pairs),
            pnrs,
            ",".join(map(str, self.codes)),
        ]
        return self

    def unpack(
        self, reply: Sequence[str], persons: dict[str, PersonalIdentityNumber], facts: list[DecisionFacts]
    ) -> None:
        """Fill *facts* at this call's positions from its reply."""
        heads = reply[0].split("\n")
        approvals: list[Any] = json.loads(reply[1])
        grants: list[Any] = json.loads(reply[2])
        clinics = [
            load_clinic(clinic_id, text) if text else None
            for clinic_id, text in zip(self.clinics, heads, strict=False)  # the case types follow
        ]
        # Per pair (indexed by its code; 0 unused): the facts without a record.
        bare: list[DecisionFacts] = [_NO_FACTS]
        for (clinic_id, case_type_id), text in zip(self.pairs, heads[len(clinics) :], strict=True):
            clinic = clinics[self.clinics[clinic_id] - 1]
            case_type = load_case_type(clinic_id, case_type_id, text) if text else None
            bare.append(_NO_FACTS if clinic is None else DecisionFacts(clinic, case_type, None, None))
        from_digits = PersonalIdentityNumber.from_digits
        new_facts = tuple.__new__
        pair_of = self.pair_of
        # One approval per resident and clinic in the call, however many case types are asked.
        built: dict[tuple[str, str], Approval] = {}
        for position, pnr, code, approval_data, grant_data in zip(
            self.positions, self.pnrs, self.codes, approvals, grants, strict=True
        ):
            if approval_data is None and grant_data is None:
                facts[position] = bare[code]
                continue
            # The script reads records only at a clinic it found.
            clinic, case_type, _, _ = bare[code]
            assert clinic is not None
            clinic_id, case_type_id = pair_of[code]
            person = persons.get(pnr)
            if person is None:
                person = persons[pnr] = from_digits(pnr)
            approval = None
            if approval_data is not None:
                approval = built.get((pnr, clinic_id))
                if approval is None:
                    approval = built[pnr, clinic_id] = approval_from(clinic_id, person, approval_data)
            grant = None if grant_data is None else grant_from(clinic_id, person, case_type_id, grant_data)
            facts[position] = new_facts(DecisionFacts, (clinic, case_type, approval, grant))
