"""Metrics: framework loading, CRUD, values, validation, permissions, isolation, snapshots."""

from __future__ import annotations

import html
import json
import re

import pytest
import sqlalchemy as sa

from app.metrics import services
from app.models import (
    AuditLog,
    FrameworkCategory,
    FrameworkFunction,
    FrameworkScore,
    FrameworkSubcategory,
    FunctionScore,
    JobRun,
    Metric,
    MetricHistory,
    db,
)
from tests.conftest import run_jobs
from tests.tenancy import assert_other_org_cannot_reach


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def fn(code: str) -> FrameworkFunction:
    return db.session.scalar(sa.select(FrameworkFunction).where(FrameworkFunction.code == code))


def cat(code: str) -> FrameworkCategory:
    return db.session.scalar(sa.select(FrameworkCategory).where(FrameworkCategory.code == code))


def payload(**data):
    values = {"name": "MFA coverage", "description": "", "function_id": str(fn("PR").id),
              "category_id": str(cat("PR.AA").id), "direction": "higher_is_better", "current_value": "80",
              "target_value": "100", "target_lower": "", "target_upper": "", "unit": "%", "priority": "High",
              "weight": "", "owner_id": "", "live_source": ""}
    values.update(data)
    return values


def test_load_framework_counts_and_is_idempotent(app, db_session):
    counts = services.load_framework()
    assert counts == {"functions": 6, "categories": 22, "subcategories": 106, "implementation_examples": 363}
    services.load_framework()  # twice: nothing duplicated
    assert (count(FrameworkFunction), count(FrameworkCategory), count(FrameworkSubcategory)) == (6, 22, 106)
    examples = sum(len(s.implementation_examples) for s in db.session.scalars(sa.select(FrameworkSubcategory)))
    assert examples == 363
    sub = db.session.scalar(sa.select(FrameworkSubcategory).where(FrameworkSubcategory.code == "GV.OC-01"))
    assert sub.category.code == "GV.OC" and sub.category.function.code == "GV"
    assert sub.implementation_examples[0]["id"] == "Ex1"


def test_cli_load_framework(app, db_session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["metrics", "load-framework", str(services.CSF_FILE)])
    assert result.exit_code == 0, result.output
    assert "6 functions, 22 categories, 106 subcategories, 363 examples" in result.output
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "framework.loaded"))


def test_reference_page_and_method_page(client, orgs, csf):
    client.login(orgs.a.users["read_only"].email)
    page = client.get("/metrics/framework").get_data(as_text=True)
    assert "PR.AA-01" in page and "GV.OC" in page and "Ex1" in page
    assert "target ÷ current" in client.get("/metrics/method").get_data(as_text=True)


def test_create_edit_value_lock_delete_with_audit_and_history(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/metrics/new", data=payload())
    assert response.status_code == 303
    metric = db.session.scalar(sa.select(Metric))
    assert metric.metric_number == "PR-001" and metric.org_id == orgs.a.org.id and float(metric.current_value) == 80
    assert client.post("/metrics/new", data=payload(name="Second")).status_code == 303
    assert db.session.scalars(sa.select(Metric.metric_number).order_by(Metric.id)).all() == ["PR-001", "PR-002"]
    created = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "metric.created",
                                                          AuditLog.resource_id == str(metric.id)))
    assert created.new_values["name"] == "MFA coverage"

    assert client.post(f"/metrics/{metric.id}/edit", data=payload(name="MFA coverage (all users)")).status_code == 303
    updated = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "metric.updated"))
    assert updated.old_values == {"name": "MFA coverage"} and updated.new_values == {"name": "MFA coverage (all users)"}

    assert client.post(f"/metrics/{metric.id}/value", data={"value": "95", "note": "after rollout"}).status_code == 303
    db.session.refresh(metric)
    assert float(metric.current_value) == 95
    rows = db.session.scalars(sa.select(MetricHistory).where(MetricHistory.metric_id == metric.id)
                              .order_by(MetricHistory.id)).all()
    assert [float(r.value) for r in rows] == [80, 95]
    assert rows[-1].note == "after rollout" and rows[-1].recorded_by_id == orgs.a.users["analyst"].id
    value_audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "metric.value_recorded"))
    assert float(value_audit.old_values["current_value"]) == 80 and float(value_audit.new_values["current_value"]) == 95
    assert "after rollout" in client.get(f"/metrics/{metric.id}").get_data(as_text=True)

    assert client.post(f"/metrics/{metric.id}/lock").status_code == 303
    refused = client.post(f"/metrics/{metric.id}/value", data={"value": "99"})
    assert refused.status_code == 409 and "locked" in refused.get_data(as_text=True)
    assert client.post(f"/metrics/{metric.id}/edit", data=payload(name="x")).status_code == 409
    assert client.post(f"/metrics/{metric.id}/delete").status_code == 409
    db.session.refresh(metric)
    assert float(metric.current_value) == 95 and metric.name == "MFA coverage (all users)"
    assert client.post(f"/metrics/{metric.id}/unlock").status_code == 303
    assert client.post(f"/metrics/{metric.id}/delete").status_code == 303
    db.session.refresh(metric)
    assert metric.deleted_at is not None
    assert client.get(f"/metrics/{metric.id}").status_code == 404
    actions = set(db.session.scalars(sa.select(AuditLog.action).where(AuditLog.resource_type == "metric")))
    assert {"metric.locked", "metric.unlocked", "metric.deleted"} <= actions


