"""Changesets and resident-list queries as Lua script arguments (no I/O here).

:func:`plan_changeset` turns a :class:`~careaccess.store.Changeset` into the keys and
ops of ``lua.APPLY``; :class:`ImportPlan` an :class:`~careaccess.store.ImportBatch`
into those of ``lua.IMPORT``; :func:`prefix_ranges` and :func:`clip` a digit prefix
and a resume point into ``ZRANGEBYLEX`` bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from careaccess import InvalidRequest
from careaccess.models import Grant, ResidentAccess
from careaccess.store import (
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    Delete,
    ImportBatch,
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
from careaccess_redis.records import dump_record

__all__ = ["REPLAY_SECONDS", "ImportPlan", "clip", "field_of", "name_matches", "plan_changeset", "prefix_ranges"]

#: How long an applied changeset's token is kept, so a retried call returns its event.
REPLAY_SECONDS: Final = 300


def name_matches(access: ResidentAccess, needle: str) -> bool:
    names = [access.approval.name] if access.approval is not None else []
    names.extend(g.name for g in access.grants)
    return any(name is not None and needle in name.casefold() for name in names)


def prefix_ranges(prefix: str | None) -> list[tuple[str, str | None]]:
    """Disjoint ascending ``[low, high)`` ranges of the numbers matching a digit prefix.

    A prefix matches the start of the 12-digit form or of the 10-digit form (digits
    from the third on), so besides ``prefix`` itself every century ``00``-``99``
    followed by the prefix is a candidate. ``high=None`` means unbounded.
    """
    if not prefix:
        return [("", None)]
    starts = {prefix}
    if len(prefix) <= 10:
        starts.update(f"{century:02d}{prefix}" for century in range(100))
    ranges: list[tuple[str, str | None]] = []
    for low in sorted(starts):
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


def field_of(key: Key) -> str:
    """The hash field a key's record is stored under (unused for clinics)."""
    if isinstance(key, ClinicKey):
        return ""
    if isinstance(key, CaseTypeKey):
        return key.case_type_id
    if isinstance(key, ApprovalKey):
        return "a"
    return "g:" + key.case_type_id


#: Keys, ops, and the (op position, precondition) of preconditions on other clinics.
ApplyPlan = tuple[list[str], list[str], list[tuple[int, Precondition]]]


def plan_changeset(changeset: Changeset, keys: ClinicKeys, floor: str) -> ApplyPlan:
    """The APPLY script's keys and ops for a changeset (slot 5 is left for the replay key).

    *floor* is the key the script stamps the event by (see ``lua.APPLY``).

    Preconditions on other clinics' keys get a placeholder op, listed with its position
    in the ops, to be replaced by ``OK`` or ``NO`` once checked.
    """
    clinic_id = changeset.event.clinic_id
    key_names = [keys.clinic, keys.types, keys.uses, keys.residents, keys.events, "", floor]
    positions: dict[str, str] = {}

    def resident(pnr: str) -> str:
        name = keys.resident(pnr)
        if name not in positions:
            key_names.append(name)
            positions[name] = str(len(key_names))  # Lua indexes from 1
        return positions[name]

    def same_clinic(key: Key) -> None:
        if key.clinic_id != clinic_id:
            raise InvalidRequest(
                "changeset_spans_clinics",
                "Every record a changeset writes must belong to the event's clinic.",
                "Alla nycklar i en ändring måste höra till händelsens mottagning.",
            )

    ops: list[str] = []
    foreign: list[tuple[int, Precondition]] = []
    for precondition in changeset.preconditions:
        if precondition.key.clinic_id != clinic_id:
            foreign.append((len(ops), precondition))
            ops.extend(("NO", "", "", ""))
            continue
        ops.extend(_check_op(precondition, resident))
    for write in changeset.writes:
        key = write.key if isinstance(write, Delete) else key_of(write.record)
        same_clinic(key)
        ops.extend(_write_op(write, key, resident))
    return key_names, ops, foreign


