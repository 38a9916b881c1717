"""Browser: the security overview draws its chart under the strict CSP (no console errors)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_security_overview_draws_the_events_chart(page, live_server, artifacts):
    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/threats/overview")
    expect(page.get_by_role("heading", level=1)).to_have_text("Security overview")
    # Chart.js attaches a chart object to the canvas once it has drawn it.
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart]'))")
    datasets = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas[data-chart]')).data.datasets.map(d => d.label)")
    assert "info" in datasets  # at least this sign-in's login_success event
    page.screenshot(path=str(artifacts / "security-overview.png"), full_page=True)
