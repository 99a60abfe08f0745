"""The reading half of :class:`~careaccess.aio.AsyncCareAccess`: time, lookups, the
resident list, decisions and the change feed, awaitable (the twin of
:class:`careaccess.reads.Reads`).

.. versionadded:: 0.2
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from types import TracebackType
from typing import Self
from zoneinfo import ZoneInfo

import attrs
import pluggy

from careaccess import decision, planning, refusals
from careaccess.aio import reach
from careaccess.aio.hooks import AsyncHooks
from careaccess.aio.store import AsyncStore
from careaccess.clock import Clock, LocalDates, aware
from careaccess.errors import InvalidRequest
from careaccess.identity import PersonalIdentityNumber, as_pnr
from careaccess.listing import Cursors, check_limit, parse_search
from careaccess.models import Actor, CaseType, Clinic, Decision, Event, Page, Residence, Resident, ResidentAccess
from careaccess.plugins import Hooks
from careaccess.reach import ClinicAccess, clinics_reachable
from careaccess.reads import VIEW, parse_requests
from careaccess.store import DecisionFacts, FactsRequest, ResidentQuery
from careaccess.validation import check_id, check_instance, check_search, is_id

__all__ = ["AsyncReads", "PnrLike"]

PnrLike = str | PersonalIdentityNumber

_NO_FACTS = DecisionFacts(None, None, None, None)


class AsyncReads:
    """Everything :class:`~careaccess.aio.AsyncCareAccess` reads; the workflows build on it."""

    def __init__(
        self, store: AsyncStore, plugin_manager: pluggy.PluginManager, clock: Clock, timezone: ZoneInfo
    ) -> None:
        self.store = store
        self.plugin_manager = plugin_manager
        self.hooks = AsyncHooks(Hooks(plugin_manager))
        self.timezone = timezone
        self._clock = clock
        self._dates = LocalDates(timezone)
        self._cursors: Cursors | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(store={self.store!r}, timezone={self.timezone.key!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Deliver queued notifications, then close the store's connections."""
        try:
            await self.hooks.aclose()
        finally:
            await self.store.aclose()

    async def notified(self) -> None:
        """Wait until the notification hooks have heard of every change made so far."""
        await self.hooks.drain()

    # -- time --------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """The injected clock's current time (always aware)."""
        return aware(self._clock(), "clock")

    def today(self) -> dt.date:
        """The current date in the configured time zone."""
        return self._dates.of(self.now())

    def local_date(self, at: dt.datetime) -> dt.date:
        """The date of the moment *at* in the configured time zone."""
        return self._dates.of(aware(at, "at"))

    @staticmethod
    def _person(pnr: PnrLike, today: dt.date) -> PersonalIdentityNumber:
        return pnr if type(pnr) is PersonalIdentityNumber else as_pnr(pnr, today=today)

    # -- lookups -----------------------------------------------------------------------

    async def lookup_resident(self, pnr: PnrLike) -> Resident | None:
        """Ask the directory hooks for a resident's name and residence."""
        return await self.hooks.lookup_resident(self._person(pnr, self.today()))

    async def _name(self, person: PersonalIdentityNumber, name: str | None, needed: bool) -> planning.NameOf:
        if name is None and needed:
            resident = await self.hooks.lookup_resident(person)
            name = None if resident is None else resident.name
        return lambda: name

    async def clinic(self, clinic_id: str) -> Clinic | None:
        """The clinic with this id, or None (also for an id no clinic can have)."""
        return await self.store.get_clinic(clinic_id) if is_id(clinic_id) else None

    async def case_types(self, clinic_id: str) -> list[CaseType]:
        """The clinic's case types, ordered by id."""
        return await self.store.list_case_types(clinic_id) if is_id(clinic_id) else []

    async def _case_type(self, clinic_id: str, case_type_id: str) -> tuple[Clinic | None, CaseType | None]:
        clinic = await self.store.get_clinic(clinic_id)
        if clinic is None:
            return None, None
        return clinic, next((c for c in await self.store.list_case_types(clinic_id) if c.id == case_type_id), None)

    async def _facts(self, clinic_id: str, person: PersonalIdentityNumber, case_type_id: str) -> DecisionFacts:
        return await self.store.load_facts(FactsRequest(person.digits, clinic_id, case_type_id, person))

    # -- authorization -----------------------------------------------------------------

    def authorized(self, actor: Actor, action: str, clinic_id: str) -> bool:
        """Whether *actor* may do *action* at *clinic_id* (see ``careaccess_authorize``)."""
        return self.hooks.sync.authorize(actor, action, clinic_id)

    def _authorize(self, actor: Actor, action: str, clinic_id: str) -> None:
        check_instance(actor, Actor, "actor")
        if not self.hooks.sync.authorize(actor, action, clinic_id):
            raise refusals.permission_denied()

    # -- the resident list -------------------------------------------------------------

    async def _require_clinic(self, clinic_id: str) -> Clinic:
        clinic = await self.store.get_clinic(clinic_id)
        if clinic is None:
            raise refusals.unknown_clinic()
        return clinic

    async def resident_access(self, actor: Actor, clinic_id: str, pnr: PnrLike) -> ResidentAccess:
        """A resident's approval and grants at the clinic (see :meth:`CareAccess.resident_access`)."""
        check_id(clinic_id, "clinic_id")
        self._authorize(actor, VIEW, clinic_id)
        person = self._person(pnr, self.today())
        await self._require_clinic(clinic_id)
        access = await self.store.get_resident_access(clinic_id, person.digits)
        if access is not None and access.name is not None:
            return access
        name = (await self._name(person, None, needed=True))()
        if access is None:
            return ResidentAccess(person, name, None, ())
        return attrs.evolve(access, name=name)

    async def list_residents(
        self,
        actor: Actor,
        clinic_id: str,
        limit: int = 50,
        cursor: str | None = None,
        search: str | None = None,
    ) -> Page[ResidentAccess]:
        """One page of the clinic's resident list (see :meth:`CareAccess.list_residents`)."""
        check_id(clinic_id, "clinic_id")
        check_limit(limit)
        found = parse_search(check_search(search), self.today())
        self._authorize(actor, VIEW, clinic_id)
        await self._require_clinic(clinic_id)
        cursors = await self._cursor_codec()
        after = None if cursor is None else cursors.decode(cursor, clinic_id, found)
        query = ResidentQuery(
            clinic_id, limit + 1, after, found.digit_prefixes, found.digit_suffix, found.name_contains
        )
        rows = await self.store.list_residents(query)
        items = rows[:limit]
        next_cursor = cursors.encode(items[-1].pnr.digits, clinic_id, found) if len(rows) > limit else None
        return Page(items, next_cursor)

    async def _cursor_codec(self) -> Cursors:
        if self._cursors is None:
            self._cursors = Cursors(await self.store.cursor_key())
        return self._cursors

    # -- decisions ---------------------------------------------------------------------

    async def residence_of(self, pnr: PersonalIdentityNumber) -> Residence | None:
        """The resident's residence according to the directory hooks, or None if unknown."""
        resident = await self.hooks.lookup_resident(pnr)
        return None if resident is None else resident.residence

    async def decide(
        self,
        pnr: PnrLike,
        clinic_id: str,
        case_type_id: str,
        at: dt.datetime | None = None,
        residence: Residence | None = None,
    ) -> Decision:
        """May this resident use this case type at this clinic at *at*? (see :meth:`CareAccess.decide`).

        The directory is asked for the residence only when the table needs it: first
        the decision is made without it; if that fails closed with
        ``residence_unknown``, the residence is awaited and the decision made again.
        """
        moment = self.now() if at is None else aware(at, "at")
        day = self._dates.of(moment)
        person = self._person(pnr, day)
        if is_id(clinic_id) and is_id(case_type_id):
            facts = await self.store.load_facts(FactsRequest(person.digits, clinic_id, case_type_id, person))
        else:
            facts = await self._facts_of_malformed(clinic_id)
        return await self._decide(facts, person, clinic_id, case_type_id, moment, day, residence)

    async def _decide(
        self,
        facts: DecisionFacts,
        person: PersonalIdentityNumber,
        clinic_id: str,
        case_type_id: str,
        moment: dt.datetime,
        day: dt.date,
        residence: Residence | None,
    ) -> Decision:
        # decision.decide asks a synchronous callable for the residence; the answer is
        # awaited first, and only when a rule could need it.
        asked: list[Residence | None] = []

        def residence_of(_: PersonalIdentityNumber) -> Residence | None:
            asked.append(None)
            return None

        made = decision.decide(
            facts, person, clinic_id, case_type_id, moment, self.timezone, residence, residence_of, day=day
        )
        if residence is not None or not asked:
            return made
        known = await self.residence_of(person)
        if known is None:
            return made
        return decision.decide(
            facts, person, clinic_id, case_type_id, moment, self.timezone, known, residence_of, day=day
        )

    async def decide_many(
        self,
        requests: Iterable[tuple[PnrLike, str, str]],
        at: dt.datetime | None = None,
    ) -> list[Decision]:
        """Decide many requests with one store round trip (see :meth:`CareAccess.decide_many`)."""
        moment = self.now() if at is None else aware(at, "at")
        day = self._dates.of(moment)
        parsed, wanted = parse_requests(requests, day)
        loaded = iter(await self.store.load_facts_many(wanted) if wanted else [])
        facts = [next(loaded) if known else await self._facts_of_malformed(c) for _, c, _, known in parsed]
        return [
            await self._decide(f, p, c, t, moment, day, None) for f, (p, c, t, _) in zip(facts, parsed, strict=True)
        ]

    async def _facts_of_malformed(self, clinic_id: object) -> DecisionFacts:
        clinic = await self.store.get_clinic(clinic_id) if is_id(clinic_id) else None
        return _NO_FACTS if clinic is None else DecisionFacts(clinic, None, None, None)

    # -- the change feed ---------------------------------------------------------------

    async def events(self, after: str | None = None, limit: int = 100, clinic_id: str | None = None) -> list[Event]:
        """Committed changes after the event id *after*, oldest first (see :meth:`CareAccess.events`)."""
        check_limit(limit)
        if after is not None and not is_id(after):
            raise InvalidRequest(
                "invalid_cursor",
                "The event cursor is not an event id of this store.",
                "Markören är inte ett händelse-id från den här lagringen.",
            )
        if clinic_id is not None and not is_id(clinic_id):
            return []
        return await self.store.read_events(after, limit, clinic_id)

    # -- the resident's side -----------------------------------------------------------

    async def clinics_for(
        self,
        pnr: PnrLike,
        at: dt.datetime | None = None,
        residence: Residence | None = None,
        include_denied: bool = False,
    ) -> list[ClinicAccess]:
        """Every clinic the resident may contact (see :meth:`CareAccess.clinics_for`).

        Read through the store's :class:`~careaccess.aio.store.AsyncReachStore` methods,
        its adapter's synchronous store, or the fallback (see :mod:`careaccess.aio.reach`);
        the residence is awaited from the directory once, when not given.
        """
        moment = self.now() if at is None else aware(at, "at")
        person = self._person(pnr, self._dates.of(moment))
        known = residence if residence is not None else await self.residence_of(person)
        facts = await reach.load_reach(self.store, person, known)
        return clinics_reachable(
            facts, person, moment, self.timezone, known, lambda _: known, include_denied=include_denied
        )

    async def list_clinics(
        self,
        region: str | None = None,
        municipality: str | None = None,
        search: str | None = None,
        actor: Actor | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Clinic]:
        """One page of the clinic directory (see :meth:`CareAccess.list_clinics`)."""
        check_limit(limit)
        check_search(search)
        return await reach.list_clinics(
            self.store,
            self.hooks.sync,
            region=region,
            municipality=municipality,
            search=search,
            actor=actor,
            limit=limit,
            cursor=cursor,
        )
