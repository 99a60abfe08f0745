"""The cross-clinic feed under server clocks that step backwards, and forged cursors.

A backwards step is simulated by re-stamping: the events a clinic got since the
consumer's last read are moved forward in time (their stream ids re-added later by
the step), which is what the stream holds when those events were written while the
server clock ran ahead and the clock has since stepped back to the true time.
"""

from __future__ import annotations

import random
import time
from typing import Any, cast

import pytest
from careaccess import Actor, CareAccess, Clinic, Event, InvalidRequest, connect
from careaccess.testing.conformance import make_pnr
from redis.cluster import RedisCluster

from careaccess_redis import RedisStore

HOUR = 3_600_000_000  # µs
Entries = list[tuple[str, dict[str, str]]]


class Consumer:
    """Follows the cross-clinic feed the way a tailing consumer does: by its last event id."""

    def __init__(self, access: CareAccess, page: int = 3) -> None:
        self.access = access
        self.page = page
        self.cursor: str | None = None
        self.seen: list[Event] = []

    def catch_up(self) -> list[Event]:
        """Read pages until the feed has nothing after the cursor; the events read."""
        got: list[Event] = []
        while batch := self.access.events(after=self.cursor, limit=self.page):
            got.extend(batch)
            self.cursor = batch[-1].id
        self.seen.extend(got)
        return got


def restamp(store: RedisStore, clinic_id: str, after: str | None, step: int) -> int:
    """Move the clinic's stream entries after stream id *after* forward by *step* µs; how many."""
    key = store.keys.of(clinic_id).events
    entries = cast(Entries, store.client.xrange(key, min="-" if after is None else "(" + after, max="+"))
    if not entries:
        return 0
    # Re-added above the old last id, which the stream remembers after the deletion.
    span = int(entries[-1][0].partition("-")[0]) - int(entries[0][0].partition("-")[0])
    step = max(step, span + 1)
    pipe = store.client.pipeline(transaction=False)
    pipe.xdel(key, *(sid for sid, _ in entries))
    for sid, fields in entries:
        micros, _, seq = sid.partition("-")
        pipe.xadd(key, cast(dict[Any, Any], fields), id=f"{int(micros) + step}-{seq}")
    pipe.execute()
    return len(entries)


def last_stream_id(store: RedisStore, clinic_id: str) -> str | None:
    top = cast(Entries, store.client.xrevrange(store.keys.of(clinic_id).events, count=1))
    return top[0][0] if top else None


def every_event(access: CareAccess, clinics: list[str]) -> list[Event]:
    return [e for clinic in clinics for e in access.events(clinic_id=clinic, limit=1000)]


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything sleeps (a read waiting for the clock to catch up)."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s")

    monkeypatch.setattr(time, "sleep", refuse)


def test_a_consumer_gets_events_written_after_the_clock_stepped_back(any_store: RedisStore, no_sleep: None) -> None:
    clinics = ["ahead", "behind", "new"]
    admin = Actor("admin", frozenset(clinics))
    access = connect(any_store)
    access.put_clinic(admin, Clinic("ahead", "Före"))
    access.put_clinic(admin, Clinic("behind", "Efter"))
    access.approve_resident(admin, "ahead", make_pnr("19800101", 11))
    # "ahead" wrote while the server clock ran an hour fast; the clock is now back.
    assert restamp(any_store, "ahead", None, HOUR) == 2
    consumer = Consumer(access)
    assert len(consumer.catch_up()) == 3
    assert consumer.seen[-1].clinic_id == "ahead"  # the cursor now stands an hour ahead
    access.approve_resident(admin, "behind", make_pnr("19800101", 22))
    access.put_clinic(admin, Clinic("new", "Ny"))  # a clinic's first event: it registers
    access.approve_resident(admin, "ahead", make_pnr("19800101", 33))
    access.approve_resident(admin, "behind", make_pnr("19800101", 44))
    fresh = consumer.catch_up()
    assert sorted(e.clinic_id for e in fresh) == ["ahead", "behind", "behind", "new"]
    if not isinstance(any_store.client, RedisCluster):  # one server: the feed keeps commit order
        assert [e.clinic_id for e in fresh] == ["behind", "new", "ahead", "behind"]
    assert sorted(e.id for e in consumer.seen) == sorted(e.id for e in every_event(access, clinics))
    assert [e.id for e in consumer.seen] == sorted(e.id for e in consumer.seen)


