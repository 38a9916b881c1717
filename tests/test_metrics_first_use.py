"""Honest metrics pages (issue 12): the trend on a real time axis, the over-10x confirmation
only once it is needed, catalog items numbered from 1, activated metrics always with a
category."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app.metrics import catalogs, services
from app.models import FrameworkScore, Metric, MetricCatalogItem, db, utcnow
from tests.test_metrics import cat, fn, payload

CONFIRM = 'name="confirm_large"'


def test_trend_puts_each_snapshot_at_its_time(client, orgs, csf):
    a = orgs.a.org.id
    t0 = utcnow().replace(second=0, microsecond=0)
    for minutes, score in ((0, 40), (1, 45), (24, 60)):  # 14:04, 14:05, 14:28 are not evenly spaced
        db.session.add(FrameworkScore(org_id=a, framework_id=csf.id, overall_score=score, function_scores={}, overall_rating="Medium",
                                      calculated_at=t0 + timedelta(minutes=minutes)))
    db.session.commit()
    chart = services.trend(a)
    gaps = [b - x for x, b in zip(chart["times"], chart["times"][1:], strict=False)]
    assert gaps == [60_000, 23 * 60_000]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", label) for label in chart["labels"])  # ISO, 24 h
    client.login(orgs.a.users["analyst"].email)
    assert "&#34;times&#34;" in client.get("/metrics/").get_data(as_text=True)


def test_large_value_confirmation_only_after_a_refusal(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    assert CONFIRM not in client.get("/metrics/new").get_data(as_text=True)
    assert client.post("/metrics/new", data=payload(unit="incidents", current_value="5", target_value="100")).status_code == 303
    metric = db.session.scalar(sa.select(Metric))
    page = client.get(f"/metrics/{metric.id}").get_data(as_text=True)
    assert CONFIRM not in page  # nothing to confirm yet
    refused = client.post(f"/metrics/{metric.id}/value", data={"value": "5000"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "more than 10 times" in body and CONFIRM in body
    assert client.post(f"/metrics/{metric.id}/value", data={"value": "5000", "confirm_large": "y"}).status_code == 303


def test_catalog_items_numbered_from_one_and_metrics_always_get_a_category(client, orgs, csf):
    a = orgs.a.org.id
    user = orgs.a.users["admin"]
    items = [{"line_number": line, "original_data": {}, "name": name, "description": None, "direction": "higher_is_better",
              "priority": "Medium", "function_code": "PR", "category_code": code, "unit": "%",
              "target_value": 90, "target_lower": None, "target_upper": None, "current_value": None, "live_source": None}
             for line, name, code in ((2, "With category", "PR.AA"), (3, "Without category", None))]
    catalog = catalogs.create_catalog(a, user, "Numbered", items)
    db.session.commit()
    client.login(user.email)
    html = client.get(f"/metrics/catalogs/{catalog.id}").get_data(as_text=True)
    table = html[html.index('id="catalog-items"'):]
    numbers = re.findall(r'<tr><td[^>]*>(\d+)</td><td>', table)
    assert numbers == ["1", "2"] and 'title="Line 2 of the imported file"' in table
    # No category and no confirmed link: the metric still gets one (the function's first), and the page says so.
    db.session.execute(sa.delete(catalogs.MetricCatalogFrameworkMapping).where(
        catalogs.MetricCatalogFrameworkMapping.catalog_item_id.in_(
            sa.select(MetricCatalogItem.id).where(MetricCatalogItem.catalog_id == catalog.id))))
    db.session.commit()
    response = client.post(f"/metrics/catalogs/{catalog.id}/activate")
    assert response.status_code == 303
    metrics = {m.name: m for m in db.session.scalars(sa.select(Metric).where(Metric.org_id == a))}
    assert metrics["With category"].category_id == cat("PR.AA").id
    guessed = metrics["Without category"]
    assert guessed.category_id is not None and guessed.function_id == fn("PR").id
    assert "given their function" in client.get(f"/metrics/catalogs/{catalog.id}").get_data(as_text=True)
