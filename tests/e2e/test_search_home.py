"""Browser: the top bar's global search opened with "/", and the home page's live blocks.

Every test also fails on a console error, a CSP violation or a server-side exception (the
`problems` fixture in conftest.py).
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


def test_slash_opens_search_and_a_result_is_one_click_away(page, live_server, artifacts):
    sign_in(page, ADMIN)
    expect(page.locator("[data-posture]").first).to_be_visible()
    page.locator("main h1").click()  # focus is on the page, not in a field
    page.keyboard.press("/")
    box = page.locator("#global-search")
    expect(box).to_be_focused()
    box.type("admin@northwind")
    dropdown = page.locator("#global-search-results")
    expect(dropdown).to_have_class(re.compile(r"\bshow\b"))
    # The user's own entry (the demo's threats alerts mention the same address in their text).
    link = dropdown.get_by_role("link", name=re.compile("^" + re.escape(ADMIN)))
    expect(link).to_be_visible()
    page.screenshot(path=str(artifacts / "search-dropdown.png"))
    link.click()
    expect(page).to_have_url(re.compile(r"/admin/users/\d+$"))
    page.keyboard.press("Escape")


def test_home_page_blocks_refresh_themselves(page, live_server, artifacts):
    sign_in(page, ADMIN)
    expect(page.get_by_role("heading", name="Needs attention now")).to_be_visible()
    with page.expect_response(lambda r: "block=attention" in r.url, timeout=40_000) as polled:
        pass
    assert polled.value.status == 200
    expect(page.locator("#attention")).not_to_be_empty()
    page.screenshot(path=str(artifacts / "home.png"), full_page=True)
