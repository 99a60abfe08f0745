"""A FastAPI service on careaccess: decide on every incoming message, and approve residents.

Run it with ``uvicorn fastapi_app:app`` (``pip install fastapi uvicorn``). The test suite
runs this file (tests/test_aio_fastapi.py).

Identity numbers travel in request bodies, never in URLs (which end up in access logs
and Referer headers). The ``X-Admin`` header stands in for your application's real
authentication: map your logged-in user to an :class:`careaccess.Actor`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import careaccess.aio
from careaccess import Actor, CareAccessError, Conflict, InvalidRequest, NotFound, PermissionDenied, StoreUnavailable

#: Who administers which clinics; in a real service this comes from your user store.
ADMINS = {"admin-1": Actor(id="admin-1", clinics=frozenset({"vc-ost"}))}

_STATUS = [(PermissionDenied, 403), (NotFound, 404), (Conflict, 409), (StoreUnavailable, 503), (InvalidRequest, 422)]


class Message(BaseModel):
    """A message a resident sends to a clinic through a case type."""

    pnr: str
    clinic_id: str
    case_type_id: str
    text: str


class ApprovalRequest(BaseModel):
    """An administrator's approval of a resident for communication with a clinic."""

    pnr: str


def service(request: Request) -> careaccess.aio.AsyncCareAccess:
    """The application's one service (a FastAPI dependency)."""
    access: careaccess.aio.AsyncCareAccess = request.app.state.access
    return access


def administrator(x_admin: Annotated[str, Header()]) -> Actor:
    """The administrator making the request (a stand-in for real authentication)."""
    actor = ADMINS.get(x_admin)
    if actor is None:
        raise HTTPException(401, "unknown administrator")
    return actor


Access = Annotated[careaccess.aio.AsyncCareAccess, Depends(service)]
Admin = Annotated[Actor, Depends(administrator)]


def create_app(
    url: str = "memory://",
    *,
    plugins: Iterable[object] = (),
    clock: Callable[[], dt.datetime] | None = None,
    setup: Callable[[careaccess.aio.AsyncCareAccess], object] | None = None,
) -> FastAPI:
    """The application, with one :class:`~careaccess.aio.AsyncCareAccess` for its lifetime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with careaccess.aio.connect(url, plugins=plugins, clock=clock) as access:
            app.state.access = access
            if setup is not None:
                await setup(access)  # type: ignore[misc]
            yield

    app = FastAPI(lifespan=lifespan)

    @app.exception_handler(CareAccessError)
    async def refused(request: Request, error: CareAccessError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(error, kind)), 400)
        return JSONResponse(
            {"code": error.code, "message": error.message_en, "message_sv": error.message_sv}, status_code=status
        )

    @app.post("/messages")
    async def send(message: Message, access: Access) -> dict[str, object]:
        """Accept a message only if the resident may contact the clinic through the case type."""
        decision = await access.decide(message.pnr, message.clinic_id, message.case_type_id)
        if not decision:
            raise HTTPException(403, {"allowed": False, "reason": decision.reason.value})
        return {"allowed": True, "reason": decision.reason.value}

    @app.post("/clinics/{clinic_id}/approvals", status_code=201)
    async def approve(clinic_id: str, body: ApprovalRequest, access: Access, actor: Admin) -> dict[str, object]:
        """Approve a resident for communication with the clinic (idempotent)."""
        approval = await access.approve_resident(actor, clinic_id, body.pnr)
        return {"clinic_id": approval.clinic_id, "pnr": approval.pnr.masked(), "approved_by": approval.approved_by}

    return app


app = create_app()