@pytest.mark.parametrize(("data", "message"), [
    ({"current_value": "-1"}, "cannot be negative"),
    ({"current_value": "151"}, "A percentage cannot be over 150"),
    ({"unit": "incidents", "current_value": "1001", "target_value": "100"}, "more than 10 times the target"),
    ({"target_value": ""}, "needs a target value"),
    ({"direction": "target_range", "target_lower": "60", "target_upper": "20"}, "upper bound is below"),
    ({"category_id": "999999"}, "Not a valid choice"),
    ({"name": ""}, "This field is required"),
])
def test_invalid_metric_forms_answer_422_with_a_message(client, orgs, csf, data, message):
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/metrics/new", data=payload(**data))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(Metric) == 0


def test_category_of_another_function_is_refused_and_confirm_allows_large_values(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/metrics/new", data=payload(category_id=str(cat("DE.CM").id)))
    assert response.status_code == 422 and "belongs to another function" in response.get_data(as_text=True)
    big = payload(unit="incidents", current_value="1001", target_value="100", confirm_large="y")
    assert client.post("/metrics/new", data=big).status_code == 303
    metric = db.session.scalar(sa.select(Metric))
    refused = client.post(f"/metrics/{metric.id}/value", data={"value": "5000"})
    assert refused.status_code == 422 and "more than 10 times" in refused.get_data(as_text=True)
    assert client.post(f"/metrics/{metric.id}/value", data={"value": "-3"}).status_code == 422
    assert client.post(f"/metrics/{metric.id}/value", data={"value": "5000", "confirm_large": "y"}).status_code == 303


def test_read_only_can_read_but_not_change(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload())
    metric = db.session.scalar(sa.select(Metric))
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/metrics/").status_code == 200
    assert client.get(f"/metrics/{metric.id}").status_code == 200
    assert client.get("/metrics/list").status_code == 200
    for method, url in [("GET", "/metrics/new"), ("POST", "/metrics/new"), ("GET", f"/metrics/{metric.id}/edit"),
                        ("POST", f"/metrics/{metric.id}/value"), ("POST", f"/metrics/{metric.id}/lock"),
                        ("POST", f"/metrics/{metric.id}/unlock"), ("POST", f"/metrics/{metric.id}/delete"),
                        ("POST", "/metrics/recompute")]:
        assert client.open(url, method=method, data=payload(value="1")).status_code == 403, url


def test_other_org_cannot_reach_any_metric_url(client, orgs, csf):
    client.login(orgs.b.users["analyst"].email)
    client.post("/metrics/new", data=payload())
    theirs = db.session.scalar(sa.select(Metric))
    client.post("/auth/logout")
    client.login(orgs.a.users["admin"].email)
    base = f"/metrics/{theirs.id}"
    assert_other_org_cannot_reach(client, [
        ("GET", base), ("GET", f"{base}/edit"), ("POST", f"{base}/edit"), ("POST", f"{base}/value"),
        ("POST", f"{base}/lock"), ("POST", f"{base}/unlock"), ("POST", f"{base}/delete"),
    ], data={"value": "1"})
    assert theirs.name not in client.get("/metrics/list").get_data(as_text=True)
    assert theirs.name not in client.get("/metrics/functions/PR").get_data(as_text=True)
    db.session.refresh(theirs)
    assert theirs.deleted_at is None and not theirs.is_locked


def test_value_change_queues_recompute_and_dashboard_reads_the_snapshots(app, client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    page = client.get("/metrics/").get_data(as_text=True)
    assert "No snapshot yet" in page and "data-chart=\"line\"" not in page
    client.post("/metrics/new", data=payload(current_value="50"))  # PR: 50 / 100 -> 50
    client.post("/metrics/new", data=payload(function_id=str(fn("DE").id), category_id=str(cat("DE.CM").id),
                                             direction="lower_is_better", current_value="8", target_value="4",
                                             unit="hours", name="Mean time to detect"))  # DE: 4 / 8 -> 50
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.kind == "metrics.recompute")).all()
    assert len(runs) == 2 and {r.org_id for r in runs} == {orgs.a.org.id}
    run_jobs(app)
    db.session.expire_all()
    assert {r.status for r in db.session.scalars(sa.select(JobRun).where(JobRun.kind == "metrics.recompute"))} \
        == {"succeeded"}
    snapshots = db.session.scalars(sa.select(FrameworkScore).order_by(FrameworkScore.id)).all()
    assert len(snapshots) == 2 and float(snapshots[-1].overall_score) == 50.0
    assert snapshots[-1].overall_rating == "medium risk" and snapshots[-1].function_scores == {"PR": 50.0, "DE": 50.0}
    assert count(FunctionScore) == 4  # both runs happen after both commits: PR and DE each time

    # The dashboard shows what the snapshot rows say (tamper with one to prove it reads them).
    snapshots[-1].overall_score = 42
    db.session.commit()
    page = client.get("/metrics/").get_data(as_text=True)
    assert re.search(r"data-overall-score>42\.0<", page)
    chart = json.loads(html.unescape(re.search(r'data-chart="line" data-chart-data="([^"]+)"', page).group(1)))
    assert chart["series"]["Overall"] == [50.0, 42.0] and chart["series"]["PR"] == [50.0, 50.0]
    assert chart["series"]["DE"] == [50.0, 50.0] and len(chart["labels"]) == 2
    assert 'data-function="PR">50.0<' in page and "Mean time to detect" in page  # attention list


