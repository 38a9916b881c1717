"""Browser smoke walks of the areas of issues 12.9, 13, 16 and 17, as a first-time user
would click through them, plus the problems the acceptance review found.

Every test also fails on a console error, a CSP violation, a failed request or a
server-side exception (the `problems` fixture in conftest.py); every page must answer
below 500.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # conftest's autouse fixture skips (or fails) every test, saying why
    expect = None

pytestmark = pytest.mark.e2e

ADMIN = "admin@northwind.example"
SUPER = "admin@vigil.example"
AREAS = {
    "one_console": ["/", "/alerts/", "/search/?q=northwind", "/threats/incidents",
                    "/threats/entity?value=58.246.200.14", "/notifications/routing"],
    "compliance": ["/compliance/", "/compliance/evidence/expiring"],
    "roadmap": ["/roadmap/", "/roadmap/achievements", "/roadmap/profile"],
    "reports": ["/reports/"],
}


def walk(page, paths: list[str], artifacts, name: str) -> None:
    for path in paths:
        response = page.goto(path)
        assert response.status < 500, f"{path} answered {response.status}"
        assert response.status == 200, f"{path} answered {response.status}"
        page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / f"smoke-{name}.png"), full_page=True)


@pytest.mark.parametrize("area", sorted(AREAS))
def test_area_pages_and_their_detail_pages_load_cleanly(page, live_server, artifacts, area):
    sign_in(page, ADMIN)
    walk(page, AREAS[area], artifacts, area)
    # and the first detail page each list links to
    details = {"compliance": "a[href*='/compliance/assessments/']", "roadmap": "a[href*='/roadmap/tasks/']",
               "one_console": "a[href^='/threats/incidents/']"}
    if area in details:
        page.goto(AREAS[area][0] if area != "one_console" else "/threats/incidents")
        page.locator(details[area]).first.click()
        page.wait_for_load_state("networkidle")
        expect(page.locator("main h1, main .h3").first).to_be_visible()


def test_backups_page_for_the_super_admin(page, live_server, artifacts):
    sign_in(page, SUPER)
    walk(page, ["/admin/backups/"], artifacts, "backups")
    expect(page.get_by_role("heading", name="Vigil backups")).to_be_visible()


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_the_current_pages_tab_is_in_view_in_a_long_tab_strip(new_page, live_server, artifacts, width, height):
    # Administration has ten pages; Vigil backups is the last tab. It used to sit outside the
    # horizontally scrolled strip, so the strip showed no active tab at all.
    page = new_page(viewport={"width": width, "height": height})
    sign_in(page, SUPER)
    page.goto("/admin/backups/", wait_until="load")
    active = page.locator(".domain-tabs .nav-link.active")
    expect(active).to_have_text(re.compile("Vigil backups"))
    box = active.bounding_box()
    strip = page.locator(".domain-tabs").bounding_box()
    assert box["x"] >= strip["x"] - 1 and box["x"] + box["width"] <= strip["x"] + strip["width"] + 1, (box, strip)
    page.screenshot(path=str(artifacts / f"smoke-admin-tabs-{width}.png"))


def test_acknowledging_nothing_keeps_the_alerts_page_and_says_why(page, live_server, problems):
    problems.allow(r"422")
    sign_in(page, ADMIN)
    page.goto("/alerts/?severity=critical")
    page.get_by_role("button", name="Acknowledge selected").click()
    expect(page.get_by_text("Tick at least one alert to acknowledge.")).to_be_visible()
    expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
    expect(page.locator("#severity")).to_have_value("critical")  # the filter is kept


def test_the_demo_brings_a_ready_report_to_open(page, live_server):
    sign_in(page, ADMIN)
    page.goto("/reports/")
    link = page.locator("#report-table a", has_text="report.pdf").first
    expect(link).to_be_visible(timeout=40_000)  # the table polls until the worker has rendered it
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200 and response.body().startswith(b"%PDF")


def test_phone_width_pages_do_not_widen_the_page(new_page, live_server, artifacts):
    # A wide table scrolls inside its own box; the Compliance overview's assessment table
    # used to push the whole page to ~510 px on a 390 px phone.
    page = new_page(viewport={"width": 390, "height": 844})
    sign_in(page, ADMIN)
    page.goto("/compliance/")
    page.locator("a[href*='/compliance/assessments/']").first.click()
    page.wait_for_load_state("networkidle")
    control = page.locator("a[href*='/compliance/controls/']").first.get_attribute("href")
    for path in [p for paths in AREAS.values() for p in paths] + [page.url, control]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 392:
            page.screenshot(path=str(artifacts / "smoke-phone-overflow.png"), full_page=True)
        assert width <= 392, f"{path} is {width} px wide on a 390 px screen"
