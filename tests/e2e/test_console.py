"""The console in a real browser: sign-in, dashboard counts, the audit-chain job's live
progress, the theme switch and the phone layout.

Every test also fails on a console error, an uncaught page error, a CSP violation, a
failed request or a server-side exception (the `problems` fixture in conftest.py).
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from rq.suspension import resume, suspend

from tests.e2e.conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # conftest's autouse fixture skips (or fails) every test, saying why
    expect = None

pytestmark = pytest.mark.e2e

ADMIN = "admin@northwind.example"


def test_sign_in_lands_on_dashboard_with_real_counts(page, live_server, artifacts):
    from app.models import Organization, Site, User, db

    with live_server.app.app_context():
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
        users = db.session.scalar(sa.select(sa.func.count(User.id)).where(User.org_id == org_id))
        sites = db.session.scalar(sa.select(sa.func.count(Site.id)).where(Site.org_id == org_id))
        db.session.remove()
    assert (users, sites) == (4, 2), "the demo data changed: one user of each role, two sites"

    sign_in(page, ADMIN)

    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Northwind Security")
    expect(page.locator('[data-count="users"]')).to_have_text(str(users))
    expect(page.locator('[data-count="sites"]')).to_have_text(str(sites))
    # This sign-in opened a session, so at least one is live.
    live = int(page.locator('[data-count="live_sessions"]').inner_text())
    assert live >= 1
    # The stylesheets applied: Bootstrap's cards have a border, the navbar is sticky and
    # the side navigation is shown beside the content (no menu button at this width).
    tile = page.locator('[data-count="users"]').locator(
        "xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' card ')][1]")
    assert tile.evaluate("el => getComputedStyle(el).borderTopStyle") == "solid"
    assert page.locator("nav.navbar").evaluate("el => getComputedStyle(el).position") == "sticky"
    expect(page.locator("#sidenav").get_by_role("link", name=re.compile(r"^\W*Home$"))).to_be_visible()  # the dashboard
    expect(page.get_by_role("button", name="Open navigation")).to_be_hidden()
    # Bootstrap Icons' font loaded (an unstyled <i> has no ::before content).
    icon = page.locator("a.navbar-brand i.bi")
    assert icon.evaluate("el => getComputedStyle(el, '::before').fontFamily").strip('"') == "bootstrap-icons"
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)


def test_audit_chain_verification_progress(page, live_server, artifacts):
    from app.models import AuditLog, JobRun, db

    sign_in(page, ADMIN)
    expect(page).to_have_url(live_server.url + "/")
    page.locator("#sidenav").get_by_text("Administration").click()  # its group opens
    page.locator("#sidenav").get_by_role("link", name="Audit log").click()
    expect(page).to_have_url(live_server.url + "/admin/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    # The demo seeding and this sign-in are in the log; the chain was never verified.
    expect(page.locator("#audit-results tbody tr").first).to_be_visible()
    expect(page.get_by_text("Not verified yet.")).to_be_visible()
    expect(page.locator(".job-status")).to_have_count(0)

    with live_server.app.app_context():
        rows_before = db.session.scalar(sa.select(sa.func.count(AuditLog.id)))
        db.session.remove()

    # Hold the worker (RQ's own suspension) so the page is seen with the run still queued:
    # the progress must then arrive through htmx polling, not through a reload.
    redis = live_server.redis()
    suspend(redis)
    try:
        page.locator("#verify-chain").click()
        expect(page).to_have_url(live_server.url + "/admin/audit")
        status = page.locator(".job-status")
        expect(status).to_have_attribute("data-status", "queued")
        expect(status).to_have_attribute("hx-trigger", "every 1s")
        run_element_id = status.get_attribute("id")
        assert re.fullmatch(r"job-status-\d+", run_element_id)
        expect(status.locator("progress.job-progress")).to_have_attribute("value", "0")
        # A marker that a page load would wipe out.
        page.evaluate("window.__stillTheSamePage = true")
    finally:
        resume(redis)

    page.wait_for_function(
        "() => { const p = document.querySelector('.job-status progress.job-progress');"
        " return p !== null && p.value === 100; }"
    )
    status = page.locator(".job-status")
    expect(status).to_have_attribute("id", run_element_id)
    expect(status).to_have_attribute("data-status", "succeeded")
    expect(status.locator(".badge")).to_have_text("succeeded")
    expect(status.locator("[data-progress]")).to_have_text("100%")
    message = status.locator("div.small.text-body-secondary")
    expect(message).to_contain_text("Chain intact")
    checked = int(re.search(r"Chain intact: (\d+) rows verified", message.inner_text()).group(1))
    assert checked >= rows_before
    # The finished fragment no longer polls, and it came by htmx into the same page.
    expect(status).not_to_have_attribute("hx-trigger", re.compile(".*"))
    assert page.evaluate("window.__stillTheSamePage") is True
    assert page.locator(".alert-danger").count() == 0
    with live_server.app.app_context():
        run = db.session.get(JobRun, int(run_element_id.rsplit("-", 1)[1]))
        assert (run.kind, run.status, run.progress) == ("audit.verify", "succeeded", 100)
        assert run.result["ok"] is True and run.result["checked"] == checked
        db.session.remove()
    page.screenshot(path=str(artifacts / "audit-verified.png"), full_page=True)


def test_wrong_password_stays_on_login_with_error(page, live_server, problems):
    # The rejected form answers 422 (INVALID_FORM_STATUS) on purpose.
    problems.allow(r"HTTP 422 POST .*/auth/login")
    problems.allow(r"console error: Failed to load resource: the server responded with a status of 422")

    sign_in(page, "readonly@northwind.example", password="not-the-password-42")

    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/auth/login"))
    expect(page.locator("#login-error")).to_be_visible()
    expect(page.locator("#login-error")).not_to_be_empty()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    # Not signed in: the dashboard sends us back to the login page.
    page.goto("/")
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/auth/login"))
    expect(page.locator("#login-error")).to_have_count(0)


def test_theme_switch_changes_the_colour_theme(page, live_server):
    # Its own user: the theme is saved on the account.
    sign_in(page, "analyst@northwind.example")
    expect(page).to_have_url(live_server.url + "/")
    html = page.locator("html")
    expect(html).to_have_attribute("data-bs-theme", "light")  # "auto" under a light system scheme
    background_light = page.locator("body").evaluate("el => getComputedStyle(el).backgroundColor")

    page.get_by_role("button", name="Switch theme").click()
    expect(html).to_have_attribute("data-bs-theme", "dark")
    expect(html).to_have_attribute("data-theme-pref", "dark")
    background_dark = page.locator("body").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background_dark != background_light

    page.get_by_role("button", name="Switch theme").click()
    expect(html).to_have_attribute("data-bs-theme", "light")
    expect(html).to_have_attribute("data-theme-pref", "light")


# An organization user's top bar shows the organization's name; a super admin's, a switcher.
@pytest.mark.parametrize("email", ["operator@northwind.example", "admin@vigil.example"])
def test_phone_layout_hides_side_navigation_behind_menu_button(new_page, live_server, email):
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    sign_in(page, email)
    expect(page).to_have_url(live_server.url + "/")

    # Home is a top-level entry, outside the collapsible domain groups.
    home_link = page.locator("#sidenav").get_by_role("link", name="Home")
    menu = page.get_by_role("button", name="Open navigation")
    expect(home_link).to_be_hidden()
    expect(menu).to_be_visible()
    # The page fits the phone: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The search box keeps a usable width on its own row of the top bar.
    search = page.locator("#global-search").bounding_box()
    assert search["width"] >= 300 and search["x"] >= 0 and search["x"] + search["width"] <= 390, search
    expect(page.get_by_role("button", name="Switch theme")).to_be_visible()

    menu.click()
    expect(page.locator("#sidenav")).to_have_class(re.compile(r"\bshow\b"))
    expect(home_link).to_be_visible()
    home_link.click()
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/?$"))
    expect(home_link).to_be_hidden()  # the new page starts with the menu closed
