"""Browser: the attack-surface pages under the strict CSP, from the demo data: the overview,
a domain's page with its ownership instructions and explained risk, and the findings list
whose filters swap the results through htmx (and push the filtered URL)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_attack_surface_pages_in_the_browser(page, live_server, artifacts):
    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/surface/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Attack surface")
    row = page.locator("#domains tbody tr", has_text="northwind.example")
    expect(row.locator("[data-state]")).to_have_text("not verified")
    row.get_by_role("link", name="northwind.example").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("northwind.example")
    expect(page.locator("#token-record")).to_contain_text("vigil-verification=")
    expect(page.get_by_role("button", name="Active scan")).to_be_disabled()
    expect(page.locator("#risk")).to_contain_text("dangling CNAMEs (takeover candidates)")
    expect(page.locator("#cloud")).to_contain_text("dangling: takeover candidate")
    page.screenshot(path=str(artifacts / "surface-domain.png"), full_page=True)

    page.goto(live_server.url + "/surface/findings")
    expect(page.locator("#findings")).to_contain_text("dmarc_missing")
    page.select_option("#f-severity", "high")  # htmx swaps the results in place
    expect(page.locator("#findings")).not_to_contain_text("dmarc_missing")
    expect(page.locator("#findings")).to_contain_text("dangling_cname")
    assert "severity=high" in page.url
    page.screenshot(path=str(artifacts / "surface-findings.png"), full_page=True)
