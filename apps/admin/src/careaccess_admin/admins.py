"""The admins file: who may log in, with which password, to administer which clinics.

TOML, one ``[[admin]]`` table per local administrator::

    [[admin]]
    id = "anna"                      # the user name typed at "Användarnamn"; the Actor id
    name = "Anna Andersson"          # shown in the header and the event log
    clinics = ["vc-exempel"]         # the clinic ids this administrator administers
    password_hash = "$argon2id$..."  # from `careaccess-admin hash-password`

The admin's ``clinics`` become the library's :class:`careaccess.Actor`, so the library's
own authorization (``careaccess_authorize`` hooks included) decides every request.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import argon2
from attrs import field, frozen
from careaccess import Actor

__all__ = ["Admin", "AdminsFileError", "hash_password", "load_admins", "parse_admins", "verify_password"]

_HASHER = argon2.PasswordHasher()
# Verified against when the user name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class AdminsFileError(ValueError):
    """The admins file is missing, not TOML, or has a table without the required keys."""


def _clinics(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@frozen
class Admin:
    """A local administrator who may log in."""

    id: str
    name: str
    clinics: frozenset[str] = field(converter=_clinics)
    password_hash: str | None = field(default=None, repr=False)

    @property
    def actor(self) -> Actor:
        """The library's actor for this administrator."""
        return Actor(self.id, self.clinics)


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string) of *password*, for the admins file."""
    return _HASHER.hash(password)


def verify_password(admins: Mapping[str, Admin], user: str, password: str) -> Admin | None:
    """The admin whose id is *user* if *password* matches their hash, else None.

    Takes about as long for an unknown user as for a wrong password.
    """
    admin = admins.get(user)
    stored = admin.password_hash if admin is not None and admin.password_hash else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return None
    return admin if admin is not None and admin.password_hash else None


def _text(table: Mapping[str, Any], key: str, number: int) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise AdminsFileError(f"[[admin]] number {number}: {key!r} must be a non-empty string")
    return value


def parse_admins(text: str) -> dict[str, Admin]:
    """The admins of a TOML document, by id.

    :raises AdminsFileError: not TOML, no ``[[admin]]`` table, a key missing or of the
        wrong type, or an id given twice.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AdminsFileError(f"not TOML: {error}") from error
    tables = data.get("admin")
    if not isinstance(tables, list) or not tables:
        raise AdminsFileError("no [[admin]] tables")
    admins: dict[str, Admin] = {}
    for number, table in enumerate(tables, 1):
        admin_id = _text(table, "id", number)
        clinics = table.get("clinics")
        if not isinstance(clinics, list) or not all(isinstance(c, str) and c for c in clinics):
            raise AdminsFileError(f"[[admin]] number {number}: 'clinics' must be a list of clinic ids")
        password_hash = table.get("password_hash")
        if password_hash is not None and not (isinstance(password_hash, str) and password_hash.startswith("$argon2")):
            raise AdminsFileError(f"[[admin]] number {number}: 'password_hash' must be an argon2 hash")
        if admin_id in admins:
            raise AdminsFileError(f"[[admin]] number {number}: the id {admin_id!r} is given twice")
        admins[admin_id] = Admin(admin_id, _text(table, "name", number), clinics, password_hash)
    return admins


def load_admins(path: str | Path) -> dict[str, Admin]:
    """The admins of the TOML file at *path*, by id (see :func:`parse_admins`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise AdminsFileError(f"cannot read {path}: {error.strerror}") from error
    return parse_admins(text)
