"""The dashboard in headless Chromium: log in, see a new alert arrive live, acknowledge it.

Uses Debian's ``chromium`` driven by playwright (PyPI); no browser is
downloaded. Skips, saying why, only when no chromium binary exists.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetwatch.settings import Settings
from gateway.app import start_in_thread
from tests.support.gateway import db, insert_alert, keys_by_role, seed_registry, write_track

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str | None:
    for candidate in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture
def gateway_url(db_url: str) -> Iterator[tuple[str, str, str]]:
    with db(db_url) as conn:
        seed_registry(conn)
        write_track(conn, db_url, n=30)
        token = keys_by_role(conn)["post_loan"]
    gw = start_in_thread(
        Settings(database_url=db_url, http_port=0, feed_poll_s=0.1), start_webhooks=False
    )
    try:
        yield gw.url, token, db_url
    finally:
        gw.stop()


def test_new_alert_arrives_and_is_acknowledged(gateway_url: tuple[str, str, str]) -> None:
    exe = chromium_path()
    if exe is None:
        pytest.skip("no chromium binary (install Debian's package: apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    url, token, db_url = gateway_url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{url}/alerts")
            assert "/login" in page.url
            page.fill("#api_key", "awk_wrong_key")
            page.click("#login")
            expect(page.locator("p.error")).to_contain_text("API key")
            page.fill("#api_key", token)
            page.click("#login")
            page.wait_for_url(f"{url}/alerts")
            expect(page.locator("#feed-state")).to_have_text("live", timeout=10_000)
            assert page.locator("#alert-rows tr").count() == 0

            with db(db_url) as conn:
                alert_id = insert_alert(conn, level="red", kind="zone_exit")
            row = page.locator(f'#alert-rows tr[data-alert-id="{alert_id}"]')
            expect(row).to_be_visible(timeout=10_000)
            expect(row.locator("td.status")).to_have_text("open")
            expect(row.locator(".lvl.red")).to_be_visible()

            row.locator("button.ack").click()
            expect(row.locator("td.status")).to_have_text("acknowledged", timeout=10_000)
            expect(row.locator("button.ack")).to_have_count(0)

            page.goto(f"{url}/")
            expect(page.locator('circle.asset[data-asset-id="A001"]')).to_have_attribute(
                "data-level", "red", timeout=10_000
            )
            expect(page.locator("polygon.zone")).to_have_count(1)
            page.goto(f"{url}/assets/A001")
            expect(page.locator("#map-status")).to_contain_text("track points", timeout=10_000)
            assert errors == []
        finally:
            browser.close()
