"""Browser: upload a WiGLE CSV on Wireless > Imports and watch it finish under the strict CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.wireless_import_files import WIGLE_16

pytestmark = pytest.mark.e2e


def test_upload_runs_and_the_table_shows_the_counts(page, live_server, artifacts):
    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/wireless/imports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Wireless imports")
    page.set_input_files("input[name=file]", str(WIGLE_16))
    page.fill("input[name=new_source]", "bruce-e2e")
    page.get_by_role("button", name="Import").click()
    row = page.locator("#wireless-imports tr[data-import]").first
    # The embedded worker runs the job; the table refreshes itself until the import is done.
    expect(row).to_contain_text("succeeded")
    expect(row).to_contain_text("124")
    expect(row).to_contain_text("bruce-e2e")
    page.screenshot(path=str(artifacts / "wireless-imports.png"), full_page=True)
