"""The key schema: every key of one clinic shares the hash tag ``{<clinic>}``.

With the default prefix ``careaccess:`` and a clinic ``vc-ost``:

=====================================  ========  ==============================================
key                                    type      holds
=====================================  ========  ==============================================
``careaccess:{vc-ost}:clinic``         string    the clinic (JSON, without its id)
``careaccess:{vc-ost}:types``          hash      case type id -> case type (JSON)
``careaccess:{vc-ost}:uses``           hash      case type id -> number of grants of it
``careaccess:{vc-ost}:r:<12 digits>``  hash      ``a`` -> approval, ``g:<case type id>`` -> grant,
                                                 ``n``, ``n:<case type id>`` -> their folded names
``careaccess:{vc-ost}:residents``      zset      identity numbers of listed residents (score 0)
``careaccess:{vc-ost}:names``          zset      ``<12 digits>\\x1f<field>\\x1f<folded name>`` per named
                                                 approval (field ``a``) or grant (``g:<case type
                                                 id>``), score 0: the name search's index
``careaccess:{vc-ost}:names:ready``    string    set once ``names`` covers every record of the
                                                 clinic (a clinic made before it existed has
                                                 none until ``build_name_index`` has run)
``careaccess:{vc-ost}:events``         stream    the clinic's events, ids ``<µs>-<seq>``
``careaccess:{vc-ost}:floor``          string    least stamp (µs) of the clinic's next event
``careaccess:{vc-ost}:replay:<token>`` string    event id of an applied changeset (expires)
``careaccess:clinics``                 set       ids of clinics that have events (feed index)
``careaccess:floor{careaccess:clinics}`` string  least stamp (µs) of the next event (see feed)
``careaccess:cursor-key``              string    32 random bytes (hex) keying the core's list cursors
=====================================  ========  ==============================================

A changeset or a decision touches keys of one clinic only, so they all hash to one slot
and one Lua script can check and write them atomically on Redis Cluster. Only the feed
index and its floor lie elsewhere (the floor's hash tag puts it in the index's slot);
the index is written before a clinic's first event. The floors are raised by readers of
the cross-clinic feed (see :mod:`careaccess_redis.feed`).

Every key of a clinic is its :attr:`ClinicKeys.base` followed by a fixed suffix; the
batch facts script (``lua.FACTS_MANY``) is given only the base and appends ``clinic``,
``types`` and ``r:<12 digits>`` itself.
"""

from __future__ import annotations

import functools

from attrs import frozen

__all__ = ["CACHED_ID_CHARS", "ClinicKeys", "KeySchema", "glob_prefix", "hash_tag"]

#: Clinic ids up to this many characters have their key names cached (1,024 clinics per
#: schema, least recently used first out): at most about 1,024 x 8 x (prefix + 80)
#: characters. Longer ids (never a real clinic's) are computed on every call, so no
#: input can make the cache hold more.
CACHED_ID_CHARS = 80


def hash_tag(clinic_id: str) -> str:
    """The clinic id made safe inside ``{...}``: non-empty and free of braces, injectively."""
    if not clinic_id:
        return "%"  # no escaped id is a lone '%', and an empty tag would hash the whole key
    return clinic_id.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


@frozen
class ClinicKeys:
    """The keys of one clinic."""

    base: str  # the prefix and hash tag every key below starts with
    clinic: str
    types: str
    uses: str
    residents: str
    names: str  # the name search's index (see lua.APPLY and lua.PAGE)
    names_ready: str  # set once `names` covers every record of the clinic
    events: str
    floor: str
    resident_prefix: str  # followed by 12 digits
    replay_prefix: str  # followed by a changeset token

    def resident(self, pnr: str) -> str:
        return self.resident_prefix + pnr


class KeySchema:
    """Key names under a prefix (default ``careaccess:``)."""

    def __init__(self, prefix: str = "careaccess:") -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("the key prefix must not contain '{' or '}' (they would change the hash slot)")
        self.prefix = prefix
        self.clinics = prefix + "clinics"
        self.floor = f"{prefix}floor{{{self.clinics}}}"  # in the slot of the index (hash tag)
        self.cursor_key = prefix + "cursor-key"
        self._cached = functools.lru_cache(maxsize=1024)(self._build)

    def of(self, clinic_id: str) -> ClinicKeys:
        """The keys of *clinic_id* (cached for ids up to :data:`CACHED_ID_CHARS` characters)."""
        if len(clinic_id) <= CACHED_ID_CHARS:
            return self._cached(clinic_id)
        return self._build(clinic_id)

    def _build(self, clinic_id: str) -> ClinicKeys:
        base = f"{self.prefix}{{{hash_tag(clinic_id)}}}:"
        return ClinicKeys(
            base=base,
            clinic=base + "clinic",
            types=base + "types",
            uses=base + "uses",
            residents=base + "residents",
            names=base + "names",
            names_ready=base + "names:ready",
            events=base + "events",
            floor=base + "floor",
            resident_prefix=base + "r:",
            replay_prefix=base + "replay:",
        )

    def pattern(self) -> str:
        """A SCAN MATCH pattern for every key under the prefix."""
        return glob_prefix(self.prefix)


def glob_prefix(start: str) -> str:
    """A SCAN MATCH pattern for every key that starts with *start*."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in start) + "*"
