"""The manual, end to end, in Chromium: every screen, on SQLite and PostgreSQL.

Besides the workflow: a wrong password, another clinic's URL, a form without its CSRF
token, double submits, keyboard-only use of every form, and axe-core on every screen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from careaccess import Action, Actor, CareAccess, Event, PermissionDenied
from playwright.sync_api import Browser, Locator, Page, expect

from careaccess_admin.demo import DEMO_PASSWORD, DEMO_USER, MAIN_CLINIC, THIRD_CLINIC, demo_residents
from support import AXE, log_in

pytestmark = pytest.mark.browser

RESIDENTS = demo_residents()
NEW = RESIDENTS[30]
SECOND = RESIDENTS[31]


def feed(world: CareAccess) -> list[Event]:
    return world.events(None, 1000, MAIN_CLINIC)


def open_invanare(page: Page) -> None:
    page.get_by_role("link", name="Vårdcentralen Exempel").click()
    page.get_by_role("link", name="Invånare", exact=True).click()
    expect(page.get_by_role("heading", name="Invånare", exact=True)).to_be_visible()


def approve(page: Page, number: str, name: str) -> None:
    page.get_by_role("link", name="Godkänn invånare").click()
    page.get_by_label("Personnummer").fill(number)
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_text(name, exact=True)).to_be_visible()
    page.get_by_role("button", name="Godkänn", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Invånaren är godkänd för kommunikation.")


def test_the_manuals_workflow(logged_in: Page, world: CareAccess) -> None:
    page = logged_in
    start = feed(world)
    assert NEW.name is not None
    # Välj mottagning, then the Invånare card.
    open_invanare(page)
    expired_row = page.get_by_role("row").filter(has_text=RESIDENTS[13].pnr.digits[:8])
    expect(expired_row).to_contain_text("Utgången")
    expect(page.get_by_text(str(RESIDENTS[0].pnr))).to_have_count(0)  # masked until opened

    # Godkänn invånare -> personnummer -> name and number -> Godkänn -> confirmation.
    page.get_by_role("link", name="Godkänn invånare").click()
    page.get_by_label("Personnummer").fill(NEW.pnr.short())
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_text(NEW.name, exact=True)).to_be_visible()
    expect(page.get_by_text(str(NEW.pnr), exact=True)).to_be_visible()
    page.get_by_role("button", name="Godkänn", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Invånaren är godkänd för kommunikation.")
    assert str(NEW.pnr) not in page.url
    assert NEW.pnr.digits not in page.url

    # Ta bort godkännande -> pop-up -> Ta bort.
    page.get_by_role("button", name="Ta bort godkännande").click()
    dialog = page.get_by_role("dialog", name="Vill du ta bort godkännandet för kommunikation?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Ta bort", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Godkännandet för kommunikation har tagits bort.")

    # Dela ut ärendetyp -> personnummer -> name -> case type -> date -> Dela ut (disabled until complete).
    page.get_by_role("link", name="Invånare", exact=True).click()
    page.get_by_role("link", name="Dela ut ärendetyp").click()
    page.get_by_label("Personnummer").fill(str(NEW.pnr))
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_text(NEW.name, exact=True)).to_be_visible()
    give = page.get_by_role("button", name="Dela ut", exact=True)
    expect(give).to_be_disabled()
    page.get_by_label("KBT-behandling").check()
    expect(give).to_be_disabled()
    page.get_by_label("Specifikt datum").check()
    expect(give).to_be_disabled()
    until = world.today() + dt.timedelta(days=14)
    page.get_by_label("Datum", exact=True).fill(until.isoformat())
    expect(give).to_be_enabled()
    give.click()
    expect(page.get_by_role("status")).to_have_text("Ärendetypen har delats ut.")
    expect(page.get_by_role("row").filter(has_text="KBT-behandling")).to_contain_text(until.isoformat())

    # Ändra beside the case type -> Tills vidare -> confirmation.
    page.get_by_role("link", name="Ändra KBT-behandling").click()
    page.get_by_label("Tills vidare").check()
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("status")).to_have_text("Den utdelade ärendetypen har ändrats.")
    expect(page.get_by_role("row").filter(has_text="KBT-behandling")).to_contain_text("Tills vidare")

    # Ändra -> Ta bort -> pop-up -> Ta bort.
    page.get_by_role("link", name="Ändra KBT-behandling").click()
    page.get_by_role("button", name="Ta bort", exact=True).click()
    dialog = page.get_by_role("dialog", name="Vill du ta bort den utdelade ärendetypen?")
    dialog.get_by_role("button", name="Ta bort", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Ärendetypen är borttagen.")
    expect(page.get_by_text("Inga utdelade ärendetyper.")).to_be_visible()

    # Search by name, open the resident from the list (the number shows in full only there).
    page.get_by_role("link", name="Invånare", exact=True).click()
    target = RESIDENTS[2]
    assert target.name is not None
    page.get_by_label("Sök på namn eller personnummer").fill(target.name)
    page.get_by_role("button", name="Sök", exact=True).click()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    page.get_by_role("link", name=target.name).click()
    expect(page.get_by_text(str(target.pnr), exact=True)).to_be_visible()

    # The event log shows what was done.
    page.get_by_role("link", name="Vårdcentralen Exempel").click()
    page.get_by_role("link", name="Händelselogg").click()
    expect(page.get_by_role("cell", name="Ärendetypen är borttagen.")).to_be_visible()

    done = feed(world)[len(start) :]
    assert [(e.action, e.pnr, e.actor_id) for e in done] == [
        (Action.RESIDENT_APPROVED, NEW.pnr, DEMO_USER),
        (Action.APPROVAL_REVOKED, NEW.pnr, DEMO_USER),
        (Action.CASE_TYPE_GRANTED, NEW.pnr, DEMO_USER),
        (Action.GRANT_CHANGED, NEW.pnr, DEMO_USER),
        (Action.GRANT_REMOVED, NEW.pnr, DEMO_USER),
    ]


def test_wrong_password(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("Användarnamn").fill(DEMO_USER)
    page.get_by_label("Lösenord").fill("fel lösenord")
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("alert")).to_have_text("Fel användarnamn eller lösenord.")
    page.goto(f"{base_url}/c/{MAIN_CLINIC}/residents")
    expect(page.get_by_role("heading", name="Logga in som lokal administratör")).to_be_visible()


def test_another_clinics_url_is_refused(logged_in: Page, base_url: str, world: CareAccess) -> None:
    response = logged_in.goto(f"{base_url}/c/{THIRD_CLINIC}/residents")
    assert response is not None
    assert response.status == 403
    with pytest.raises(PermissionDenied) as refusal:
        world.list_residents(Actor(DEMO_USER, {MAIN_CLINIC}), THIRD_CLINIC)
    expect(logged_in.get_by_role("alert")).to_have_text(refusal.value.message_sv)


def test_a_form_without_its_csrf_token_is_refused(logged_in: Page, world: CareAccess) -> None:
    page = logged_in
    before = feed(world)
    open_invanare(page)
    page.get_by_role("link", name="Godkänn invånare").click()
    page.get_by_label("Personnummer").fill(str(NEW.pnr))
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("button", name="Godkänn", exact=True).wait_for()
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach((e) => e.remove())")
    page.get_by_role("button", name="Godkänn", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Formuläret har gått ut")
    assert feed(world) == before


def test_double_submit_changes_once(logged_in: Page, world: CareAccess) -> None:
    page = logged_in
    before = feed(world)
    open_invanare(page)
    page.get_by_role("link", name="Godkänn invånare").click()
    page.get_by_label("Personnummer").fill(str(NEW.pnr))
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("button", name="Godkänn", exact=True).dblclick()
    expect(page.get_by_role("status")).to_have_text("Invånaren är godkänd för kommunikation.")

    page.get_by_role("link", name="Dela ut ärendetyp").click()
    page.get_by_label("Provsvar").check()
    page.get_by_label("Tills vidare").check()
    page.get_by_role("button", name="Dela ut", exact=True).dblclick()
    expect(page.get_by_role("status")).to_have_text("Ärendetypen har delats ut.")
    assert [e.action for e in feed(world)[len(before) :]] == [Action.RESIDENT_APPROVED, Action.CASE_TYPE_GRANTED]


# -- keyboard only ---------------------------------------------------------------------------


def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until *target* has the focus."""
    for _ in range(limit):
        if target.evaluate("(element) => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


def type_date(page: Page, field: Locator, day: dt.date) -> None:
    """Type *day* into the focused date field, in whichever order the browser's locale shows it."""
    for order in ("%m%d%Y", "%d%m%Y"):
        field.evaluate("(element) => { element.value = '' }")
        page.keyboard.type(day.strftime(order))
        if field.input_value() == day.isoformat():
            field.dispatch_event("input")
            return
        field.evaluate("(element) => element.focus()")
    raise AssertionError(f"the date field did not take {day} typed in any order")


def test_every_form_by_keyboard_alone(page: Page, base_url: str, world: CareAccess) -> None:
    before = feed(world)
    keys = page.keyboard
    page.goto(f"{base_url}/login")
    tab_to(page, page.get_by_label("Användarnamn"))
    keys.type(DEMO_USER)
    tab_to(page, page.get_by_label("Lösenord"))
    keys.type(DEMO_PASSWORD)
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Välj mottagning")).to_be_visible()

    # The language switch, and back.
    tab_to(page, page.get_by_role("button", name="English"))
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Choose clinic")).to_be_visible()
    tab_to(page, page.get_by_role("button", name="Svenska"))
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Välj mottagning")).to_be_visible()

    tab_to(page, page.get_by_role("link", name="Vårdcentralen Exempel"))
    keys.press("Enter")
    tab_to(page, page.get_by_role("link", name="Invånare", exact=True).last)
    keys.press("Enter")

    # Search.
    tab_to(page, page.get_by_label("Sök på namn eller personnummer"))
    keys.type("Tolvan")
    keys.press("Enter")
    expect(page.locator("#results tbody tr").first).to_contain_text("Tolvan")

    # Approve.
    tab_to(page, page.get_by_role("link", name="Godkänn invånare"))
    keys.press("Enter")
    tab_to(page, page.get_by_label("Personnummer"))
    keys.type(str(NEW.pnr))
    keys.press("Enter")
    tab_to(page, page.get_by_role("button", name="Godkänn", exact=True))
    keys.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Invånaren är godkänd för kommunikation.")

    # Grant, from the list: the number, then radios by Space, the date typed.
    tab_to(page, page.get_by_role("link", name="Invånare", exact=True).last)
    keys.press("Enter")
    tab_to(page, page.get_by_role("link", name="Dela ut ärendetyp"))
    keys.press("Enter")
    tab_to(page, page.get_by_label("Personnummer"))
    keys.type(NEW.pnr.short())
    keys.press("Enter")
    tab_to(page, page.get_by_label("KBT-behandling"))
    keys.press("Space")
    tab_to(page, page.get_by_label("Specifikt datum"))
    keys.press("Space")
    tab_to(page, page.get_by_label("Datum", exact=True))
    until = world.today() + dt.timedelta(days=3)
    type_date(page, page.get_by_label("Datum", exact=True), until)
    tab_to(page, page.get_by_role("button", name="Dela ut", exact=True))
    keys.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Ärendetypen har delats ut.")

    # Change it to until further notice.
    tab_to(page, page.get_by_role("link", name="Ändra KBT-behandling"))
    keys.press("Enter")
    tab_to(page, page.get_by_label("Specifikt datum"))
    keys.press("ArrowDown")  # to "Tills vidare" in the same radio group
    expect(page.get_by_label("Tills vidare")).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Spara"))
    keys.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Den utdelade ärendetypen har ändrats.")

    # Remove it: the pop-up opens on Enter, Escape closes it, Enter on Ta bort confirms.
    tab_to(page, page.get_by_role("link", name="Ändra KBT-behandling"))
    keys.press("Enter")
    tab_to(page, page.get_by_role("button", name="Ta bort", exact=True))
    keys.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    keys.press("Escape")
    expect(dialog).to_be_hidden()
    keys.press("Enter")  # the focus went back to the opener
    expect(dialog).to_be_visible()
    tab_to(page, dialog.get_by_role("button", name="Ta bort", exact=True))
    keys.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Ärendetypen är borttagen.")

    # Revoke the approval.
    tab_to(page, page.get_by_role("button", name="Ta bort godkännande"))
    keys.press("Enter")
    tab_to(page, page.get_by_role("dialog").get_by_role("button", name="Ta bort", exact=True))
    keys.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Godkännandet för kommunikation har tagits bort.")

    # Hantera invånare: tick with Space.
    tab_to(page, page.get_by_role("link", name="Invånare", exact=True).last)
    keys.press("Enter")
    tab_to(page, page.get_by_role("link", name="Hantera invånare"))
    keys.press("Enter")
    tab_to(page, page.get_by_label("Markera alla"))
    keys.press("Space")
    boxes = page.locator('input[name="r"]')
    assert boxes.count() > 0
    for index in range(boxes.count()):
        expect(boxes.nth(index)).to_be_checked()
    keys.press("Space")
    expect(boxes.first).not_to_be_checked()
    tab_to(page, boxes.first)
    keys.press("Space")
    expect(boxes.first).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Ta bort markerade"))
    keys.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("1")
    tab_to(page, dialog.get_by_role("button", name="Ta bort", exact=True))
    keys.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Borttagna godkännanden: 1.")

    # Log out.
    tab_to(page, page.get_by_role("button", name="Logga ut"))
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Logga in som lokal administratör")).to_be_visible()
    assert [e.action for e in feed(world)[len(before) :]] == [
        Action.RESIDENT_APPROVED,
        Action.CASE_TYPE_GRANTED,
        Action.GRANT_CHANGED,
        Action.GRANT_REMOVED,
        Action.APPROVAL_REVOKED,
        Action.APPROVAL_REVOKED,
    ]


def test_hantera_invanare_with_a_stale_selection(logged_in: Page, world: CareAccess) -> None:
    page = logged_in
    before = feed(world)
    open_invanare(page)
    page.get_by_role("link", name="Hantera invånare").click()
    boxes = page.locator('input[name="r"]')
    page.get_by_label("Markera alla").check()
    for index in range(boxes.count()):
        expect(boxes.nth(index)).to_be_checked()
    page.get_by_label("Markera alla").uncheck()
    expect(boxes.first).not_to_be_checked()
    first, second = RESIDENTS[0], RESIDENTS[1]
    page.get_by_label(f"Markera {first.name}").check()
    page.get_by_label(f"Markera {second.name}").check()
    # Someone else removes the first approval while the page is open.
    world.revoke_approval(Actor("bertil-elsewhere", {MAIN_CLINIC}), MAIN_CLINIC, first.pnr)
    page.get_by_role("button", name="Ta bort markerade").click()
    dialog = page.get_by_role("dialog", name="Vill du ta bort godkännandet för de markerade invånarna?")
    expect(dialog).to_contain_text("2")
    dialog.get_by_role("button", name="Ta bort", exact=True).click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("Borttagna godkännanden: 1.")
    expect(status).to_contain_text("Redan borttagna av någon annan:")
    expect(status).to_contain_text(str(first.pnr)[:-4] + "****")
    expect(page.get_by_label(f"Markera {second.name}")).to_have_count(0)  # no longer approved
    assert [(e.action, e.pnr, e.actor_id) for e in feed(world)[len(before) :]] == [
        (Action.APPROVAL_REVOKED, first.pnr, "bertil-elsewhere"),
        (Action.APPROVAL_REVOKED, second.pnr, DEMO_USER),
    ]


def test_ta_bort_markerade_refuses_without_a_selection(logged_in: Page, world: CareAccess) -> None:
    page = logged_in
    before = feed(world)
    open_invanare(page)
    page.get_by_role("link", name="Hantera invånare").click()
    page.get_by_role("button", name="Ta bort markerade").click()
    expect(page.get_by_role("alert")).to_have_text("Markera minst en invånare.")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert feed(world) == before


# -- accessibility ---------------------------------------------------------------------------


def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the current page."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_no_serious_accessibility_violations(browser: Browser, base_url: str) -> None:
    # The app's Content-Security-Policy forbids inline scripts; only axe's own injection may bypass it.
    context = browser.new_context(locale="sv-SE", bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        problems = axe(page)
        if problems:
            found[name] = [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in problems]

    page.goto(f"{base_url}/login")
    check("login")
    log_in(page, base_url, DEMO_USER, DEMO_PASSWORD)
    check("start")
    page.get_by_role("link", name="Vårdcentralen Exempel").click()
    check("clinic")
    page.get_by_role("link", name="Invånare", exact=True).last.click()
    check("residents")
    page.get_by_role("link", name="Godkänn invånare").click()
    check("approve")
    page.get_by_label("Personnummer").fill("1234")
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("approve-error")
    page.get_by_label("Personnummer").fill(str(NEW.pnr))
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("button", name="Godkänn", exact=True).wait_for()
    check("approve-confirm")
    page.get_by_role("link", name="Invånare", exact=True).click()
    holder = RESIDENTS[3]  # approved, and holds Provsvar
    assert holder.name is not None
    page.get_by_role("link", name=holder.name).click()
    check("resident")
    page.get_by_role("button", name="Ta bort godkännande").click()
    check("revoke-dialog")
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Ändra Provsvar").click()
    check("grant-edit")
    page.go_back()
    page.get_by_role("link", name="Dela ut ärendetyp").click()
    check("grant")
    page.get_by_role("link", name="Invånare", exact=True).click()
    page.get_by_role("link", name="Dela ut ärendetyp").click()
    check("grant-lookup")
    page.get_by_role("link", name="Invånare", exact=True).click()
    page.get_by_role("link", name="Hantera invånare").click()
    check("manage")
    page.get_by_label("Markera alla").check()
    page.get_by_role("button", name="Ta bort markerade").click()
    check("manage-dialog")
    page.keyboard.press("Escape")
    page.goto(f"{base_url}/c/{MAIN_CLINIC}/events")
    check("events")
    page.goto(f"{base_url}/c/{THIRD_CLINIC}/events")
    check("refused")
    page.get_by_role("button", name="English").click()
    page.goto(f"{base_url}/c/{MAIN_CLINIC}/residents")
    check("residents-en")
    context.close()
    assert found == {}


def test_every_step_works_without_javascript(browser: Browser, base_url: str, world: CareAccess) -> None:
    context = browser.new_context(locale="sv-SE", java_script_enabled=False)
    page = context.new_page()
    before = feed(world)
    log_in(page, base_url, DEMO_USER, DEMO_PASSWORD)
    open_invanare(page)
    assert NEW.name is not None
    approve(page, str(NEW.pnr), NEW.name)
    # Without the script the pop-up is a page of its own.
    page.get_by_role("button", name="Ta bort godkännande").click()
    expect(page.get_by_role("heading", name="Vill du ta bort godkännandet för kommunikation?")).to_be_visible()
    page.get_by_role("button", name="Ta bort", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Godkännandet för kommunikation har tagits bort.")
    page.get_by_role("link", name="Dela ut ärendetyp").click()
    page.get_by_label("Provsvar").check()
    page.get_by_label("Specifikt datum").check()
    page.get_by_label("Datum", exact=True).fill((world.today() + dt.timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Dela ut", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Ärendetypen har delats ut.")
    page.get_by_role("link", name="Ändra Provsvar").click()
    page.get_by_role("button", name="Ta bort", exact=True).click()
    expect(page.get_by_role("heading", name="Vill du ta bort den utdelade ärendetypen?")).to_be_visible()
    page.get_by_role("button", name="Ta bort", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Ärendetypen är borttagen.")
    page.get_by_role("link", name="Invånare", exact=True).click()
    page.get_by_label("Sök på namn eller personnummer").fill("Tolvan")
    page.get_by_role("button", name="Sök", exact=True).click()
    expect(page.locator("#results tbody tr").first).to_contain_text("Tolvan")
    page.get_by_role("link", name="Hantera invånare").click()
    page.locator('input[name="r"]').first.check()
    page.get_by_role("button", name="Ta bort markerade").click()
    expect(page.get_by_role("heading", name="Vill du ta bort godkännandet för de markerade invånarna?")).to_be_visible()
    context.close()
    assert [e.action for e in feed(world)[len(before) :]] == [
        Action.RESIDENT_APPROVED,
        Action.APPROVAL_REVOKED,
        Action.CASE_TYPE_GRANTED,
        Action.GRANT_REMOVED,
    ]
