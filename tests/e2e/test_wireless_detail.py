"""Browser: the network page draws its sightings map (vendored Leaflet) and timeline under
the strict CSP, and tagging through htmx refreshes the score block in place."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_network_page_map_timeline_and_tagging(page, live_server, artifacts):
    from app.models import Network, Organization, db

    with live_server.app.app_context():
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
        follower = db.session.scalar(sa.select(Network).where(Network.org_id == org_id,
                                                             Network.ssid == "myChevrolet 7F3C"))
        network_id, level = follower.id, follower.threat_level
        db.session.remove()
    assert level in ("HIGH", "CRITICAL"), "the demo scenario's follower scores high"

    sign_in(page, "analyst@northwind.example")
    page.goto(f"{live_server.url}/wireless/networks/{network_id}")
    expect(page.locator("#score-level")).to_have_text(level)
    # Leaflet drew one circle per sighting; Chart.js drew the per-day timeline.
    page.wait_for_function("() => document.querySelectorAll('#network-map path.leaflet-interactive').length > 10")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart=stacked-bar]'))")
    page.screenshot(path=str(artifacts / "wireless-network-detail.png"), full_page=True)

    page.locator("#tags-block select[name=tag]").select_option("FALSE_POSITIVE")
    page.locator("#tags-block input[name=notes]").fill("my brother's car")
    page.locator("#tags-block").get_by_role("button", name="Add tag").click()
    expect(page.locator("#active-tags")).to_contain_text("FALSE_POSITIVE")
    # The score block reloaded itself on the wireless-network-tagged event, without a reload.
    expect(page.locator("#score-value")).to_have_text("0.0")
    expect(page.locator("#score-level")).to_have_text("NONE")
    expect(page.locator('#score-factors [data-factor="tag_overlay"]')).to_contain_text("dismissed by an analyst")

    page.locator("#active-tags").get_by_role("button", name="Remove").click()
    expect(page.locator("#score-level")).to_have_text(level)