def test_nightly_snapshot_covers_every_org_with_metrics(app, client, orgs, csf):
    from app.jobs.schedule import PERIODIC_JOBS, start_periodic

    assert any(p.kind == "metrics.snapshot_all" and p.only_if for p in PERIODIC_JOBS)
    assert services.has_metrics() is False
    for org in (orgs.a, orgs.b):
        client.login(org.users["analyst"].email)
        client.post("/metrics/new", data=payload())
        client.post("/auth/logout")
    assert services.has_metrics() is True
    db.session.execute(sa.delete(JobRun))
    db.session.commit()
    start_periodic("metrics.snapshot_all")
    run_jobs(app)
    db.session.expire_all()
    assert set(db.session.scalars(sa.select(FrameworkScore.org_id))) == {orgs.a.org.id, orgs.b.org.id}


def test_demo_seeding_adds_metrics_for_both_orgs(db_session):
    from app.demo import seed_demo

    assert seed_demo() is True
    orgs = db.session.scalars(sa.select(Metric.org_id).distinct()).all()
    assert len(orgs) == 2
    assert count(FrameworkSubcategory) == 106
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FrameworkScore)) == 2
    from app.metrics import live

    live_rows = db.session.scalars(sa.select(Metric).where(Metric.live_source.is_not(None))).all()
    assert len(live_rows) == 6 and {m.live_source for m in live_rows} == {
        "wireless_high_untagged", "open_critical_incidents", "dormant_accounts_90d"}
    live.refresh()  # every value is its query's answer over the demo's own rows
    for m in live_rows:
        assert m.current_value == live.LIVE_QUERIES[m.live_source].func(m.org_id), m.name


