"""The reading half of :class:`careaccess.CareAccess`: time, lookups, authorization,
the resident list, decisions and the change feed.

Every read checks its ids first (:mod:`careaccess.validation`): a decision on an id no
record can have fails closed without the store seeing that id.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Self
from zoneinfo import ZoneInfo

import attrs
import pluggy

from careaccess import decision, planning, reachservice, refusals
from careaccess.clock import Clock, LocalDates, aware
from careaccess.errors import InvalidRequest
from careaccess.identity import PersonalIdentityNumber, as_pnr
from careaccess.listing import Cursors, check_limit, parse_search
from careaccess.models import (
    Actor,
    CaseType,
    Clinic,
    Decision,
    Event,
    Page,
    Residence,
    Resident,
    ResidentAccess,
)
from careaccess.plugins import Hooks
from careaccess.reach import ClinicAccess
from careaccess.store import DecisionFacts, FactsRequest, ResidentQuery, Store
from careaccess.validation import KNOWN_IDS, MAX_DECIDE_MANY, check_id, check_instance, check_search, check_tuple, is_id

__all__ = ["VIEW", "ParsedRequest", "PnrLike", "Reads", "parse_requests"]

#: The action name authorization is asked about for reading a clinic's residents.
VIEW = "view"

PnrLike = str | PersonalIdentityNumber

# Builds a named tuple without the Python-level __new__ the class generates: several
# times faster, and FactsRequest is built once per decision.
_new_tuple = tuple.__new__
# What as_pnr does for text, one call fewer: decide and decide_many run it per request.
_parse = PersonalIdentityNumber.parse
#: What a store would answer for a clinic id that no record can have.
_NO_FACTS = DecisionFacts(None, None, None, None)


class Reads:
    """Everything :class:`careaccess.CareAccess` does without writing (see there)."""

    def __init__(self, store: Store, plugin_manager: pluggy.PluginManager, clock: Clock, timezone: ZoneInfo) -> None:
        self.store = store
        self.plugin_manager = plugin_manager
        #: Every call to a plugin goes through here.
        self.hooks = Hooks(plugin_manager)
        self.timezone = timezone
        self._clock = clock
        self._dates = LocalDates(timezone)
        self._local_date = self._dates.of  # bound once: decide passes it on every call
        self._residence_of = self.residence_of  # likewise
        self._cursors: Cursors | None = None  # made on first use: the key is a store read

    def __repr__(self) -> str:
        return f"CareAccess(store={type(self.store).__name__}, timezone={self.timezone.key!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the store's connections."""
        self.store.close()

    # -- time --------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """The injected clock's current time (always aware).

        :raises InvalidRequest: ``naive_datetime`` when the clock returns a naive one.
        """
        return aware(self._clock(), "clock")

    def today(self) -> dt.date:
        """The current date in the configured time zone."""
        return self._dates.of(self.now())

    def local_date(self, at: dt.datetime) -> dt.date:
        """The date of the moment *at* in the configured time zone."""
        return self._dates.of(aware(at, "at"))

    def _person(self, pnr: PnrLike, today: dt.date) -> PersonalIdentityNumber:
        """*pnr* parsed with the century and future-birth checks judged on *today*."""
        return pnr if type(pnr) is PersonalIdentityNumber else as_pnr(pnr, today=today)

    # -- lookups -----------------------------------------------------------------------

    def lookup_resident(self, pnr: PnrLike) -> Resident | None:
        """Ask the directory hook for a resident's name and residence."""
        return self.hooks.lookup_resident(self._person(pnr, self.today()))

    def _name_of(self, person: PersonalIdentityNumber, name: str | None) -> planning.NameOf:
        """*name*, else (asked only when needed) the directory's name of *person*."""
        if name is not None:
            return lambda: name

        def ask() -> str | None:
            resident = self.hooks.lookup_resident(person)
            return None if resident is None else resident.name

        return ask

    def clinic(self, clinic_id: str) -> Clinic | None:
        """The clinic with this id, or None (also for an id no clinic can have)."""
        return self.store.get_clinic(clinic_id) if is_id(clinic_id) else None

    def case_types(self, clinic_id: str) -> list[CaseType]:
        """The clinic's case types, ordered by id ([] also for an id no clinic can have)."""
        return self.store.list_case_types(clinic_id) if is_id(clinic_id) else []

    def _case_type(self, clinic_id: str, case_type_id: str) -> tuple[Clinic | None, CaseType | None]:
        clinic = self.store.get_clinic(clinic_id)
        if clinic is None:
            return None, None
        return clinic, next((c for c in self.store.list_case_types(clinic_id) if c.id == case_type_id), None)

    def _facts(self, clinic_id: str, person: PersonalIdentityNumber, case_type_id: str) -> DecisionFacts:
        return self.store.load_facts(FactsRequest(person.digits, clinic_id, case_type_id, person))

    # -- authorization -----------------------------------------------------------------

    def authorized(self, actor: Actor, action: str, clinic_id: str) -> bool:
        """Whether *actor* may do *action* at *clinic_id* (see ``careaccess_authorize``)."""
        return self.hooks.authorize(actor, action, clinic_id)

    def _authorize(self, actor: Actor, action: str, clinic_id: str) -> None:
        check_instance(actor, Actor, "actor")
        if not self.hooks.authorize(actor, action, clinic_id):
            raise refusals.permission_denied()

    # -- the resident list -------------------------------------------------------------

    def _require_clinic(self, clinic_id: str) -> Clinic:
        clinic = self.store.get_clinic(clinic_id)
        if clinic is None:
            raise refusals.unknown_clinic()
        return clinic

    def resident_access(self, actor: Actor, clinic_id: str, pnr: PnrLike) -> ResidentAccess:
        """A resident's approval and grants at the clinic (empty if neither).

        The name is the stored one, else the directory's.

        :raises NotFound: ``unknown_clinic``.
        """
        check_id(clinic_id, "clinic_id")
        self._authorize(actor, VIEW, clinic_id)
        person = self._person(pnr, self.today())
        self._require_clinic(clinic_id)
        access = self.store.get_resident_access(clinic_id, person.digits)
        if access is not None and access.name is not None:
            return access
        name = self._name_of(person, None)()
        if access is None:
            return ResidentAccess(person, name, None, ())
        return attrs.evolve(access, name=name)

    def list_residents(
        self,
        actor: Actor,
        clinic_id: str,
        limit: int = 50,
        cursor: str | None = None,
        search: str | None = None,
    ) -> Page[ResidentAccess]:
        """One page of the residents who are approved or hold a grant, by identity number.

        :param cursor: ``next_cursor`` of the previous page. Residents added or removed
            between pages never make a page repeat or skip anyone listed throughout.
        :param search: digits (with optional ``-``/``+``) match the start of the 12- or
            10-digit identity number; ``-1212`` matches its last digits; anything else
            matches part of a name, ignoring case, how a letter is composed (Å typed
            as one character or as A and a ring) and separators; å, ä, ö and other
            accented letters must be typed as such (see :func:`careaccess.listing.parse_search`).
        :raises InvalidRequest: ``invalid_limit``, ``invalid_cursor``.
        :raises NotFound: ``unknown_clinic``.
        """
        check_id(clinic_id, "clinic_id")
        check_limit(limit)
        found = parse_search(check_search(search), self.today())
        self._authorize(actor, VIEW, clinic_id)
        self._require_clinic(clinic_id)
        after = None if cursor is None else self._cursor_codec().decode(cursor, clinic_id, found)
        query = ResidentQuery(
            clinic_id, limit + 1, after, found.digit_prefixes, found.digit_suffix, found.name_contains
        )
        rows = self.store.list_residents(query)
        items = rows[:limit]
        next_cursor = self._cursor_codec().encode(items[-1].pnr.digits, clinic_id, found) if len(rows) > limit else None
        return Page(items, next_cursor)

    def _cursor_codec(self) -> Cursors:
        if self._cursors is None:
            self._cursors = Cursors(self.store.cursor_key())
        return self._cursors

    # -- decisions ---------------------------------------------------------------------

    def residence_of(self, pnr: PersonalIdentityNumber) -> Residence | None:
        """The resident's residence according to the directory hook, or None if unknown."""
        resident = self.hooks.lookup_resident(pnr)
        return None if resident is None else resident.residence

    def decide(
        self,
        pnr: PnrLike,
        clinic_id: str,
        case_type_id: str,
        at: dt.datetime | None = None,
        residence: Residence | None = None,
    ) -> Decision:
        """May this resident use this case type at this clinic at *at*? And why (not)?

        Never raises for unknown facts (it fails closed with a reason); raises
        :class:`InvalidIdentityNumber` or ``InvalidRequest(naive_datetime)`` for bad input.
        A number given as text is parsed against *at*'s local date.

        :param at: aware datetime; default: the clock's now.
        :param residence: the resident's residence; default: asked of the directory hook
            when a service area could decide.
        """
        if at is None:
            moment = self._clock()
            if type(moment) is not dt.datetime or moment.utcoffset() is None:
                moment = aware(moment, "clock")  # the checks of now(), the common case inlined
        elif type(at) is dt.datetime and at.utcoffset() is not None:
            moment = at  # the common case, checked inline: this is the hot path
        else:
            moment = aware(at, "at")
        if type(pnr) is PersonalIdentityNumber:
            person, day = pnr, None
        else:
            day = self._local_date(moment)
            person = _parse(pnr, today=day)
        # is_id(clinic_id) and is_id(case_type_id), the known ids inlined: this is the hot path.
        if (
            type(clinic_id) is str
            and type(case_type_id) is str
            and clinic_id in KNOWN_IDS
            and case_type_id in KNOWN_IDS
        ) or (is_id(clinic_id) and is_id(case_type_id)):
            # The slot behind person.digits, read without the property's call: this is the hot path.
            digits = person._digits
            facts = self.store.load_facts(_new_tuple(FactsRequest, (digits, clinic_id, case_type_id, person)))
        else:
            facts = self._facts_of_malformed(clinic_id)
        return decision.decide(
            facts,
            person,
            clinic_id,
            case_type_id,
            moment,
            self.timezone,
            residence,
            self._residence_of,
            day,
            self._local_date,
        )

    def decide_many(
        self,
        requests: Iterable[tuple[PnrLike, str, str]],
        at: dt.datetime | None = None,
    ) -> list[Decision]:
        """Decide many ``(pnr, clinic_id, case_type_id)`` requests with one store round trip.

        Ids no clinic or case type can have are decided without the store, as ``decide`` does.

        :raises InvalidRequest: ``too_many_requests`` above
            :data:`~careaccess.validation.MAX_DECIDE_MANY` requests; ``naive_datetime``.
        :raises InvalidIdentityNumber: for the first number that does not parse.
        """
        moment = self.now() if at is None else aware(at, "at")
        day = self._dates.of(moment)
        parsed, wanted = parse_requests(requests, day)
        loaded = iter(self.store.load_facts_many(wanted) if wanted else [])
        decide, zone, residence_of = decision.decide, self.timezone, self._residence_of
        malformed = self._facts_of_malformed
        return [
            decide(next(loaded) if known else malformed(c), p, c, t, moment, zone, None, residence_of, day)
            for p, c, t, known in parsed
        ]

    def _facts_of_malformed(self, clinic_id: object) -> DecisionFacts:
        """The facts of a request with an id no record can have: no store sees that id.

        A malformed clinic id: no clinic. A malformed case type id at a well-formed
        clinic id: the clinic as stored (so the table says ``unknown_case_type`` only
        where the clinic exists), no case type.
        """
        clinic = self.store.get_clinic(clinic_id) if is_id(clinic_id) else None
        return _NO_FACTS if clinic is None else DecisionFacts(clinic, None, None, None)

    # -- the change feed ---------------------------------------------------------------

    def events(self, after: str | None = None, limit: int = 100, clinic_id: str | None = None) -> list[Event]:
        """Committed changes after the event id *after*, oldest first (the durable change feed).

        A *clinic_id* no clinic can have has no events ([], without asking the store).

        :raises InvalidRequest: ``invalid_limit``, ``invalid_cursor`` (also for an
            *after* that no store makes: not printable text of at most
            :data:`~careaccess.validation.MAX_ID_LENGTH` characters).
        """
        check_limit(limit)
        if after is not None and not is_id(after):
            raise InvalidRequest(
                "invalid_cursor",
                "The event cursor is not an event id of this store.",
                "Markören är inte ett händelse-id från den här lagringen.",
            )
        if clinic_id is not None and not is_id(clinic_id):
            return []
        return self.store.read_events(after, limit, clinic_id)

    # -- the resident's side -----------------------------------------------------------

    def clinics_for(
        self,
        pnr: PnrLike,
        at: dt.datetime | None = None,
        residence: Residence | None = None,
        include_denied: bool = False,
    ) -> list[ClinicAccess]:
        """Every clinic the resident may contact at *at*, each with the decision of every allowed case type.

        Agrees exactly with :meth:`decide` for every clinic and case type: each decision
        is ``decide``'s own. Ordered by clinic id, decisions by case type id. Reads the
        store once (natively on a :class:`~careaccess.reachstore.ReachStore`, otherwise
        clinic by clinic), and asks the directory for the residence once when not given.
        A number given as text is parsed against *at*'s local date, as ``decide`` does.

        :param include_denied: also list the clinics that could have let the resident in
            (approved, granted, or with a service-area rule for the resident's region,
            municipality or the whole country) but allow nothing now, and every denied
            case type with its reason: an administrator's "why can't this resident reach us?".
        :raises InvalidIdentityNumber: for a malformed *pnr*.
        :raises InvalidRequest: ``naive_datetime``.
        """
        moment = self.now() if at is None else aware(at, "at")
        person = self._person(pnr, self._dates.of(moment))
        return reachservice.clinics_for(self, person, moment, residence, include_denied)

    def list_clinics(
        self,
        region: str | None = None,
        municipality: str | None = None,
        search: str | None = None,
        actor: Actor | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Clinic]:
        """One page of the clinic directory, by clinic id.

        :param region: clinics whose service area names this region (2-digit code).
        :param municipality: clinics whose service area covers this municipality (a rule
            names it, or names its region as a whole).
        :param search: part of the clinic's name, compared folded (case, Unicode form,
            runs of spaces and dashes ignored).
        :param actor: only the clinics *actor* may view (``careaccess_authorize``, ``"view"``).
        :param cursor: ``next_cursor`` of the previous page of the same query; clinics
            added or changed between pages never make a page repeat or skip a clinic
            listed throughout.
        :raises InvalidRequest: ``invalid_limit`` (1..MAX_LIMIT), ``invalid_cursor``,
            ``invalid_search``, ``unknown_region``, ``unknown_municipality``,
            ``municipality_outside_region``.
        """
        check_limit(limit)
        check_search(search)
        return reachservice.list_clinics(
            self,
            region=region,
            municipality=municipality,
            search=search,
            actor=actor,
            limit=limit,
            cursor=cursor,
        )


