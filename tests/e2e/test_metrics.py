"""Browser: the security-metrics dashboard draws its trend chart from the stored snapshots
under the strict CSP, with a line and a tile per scored function; and the catalog import
wizard (upload, map columns, review a suggestion through htmx, activate) works there too, as
do the list's inline value edit and the metric page's history chart."""

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


CATALOG_CSV = (
    "Metric,Direction,Target,Unit,Category\n"
    "Phishing simulation click rate,lower,5,%,\n"
    "Mean time to contain incidents,lower,8,hours,RS.AN\n"
)


def test_catalog_import_wizard_in_the_browser(page, live_server, artifacts):
    from app.models import Metric, MetricCatalog, Organization, db

    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/metrics/catalogs")
    page.get_by_role("link", name="Import a catalog").click()
    page.set_input_files("input[type=file]", files=[{"name": "browser.csv", "mimeType": "text/csv",
                                                     "buffer": CATALOG_CSV.encode()}])
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Map the columns of browser.csv")
    expect(page.locator("#col_name")).to_have_value("Metric")  # guessed from the header
    expect(page.locator("#col_category")).to_have_value("Category")
    page.fill("#catalog_name", "Browser catalog")
    page.get_by_role("button", name="Check rows and create the catalog").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Review framework mappings")
    first = page.locator("#mapping-review tbody tr").filter(has_text="Phishing simulation click rate").first
    expect(first).to_contain_text("PR.AT")
    row_id = first.get_attribute("id")
    first.get_by_role("button", name="Confirm").click()  # htmx swaps the row in place
    expect(page.locator(f"#{row_id}")).to_have_attribute("data-status", "confirmed")

    page.get_by_role("link", name="Next: activate").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Activate").click()
    expect(page.locator("h1 [data-active]")).to_be_visible()
    page.screenshot(path=str(artifacts / "metrics-catalog.png"), full_page=True)

    with live_server.app.app_context():
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
        catalog = db.session.scalar(sa.select(MetricCatalog).where(MetricCatalog.name == "Browser catalog"))
        names = set(db.session.scalars(sa.select(Metric.name).where(Metric.catalog_id == catalog.id)))
        assert catalog.org_id == org_id and catalog.is_active
        assert names == {"Phishing simulation click rate", "Mean time to contain incidents"}
        db.session.remove()


def test_inline_value_edit_and_history_chart_in_the_browser(page, live_server, problems):
    problems.allow(r"422")  # the refused value below is answered 422 on purpose
    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/metrics/list")
    form = page.locator("form.inline-value").first
    row = page.locator("#metric-rows tr").filter(has=form).first
    row_id = row.get_attribute("id")
    form.locator("input[name=value]").fill("-5")
    form.get_by_role("button", name="Save").click()  # refused: the row comes back with the message
    expect(page.locator(f"#{row_id}")).to_contain_text("cannot be negative")
    page.locator(f"#{row_id} input[name=value]").fill("3")
    page.locator(f"#{row_id}").get_by_role("button", name="Save").click()
    expect(page.locator(f"#{row_id} input[name=value]")).to_have_value("3.0")
    expect(page.locator(f"#{row_id} input[name=value]")).to_have_attribute("aria-invalid", "false")
    page.locator(f"#{row_id} a").first.click()
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart]'))")
    # Points are {x: time, y: value} on a linear time axis (each value where it was recorded).
    datasets = page.evaluate("() => Chart.getChart(document.querySelector('canvas[data-chart]')).data.datasets"
                             ".map(d => [d.label, d.data.map(p => p.y)])")
    assert page.evaluate("() => Chart.getChart(document.querySelector('canvas[data-chart]')).options.scales.x.type") == "linear"
    assert datasets[0][0] == "Value" and datasets[0][1][-1] == 3 and len(datasets[0][1]) >= 2
    assert datasets[1][0] == "Value: target" and len(set(datasets[1][1])) == 1  # a flat target line
