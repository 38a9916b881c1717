"""Browser: the one Alerts page across domains. An analyst filters to a domain (htmx swaps
only the rows), ticks two alerts and acknowledges them at once, follows an alert to its
object, and opens an incident from an alert, which the incident then links."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def _setup(live_server) -> dict[str, int]:
    from app.models import Alert, Organization, db, utcnow

    with live_server.app.app_context():
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
        rows = {
            "net": Alert(org_id=org_id, domain="wireless", alert_type="follower_new", severity="critical",
                         target_key="network:999999", target_label="e2e FordPass", message="e2e FordPass follows you",
                         status="open", fired_at=utcnow()),
            "ioc": Alert(org_id=org_id, domain="threats", alert_type="indicator_sighted", severity="critical",
                         target_key="indicator:999999", target_label="ip 203.0.113.77",
                         message="e2e indicator 203.0.113.77 sighted", status="open", fired_at=utcnow()),
            "fn": Alert(org_id=org_id, domain="metrics", alert_type="function_score_low", severity="warning",
                        target_key="function:PR", target_label="PR function score",
                        message="e2e PR function score 41.0", status="open", fired_at=utcnow()),
        }
        db.session.add_all(rows.values())
        db.session.commit()
        ids = {k: a.id for k, a in rows.items()}
        db.session.remove()
    return ids


def test_analyst_filters_bulk_acknowledges_and_opens_an_incident(page, live_server, artifacts):
    ids = _setup(live_server)
    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/alerts/")
    expect(page.locator(f'tr[data-alert-id="{ids["net"]}"]')).to_be_visible()
    page.locator("#domain").select_option("metrics")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f'tr[data-alert-id="{ids["fn"]}"]')).to_be_visible()
    expect(page.locator(f'tr[data-alert-id="{ids["net"]}"]')).to_have_count(0)
    expect(page).to_have_url(live_server.url + "/alerts/?domain=metrics&severity=&status=active&target=")
    expect(page.locator(f'tr[data-alert-id="{ids["fn"]}"] a[data-target-link]')).to_have_attribute(
        "href", "/metrics/functions/PR")

    page.goto(live_server.url + "/alerts/?severity=critical")
    for key in ("net", "ioc"):
        page.locator(f'tr[data-alert-id="{ids[key]}"] input[type=checkbox]').check()
    page.screenshot(path=str(artifacts / "alerts-page.png"), full_page=True)
    page.get_by_role("button", name="Acknowledge selected").click()
    expect(page.locator(".toast, .alert").filter(has_text="2 alert(s) acknowledged")).to_be_visible()
    for key in ("net", "ioc"):
        expect(page.locator(f'tr[data-alert-id="{ids[key]}"]')).to_contain_text("acknowledged")

    page.locator(f'tr[data-alert-id="{ids["ioc"]}"]').get_by_role("link", name="e2e indicator 203.0.113.77 sighted").click()
    page.locator("#open-incident").click()
    expect(page.locator("input[name=links]")).to_have_value(f"alert:{ids['ioc']}")
    page.locator("input[name=title]").fill("e2e bad address")
    page.get_by_role("button", name="Open incident").click()
    expect(page.locator("#incident-links")).to_contain_text("e2e indicator 203.0.113.77 sighted")
    expect(page.locator("#linked-events")).to_contain_text("fired: e2e indicator 203.0.113.77 sighted")
    expect(page.locator("#linked-events")).to_contain_text("acknowledged")
    page.screenshot(path=str(artifacts / "incident-links.png"), full_page=True)
