"""Event ids, cursors and reads of the change feed.

An event lives in its clinic's stream under the stream id ``<µs>-<seq>``: a stamp in
microseconds and a sequence number within it. The stamp is the server's time when the
change was applied, raised to the stream's last stamp and to the clinic's *floor*
(``lua.APPLY``). The event id that callers see is ``<µs, 17 digits>-<seq, 20
digits>-<clinic id as UTF-8 hex>``, so ids sort as strings in feed order: by stamp,
then sequence, then clinic. Callers treat it as opaque.

The cross-clinic feed merges the streams below a *horizon*. Before it reads, it raises
the floors to the horizon (:func:`_horizon`): on one server the one floor every commit
stamps by, on a cluster every clinic's floor and the floor for clinics registered later.
So no event committed afterwards can be stamped below it: each event reaches a
consumer that follows the feed exactly once, whatever the clocks do, and no read
waits. On a cluster reading therefore writes one small key per clinic.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from typing import Final, cast

from attrs import frozen
from careaccess import InvalidRequest
from careaccess.models import Event
from redis.cluster import RedisCluster

from careaccess_redis import lua
from careaccess_redis.connection import Client
from careaccess_redis.keys import KeySchema
from careaccess_redis.records import load_event
from careaccess_redis.steps import Batch, Call, Steps, command, run

__all__ = ["Position", "event_id", "event_ids", "parse_event_id", "read_events", "read_events_steps"]

#: XRANGE entries as redis-py returns them with decode_responses=True.
_Entries = list[tuple[str, dict[str, str]]]
#: The largest sequence number of a stream id (Redis keeps it in 64 bits).
_MAX_SEQ: Final = 2**64 - 1
#: The largest stamp an event id can carry (17 digits).
_MAX_MICROS: Final = 10**17 - 1

_EVENT_ID = re.compile(r"([0-9]{17})-([0-9]{20})-((?:[0-9a-f]{2})+)")


@frozen(order=True)
class Position:
    """Where an event stands in the feed; ordered as the feed is."""

    micros: int
    seq: int
    clinic_id: str

    def stream_start(self, clinic_id: str) -> str | None:
        """The XRANGE start (inclusive) for *clinic_id*'s stream that yields only events after this one.

        None when no stream id can follow (the largest sequence number of the largest stamp).
        """
        if clinic_id > self.clinic_id:
            return f"{self.micros}-{self.seq}"
        if self.seq < _MAX_SEQ:
            return f"{self.micros}-{self.seq + 1}"
        if self.micros < _MAX_MICROS:
            return f"{self.micros + 1}-0"
        return None


def event_id(stream_id: str, clinic_id: str) -> str:
    micros, _, seq = stream_id.partition("-")
    return f"{int(micros):017d}-{int(seq):020d}-{clinic_id.encode().hex()}"


def event_ids(first_stream_id: str, clinic_id: str, count: int) -> list[str]:
    """The ids of *count* events appended in one microsecond, the first under *first_stream_id*."""
    micros, _, seq = first_stream_id.partition("-")
    head = f"{int(micros):017d}-"
    tail = "-" + clinic_id.encode().hex()
    start = int(seq)
    return [f"{head}{start + n:020d}{tail}" for n in range(count)]


def parse_event_id(text: str) -> Position:
    """The position an event id names.

    :raises InvalidRequest: ``invalid_cursor`` for anything this store did not hand out.
    """
    match = _EVENT_ID.fullmatch(text) if isinstance(text, str) else None
    if match is not None and int(match[2]) <= _MAX_SEQ:
        try:
            clinic_id = bytes.fromhex(match[3]).decode()
        except UnicodeDecodeError:
            pass
        else:
            return Position(int(match[1]), int(match[2]), clinic_id)
    raise InvalidRequest(
        "invalid_cursor",
        "The cursor is not an event id of this feed.",
        "Markören är inte ett händelse-id från det här flödet.",
    )


def read_events(client: Client, schema: KeySchema, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
    """Up to *limit* events after the event id *after*, of one clinic or of all, in feed order.

    :raises InvalidRequest: ``invalid_cursor`` when *after* is not an event id of this feed.
    """
    return run(client, read_events_steps(schema, isinstance(client, RedisCluster), after, limit, clinic_id))


def read_events_steps(
    schema: KeySchema, cluster: bool, after: str | None, limit: int, clinic_id: str | None
) -> Steps[list[Event]]:
    """The steps of :func:`read_events` (*cluster*: the store is on Redis Cluster)."""
    start = None if after is None else parse_event_id(after)
    if clinic_id is not None:
        first = _start(start, clinic_id)
        if first is None:
            return []
        entries: _Entries = yield command("XRANGE", schema.of(clinic_id).events, first, "+", "COUNT", limit)
        return [load_event(event_id(sid, clinic_id), clinic_id, fields["e"]) for sid, fields in entries]
    horizon, clinics = yield from _horizon(schema, cluster)
    merged = yield from _merge(schema, clinics, start, limit=limit, horizon=horizon)
    return [load_event(event_id(sid, pos.clinic_id), pos.clinic_id, text) for pos, sid, text in merged]


def _horizon(schema: KeySchema, cluster: bool) -> Steps[tuple[int, list[str]]]:
    """A horizon above every event stored, and the clinics of the feed index.

    The floors are raised to it first, so from then on no event is stamped below it,
    whatever the server clocks do (steps back, failover to a primary whose clock lags):
    every event below it is already in its stream and every later one sorts after it.
    On one server every commit stamps by the index floor, so raising that one is
    enough; on a cluster each clinic's floor is raised (a small write per clinic).

    The horizon is the index node's clock plus 1 µs, the index floor, or one more than
    the latest stamp of any stream (a stream stamped ahead of the clock), whichever is
    latest; in the last case the floors are raised once more, to it.
    """
    index = (schema.clinics, schema.floor)
    reply = yield Call(lua.HORIZON, index, (0, "1"))
    horizon, clinics = int(reply[0]), cast("list[str]", reply[1])
    latest = yield from _latest(schema, cluster, clinics, horizon)
    if latest >= horizon:
        horizon = latest + 1
        # Clinics registered since the first call got the lower floor: raise theirs too.
        clinics = cast("list[str]", (yield Call(lua.HORIZON, index, (horizon, "0")))[1])
        if cluster:
            yield from _raise(schema, clinics, horizon)
    return horizon, sorted(clinics)


def _latest(schema: KeySchema, cluster: bool, clinics: Sequence[str], floor: int) -> Steps[int]:
    """The latest stamp of any clinic's stream (0: none); on a cluster each clinic's floor raised first."""
    if cluster:
        tops = yield from _raise(schema, clinics, floor)
        return max((int(top) for top in tops if top), default=0)
    if not clinics:
        return 0
    lasts: list[_Entries] = yield Batch(
        tuple(command("XREVRANGE", schema.of(clinic_id).events, "+", "-", "COUNT", 1) for clinic_id in clinics)
    )
    return max((int(last[0][0].partition("-")[0]) for last in lasts if last), default=0)


def _raise(schema: KeySchema, clinics: Sequence[str], floor: int) -> Steps[list[str]]:
    """Raise the floor of every clinic to *floor*; the stamp of each stream's last event ("": none)."""
    if not clinics:
        return []
    calls = tuple(Call(lua.RAISE, (keys.floor, keys.events), (floor,)) for keys in map(schema.of, clinics))
    return cast("list[str]", (yield Batch(calls)))


