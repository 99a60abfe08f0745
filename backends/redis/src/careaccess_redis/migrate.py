"""One-off rewrites of data stored by earlier versions.

:func:`normalize_names` brings residents' names to the form this version stores and
searches: every approval's and grant's name in Unicode NFC
(:func:`careaccess.names.normalize`), and its search form
(:func:`careaccess.names.fold`) kept beside it in the resident hash (``n`` and
``n:<case type id>``). Data written before names were normalized and folded is not
found by the name search until it has run once.

:meth:`RedisStore.build_name_index <careaccess_redis.RedisStore.build_name_index>`
builds the name search's index (the names zset, see :mod:`careaccess_redis.keys`) of
every clinic stored before it existed; until then a name search in such a clinic walks
its residents, slowly. Run both once after upgrading::

    python -m careaccess_redis.migrate redis://127.0.0.1:6379/0
    python -m careaccess_redis.migrate "redis://127.0.0.1:7000/0?cluster=true&prefix=careaccess:"

Both are idempotent and safe while the store is in use: each record is rewritten only
if it is still as read (a record written meanwhile is already in the new form), its
names zset member with it; every write keeps the names zset in step, and each batch of
the build removes the members of its range that no record implies (left by a process of
an earlier version), so a clinic's index is exact once its build has walked it. Run
them after the last process of an earlier version has stopped.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from typing import Any, cast

from careaccess.names import normalize
from redis.cluster import RedisCluster

from careaccess_redis import lua
from careaccess_redis.connection import reachable
from careaccess_redis.keys import glob_prefix
from careaccess_redis.plan import folded_field
from careaccess_redis.records import dumps
from careaccess_redis.store import RedisStore

__all__ = ["counted", "main", "normalize_names"]


def normalize_names(store: RedisStore, *, count: int = 1000) -> int:
    """Store every resident's names in NFC with their folded forms beside them.

    Scans the resident hashes under the store's prefix (``SCAN``, *count* keys a step,
    on every primary of a cluster) and rewrites each one whose records lack a folded
    name or hold a name not in NFC.

    :returns: the number of records (approvals and grants) rewritten.
    :raises StoreUnavailable: when Redis cannot be reached.
    """
    rewritten = 0
    with reachable():
        for key in _resident_keys(store, count):
            fields = cast("dict[str, str]", store.client.hgetall(key))
            args = _rewrites(fields)
            if args:
                # The names zset is a suffix of the resident hash's clinic: <base>r:<12 digits>.
                names = key[: -len("r:000000000000")] + "names"
                rewritten += int(lua.REWRITE_NAMES(store.client, (key, names), args))
    return rewritten


def _resident_keys(store: RedisStore, count: int) -> Iterator[str]:
    # Every key of a clinic is <prefix>{<tag>}:<suffix>; the tag has no braces.
    match = glob_prefix(store.keys.prefix)[:-1] + "{*}:r:*"
    client = store.client
    if isinstance(client, RedisCluster):
        yield from client.scan_iter(match=match, count=count, target_nodes=RedisCluster.PRIMARIES)
    else:
        yield from client.scan_iter(match=match, count=count)


def _rewrites(fields: dict[str, str]) -> list[str]:
    """REWRITE_NAMES arguments for the records of one resident hash that need it."""
    args: list[str] = []
    for field, text in fields.items():
        if field != "a" and not field.startswith("g:"):
            continue
        data: dict[str, Any] = json.loads(text)
        name = data.get("name")
        folded_name = "n" if field == "a" else "n:" + field[2:]
        folded = folded_field(None if name is None else normalize(name))
        if name is not None and normalize(name) != name:
            data["name"] = normalize(name)
        new_text = dumps(data)
        if new_text == text and fields.get(folded_name) == (folded[1:] if folded else None):
            continue
        args += [field, text, new_text, folded]
    return args


def counted(number: int, noun: str) -> str:
    """*number* and *noun*, plural unless one: ``counted(1, "clinic")`` is ``"1 clinic"``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m careaccess_redis.migrate URL``: :func:`normalize_names`, then the name index; report both."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="store URL, e.g. redis://127.0.0.1:6379/0 (?cluster=true&prefix=... as usual)")
    arguments = parser.parse_args(argv)
    store = RedisStore.from_url(arguments.url)
    try:
        print(f"{counted(normalize_names(store), 'record')} rewritten")
        print(f"{counted(store.build_name_index(), 'clinic')} indexed for the name search")
    finally:
        store.close()


if __name__ == "__main__":
    main()
