"""Browser checks of what a first-time user meets (issue 12): the audit log fits a 1440 px
screen and reads as words, the grouped navigation, the explorer on a phone."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # conftest's autouse fixture skips (or fails) every test, saying why
    expect = None

pytestmark = pytest.mark.e2e


def _long_audit_row(app) -> None:
    from app import audit
    from app.models import Organization, db

    with app.app_context():
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
        audit.record("notifications.channel_updated", resource_type="notification_channel", resource_id=123456,
                     org_id=org_id, actor_type="system",
                     actor_label="a-very-long-service-account-name@northwind-security-operations.example",
                     old={"enabled": False, "url": None, "events": ["threat.opened"]},
                     new={"enabled": True, "url": "https://hooks.example.org/" + "x" * 120,
                          "events": ["threat.opened", "incident.created", "fleet.alert"]},
                     details={"ip_allow": ["10.0.0.0/8", "192.168.0.0/16"]})
        db.session.commit()
        db.session.remove()


def test_admin_audit_log_fits_1440_and_reads_as_words(new_page, live_server, artifacts):
    _long_audit_row(live_server.app)
    page = new_page(viewport={"width": 1440, "height": 900})
    sign_in(page, "admin@vigil.example")
    page.goto(live_server.url + "/admin/audit")
    expect(page.locator("#audit-results tbody tr").first).to_be_visible()
    widths = page.evaluate("""() => {
        const wrap = document.querySelector('#audit-results .table-responsive');
        const bar = document.querySelector('nav.navbar');
        const ip = document.querySelector('#audit-results thead th:nth-child(7)').getBoundingClientRect();
        return {page: document.documentElement.scrollWidth, view: window.innerWidth,
                tableScroll: wrap.scrollWidth, tableBox: wrap.clientWidth,
                bar: bar.getBoundingClientRect().width, ipRight: ip.right};
    }""")
    # Nothing wider than the screen: no horizontal scroll of the page or the table, the top
    # bar spans the whole width, and the IP column ends inside the window.
    assert widths["page"] <= widths["view"] == 1440, widths
    assert widths["tableScroll"] <= widths["tableBox"], widths
    assert widths["bar"] == widths["view"] and widths["ipRight"] <= 1440, widths
    first = page.locator("#audit-results tbody tr", has_text="notifications.channel_updated")
    expect(first.locator(".audit-change")).to_contain_text("enabled:")
    expect(first.locator(".audit-change li", has_text="enabled:").locator("ins")).to_have_text("yes")
    expect(first.locator(".audit-change li", has_text="enabled:").locator("del")).to_have_text("no")
    text = first.inner_text()
    for raw in ("None", "True", "False", '{"', "['"):
        assert raw not in text, (raw, text)
    page.screenshot(path=str(artifacts / "audit-log-1440.png"))


def test_navigation_groups_collapse_remember_and_show_domain_tabs(page, live_server):
    sign_in(page, "analyst@northwind.example")
    side = page.locator("#sidenav")
    # The top level is short: Home, then one group per domain, all closed on the dashboard.
    expect(side.get_by_role("link", name=re.compile(r"^\W*Home$"))).to_be_visible()
    networks = side.get_by_role("link", name="Networks")
    expect(networks).to_be_hidden()
    side.get_by_text("Wireless", exact=True).click()
    expect(networks).to_be_visible()
    # Opening another group closes the first (one open at a time).
    side.get_by_text("Fleet", exact=True).click()
    expect(side.get_by_role("link", name="Fleet inventory")).to_be_visible()
    expect(networks).to_be_hidden()
    # A page of a domain opens its group and shows the domain's pages as tabs.
    side.get_by_role("link", name="Fleet inventory").click()
    expect(page).to_have_url(re.compile(r"/fleet/devices"))
    tabs = page.locator(".domain-tabs")
    expect(tabs.get_by_role("link", name="Maintenance windows")).to_be_visible()
    expect(tabs.locator("[aria-current=page]")).to_contain_text("Fleet inventory")
    tabs.get_by_role("link", name="Fleet alerts").click()  # (the rules of every domain: /alerts/rules)
    expect(page.locator(".domain-tabs [aria-current=page]")).to_contain_text("Fleet alerts")
    # Back on a page of no domain, the group opened last is still open (remembered).
    page.goto(live_server.url + "/")
    expect(side.get_by_role("link", name="Fleet inventory")).to_be_visible()
    expect(networks).to_be_hidden()
    expect(page.locator(".domain-tabs")).to_have_count(0)


def test_explorer_filter_bar_on_a_phone(new_page, live_server, artifacts):
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/wireless/networks")
    toggle = page.locator("#filter-toggle")
    ssid = page.locator("#f-ssid")
    # Folded: the table, not the form, fills the first screen; nothing is wider than the phone.
    expect(toggle).to_be_visible()
    expect(ssid).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("#network-filters").bounding_box()["height"] < 120
    page.screenshot(path=str(artifacts / "explorer-390-folded.png"))
    toggle.click()
    expect(ssid).to_be_visible()
    # The radio list shows every type in full (GSM was hidden in a 3-row multi-select).
    page.locator("#f-type").click()
    gsm = page.locator("#network-filters label", has_text="GSM")
    expect(gsm).to_be_visible()
    box = gsm.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    gsm.click()
    expect(page.locator("#f-type")).to_have_text("GSM")
    page.screenshot(path=str(artifacts / "explorer-390-open.png"))
    page.locator("#f-type").click()  # close the list
    page.locator("#network-filters").get_by_role("button", name="Filter", exact=False).last.click()
    expect(page).to_have_url(re.compile(r"type=G"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