#: One request of a batch once checked: the number, the clinic and case type ids, and
#: whether both ids are well formed (only those requests reach the store).
ParsedRequest = tuple[PersonalIdentityNumber, str, str, bool]


def parse_requests(
    requests: Iterable[tuple[PnrLike, str, str]], day: dt.date
) -> tuple[list[ParsedRequest], list[FactsRequest]]:
    """``decide_many``'s requests checked and parsed, and the store requests of those with well-formed ids.

    Numbers given as text are parsed against *day*. The common cases are checked inline, as
    ``decide`` does: a batch pays per request what a single call pays once.

    :raises InvalidRequest: ``too_many_requests`` above
        :data:`~careaccess.validation.MAX_DECIDE_MANY` requests; ``invalid_request`` for an
        item that is not a tuple (or list) of three.
    :raises InvalidIdentityNumber: for the first number that does not parse.
    """
    asked = list(itertools.islice(requests, MAX_DECIDE_MANY + 1))
    if len(asked) > MAX_DECIDE_MANY:
        raise InvalidRequest(
            "too_many_requests",
            f"Decide at most {MAX_DECIDE_MANY} requests at a time.",
            f"Pröva högst {MAX_DECIDE_MANY} frågor åt gången.",
        )
    shaped = (
        asked
        if all(type(item) is tuple and len(item) == 3 for item in asked)
        else [check_tuple(item, 3, "requests") for item in asked]
    )
    parse, known_ids = _parse, KNOWN_IDS
    parsed: list[ParsedRequest] = [
        (
            p if type(p) is PersonalIdentityNumber else parse(p, today=day),
            c,
            t,
            (type(c) is str and type(t) is str and c in known_ids and t in known_ids) or (is_id(c) and is_id(t)),
        )
        for p, c, t in shaped
    ]
    return parsed, [_new_tuple(FactsRequest, (p._digits, c, t, p)) for p, c, t, known in parsed if known]
