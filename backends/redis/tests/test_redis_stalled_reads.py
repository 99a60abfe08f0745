"""A decision read that times out must leave no reply behind for the next caller.

On one server the facts scripts go out on a pooled connection directly
(``careaccess_redis.facts.call_read_only``). When the read times out, the server's reply may
still arrive later; a connection given back to the pool with that reply unread would hand it
to the next decision, which would then answer for the wrong resident (as a connection
read with ``disconnect_on_error=False`` and given back does: this test then fails). The server is made to
stall (``DEBUG SLEEP``) for longer than the store's socket timeout but for less than two of
them, so the client's own retry reads a reply in time and any stale one would surface.
"""

from __future__ import annotations

import threading
import time

from careaccess import Actor, CaseType, Clinic, connect
from careaccess.testing.conformance import make_pnr
from redis import Redis

from careaccess_redis import RedisStore
from careaccess_redis.scripting import execute
from redis_servers import RedisServer

TIMEOUT = 0.5
STALL = 0.75  # between one and two socket timeouts


def _stall(port: int) -> None:
    client = Redis(port=port, socket_timeout=5)
    try:
        execute(client, "DEBUG", "SLEEP", str(STALL))
    finally:
        client.close()


def test_a_timed_out_decision_leaves_no_reply_for_the_next(private_server: RedisServer) -> None:
    store = RedisStore.from_url(f"{private_server.url}?prefix=stall:&socket_timeout={TIMEOUT}")
    admin = Actor("admin", frozenset({"c1"}))
    access = connect(store)
    access.put_clinic(admin, Clinic("c1", "Vårdcentralen"))
    access.put_case_type(admin, CaseType("c1", "kbt", "KBT", restricted=False))
    approved, stranger = make_pnr("19800101", 100), make_pnr("19800101", 200)
    access.approve_resident(admin, "c1", approved)
    try:
        for _ in range(3):
            staller = threading.Thread(target=_stall, args=(private_server.port,))
            staller.start()
            time.sleep(0.05)  # the server is asleep before the decision is sent
            assert access.decide(approved, "c1", "kbt").allowed
            staller.join()
            for _ in range(20):  # every pooled connection, whichever the pool hands out
                assert not access.decide(stranger, "c1", "kbt").allowed
                assert access.decide(approved, "c1", "kbt").allowed
    finally:
        store.close()
