"""Screenshots of every screen of the admin UI, for docs/admin.md (``nox -s screenshots``).

Runs the app on a throwaway SQLite file with the demo data and a clock fixed at a
known moment (so the pictures change only when the pages do), drives the system's
Chromium through the manual, and writes ``NN-name.png`` into the directory given.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from careaccess import StaticDirectory, connect
from playwright.sync_api import Page, expect, sync_playwright

from careaccess_admin import create_app
from careaccess_admin.demo import DEMO_PASSWORD, DEMO_USER, demo_admins, demo_residents, seed_demo
from support import launch, live_server, log_in

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Stockholm"))


def ticking_clock() -> Callable[[], dt.datetime]:
    """A clock that starts at START and moves one second per reading."""
    seconds = itertools.count()
    return lambda: START + dt.timedelta(seconds=next(seconds))


def take(page: Page, folder: Path, number: int, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(folder / f"{number:02d}-{name}.png"), full_page=True)


def walk(page: Page, base_url: str, folder: Path) -> None:
    """The manual's steps, one picture each."""
    residents = demo_residents()
    new = residents[30]
    holder = residents[3]
    assert holder.name is not None
    page.goto(f"{base_url}/login")
    page.get_by_label("Användarnamn").fill(DEMO_USER)
    take(page, folder, 1, "logga-in")
    log_in(page, base_url, DEMO_USER, DEMO_PASSWORD)
    take(page, folder, 2, "valj-mottagning")
    page.get_by_role("link", name="Vårdcentralen Exempel").click()
    take(page, folder, 3, "mottagning")
    page.get_by_role("link", name="Invånare", exact=True).last.click()
    take(page, folder, 4, "invanare")
    page.get_by_role("link", name="Godkänn invånare").click()
    page.get_by_label("Personnummer").fill(str(new.pnr))
    take(page, folder, 5, "godkann-invanare-personnummer")
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("button", name="Godkänn", exact=True).wait_for()
    take(page, folder, 6, "godkann-invanare-namn")
    page.get_by_role("button", name="Godkänn", exact=True).click()
    expect(page.get_by_role("status")).to_be_visible()
    take(page, folder, 7, "godkand-bekraftelse")
    page.get_by_role("button", name="Ta bort godkännande").click()
    take(page, folder, 8, "ta-bort-godkannande")
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Dela ut ärendetyp").click()
    page.get_by_label("KBT-behandling").check()
    page.get_by_label("Specifikt datum").check()
    page.get_by_label("Datum", exact=True).fill("2026-06-30")
    take(page, folder, 9, "dela-ut-arendetyp")
    page.get_by_role("button", name="Dela ut", exact=True).click()
    expect(page.get_by_role("status")).to_be_visible()
    take(page, folder, 10, "arendetyp-utdelad")
    page.get_by_role("link", name="Ändra KBT-behandling").click()
    take(page, folder, 11, "andra-utdelad-arendetyp")
    page.get_by_role("button", name="Ta bort", exact=True).click()
    take(page, folder, 12, "ta-bort-utdelad-arendetyp")
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Invånare", exact=True).click()
    page.get_by_role("link", name="Hantera invånare").click()
    page.get_by_label("Markera alla").check()
    take(page, folder, 13, "hantera-invanare")
    page.get_by_role("button", name="Ta bort markerade").click()
    take(page, folder, 14, "ta-bort-markerade")
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Vårdcentralen Exempel").click()
    page.get_by_role("link", name="Händelselogg").click()
    take(page, folder, 15, "handelselogg")
    page.get_by_role("link", name="Invånare", exact=True).click()
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name=holder.name).click()
    take(page, folder, 16, "resident-in-english")


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("[0-9][0-9]-*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory() as scratch:
        access = connect(
            f"sqlite:///{Path(scratch) / 'screens.db'}",
            plugins=[StaticDirectory(demo_residents())],
            clock=ticking_clock(),
        )
        seed_demo(access)
        app = create_app(access, demo_admins())
        with live_server(app) as base_url, sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_context(locale="sv-SE", viewport={"width": 1100, "height": 720}).new_page()
            walk(page, base_url, folder)
            browser.close()
        access.close()
    print(f"screenshots: {len(list(folder.glob('*.png')))} pictures in {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/admin"))
