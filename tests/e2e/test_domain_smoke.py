"""Browser smoke tests of the attack-surface, exposure and canary-token domains: every main
page of each, from the demo data, as an admin at desktop and phone width, with no console
error, CSP violation or 4xx/5xx (the `problems` fixture), no page wider than the phone's
screen, and each domain's main flow done through its forms."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

COMBOLIST = Path("/work/shared/samples/combolists/nixer_example-leak.txt")
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def walk(new_page, paths: list[str], artifacts: Path, name: str, email: str = "admin@northwind.example") -> None:
    """Open every path at both widths; at phone width nothing may stick out sideways (wide
    tables scroll inside their own box)."""
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = new_page(viewport=viewport)
        sign_in(page, email)
        for path in paths:
            response = page.goto(path)
            assert response.status == 200, f"{path}: HTTP {response.status}"
            wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert wider <= 0, f"{path} is {wider}px wider than a {viewport['width']}px screen"
            if viewport is DESKTOP:  # every tab of the section visible without scrolling the strip
                hidden = page.evaluate("(() => { const t = document.querySelector('.domain-tabs');"
                                       " return t ? t.scrollWidth - t.clientWidth : 0; })()")
                assert hidden <= 0, f"{path}: {hidden}px of the section tabs are cut off at desktop width"
        page.screenshot(path=str(artifacts / f"smoke-{name}-{label}.png"), full_page=True)


def test_attack_surface_smoke(new_page, live_server, artifacts):
    walk(new_page, ["/surface/", "/surface/findings", "/surface/domains/1", "/surface/scans/1"], artifacts, "surface")
    walk(new_page, ["/surface/", "/surface/findings"], artifacts, "surface-readonly", "readonly@northwind.example")


def test_attack_surface_bad_domain_keeps_the_input(page, live_server, problems):
    problems.allow(r"HTTP 422 POST .*/surface/domains")
    problems.allow(r"status of 422")
    sign_in(page, "admin@northwind.example")
    page.goto("/surface/")
    page.locator("input[name=domain]").fill("not a domain!")
    page.get_by_role("button", name="List domain").click()
    expect(page.locator("input[name=domain]")).to_have_value("not a domain!")
    expect(page.locator(".invalid-feedback, .alert-danger").first).to_be_visible()


def test_exposure_smoke_and_upload(new_page, live_server, artifacts):
    walk(new_page, ["/exposure/", "/exposure/uploads", "/exposure/uploads/1", "/exposure/credentials",
                    "/exposure/findings", "/exposure/monitored", "/exposure/profiles", "/exposure/search",
                    "/exposure/threat-actors", "/exposure/providers"], artifacts, "exposure")
    walk(new_page, ["/exposure/", "/exposure/uploads", "/exposure/monitored", "/exposure/findings"],
         artifacts, "exposure-readonly", "readonly@northwind.example")
    page = new_page(viewport=DESKTOP)
    sign_in(page, "admin@northwind.example")
    page.goto("/exposure/uploads/1")  # the counts read on from their label, not from the far right edge
    assert page.locator("[data-summary]").evaluate("e => getComputedStyle(e).textAlign") in ("left", "start")
    page.goto("/exposure/uploads")
    page.locator("input[type=file]").set_input_files(str(COMBOLIST))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("completed").first).to_be_visible()
    expect(page.locator("body")).to_contain_text("nixer_example-leak.txt")


def test_canary_tokens_smoke_and_a_real_hit(new_page, live_server, artifacts):
    walk(new_page, ["/bait/", "/bait/new", "/bait/providers", "/bait/1"], artifacts, "bait")
    page = new_page(viewport=DESKTOP)
    sign_in(page, "admin@northwind.example")
    page.goto("/bait/new")
    page.locator("#bait_type").select_option("url")
    page.locator("input[name=name]").fill("smoke web bug")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("smoke web bug")
    trigger = page.locator("code").nth(1).inner_text()
    request = urllib.request.Request(f"{live_server.url}/c/{trigger}", headers={"User-Agent": "curl/8.5.0"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    page.reload()
    expect(page.locator("[data-attribution]").first).to_have_text("tool")
