"""The metrics resources of the JSON API (issue 13.6): scores, metrics, values, recording a
value; scope refusal, another organization's id, pagination, the audited write."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.models import FrameworkFunction, Metric, db
from tests.test_api_registry import audited, key, walk


def metric(org_id: int, n: int, **kw) -> Metric:
    function = db.session.scalar(sa.select(FrameworkFunction).where(FrameworkFunction.code == "PR"))
    row = Metric(org_id=org_id, metric_number=f"PR-{n:03d}", name=f"Metric {n}", function_id=function.id,
                 current_value=Decimal(10), target_value=Decimal(90), direction="higher_is_better",
                 priority="High", **kw)
    db.session.add(row)
    db.session.flush()
    return row


def test_metrics_scores_and_pages(client, orgs, csf):
    mine = [metric(orgs.a.org.id, i).id for i in range(1, 6)]
    theirs = metric(orgs.b.org.id, 1)
    db.session.commit()
    headers = key(orgs, ["metrics:read"], role="read_only")
    assert walk(client, "/api/metrics", headers) == sorted(mine, reverse=True)
    scores = client.get("/api/metrics/scores", headers=headers).json
    pr = next(f for f in scores["functions"] if f["code"] == "PR")
    assert pr["metric_count"] == 5 and pr["below_target_count"] == 5 and scores["overall"] is not None
    assert client.get(f"/api/metrics/{theirs.id}", headers=headers).status_code == 404
    assert client.get(f"/api/metrics/{theirs.id}/values", headers=headers).status_code == 404
    assert client.get("/api/metrics", headers=key(orgs, ["alerts:read"])).status_code == 403


def test_recording_a_value_is_audited_validated_and_paged(client, orgs, csf):
    m = metric(orgs.a.org.id, 1, unit="%")
    locked = metric(orgs.a.org.id, 2, is_locked=True)
    theirs = metric(orgs.b.org.id, 1)
    db.session.commit()
    headers = key(orgs, ["metrics:read", "metrics:write"], role="analyst")
    assert client.post(f"/api/metrics/{m.id}/values", json={"value": 50},
                       headers=key(orgs, ["metrics:read"])).status_code == 403
    assert client.post(f"/api/metrics/{theirs.id}/values", json={"value": 50}, headers=headers).status_code == 404
    assert client.post(f"/api/metrics/{locked.id}/values", json={"value": 50}, headers=headers).status_code == 409
    for bad in ({}, {"value": "50"}, {"value": -1}, {"value": 151}, {"value": 5, "why": "x"}):
        assert client.post(f"/api/metrics/{m.id}/values", json=bad, headers=headers).status_code == 422, bad
    for value in (40, 55.5, 70):
        recorded = client.post(f"/api/metrics/{m.id}/values", json={"value": value, "note": "weekly"},
                               headers=headers)
        assert recorded.status_code == 201 and recorded.json["value"] == value
    assert audited("metric.value_recorded", m.id, orgs.a.org.id)
    values = walk(client, f"/api/metrics/{m.id}/values", headers)
    assert len(values) == len(set(values)) == 3
    assert client.get(f"/api/metrics/{m.id}", headers=headers).json["current_value"] == 70