def _merge(
    schema: KeySchema, clinics: Sequence[str], start: Position | None, *, limit: int, horizon: int
) -> Steps[list[tuple[Position, str, str]]]:
    """The first *limit* events after *start* stamped below *horizon*, in feed order.

    Reads each stream a few entries at a time (about ``limit`` over the number of
    clinics, doubling for a stream that runs dry before the others), so one call reads
    about ``limit`` entries however many clinics there are, not ``limit`` per clinic.
    An entry is handed out only while every stream not yet exhausted still has one
    waiting: whatever such a stream yields later sorts after it.
    """
    size = dict.fromkeys(clinics, max(2, -(-limit // max(1, len(clinics))) + 1))
    cursor = _starts(start, clinics)
    held = dict.fromkeys(clinics, 0)  # entries of each clinic in the heap
    open_ = set(cursor)  # streams that may still yield entries below the horizon
    heap: list[tuple[Position, str, str]] = []
    out: list[tuple[Position, str, str]] = []
    due = list(cursor)
    while True:
        if due:
            reads = tuple(
                command("XRANGE", schema.of(clinic_id).events, cursor[clinic_id], "+", "COUNT", size[clinic_id])
                for clinic_id in due
            )
            streams: list[_Entries] = yield Batch(reads)
            for clinic_id, entries in zip(due, streams, strict=True):
                if len(entries) < size[clinic_id]:
                    open_.discard(clinic_id)  # read to its end
                else:
                    cursor[clinic_id] = "(" + entries[-1][0]
                    size[clinic_id] = min(limit, size[clinic_id] * 2)
                for sid, fields in entries:
                    micros, _, seq = sid.partition("-")
                    if int(micros) >= horizon:
                        open_.discard(clinic_id)  # the rest lie past the horizon too
                        break
                    heapq.heappush(heap, (Position(int(micros), int(seq), clinic_id), sid, fields["e"]))
                    held[clinic_id] += 1
            due = []
        while heap and len(out) < limit:
            clinic_id = heap[0][0].clinic_id
            if held[clinic_id] == 1 and clinic_id in open_:
                due.append(clinic_id)  # its next entries may sort before the others' heads
                break
            out.append(heapq.heappop(heap))
            held[clinic_id] -= 1
        if not due or len(out) >= limit:
            return out


def _starts(start: Position | None, clinics: Sequence[str]) -> dict[str, str]:
    """The XRANGE start of each clinic's stream that can hold events after *start*."""
    starts: dict[str, str] = {}
    for clinic_id in clinics:
        first = _start(start, clinic_id)
        if first is not None:
            starts[clinic_id] = first
    return starts


def _start(start: Position | None, clinic_id: str) -> str | None:
    """The XRANGE start in *clinic_id*'s stream for events after *start* (None: there are none)."""
    return "-" if start is None else start.stream_start(clinic_id)
