"""Changesets and resident-list queries as Lua script arguments (no I/O here).

:func:`plan_changeset` turns a :class:`~careaccess.store.Changeset` into the keys and
arguments of ``lua.APPLY``; :func:`prefix_ranges` and :func:`clip` turn digit prefixes
and a resume point into ``ZRANGEBYLEX`` bounds for ``lua.PAGE``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Final

from careaccess.names import fold
from careaccess.store import (
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    Delete,
    GrantKey,
    Key,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    Put,
    Write,
    key_of,
)

from careaccess_redis.keys import ClinicKeys
from careaccess_redis.records import dump_event, dump_record

__all__ = ["REPLAY_SECONDS", "ApplyPlan", "clip", "folded_field", "plan_changeset", "prefix_ranges"]

#: How long an applied changeset's token is kept, so a retried call returns its events.
REPLAY_SECONDS: Final = 300

_Op = tuple[str | int, ...]
#: JSON for the scripts' op lists (their strings go through as UTF-8, unescaped).
_dumps_ops = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class ApplyPlan:
    """The APPLY call of one changeset: ``keys`` and ``args`` but the replay token and the floor.

    ``keys[5]`` is left for the replay token; ``args[0]`` is ``"-"`` (the clinic has not
    been registered by this call) until the caller puts the index floor there.
    """

    def __init__(self, changeset: Changeset, keys: ClinicKeys, floor: str) -> None:
        self.keys = [keys.clinic, keys.types, keys.uses, keys.residents, keys.events, "", floor]
        self.keys += [keys.names, keys.names_ready]
        positions: dict[str, int] = {}
        names = self.keys

        def resident(digits: str) -> int:
            name = keys.resident(digits)
            position = positions.get(name)
            if position is None:
                names.append(name)
                position = positions[name] = len(names)  # Lua indexes from 1
            return position

        checks = [_check_op(precondition, resident) for precondition in changeset.preconditions]
        writes = [_write_op(write, resident) for write in changeset.writes]
        # Event JSON never holds a raw newline: the script splits on it.
        events = "\n".join(dump_event(draft) for draft in changeset.events)
        self.args: list[str | int] = ["-", REPLAY_SECONDS, keys.resident_prefix, _dumps_ops(checks)]
        self.args += [_dumps_ops(writes), events]


def plan_changeset(changeset: Changeset, keys: ClinicKeys, floor: str) -> ApplyPlan:
    """The APPLY call for *changeset* (all of one clinic, as the core guarantees).

    *floor* is the key the script stamps the events by (see ``lua.APPLY``).
    """
    return ApplyPlan(changeset, keys, floor)


def folded_field(name: str | None) -> str:
    """How a name's search form travels to the script: "" for no name, else "=" and ``fold(name)``."""
    return "" if name is None else "=" + fold(name)


def prefix_ranges(prefixes: Sequence[str]) -> list[tuple[str, str | None]]:
    """Disjoint ascending ``[low, high)`` ranges of the 12-digit numbers starting with any prefix.

    No prefixes means every number: ``[("", None)]``; ``high=None`` means unbounded.
    """
    if not prefixes or "" in prefixes:
        return [("", None)]
    ranges: list[tuple[str, str | None]] = []
    for low in sorted(set(prefixes)):
        high = low + ":"  # ':' follows '9': every digit string starting with `low` sorts below it
        last = ranges[-1] if ranges else None
        if last is not None and last[1] is not None and low <= last[1]:
            ranges[-1] = (last[0], max(last[1], high))
        else:
            ranges.append((low, high))
    return ranges


def clip(ranges: list[tuple[str, str | None]], after: str | None) -> list[str]:
    """ZRANGEBYLEX min/max pairs for the parts of *ranges* above *after*."""
    bounds: list[str] = []
    for low, high in ranges:
        if after is not None and high is not None and high <= after:
            continue
        if after is not None and after >= low:
            bounds.append("(" + after)
        else:
            bounds.append("[" + low if low else "-")
        bounds.append("+" if high is None else "(" + high)
    return bounds


def _record_field(key: ApprovalKey | GrantKey) -> str:
    return "a" if isinstance(key, ApprovalKey) else "g:" + key.case_type_id


def _check_op(precondition: Precondition, resident: Callable[[str], int]) -> _Op:
    key = precondition.key
    if isinstance(precondition, MustExist | MustBeAbsent):
        sign = "+" if isinstance(precondition, MustExist) else "-"
        if isinstance(key, ClinicKey):
            return ("C" + sign,)
        if isinstance(key, CaseTypeKey):
            return ("T" + sign, key.case_type_id)
        return ("F" + sign, resident(key.digits), _record_field(key))
    if isinstance(precondition, MustHaveVersion):
        grant = precondition.key
        return ("V", resident(grant.digits), "g:" + grant.case_type_id, str(precondition.version))
    if isinstance(precondition, CaseTypeUnused):
        return ("U", precondition.key.case_type_id)
    if isinstance(precondition, CaseTypeRestricted):
        return ("R", precondition.key.case_type_id)
    raise TypeError(f"unknown precondition {type(precondition).__name__}")


def _write_op(write: Write, resident: Callable[[str], int]) -> _Op:
    key: Key
    if isinstance(write, Put):
        record = write.record
        key = key_of(record)
        text = dump_record(record)
        if isinstance(key, ClinicKey):
            return ("PC", text)
        if isinstance(key, CaseTypeKey):
            return ("PT", key.case_type_id, text)
        name: str | None = getattr(record, "name", None)
        if isinstance(key, ApprovalKey):
            return ("PA", resident(key.digits), text, folded_field(name))
        return ("PG", resident(key.digits), key.case_type_id, text, folded_field(name))
    assert isinstance(write, Delete)
    key = write.key
    if isinstance(key, ClinicKey):
        return ("DC",)
    if isinstance(key, CaseTypeKey):
        return ("DT", key.case_type_id)
    if isinstance(key, ApprovalKey):
        return ("DA", resident(key.digits))
    return ("DG", resident(key.digits), key.case_type_id)