class ImportPlan:
    """The IMPORT script's keys (slot 5 left for the replay key) and arguments but the events.

    *floor* is the key the script stamps the events by, as for :func:`plan_changeset`.

    Records are grouped by resident (one ``HSET`` each); ``order[j]`` is the batch index
    of the record at shape position ``j``.
    """

    def __init__(self, batch: ImportBatch, keys: ClinicKeys, floor: str) -> None:
        clinic_id = batch.clinic_id
        if len(batch.events) != len(batch.records):
            raise ValueError("an import batch needs exactly one event per record")
        self.case_types = batch.case_type_ids()
        codes = {case_type_id: str(n) for n, case_type_id in enumerate(self.case_types, 1)}
        granted = dict.fromkeys(self.case_types, 0)
        by_resident: dict[str, list[int]] = {}
        fields: list[str] = []
        for index, record in enumerate(batch.records):
            if record.clinic_id != clinic_id:
                raise InvalidRequest(
                    "import_mixed_clinics",
                    "Every imported record must belong to the clinic imported into.",
                    "Alla importerade poster måste höra till mottagningen som importeras till.",
                )
            field = codes[record.case_type_id] if isinstance(record, Grant) else "0"
            held = by_resident.setdefault(record.pnr.digits, [])
            # A record twice would be written once but counted twice in the grant counters.
            if any(fields[other] == field for other in held):
                raise InvalidRequest(
                    "import_duplicate",
                    "The import holds the same approval or grant twice.",
                    "Importen innehåller samma godkännande eller utdelning två gånger.",
                )
            if isinstance(record, Grant):
                granted[record.case_type_id] += 1
            fields.append(field)
            held.append(index)
        records = batch.records
        self.key_names = [keys.clinic, keys.types, keys.uses, keys.residents, keys.events, "", floor]
        self.key_names.extend(keys.resident(pnr) for pnr in by_resident)
        self.order = [index for indices in by_resident.values() for index in indices]
        shape = " ".join(",".join(fields[index] for index in indices) for indices in by_resident.values())
        # dump_record's JSON never holds a raw newline: the script splits on it.
        texts = "\n".join(dump_record(records[index]) for index in self.order)
        self.head: list[str | int] = [REPLAY_SECONDS, keys.resident_prefix, len(self.case_types)]
        for case_type_id in self.case_types:
            self.head += (case_type_id, granted[case_type_id])
        self.head += (shape, texts)


def _check_op(precondition: Precondition, resident: Callable[[str], str]) -> tuple[str, str, str, str]:
    key = precondition.key
    if isinstance(precondition, MustExist | MustBeAbsent):
        sign = "+" if isinstance(precondition, MustExist) else "-"
        if isinstance(key, ClinicKey):
            return ("C" + sign, "", "", "")
        if isinstance(key, CaseTypeKey):
            return ("T" + sign, key.case_type_id, "", "")
        if isinstance(key, ApprovalKey):
            return ("F" + sign, resident(key.pnr), "a", "")
        return ("F" + sign, resident(key.pnr), "g:" + key.case_type_id, "")
    if isinstance(precondition, MustHaveVersion):
        return ("V", resident(precondition.key.pnr), "g:" + precondition.key.case_type_id, str(precondition.version))
    if isinstance(precondition, CaseTypeUnused):
        return ("U", precondition.key.case_type_id, "", "")
    assert isinstance(precondition, CaseTypeRestricted)
    return ("R", precondition.key.case_type_id, "", "")


def _write_op(write: Write, key: Key, resident: Callable[[str], str]) -> tuple[str, str, str, str]:
    if isinstance(write, Put):
        text = dump_record(write.record)
        if isinstance(key, ClinicKey):
            return ("PC", text, "", "")
        if isinstance(key, CaseTypeKey):
            return ("PT", key.case_type_id, text, "")
        if isinstance(key, ApprovalKey):
            return ("PA", resident(key.pnr), text, "")
        return ("PG", resident(key.pnr), key.case_type_id, text)
    if isinstance(key, ClinicKey):
        return ("DC", "", "", "")
    if isinstance(key, CaseTypeKey):
        return ("DT", key.case_type_id, "", "")
    if isinstance(key, ApprovalKey):
        return ("DA", resident(key.pnr), "", "")
    return ("DG", resident(key.pnr), key.case_type_id, "")
