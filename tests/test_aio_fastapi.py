"""The FastAPI example of docs/asyncio.md, run: a message endpoint that decides, one that approves."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from careaccess import Action, Actor, CaseType, Clinic
from careaccess.aio import AsyncCareAccess
from careaccess.testing.clock import FrozenClock

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "asyncio" / "fastapi_app.py"
ADMIN = Actor(id="admin-1", clinics=frozenset({"vc-ost"}))


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_app", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastapi_app"] = module
    spec.loader.exec_module(module)
    return module


async def _setup(access: AsyncCareAccess) -> None:
    await access.put_clinic(ADMIN, Clinic("vc-ost", "Vårdcentralen Öst"))
    await access.put_case_type(ADMIN, CaseType("vc-ost", "fraga", "Fråga om vård"))


@pytest.mark.parametrize("url", ["memory://", "sqlite://"])
def test_the_example_decides_per_message_and_approves(url: str) -> None:
    asyncio.run(_scenario(url))


async def _scenario(url: str) -> None:
    example = _example()
    clock = FrozenClock(dt.datetime(2026, 6, 15, 10, tzinfo=dt.UTC))
    app = example.create_app(url, clock=clock, setup=_setup)
    message = {"pnr": "19121212-1212", "clinic_id": "vc-ost", "case_type_id": "fraga", "text": "Hej"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            refused = await client.post("/messages", json=message)
            assert refused.status_code == 403
            assert refused.json()["detail"] == {"allowed": False, "reason": "not_approved"}

            stranger = await client.post("/clinics/vc-ost/approvals", json={"pnr": "19121212-1212"})
            assert stranger.status_code == 422  # no X-Admin header
            other = await client.post(
                "/clinics/vc-vast/approvals", json={"pnr": "19121212-1212"}, headers={"X-Admin": "admin-1"}
            )
            assert other.status_code == 403
            assert other.json()["code"] == "permission_denied"

            approved = await client.post(
                "/clinics/vc-ost/approvals", json={"pnr": "19121212-1212"}, headers={"X-Admin": "admin-1"}
            )
            assert approved.status_code == 201
            assert "1212-1212" not in approved.text

            accepted = await client.post("/messages", json=message)
            assert accepted.json() == {"allowed": True, "reason": "approved"}

            bad = await client.post("/messages", json={**message, "pnr": "19121212-1213"})
            assert bad.status_code == 422
            assert bad.json()["code"].startswith("pnr_")
        access: AsyncCareAccess = app.state.access
        actions = [e.action for e in await access.events()]
        assert actions.count(Action.RESIDENT_APPROVED) == 1
