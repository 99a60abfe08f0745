"""Event ids and cursors of the change feed.

An event lives in its clinic's stream under the stream id ``<µs>-<seq>``: the server's
time in microseconds when the change was applied (never below the stream's last id)
and a sequence number within that microsecond. The event id that callers see is
``<µs, 17 digits>-<seq, 20 digits>-<clinic id as UTF-8 hex>``, so ids sort as strings
in feed order: by time, then sequence, then clinic. Callers treat it as opaque.
"""

from __future__ import annotations

import re

from attrs import frozen
from careaccess import InvalidRequest

__all__ = ["Position", "event_id", "event_ids", "parse_event_id"]

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
