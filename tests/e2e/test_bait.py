"""Browser: the canary token wizard swaps its advice per kind, and a token's page draws its
map of sources over the offline outlines under the strict CSP (no console errors)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.bait import services
from app.models import db
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_wizard_and_token_page_with_its_map(page, live_server, artifacts):
    app = live_server.app
    with app.app_context():
        org = services.org_by_slug("northwind")
        token = services.create_token(org.id, "aws", "e2e deploy keys", actor_label="e2e")
        services.record_hit(token, services.Hit("81.2.69.160", "aws", "aws-cli/2.17.0", {"Accept": "*/*"}))
        db.session.commit()
        token_id = token.id
        db.session.remove()
    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/bait/new")
    page.locator("#bait_type").select_option("kubeconfig")
    expect(page.locator("#kind-advice h2")).to_have_text("Kubeconfig")
    page.goto(live_server.url + f"/bait/{token_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("e2e deploy keys")
    expect(page.locator("#bait-map")).to_have_attribute("data-markers", "1")
    expect(page.locator("#bait-map")).to_have_attribute("data-basemap", "outlines")
    expect(page.locator("[data-attribution]").first).to_have_text("tool")
    page.screenshot(path=str(artifacts / "bait-token.png"), full_page=True)
