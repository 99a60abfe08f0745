"""Opaque handles: how a resident, or a position in a list, travels in a URL.

Identity numbers never appear in URLs, and the library's list cursors are only opaque
to the eye. A handle is a Fernet token (AES-128-CBC with HMAC-SHA256, from
``cryptography``) over a small JSON document that names the session it was made for
and the clinic it belongs to. It cannot be read or forged without the server's key, and
a handle copied into another session, another clinic's URL, or used after ``max_age``
seconds is refused. Being stateless, it works with any number of server processes that
share the key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["BadHandle", "Sealer"]


class BadHandle(Exception):
    """The handle was not made by this server for this session and clinic, or is too old."""


class Sealer:
    """Seals small JSON documents into URL-safe, encrypted, authenticated handles.

    :param secret_key: the server's secret (any length); the Fernet key is derived from it.
    :param max_age: seconds a handle stays valid.
    """

    def __init__(self, secret_key: bytes, max_age: int = 12 * 3600) -> None:
        derived = hashlib.sha256(b"careaccess-admin handles\x00" + secret_key).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self.max_age = max_age

    def seal(self, session_id: str, kind: str, clinic_id: str, data: dict[str, Any]) -> str:
        """A handle for *data* (JSON-ready) usable only in *session_id* at *clinic_id*."""
        body = json.dumps({"s": session_id, "k": kind, "c": clinic_id, "d": data}, separators=(",", ":"))
        return self._fernet.encrypt(body.encode()).decode().rstrip("=")

    def open(self, handle: str, session_id: str, kind: str, clinic_id: str) -> dict[str, Any]:
        """The data sealed in *handle*.

        :raises BadHandle: tampered, too old, or made for another session, kind or clinic.
        """
        try:
            padded = handle + "=" * (-len(handle) % 4)
            body = json.loads(self._fernet.decrypt(padded.encode(), ttl=self.max_age))
        except (InvalidToken, ValueError, UnicodeError) as error:
            raise BadHandle from error
        if not isinstance(body, dict) or (body.get("s"), body.get("k"), body.get("c")) != (session_id, kind, clinic_id):
            raise BadHandle
        data = body.get("d")
        if not isinstance(data, dict):
            raise BadHandle
        return data
