"""Browser: the security-metrics dashboard draws its trend chart from the stored snapshots
under the strict CSP, with a line and a tile per scored function."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_metrics_dashboard_draws_trends_from_snapshots(page, live_server, artifacts):
    from app.models import FunctionScore, Organization, db

    with live_server.app.app_context():
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
        functions = set(db.session.scalars(sa.select(FunctionScore.function_code)
                                           .where(FunctionScore.org_id == org_id)))
        db.session.remove()
    assert functions, "the demo data writes a first score snapshot"

    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/metrics/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Security metrics")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart]'))")
    labels = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas[data-chart]')).data.datasets.map(d => d.label)")
    assert "Overall" in labels
    # Every function with a stored score is a line of the chart and a tile on the page.
    for code in functions:
        assert any(code in label for label in labels), (code, labels)
        expect(page.locator(f'[data-function="{code}"]')).to_be_visible()
    page.screenshot(path=str(artifacts / "metrics-dashboard.png"), full_page=True)
