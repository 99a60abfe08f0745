"""Event ids and cursors of the change feed.

An event lives in its clinic's stream under the stream id ``<µs>-<seq>``: the server's
time in microseconds when the change was applied (never below the stream's last id)
and a sequence number within that microsecond. The event id that callers see is
``<µs, 17 digits>-<seq, 20 digits>-<clinic id as UTF-8 hex>``, so ids sort as strings
in feed order: by time, then sequence, then clinic. Callers treat it as opaque.
"""

from __future__ import annotations

import heapq
import re
import time
from collections.abc import Sequence
from typing import Final, cast

from attrs import frozen
from careaccess import InvalidRequest
from careaccess.models import Event
from redis.cluster import RedisCluster

from careaccess_redis.connection import Client, reachable
from careaccess_redis.keys import KeySchema
from careaccess_redis.records import load_event

__all__ = ["Position", "event_id", "event_ids", "parse_event_id", "read_events"]

#: XRANGE entries as redis-py returns them with decode_responses=True.
_Entries = list[tuple[str, dict[str, str]]]
#: How often the cross-clinic feed re-reads while events newer than its horizon wait.
_HORIZON_ATTEMPTS: Final = 20

_EVENT_ID = re.compile(r"(\d{17})-(\d{20})-((?:[0-9a-f]{2})+)")


@frozen(order=True)
class Position:
    """Where an event stands in the feed; ordered as the feed is."""

    micros: int
    seq: int
    clinic_id: str

    def stream_start(self, clinic_id: str) -> str:
        """The XRANGE start for *clinic_id*'s stream that yields only events after this one."""
        if clinic_id > self.clinic_id:
            return f"{self.micros}-{self.seq}"
        return f"({self.micros}-{self.seq}"


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
    if match is not None:
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
    start = None if after is None else parse_event_id(after)
    if clinic_id is not None:
        with reachable():
            entries = cast(
                _Entries,
                client.xrange(schema.of(clinic_id).events, min=_start(start, clinic_id), max="+", count=limit),
            )
        return [load_event(event_id(sid, clinic_id), clinic_id, fields["e"]) for sid, fields in entries]
    with reachable():
        return _read_all(client, schema, start, limit)


def _read_all(client: Client, schema: KeySchema, start: Position | None, limit: int) -> list[Event]:
    """Merge every clinic's stream up to a horizon that no later commit can undercut.

    Every primary's clock is read first; an event stamped at or after the earliest
    of them may still be joined by an earlier-stamped one elsewhere, so it waits
    for a later read. Events stamped before it are all committed and visible.
    """
    merged: list[tuple[Position, str, str]] = []
    for _ in range(_HORIZON_ATTEMPTS):
        horizon = _horizon(client)
        clinics = sorted(cast("set[str]", client.smembers(schema.clinics)))
        merged, waiting = _merge(client, schema, clinics, start, limit=limit, horizon=horizon)
        if not waiting or len(merged) >= limit:
            break
        time.sleep(min((waiting - horizon + 1) / 1e6, 0.05))
    return [load_event(event_id(sid, pos.clinic_id), pos.clinic_id, text) for pos, sid, text in merged]


def _merge(
    client: Client, schema: KeySchema, clinics: Sequence[str], start: Position | None, *, limit: int, horizon: int
) -> tuple[list[tuple[Position, str, str]], int]:
    """The first *limit* events after *start* stamped before *horizon*, in feed order.

    Reads each stream a few entries at a time (about ``limit`` over the number of
    clinics, doubling for a stream that runs dry before the others), so one call reads
    about ``limit`` entries however many clinics there are, not ``limit`` per clinic.
    An entry is handed out only while every stream not yet exhausted still has one
    waiting: whatever such a stream yields later sorts after it.

    :returns: the events, and the latest stamp at or past the horizon seen (0: none).
    """
    size = dict.fromkeys(clinics, max(2, -(-limit // max(1, len(clinics))) + 1))
    cursor = {clinic_id: _start(start, clinic_id) for clinic_id in clinics}
    held = dict.fromkeys(clinics, 0)  # entries of each clinic in the heap
    open_ = set(clinics)  # streams that may still yield entries before the horizon
    heap: list[tuple[Position, str, str]] = []
    out: list[tuple[Position, str, str]] = []
    waiting = 0
    due = list(clinics)
    while True:
        if due:
            pipe = client.pipeline(transaction=False)
            for clinic_id in due:
                key = schema.of(clinic_id).events
                pipe.xrange(key, min=cursor[clinic_id], max="+", count=size[clinic_id])
            streams: list[_Entries] = pipe.execute()
            for clinic_id, entries in zip(due, streams, strict=True):
                if len(entries) < size[clinic_id]:
                    open_.discard(clinic_id)  # read to its end
                else:
                    cursor[clinic_id] = "(" + entries[-1][0]
                    size[clinic_id] = min(limit, size[clinic_id] * 2)
                for sid, fields in entries:
                    micros, _, seq = sid.partition("-")
                    if int(micros) >= horizon:
                        waiting = max(waiting, int(micros))
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
            return out, waiting


def _horizon(client: Client) -> int:
    """The earliest primary clock, in microseconds."""
    if isinstance(client, RedisCluster):
        clocks = client.time(target_nodes=RedisCluster.PRIMARIES)
        readings = list(clocks.values()) if isinstance(clocks, dict) else [clocks]
    else:
        readings = [client.time()]
    return min(seconds * 1_000_000 + micros for seconds, micros in readings)


def _start(start: Position | None, clinic_id: str) -> str:
    return "-" if start is None else start.stream_start(clinic_id)
