"""Fast tests of every page through Starlette's TestClient (no browser)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import time
from pathlib import Path

import attrs
import pytest
from careaccess import (
    Action,
    Actor,
    CareAccess,
    Clinic,
    Event,
    PermissionDenied,
    PersonalIdentityNumber,
    StaticDirectory,
    connect,
    hookimpl,
)
from itsdangerous import TimestampSigner
from starlette.applications import Starlette
from starlette.testclient import TestClient

from careaccess_admin import Admin, create_app
from careaccess_admin.app import AdminUI, hashlib_key, mask
from careaccess_admin.demo import (
    DEMO_PASSWORD,
    DEMO_USER,
    MAIN_CLINIC,
    OTHER_CLINIC,
    THIRD_CLINIC,
    demo_residents,
    seed_demo,
)
from conftest import open_seeded

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RESIDENT_LINK = re.compile(r'href="/c/vc-exempel/r/([A-Za-z0-9_\-]+)"')
FULL_NUMBER = re.compile(r"\b(19|20)\d{6}-?\d{4}\b")
RESIDENTS = demo_residents()
NEW = RESIDENTS[30]  # known to the register, not yet at any clinic


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def log_in(client: TestClient, user: str = DEMO_USER, password: str = DEMO_PASSWORD) -> None:
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"username": user, "password": password, "csrf_token": token})
    assert response.status_code == 200, response.text
    assert "Välj mottagning" in response.text


def token_of(client: TestClient, path: str = "/") -> str:
    return csrf(client.get(path).text)


def events_since(access: CareAccess, before: list[Event]) -> list[Event]:
    after = before[-1].id if before else None
    return access.events(after, 1000, MAIN_CLINIC)


def all_events(access: CareAccess) -> list[Event]:
    return access.events(None, 1000, MAIN_CLINIC)


def ui(app: Starlette) -> AdminUI:
    found: AdminUI = app.state.ui
    return found


@pytest.fixture
def admin_client(client: TestClient) -> TestClient:
    log_in(client)
    return client


# -- logging in ----------------------------------------------------------------------------


def test_login_page_has_the_manuals_fields(client: TestClient) -> None:
    html = client.get("/login").text
    for text in ('lang="sv"', ">Användarnamn<", ">Lösenord<", ">Logga in<"):
        assert text in html


def test_pages_need_a_login(client: TestClient) -> None:
    response = client.get(f"/c/{MAIN_CLINIC}/residents", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_wrong_password_is_refused(client: TestClient) -> None:
    token = token_of(client, "/login")
    response = client.post("/login", data={"username": DEMO_USER, "password": "fel", "csrf_token": token})
    assert response.status_code == 401
    assert "Fel användarnamn eller lösenord." in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_unknown_user_is_refused_like_a_wrong_password(client: TestClient) -> None:
    token = token_of(client, "/login")
    response = client.post("/login", data={"username": "nobody", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 401
    assert "Fel användarnamn eller lösenord." in response.text


def test_session_cookie_is_httponly_and_samesite(client: TestClient) -> None:
    token = token_of(client, "/login")
    response = client.post(
        "/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


def test_login_gives_a_new_session(client: TestClient) -> None:
    before = token_of(client, "/login")
    log_in(client)
    assert token_of(client) != before


def test_logout_ends_the_session(admin_client: TestClient) -> None:
    response = admin_client.post("/logout", data={"csrf_token": token_of(admin_client)}, follow_redirects=False)
    assert response.headers["location"] == "/login"
    assert admin_client.get("/", follow_redirects=False).status_code == 303


def test_trusted_header_mode(access: CareAccess, admins: dict[str, Admin]) -> None:
    app = create_app(access, admins, secret_key=b"k", trusted_header="X-Remote-User")
    with TestClient(app) as sso:
        assert sso.get("/", follow_redirects=False).status_code == 303
        page = sso.get("/", headers={"X-Remote-User": DEMO_USER})
        assert "Vårdcentralen Exempel" in page.text
        assert "Logga ut" not in page.text
        assert sso.get("/", headers={"X-Remote-User": "mallory"}, follow_redirects=False).status_code == 303


def test_trusted_header_is_ignored_by_default(client: TestClient) -> None:
    assert client.get("/", headers={"X-Remote-User": DEMO_USER}, follow_redirects=False).status_code == 303


# -- CSRF ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/login", "/logout", "/language", f"/c/{MAIN_CLINIC}/approve/lookup", f"/c/{MAIN_CLINIC}/approve"],
)
def test_a_form_without_csrf_token_is_refused(admin_client: TestClient, access: CareAccess, path: str) -> None:
    before = all_events(access)
    response = admin_client.post(path, data={"pnr": str(NEW.pnr), "username": DEMO_USER, "password": DEMO_PASSWORD})
    assert response.status_code == 403
    assert "Formuläret har gått ut" in response.text
    assert all_events(access) == before


def test_a_wrong_csrf_token_is_refused(admin_client: TestClient) -> None:
    response = admin_client.post(f"/c/{MAIN_CLINIC}/approve/lookup", data={"pnr": str(NEW.pnr), "csrf_token": "x"})
    assert response.status_code == 403


# -- the start page and clinics ------------------------------------------------------------


def test_start_page_lists_the_admins_clinics(admin_client: TestClient) -> None:
    html = admin_client.get("/").text
    assert "Vårdcentralen Exempel" in html
    assert "Vårdcentralen Norr" in html
    assert "Vårdcentralen Söder" not in html


class _Refuse:
    """An authorization plugin that hides one clinic from every admin (seeding it stays allowed)."""

    def __init__(self, clinic_id: str) -> None:
        self.clinic_id = clinic_id

    @hookimpl
    def careaccess_authorize(self, actor: Actor, action: str, clinic_id: str) -> bool | None:
        return False if (action, clinic_id) == ("view", self.clinic_id) else None


def start_pages(client: TestClient) -> list[str]:
    """The clinic links of every page of the start page, following *Nästa sida*."""
    links: list[str] = []
    path: str | None = "/"
    while path is not None:
        html = client.get(path).text
        links += re.findall(r'<li class="card"><a href="/c/([^"]+)">', html)
        following = re.search(r'<a href="(/\?after=[^"]+)" rel="next">', html)
        path = following.group(1).replace("&amp;", "&") if following else None
    return links


def test_start_page_pages_through_exactly_the_admins_clinics(admins: dict[str, Admin]) -> None:
    """One clinic a page: every clinic the admin administers once, and no other clinic."""
    access = open_seeded("memory://")
    more = {f"vc-extra-{n}" for n in range(3)}
    for clinic_id in sorted(more):
        access.put_clinic(Actor("setup", {clinic_id}), Clinic(clinic_id, f"Vårdcentralen {clinic_id}"))
    wide = {**admins, DEMO_USER: attrs.evolve(admins[DEMO_USER], clinics=admins[DEMO_USER].clinics | more)}
    with TestClient(create_app(access, wide, secret_key=b"k", page_size=1)) as client:
        log_in(client)
        listed = start_pages(client)
    assert listed == sorted({MAIN_CLINIC, OTHER_CLINIC} | more)
    access.close()


def test_start_page_leaves_out_a_clinic_the_authorization_hook_refuses(admins: dict[str, Admin]) -> None:
    access = connect("memory://", plugins=[StaticDirectory(demo_residents()), _Refuse(OTHER_CLINIC)])
    seed_demo(access)
    with TestClient(create_app(access, admins, secret_key=b"k", page_size=1)) as client:
        log_in(client)
        listed = start_pages(client)
    assert listed == [MAIN_CLINIC]
    access.close()


def test_start_page_refuses_a_cursor_the_library_did_not_make(admin_client: TestClient) -> None:
    response = admin_client.get("/?after=vc-soder")
    assert response.status_code == 400
    assert "Vårdcentralen" not in response.text


def test_clinic_page_has_the_invanare_card(admin_client: TestClient) -> None:
    html = admin_client.get(f"/c/{MAIN_CLINIC}").text
    assert f'href="/c/{MAIN_CLINIC}/residents">Invånare</a>' in html
    assert "Händelselogg" in html


@pytest.mark.parametrize(
    "path",
    [
        f"/c/{THIRD_CLINIC}",
        f"/c/{THIRD_CLINIC}/residents",
        f"/c/{THIRD_CLINIC}/manage",
        f"/c/{THIRD_CLINIC}/events",
        f"/c/{THIRD_CLINIC}/approve",
        f"/c/{THIRD_CLINIC}/grant",
    ],
)
def test_another_clinics_pages_are_refused(admin_client: TestClient, access: CareAccess, path: str) -> None:
    response = admin_client.get(path)
    assert response.status_code == 403
    assert refusal(access).message_sv in response.text
    assert "Vårdcentralen Söder" not in response.text


def refusal(access: CareAccess) -> PermissionDenied:
    """What the library says when the demo admin asks about the clinic they do not administer."""
    with pytest.raises(PermissionDenied) as raised:
        access.list_residents(Actor(DEMO_USER, {MAIN_CLINIC, OTHER_CLINIC}), THIRD_CLINIC)
    return raised.value


def test_another_clinics_changes_are_refused_by_the_library(admin_client: TestClient, access: CareAccess) -> None:
    before = access.events(None, 1000, THIRD_CLINIC)
    token = token_of(admin_client)
    response = admin_client.post(f"/c/{THIRD_CLINIC}/approve/lookup", data={"pnr": str(NEW.pnr), "csrf_token": token})
    assert response.status_code == 403
    # A handle made for one clinic is refused at another.
    handle = resident_handle(admin_client, MAIN_CLINIC, NEW.pnr)
    response = admin_client.post(f"/c/{THIRD_CLINIC}/approve", data={"resident": handle, "csrf_token": token})
    assert response.status_code == 404
    assert access.events(None, 1000, THIRD_CLINIC) == before


def test_unknown_clinic_is_not_found(access: CareAccess) -> None:
    admin = Admin("x", "X", {"vc-gone"}, None)
    app = create_app(access, {"x": admin}, secret_key=b"k", trusted_header="X-User")
    with TestClient(app) as sso:
        response = sso.get("/c/vc-gone/residents", headers={"X-User": "x"})
        assert response.status_code == 404
        assert "Mottagningen finns inte längre." in response.text


# -- the resident list ---------------------------------------------------------------------


def test_resident_list_masks_identity_numbers(admin_client: TestClient) -> None:
    html = admin_client.get(f"/c/{MAIN_CLINIC}/residents").text
    assert mask(RESIDENTS[0].pnr) in html
    assert RESIDENTS[0].name is not None
    assert RESIDENTS[0].name in html
    assert FULL_NUMBER.search(html) is None
    for control in ("Godkänn invånare", "Dela ut ärendetyp", "Hantera invånare", "Sök på namn eller personnummer"):
        assert control in html


def test_resident_list_shows_expired_grants_as_expired(admin_client: TestClient, access: CareAccess) -> None:
    html = admin_client.get(f"/c/{MAIN_CLINIC}/residents").text
    expired = RESIDENTS[13]
    row = next(r for r in html.split("<tr>") if mask(expired.pnr) in r)
    assert "Utgången" in row
    assert (access.today() - dt.timedelta(days=30)).isoformat() in row


def assert_no_number_in_urls(html: str) -> None:
    urls = re.findall(r'(?:href|action|hx-post|formaction)="([^"]*)"', html)
    assert urls
    for resident in RESIDENTS:
        for form in (resident.pnr.digits, resident.pnr.digits[2:], str(resident.pnr), resident.pnr.short()):
            assert not any(form in url for url in urls), form


def test_no_identity_number_in_any_url(admin_client: TestClient) -> None:
    pages = [f"/c/{MAIN_CLINIC}/residents", f"/c/{MAIN_CLINIC}/manage", f"/c/{MAIN_CLINIC}/events"]
    for path in pages:
        assert_no_number_in_urls(admin_client.get(path).text)
    # The resident page itself shows the full number, but not in a URL.
    handle = RESIDENT_LINK.findall(admin_client.get(pages[0]).text)[0]
    html = admin_client.get(f"/c/{MAIN_CLINIC}/r/{handle}").text
    assert FULL_NUMBER.search(html) is not None
    assert_no_number_in_urls(html)


def search(client: TestClient, text: str, view: str = "residents") -> tuple[str, str]:
    response = client.post(
        f"/c/{MAIN_CLINIC}/search",
        data={"q": text, "view": view, "csrf_token": token_of(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = response.headers["location"]
    return location, client.get(location).text


def test_search_by_name_and_by_number(admin_client: TestClient) -> None:
    target = RESIDENTS[4]
    assert target.name is not None
    location, html = search(admin_client, target.name.split()[1].upper())
    assert target.pnr.digits[:6] not in location
    assert mask(target.pnr) in html
    location, html = search(admin_client, str(target.pnr)[:11])
    assert target.pnr.digits[:8] not in location
    assert mask(target.pnr) in html
    assert html.count('class="pnr"') == 1


@pytest.mark.parametrize("written", ["digits", "str"])
def test_search_by_a_whole_number(admin_client: TestClient, written: str) -> None:
    target = RESIDENTS[12]  # holds a grant, not approved
    _, html = search(admin_client, target.pnr.digits if written == "digits" else str(target.pnr))
    assert html.count('class="pnr"') == 1
    assert mask(target.pnr) in html
    _, html = search(admin_client, str(NEW.pnr))  # a resident the clinic does not list
    assert "Inga invånare hittades." in html
    _, html = search(admin_client, "19121212-1213")  # not a valid number: searched as digits
    assert "Inga invånare hittades." in html


def test_search_through_htmx_returns_the_table_and_a_url(admin_client: TestClient) -> None:
    response = admin_client.post(
        f"/c/{MAIN_CLINIC}/search",
        data={"q": "Tolvan", "view": "residents", "csrf_token": token_of(admin_client)},
        headers={"HX-Request": "true"},
    )
    assert response.text.startswith('<div id="results">')
    assert response.headers["HX-Push-Url"].startswith(f"/c/{MAIN_CLINIC}/residents?page=")


def test_a_page_token_from_another_session_is_refused(app: Starlette, admin_client: TestClient) -> None:
    location, _ = search(admin_client, "Tolvan")
    with TestClient(app) as other:
        log_in(other)
        assert other.get(location).status_code == 404


def page_through(client: TestClient, path: str) -> list[str]:
    """The digits of every resident listed, page by page, following "Nästa sida"."""
    seen: list[str] = []
    app_ui = ui(client.app)  # type: ignore[arg-type]
    session_id = session_id_of(client)
    while True:
        html = client.get(path).text
        for handle in RESIDENT_LINK.findall(html):
            seen.append(str(app_ui.sealer.open(handle, session_id, "r", MAIN_CLINIC)["p"]))
        found = re.search(r'href="(/c/vc-exempel/residents\?page=[^"]+)" rel="next"', html)
        if found is None:
            return seen
        path = found.group(1)


def session_id_of(client: TestClient) -> str:
    cookie = client.cookies["careaccess_admin"]
    data = TimestampSigner(hashlib_key(b"unit-test-key")).unsign(cookie.encode())
    session: dict[str, str] = json.loads(base64.b64decode(data))
    return session["sid"]


@pytest.mark.parametrize("store", ["memory", "sqlite", "postgresql"])
def test_the_list_pages_without_repeats_under_concurrent_writes(
    request: pytest.FixtureRequest, admins: dict[str, Admin], store: str, tmp_path: Path
) -> None:
    """Page through the list (5 a page) while another thread approves and revokes residents."""
    if store == "memory":
        access: CareAccess = request.getfixturevalue("access")
    else:
        url = f"sqlite:///{tmp_path / 'paging.db'}" if store == "sqlite" else request.getfixturevalue("postgresql_url")
        access = open_seeded(url)
        request.addfinalizer(access.close)
    app = create_app(access, admins, secret_key=b"unit-test-key", page_size=5)
    writer = connect(access.store, plugins=[StaticDirectory(RESIDENTS)])
    actor = admins[DEMO_USER].actor
    listed_throughout = {r.pnr.digits for r in RESIDENTS[:14]}  # approved or granted, never touched below
    churn = RESIDENTS[24:40]
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            for resident in churn:
                access_now = writer.resident_access(actor, MAIN_CLINIC, resident.pnr)
                if access_now.approval is None:
                    writer.approve_resident(actor, MAIN_CLINIC, resident.pnr)
                else:
                    writer.revoke_approval(actor, MAIN_CLINIC, resident.pnr)

    thread = threading.Thread(target=write)
    before = len(all_events(access))
    with TestClient(app) as client:
        log_in(client)
        thread.start()
        try:
            rounds = 0
            deadline = time.monotonic() + 60
            # Page through at least five times, and until the writer has changed every churned resident twice.
            while rounds < 5 or (len(all_events(access)) < before + 2 * len(churn) and time.monotonic() < deadline):
                rounds += 1
                seen = page_through(client, f"/c/{MAIN_CLINIC}/residents")
                assert len(seen) == len(set(seen)), "a resident was listed twice"
                assert listed_throughout <= set(seen), "a resident listed throughout was skipped"
                assert seen == sorted(seen)
        finally:
            stop.set()
            thread.join()
    assert len(all_events(access)) >= before + 2 * len(churn), "the writer did not write while the list was paged"


# -- approve, revoke -----------------------------------------------------------------------


def resident_handle(client: TestClient, clinic_id: str, pnr: PersonalIdentityNumber) -> str:
    response = client.post(f"/c/{clinic_id}/approve/lookup", data={"pnr": str(pnr), "csrf_token": token_of(client)})
    found = re.search(r'name="resident" value="([^"]+)"', response.text) or re.search(
        rf'href="/c/{clinic_id}/r/([^"]+)"', response.text
    )
    assert found is not None, response.text
    return found.group(1)


def test_approve_shows_name_and_number_then_confirms(admin_client: TestClient, access: CareAccess) -> None:
    before = all_events(access)
    token = token_of(admin_client)
    step = admin_client.post(f"/c/{MAIN_CLINIC}/approve/lookup", data={"pnr": NEW.pnr.short(), "csrf_token": token})
    assert NEW.name is not None
    assert NEW.name in step.text
    assert str(NEW.pnr) in step.text
    assert ">Godkänn</button>" in step.text
    handle = re.search(r'name="resident" value="([^"]+)"', step.text)
    assert handle is not None
    for _ in range(2):  # a double submit approves once
        done = admin_client.post(f"/c/{MAIN_CLINIC}/approve", data={"resident": handle.group(1), "csrf_token": token})
        assert "Invånaren är godkänd för kommunikation." in done.text
    new = events_since(access, before)
    assert [(e.action, e.pnr) for e in new] == [(Action.RESIDENT_APPROVED, NEW.pnr)]
    assert new[0].actor_id == DEMO_USER


def test_approve_lookup_shows_the_librarys_message_for_a_bad_number(admin_client: TestClient) -> None:
    response = admin_client.post(
        f"/c/{MAIN_CLINIC}/approve/lookup", data={"pnr": "19121212-1213", "csrf_token": token_of(admin_client)}
    )
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.text
    assert "1213" in response.text  # the typed text stays in the field for correcting


def test_approve_lookup_warns_about_a_resident_the_register_does_not_know(admin_client: TestClient) -> None:
    response = admin_client.post(
        f"/c/{MAIN_CLINIC}/approve/lookup", data={"pnr": "19121212-1212", "csrf_token": token_of(admin_client)}
    )
    assert "Invånaren finns inte i folkbokföringen" in response.text


def test_approve_lookup_through_htmx_returns_the_step(admin_client: TestClient) -> None:
    response = admin_client.post(
        f"/c/{MAIN_CLINIC}/approve/lookup",
        data={"pnr": str(NEW.pnr), "csrf_token": token_of(admin_client)},
        headers={"HX-Request": "true"},
    )
    assert response.text.startswith('<section id="step"')


def test_revoke_approval(admin_client: TestClient, access: CareAccess) -> None:
    target = RESIDENTS[0]
    handle = resident_handle(admin_client, MAIN_CLINIC, target.pnr)
    page = admin_client.get(f"/c/{MAIN_CLINIC}/r/{handle}").text
    assert "Ta bort godkännande" in page
    assert "<dialog" in page
    assert "Vill du ta bort godkännandet" in admin_client.get(f"/c/{MAIN_CLINIC}/r/{handle}/revoke").text
    before = all_events(access)
    token = token_of(admin_client)
    done = admin_client.post(f"/c/{MAIN_CLINIC}/r/{handle}/revoke", data={"csrf_token": token})
    assert "Godkännandet för kommunikation har tagits bort." in done.text
    again = admin_client.post(f"/c/{MAIN_CLINIC}/r/{handle}/revoke", data={"csrf_token": token})
    assert again.status_code == 404
    assert "Invånaren är inte godkänd för kommunikation med mottagningen." in again.text
    assert [e.action for e in events_since(access, before)] == [Action.APPROVAL_REVOKED]


def test_a_handle_from_another_session_is_refused(app: Starlette, admin_client: TestClient) -> None:
    handle = resident_handle(admin_client, MAIN_CLINIC, RESIDENTS[0].pnr)
    with TestClient(app) as other:
        log_in(other)
        response = other.get(f"/c/{MAIN_CLINIC}/r/{handle}")
        assert response.status_code == 404
        assert "Länken gäller inte längre" in response.text


def test_a_tampered_handle_is_refused(admin_client: TestClient) -> None:
    handle = resident_handle(admin_client, MAIN_CLINIC, RESIDENTS[0].pnr)
    tampered = handle[:-3] + ("AAA" if not handle.endswith("AAA") else "BBB")
    assert admin_client.get(f"/c/{MAIN_CLINIC}/r/{tampered}").status_code == 404


# -- grants ----------------------------------------------------------------------------------


def grant_form(client: TestClient, pnr: PersonalIdentityNumber) -> tuple[str, str]:
    response = client.post(f"/c/{MAIN_CLINIC}/grant/lookup", data={"pnr": str(pnr), "csrf_token": token_of(client)})
    handle = re.search(r'name="resident" value="([^"]+)"', response.text)
    assert handle is not None
    return handle.group(1), response.text


def test_grant_until_a_date_and_double_submit(admin_client: TestClient, access: CareAccess) -> None:
    handle, html = grant_form(admin_client, NEW.pnr)
    assert "Specifikt datum" in html
    assert "Tills vidare" in html
    assert "KBT-behandling" in html
    assert "Rådgivning" not in html  # open case types cannot be granted
    before = all_events(access)
    until = (access.today() + dt.timedelta(days=10)).isoformat()
    data = {
        "resident": handle,
        "case_type": "kbt",
        "until": "date",
        "date": until,
        "csrf_token": token_of(admin_client),
    }
    done = admin_client.post(f"/c/{MAIN_CLINIC}/grant", data=data)
    assert "Ärendetypen har delats ut." in done.text
    assert until in done.text
    again = admin_client.post(f"/c/{MAIN_CLINIC}/grant", data=data)
    assert again.status_code == 400
    new = events_since(access, before)
    assert [(e.action, e.case_type_id) for e in new] == [(Action.CASE_TYPE_GRANTED, "kbt")]


def test_grant_until_further_notice(admin_client: TestClient, access: CareAccess, admins: dict[str, Admin]) -> None:
    handle, _ = grant_form(admin_client, NEW.pnr)
    data = {"resident": handle, "case_type": "provsvar", "until": "none", "csrf_token": token_of(admin_client)}
    done = admin_client.post(f"/c/{MAIN_CLINIC}/grant", data=data)
    assert "Tills vidare" in done.text
    grant = access.resident_access(admins[DEMO_USER].actor, MAIN_CLINIC, NEW.pnr).grants[0]
    assert grant.until is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"case_type": "kbt", "until": "date", "date": "2001-01-01"}, "Slutdatumet har redan passerat"),
        ({"case_type": "kbt", "until": "date", "date": "not a date"}, "Datumet är inte giltigt."),
        ({"case_type": "kbt"}, "Välj ett datum eller tills vidare."),
        ({"until": "none"}, "Fyll i alla fält."),
        ({"case_type": "radgivning", "until": "none"}, "Endast ärendetyper med begränsat urval kan delas ut"),
    ],
)
def test_grant_errors_are_shown_and_change_nothing(
    admin_client: TestClient, access: CareAccess, fields: dict[str, str], message: str
) -> None:
    handle, _ = grant_form(admin_client, NEW.pnr)
    before = all_events(access)
    response = admin_client.post(
        f"/c/{MAIN_CLINIC}/grant", data={"resident": handle, "csrf_token": token_of(admin_client), **fields}
    )
    assert response.status_code == 400
    assert message in response.text
    assert all_events(access) == before


def test_change_and_remove_a_grant(admin_client: TestClient, access: CareAccess) -> None:
    target = RESIDENTS[12]  # holds kbt until further notice
    handle = resident_handle(admin_client, MAIN_CLINIC, target.pnr)
    page = admin_client.get(f"/c/{MAIN_CLINIC}/r/{handle}").text
    assert 'aria-label="Ändra KBT-behandling"' in page
    edit_path = f"/c/{MAIN_CLINIC}/r/{handle}/grants/kbt"
    edit = admin_client.get(edit_path).text
    assert 'value="1"' in edit  # the version the change is checked against
    before = all_events(access)
    token = token_of(admin_client)
    until = (access.today() + dt.timedelta(days=5)).isoformat()
    changed = admin_client.post(edit_path, data={"until": "date", "date": until, "version": "1", "csrf_token": token})
    assert "Den utdelade ärendetypen har ändrats." in changed.text
    stale = admin_client.post(edit_path, data={"until": "none", "version": "1", "csrf_token": token})
    assert stale.status_code == 400  # someone (here: the same form, sent twice) changed it meanwhile
    assert "Ändra utdelad ärendetyp" in stale.text
    assert "Vill du ta bort den utdelade ärendetypen?" in admin_client.get(f"{edit_path}/remove").text
    removed = admin_client.post(f"{edit_path}/remove", data={"version": "2", "csrf_token": token})
    assert "Ärendetypen är borttagen." in removed.text
    assert [e.action for e in events_since(access, before)] == [Action.GRANT_CHANGED, Action.GRANT_REMOVED]


# -- many at once ----------------------------------------------------------------------------


def test_manage_page_has_checkboxes_for_approved_residents(admin_client: TestClient) -> None:
    html = admin_client.get(f"/c/{MAIN_CLINIC}/manage").text
    assert 'aria-label="Markera alla"' in html
    assert ">Ta bort markerade</button>" in html
    assert html.count('name="r"') == 12  # the approved ones; grant holders have no approval to remove


def test_manage_confirm_without_javascript(admin_client: TestClient) -> None:
    html = admin_client.get(f"/c/{MAIN_CLINIC}/manage").text
    handles = re.findall(r'name="r" value="([^"]+)"', html)[:2]
    response = admin_client.post(
        f"/c/{MAIN_CLINIC}/manage/confirm", data={"r": handles, "csrf_token": token_of(admin_client)}
    )
    assert "Vill du ta bort godkännandet för de markerade invånarna?" in response.text
    assert response.text.count('name="r"') == 2


def test_manage_with_nothing_selected(admin_client: TestClient, access: CareAccess) -> None:
    before = all_events(access)
    response = admin_client.post(f"/c/{MAIN_CLINIC}/manage/remove", data={"csrf_token": token_of(admin_client)})
    assert "Markera minst en invånare." in response.text
    assert all_events(access) == before


# -- the event log and languages -----------------------------------------------------------


def test_event_log_is_read_only_and_masked(admin_client: TestClient) -> None:
    html = admin_client.get(f"/c/{MAIN_CLINIC}/events").text
    assert "Anna Andersson" in html
    assert "Invånaren är godkänd för kommunikation." in html
    assert mask(RESIDENTS[0].pnr) in html
    assert FULL_NUMBER.search(html) is None
    assert '<form method="post" action="/c/' not in html


def test_every_page_in_english(admin_client: TestClient, access: CareAccess) -> None:
    response = admin_client.post("/language", data={"lang": "en", "back": "/", "csrf_token": token_of(admin_client)})
    assert 'lang="en"' in response.text
    assert "Choose clinic" in response.text
    handle = resident_handle(admin_client, MAIN_CLINIC, RESIDENTS[12].pnr)
    for path in [
        f"/c/{MAIN_CLINIC}",
        f"/c/{MAIN_CLINIC}/residents",
        f"/c/{MAIN_CLINIC}/manage",
        f"/c/{MAIN_CLINIC}/events",
        f"/c/{MAIN_CLINIC}/approve",
        f"/c/{MAIN_CLINIC}/grant",
        f"/c/{MAIN_CLINIC}/grant?r={handle}",
        f"/c/{MAIN_CLINIC}/r/{handle}",
        f"/c/{MAIN_CLINIC}/r/{handle}/revoke",
        f"/c/{MAIN_CLINIC}/r/{handle}/grants/kbt",
        f"/c/{MAIN_CLINIC}/r/{handle}/grants/kbt/remove",
        f"/c/{THIRD_CLINIC}/residents",
        "/nowhere",
    ]:
        html = admin_client.get(path).text
        assert 'lang="en"' in html, path
        assert "Logga ut" not in html, path
    refused = admin_client.get(f"/c/{THIRD_CLINIC}/residents").text
    assert refusal(access).message_en in refused


def test_language_switch_only_goes_back_to_this_site(admin_client: TestClient) -> None:
    response = admin_client.post(
        "/language",
        data={"lang": "en", "back": "//evil.example/", "csrf_token": token_of(admin_client)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_security_headers(admin_client: TestClient) -> None:
    response = admin_client.get(f"/c/{MAIN_CLINIC}/residents")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"


def test_other_clinic_is_listed_separately(admin_client: TestClient) -> None:
    html = admin_client.get(f"/c/{OTHER_CLINIC}/residents").text
    assert html.count('class="pnr"') == 3


def test_every_ui_text_has_its_english() -> None:
    from careaccess_admin import app as app_module
    from careaccess_admin.texts import ENGLISH

    source = Path(app_module.__file__).parent
    used: set[str] = set()
    for template in (source / "templates").glob("*.html"):
        for double, single in re.findall(r"""\bt\((?:"([^"]+)"|'([^']+)')\)""", template.read_text(encoding="utf-8")):
            used.add(double or single)
    code = "\n".join(path.read_text(encoding="utf-8") for path in sorted(source.glob("*.py")))
    used |= set(re.findall(r'translate\("([^"]+)"', code))
    used |= set(re.findall(r'raise ValueError\("([^"]+)"\)', code))
    used |= set(re.findall(r'error="([^"]+)"', code))
    assert len(used) > 60
    assert sorted(used - ENGLISH.keys()) == []