@pytest.mark.parametrize("seed", range(3))
def test_every_event_reaches_a_tailing_consumer_once_under_random_clock_steps(
    any_store: RedisStore, no_sleep: None, seed: int
) -> None:
    rng = random.Random(seed)
    clinics = [f"s{n}" for n in range(6)]
    admin = Actor("admin", frozenset(clinics))
    access = connect(any_store)
    consumers = [Consumer(access, page) for page in (1, 4)]
    created: list[str] = []
    read_up_to: dict[str, str | None] = {}  # per clinic: its last stream id at the last catch-up
    serial = 0
    for _ in range(40):
        move = rng.random()
        if move < 0.55:
            clinic = rng.choice(clinics)
            serial += 1
            if clinic in created:
                access.approve_resident(admin, clinic, make_pnr("19700101", serial))
            else:
                access.put_clinic(admin, Clinic(clinic, clinic))
                created.append(clinic)
        elif move < 0.75 and created:
            # Some clinics wrote their latest events with a clock running fast.
            step = rng.randrange(1, 2 * HOUR)
            for clinic in rng.sample(created, rng.randint(1, len(created))):
                restamp(any_store, clinic, read_up_to.get(clinic), step)
        else:
            rng.choice(consumers).catch_up()
            read_up_to = {clinic: last_stream_id(any_store, clinic) for clinic in created}
    for consumer in consumers:
        consumer.catch_up()
    expected = sorted(e.id for e in every_event(access, clinics))
    for consumer in consumers:
        ids = [e.id for e in consumer.seen]
        assert ids == sorted(ids)
        assert ids == expected  # each event once, none missing


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not an event id",
        "0" * 17 + "-" + "9" * 20 + "-6331",  # sequence number above 2**64 - 1
        "\u0661" * 17 + "-" + "0" * 20 + "-6331",  # ARABIC-INDIC DIGIT ONE: a digit, not ASCII
        "0" * 17 + "-" + "0" * 20 + "-ff",  # not UTF-8
        "0" * 17 + "-" + "0" * 20 + "-6",  # half a byte
        "0" * 17 + "-" + "0" * 20 + "-6331\n",
        "x" * 100_000,
    ],
)
def test_forged_event_cursors_are_invalid_cursor_on_every_feed(any_store: RedisStore, cursor: str) -> None:
    access = connect(any_store)
    access.put_clinic(Actor("admin", frozenset({"c1"})), Clinic("c1", "Ett"))
    for clinic_id in (None, "c1"):
        with pytest.raises(InvalidRequest) as raised:
            any_store.read_events(cursor, 10, clinic_id)
        assert raised.value.code == "invalid_cursor"


def test_the_last_possible_cursor_is_followed_by_nothing(any_store: RedisStore) -> None:
    access = connect(any_store)
    access.put_clinic(Actor("admin", frozenset({"c1"})), Clinic("c1", "Ett"))
    last = "9" * 17 + "-" + str(2**64 - 1).zfill(20) + "-" + b"c1".hex()
    assert any_store.read_events(last, 10, None) == []
    assert any_store.read_events(last, 10, "c1") == []
    highest_seq = "0" * 17 + "-" + str(2**64 - 1).zfill(20) + "-" + b"c1".hex()
    assert [e.clinic_id for e in any_store.read_events(highest_seq, 10, "c1")] == ["c1"]
