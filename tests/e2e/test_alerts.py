"""Browser: an operator acknowledges and resolves a fleet alert, the alert list refreshes
its rows with htmx under the strict CSP, and the device page loads its Facts section."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def _setup(live_server) -> tuple[int, int]:
    from app.models import Alert, Device, DeviceFacts, Organization, db, utcnow

    with live_server.app.app_context():
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
        device = Device(org_id=org_id, hostname="e2e-scanner", device_name="e2e-scanner", device_type="scanner",
                        status="active", enrolled_at=utcnow(), last_seen_at=utcnow())
        db.session.add(device)
        db.session.flush()
        alert = Alert(org_id=org_id, device_id=device.id, target_key=f"device:{device.id}", target_label="e2e-scanner",
                      alert_type="cpu_high", severity="critical", message="CPU 97 % on e2e-scanner",
                      metric_name="cpu", metric_value=97, threshold_value=90, status="open", fired_at=utcnow())
        db.session.add(alert)
        db.session.add(DeviceFacts(device_id=device.id, facts={"docker_version": "24.0.7"}))
        db.session.add(DeviceFacts(device_id=device.id, facts={"docker_version": "25.0.1"}))
        db.session.commit()
        ids = device.id, alert.id
        db.session.remove()
    return ids


def test_operator_acknowledges_and_resolves_an_alert(page, live_server, artifacts):
    device_id, alert_id = _setup(live_server)
    sign_in(page, "operator@northwind.example")
    page.goto(live_server.url + "/fleet/alerts")
    row = page.locator("tr", has_text="CPU 97 % on e2e-scanner")
    expect(row).to_be_visible()
    # The severity filter swaps only the rows (htmx), keeping the page.
    page.locator("#f-severity").select_option("info")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#alert-rows")).to_contain_text("No alerts match.")
    page.locator("#f-severity").select_option("critical")
    page.get_by_role("button", name="Filter").click()
    expect(row).to_be_visible()
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#alert-status")).to_have_text("acknowledged")
    page.locator("textarea[name=note]").fill("Killed the runaway scan")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#alert-status")).to_have_text("resolved")
    expect(page.locator("#resolution-note")).to_have_text("Killed the runaway scan")
    page.screenshot(path=str(artifacts / "fleet-alert-resolved.png"), full_page=True)
    page.goto(live_server.url + f"/fleet/devices/{device_id}")
    page.locator("#device-tabs").get_by_role("link", name="Facts").click()
    expect(page.locator("#facts-diff")).to_contain_text("docker_version")
    assert alert_id