def test_remove_selected_approvals_with_a_stale_selection(
    admin_client: TestClient, access: CareAccess, admins: dict[str, Admin]
) -> None:
    html = admin_client.get(f"/c/{MAIN_CLINIC}/manage").text
    handles = re.findall(r'name="r" value="([^"]+)"', html)[:3]
    assert len(handles) == 3
    before = all_events(access)
    # Someone else removes the second approval after the page was shown.
    access.revoke_approval(admins[DEMO_USER].actor, MAIN_CLINIC, RESIDENTS[1].pnr)
    response = admin_client.post(
        f"/c/{MAIN_CLINIC}/manage/remove", data={"r": handles, "csrf_token": token_of(admin_client)}
    )
    assert "Borttagna godkännanden: 2." in response.text
    assert "Redan borttagna av någon annan:" in response.text
    assert mask(RESIDENTS[1].pnr) in response.text
    new = events_since(access, before)
    assert [(e.action, e.pnr) for e in new] == [
        (Action.APPROVAL_REVOKED, RESIDENTS[1].pnr),
        (Action.APPROVAL_REVOKED, RESIDENTS[0].pnr),
        (Action.APPROVAL_REVOKED, RESIDENTS[2].pnr),
    ]
    again = admin_client.post(
        f"/c/{MAIN_CLINIC}/manage/remove", data={"r": handles, "csrf_token": token_of(admin_client)}
    )
    assert "Borttagna godkännanden: 0." in again.text
    assert len(events_since(access, before)) == 3
