"""Browser: the fleet dashboard shows its KPIs and refreshes under the strict CSP, and the
device page's Metrics tab (loaded by htmx) draws its charts from the JSON series."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def _device(live_server) -> int:
    from app.fleet.ingest import bucket_start
    from app.models import Device, Heartbeat, MetricRollup, Organization, db, utcnow

    with live_server.app.app_context():
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
        now = utcnow()
        device = Device(org_id=org_id, hostname="e2e-charts", device_name="e2e-charts", device_type="server",
                        status="active", enrolled_at=now, last_seen_at=now)
        db.session.add(device)
        db.session.flush()
        db.session.add(Heartbeat(device_id=device.id, timestamp=now, cpu_usage_percent=20, ram_usage_percent=30,
                                 filesystems=[{"mount": "/data", "used_percent": 99.0}]))
        for i in range(12):
            for metric, value in (("cpu", 20 + i), ("ram", 40 + i), ("net_rx", 2_000_000 + 1000 * i)):
                db.session.add(MetricRollup(device_id=device.id, bucket_start=bucket_start(now - timedelta(minutes=5 * i)),
                                            metric=metric, avg_value=value, max_value=value + 5, sample_count=5))
        db.session.commit()
        device_id = device.id
        db.session.remove()
    return device_id


def test_dashboard_kpis_and_device_metric_charts(page, live_server, artifacts):
    device_id = _device(live_server)
    sign_in(page, "operator@northwind.example")
    page.goto(live_server.url + "/fleet/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fleet dashboard")
    expect(page.locator('[data-kpi="failed_backups_24h"]')).to_have_text("0")
    expect(page.locator("#dash-disks")).to_contain_text("/data")
    page.screenshot(path=str(artifacts / "fleet-dashboard.png"), full_page=True)

    page.goto(live_server.url + f"/fleet/devices/{device_id}")
    page.locator("#device-tabs").get_by_role("link", name="Metrics").click()
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-metric=cpu]'))")
    points = page.evaluate("() => Chart.getChart(document.querySelector('canvas[data-metric=cpu]')).data.datasets[0].data.length")
    assert points >= 12
    # A real time axis with ISO 24-hour ticks (no AM/PM), and network rates in human units.
    ticks = page.evaluate("""() => { const c = Chart.getChart(document.querySelector('canvas[data-metric=cpu]'));
        return [c.options.scales.x.type, c.scales.x.ticks.map(t => c.scales.x.options.ticks.callback(t.value))]; }""")
    assert ticks[0] == "linear" and ticks[1], ticks
    assert all(re.fullmatch(r"(\d\d-\d\d )?\d\d:\d\d|\d{4}-\d\d-\d\d", t) for t in ticks[1]), ticks
    page.wait_for_function("() => Chart.getChart(document.querySelector('canvas[data-metric=net_rx]'))")
    rates = page.evaluate("""() => { const c = Chart.getChart(document.querySelector('canvas[data-metric=net_rx]'));
        return c.scales.y.ticks.map(t => c.scales.y.options.ticks.callback(t.value)); }""")
    assert any(t.endswith(("kB/s", "MB/s")) for t in rates) and not any("," in t for t in rates), rates
    expect(page.locator("#device-tabs a.active")).to_have_text("Metrics")
    page.get_by_role("link", name="7d").click()
    page.wait_for_function("() => Chart.getChart(document.querySelector('canvas[data-metric=cpu]'))"
                           " && location.search.includes('range=7d')")
    page.screenshot(path=str(artifacts / "fleet-device-metrics.png"), full_page=True)