def test_live_metrics_take_their_value_from_the_named_queries(app, client, orgs, csf):
    from app.jobs import enqueue
    from app.metrics import live
    from app.models import SecurityEvent, SecurityIncident

    users = orgs.a.users
    users["admin"].mfa_enabled = True
    db.session.commit()
    client.login(users["analyst"].email)
    response = client.post("/metrics/new", data=payload(live_source="mfa_coverage", current_value="3"))
    assert response.status_code == 303
    metric = db.session.scalar(sa.select(Metric))
    assert float(metric.current_value) == 25.0  # 1 of A's 4 active users, not the 3 typed in the form
    refused = client.post(f"/metrics/{metric.id}/value", data={"value": "90"})
    assert refused.status_code == 409 and "live query" in refused.get_data(as_text=True)

    users["operator"].mfa_enabled = True
    orgs.b.users["admin"].mfa_enabled = True  # another org: must not count
    db.session.add(SecurityIncident(org_id=orgs.a.org.id, title="x", severity="critical", status="open"))
    db.session.add(SecurityIncident(org_id=orgs.a.org.id, title="y", severity="critical", status="closed"))
    db.session.add(SecurityEvent(org_id=orgs.a.org.id, user_id=users["read_only"].id, event_type="account_locked",
                                 severity="high", description="locked"))
    db.session.commit()
    assert live.open_critical_incidents(orgs.a.org.id) == 1 and live.open_critical_incidents(orgs.b.org.id) == 0
    assert live.accounts_locked_30d(orgs.a.org.id) == 1 and live.ioc_sightings_7d(orgs.a.org.id) == 0
    assert live.has_live_metrics() is True

    db.session.execute(sa.delete(JobRun))
    enqueue("metrics.refresh_live", org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    metric = db.session.get(Metric, metric.id)
    assert float(metric.current_value) == 50.0
    last = db.session.scalar(sa.select(MetricHistory).where(MetricHistory.metric_id == metric.id)
                             .order_by(MetricHistory.id.desc()).limit(1))
    assert float(last.value) == 50.0 and last.note.startswith("live:") and last.recorded_by_id is None
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.actor_label == "live query mfa_coverage"))
    snapshot = db.session.scalar(sa.select(FrameworkScore).order_by(FrameworkScore.id.desc()).limit(1))
    assert float(snapshot.overall_score) == 50.0  # the refresh snapshotted the new value


def test_form_pages_fragment_drilldown_and_recompute_button(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    new_page = client.get("/metrics/new").get_data(as_text=True)
    assert "PR Protect" in new_page and "PR.AA Identity Management" in new_page and "Live: MFA coverage" in new_page
    client.post("/metrics/new", data=payload())
    metric = db.session.scalar(sa.select(Metric))
    assert 'value="MFA coverage"' in client.get(f"/metrics/{metric.id}/edit").get_data(as_text=True)
    fragment = client.get("/metrics/list?function=PR", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "PR-001" in fragment
    assert "PR-001" not in client.get("/metrics/list?function=DE").get_data(as_text=True)
    drill = client.get("/metrics/functions/PR").get_data(as_text=True)
    assert 'id="category-PR.AA"' in drill and "PR-001" in drill
    assert '80.0</span> <span class="badge rating rating-low-risk" data-rating="low risk">' in drill  # one metric at 80 of 100
    assert client.get("/metrics/functions/XX").status_code == 404
    before = count(JobRun)
    assert client.post("/metrics/recompute").status_code == 303
    assert count(JobRun) == before + 1
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "metrics.recompute_requested"))


def test_inline_value_edit_on_the_list_answers_with_the_row(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload())
    metric = db.session.scalar(sa.select(Metric))
    listing = client.get("/metrics/list").get_data(as_text=True)
    assert f'hx-post="/metrics/{metric.id}/value"' in listing
    response = client.post(f"/metrics/{metric.id}/value", data={"value": "90", "note": "inline edit"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and "metrics-value-recorded" in response.headers["HX-Trigger"]
    body = response.get_data(as_text=True)
    assert "<html" not in body and f'id="metric-{metric.id}"' in body and 'value="90.0"' in body
    db.session.refresh(metric)
    assert float(metric.current_value) == 90
    bad = client.post(f"/metrics/{metric.id}/value", data={"value": "-2"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "cannot be negative" in bad.get_data(as_text=True)
    assert 'value="-2"' in bad.get_data(as_text=True)  # shown as typed, to correct it
    assert "<html" not in bad.get_data(as_text=True)
    big = client.post(f"/metrics/{metric.id}/value", data={"value": "140"}, headers={"HX-Request": "true"})
    assert big.status_code == 200  # 140 % is allowed (under 150)
    db.session.refresh(metric)
    assert float(metric.current_value) == 140


def test_metric_detail_draws_its_history_with_the_target(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(current_value="60"))
    metric = db.session.scalar(sa.select(Metric))
    assert "data-chart=" not in client.get(f"/metrics/{metric.id}").get_data(as_text=True)  # one value: no line
    client.post(f"/metrics/{metric.id}/value", data={"value": "75"})
    page = client.get(f"/metrics/{metric.id}").get_data(as_text=True)
    raw = html.unescape(re.search(r'data-chart-scale="auto" data-chart-data="([^"]+)"', page).group(1))
    assert raw.index('"Value"') < raw.index('"Value: target"')  # the first series is drawn bold
    chart = json.loads(raw)
    assert chart["series"] == {"Value": [60.0, 75.0], "Value: target": [100.0, 100.0]} and len(chart["labels"]) == 2
