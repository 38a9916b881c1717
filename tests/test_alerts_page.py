"""The one Alerts page across domains (filters, bulk acknowledge, links, tenancy), routing
rules per organization, quiet hours, the daily digest, and the Slack and Teams webhook
shapes against local fake receivers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as email_policy

import sqlalchemy as sa

from app.models import Alert, AuditLog, JobRun, NotificationPolicy, db, utcnow
from app.notifications import delivery, routing, services
from app.notifications.digest import send_due_digests
from tests.conftest import run_jobs
from tests.tenancy import assert_other_org_cannot_reach
from tests.test_notifications import (  # noqa: F401 - fixtures (no_proxies is autouse)
    deliveries_of,
    email_channel,
    no_proxies,
    smtp_server,
    webhook_channel,
    webhook_server,
)


def alert(org_id: int, domain: str, alert_type: str, severity: str = "warning", status: str = "open",
          key: str = "network:1", label: str = "Target", message: str = "Something fired") -> Alert:
    row = Alert(org_id=org_id, domain=domain, alert_type=alert_type, severity=severity, status=status,
                target_key=key, target_label=label, message=message, details={"link": "/somewhere"},
                fired_at=utcnow())
    db.session.add(row)
    db.session.flush()
    return row


def seeded(orgs):
    a = orgs.a.org.id
    rows = {
        "net": alert(a, "wireless", "network_high", "critical", key="network:41", label="FordPass (AA:BB)",
                     message="FordPass is CRITICAL"),
        "ioc": alert(a, "threats", "indicator_sighted", "warning", status="acknowledged", key="indicator:7",
                     label="ip 203.0.113.10", message="Indicator sighted"),
        "cpu": alert(a, "fleet", "cpu_high", "info", key="device:3", label="gw-1", message="CPU 95 %"),
        "old": alert(a, "metrics", "function_score_low", "warning", status="resolved", key="function:PR",
                     label="PR function score", message="PR low"),
        "other": alert(orgs.b.org.id, "wireless", "network_high", "critical", label="B's network",
                       message="B network CRITICAL"),
    }
    db.session.commit()
    return rows


def ids_on(page: str, rows: dict) -> set[str]:
    return {name for name, a in rows.items() if f'data-alert-id="{a.id}"' in page}


def test_the_alerts_page_lists_every_domain_filters_and_links_each_alert_to_its_object(client, orgs):
    rows = seeded(orgs)
    client.login(orgs.a.users["analyst"].email)
    page = client.get("/alerts/").get_data(as_text=True)
    assert ids_on(page, rows) == {"net", "ioc", "cpu"}  # active by default; never B's
    assert page.index(f'data-alert-id="{rows["net"].id}"') < page.index(f'data-alert-id="{rows["cpu"].id}"')
    assert '<a href="/wireless/networks/41" data-target-link>' in page  # the rule type's target page
    assert '<a href="/threats/intel/7" data-target-link>' in page
    assert 'data-domain-count="wireless">1<' in page
    filters = {"domain=wireless": {"net"}, "severity=warning&status=all": {"ioc", "old"},
               "status=acknowledged": {"ioc"}, "target=gw-": {"cpu"}, "status=resolved&domain=metrics": {"old"},
               "target=fordpass": {"net"}}
    for query, expected in filters.items():
        assert ids_on(client.get(f"/alerts/?{query}").get_data(as_text=True), rows) == expected, query
    fragment = client.get("/alerts/?domain=fleet", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and ids_on(fragment, rows) == {"cpu"}
    bad = client.get("/alerts/?domain=nowhere&severity=loud")
    assert bad.status_code == 422 and "Not a valid choice" in bad.get_data(as_text=True)
    assert "Acknowledge selected" in page
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert "Acknowledge selected" not in client.get("/alerts/").get_data(as_text=True)  # read-only: no bulk action


def test_bulk_acknowledge_touches_only_this_organizations_open_alerts(client, orgs):
    rows = seeded(orgs)
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/alerts/acknowledge", data={
        "alert_ids": [str(rows["net"].id), str(rows["cpu"].id), str(rows["other"].id), str(rows["old"].id)],
        "domain": "wireless"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/alerts/?domain=wireless")
    db.session.expire_all()
    status = {k: db.session.get(Alert, a.id).status for k, a in rows.items()}
    assert status == {"net": "acknowledged", "ioc": "acknowledged", "cpu": "acknowledged", "old": "resolved",
                      "other": "open"}
    acks = db.session.scalars(sa.select(AuditLog.resource_id).where(AuditLog.action == "alert.acknowledged")).all()
    assert sorted(acks) == sorted([str(rows["net"].id), str(rows["cpu"].id)])
    assert client.post("/alerts/acknowledge", data={"alert_ids": ["x"]}).status_code == 422
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.post("/alerts/acknowledge", data={"alert_ids": [str(rows["ioc"].id)]}).status_code == 403


def test_one_alert_of_any_domain_can_be_resolved_muted_and_is_404_to_another_org(client, orgs):
    rows = seeded(orgs)
    client.login(orgs.a.users["analyst"].email)
    page = client.get(f"/alerts/{rows['net'].id}").get_data(as_text=True)
    assert 'href="/wireless/networks/41" id="alert-target"' in page and "Network HIGH or CRITICAL" in page
    assert client.post(f"/alerts/{rows['net'].id}/resolve", data={"note": ""}).status_code == 422
    assert client.post(f"/alerts/{rows['net'].id}/mute", data={"hours": "4"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Alert, rows["net"].id).status == "muted"
    assert client.post(f"/alerts/{rows['net'].id}/resolve", data={"note": "moved house"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Alert, rows["net"].id).resolution_note == "moved house"
    other = rows["other"].id
    assert_other_org_cannot_reach(client, [("GET", f"/alerts/{other}"), ("POST", f"/alerts/{other}/ack"),
                                           ("POST", f"/alerts/{other}/resolve"), ("POST", f"/alerts/{other}/mute")],
                                  data={"note": "x", "hours": "4"})


def test_the_fleet_alert_page_keeps_to_fleet_alerts(client, orgs):
    seeded(orgs)
    client.login(orgs.a.users["analyst"].email)
    page = client.get("/fleet/alerts").get_data(as_text=True)
    assert "CPU 95 %" in page and "FordPass is CRITICAL" not in page


# ---------------------------------------------------------------- routing and formats

def test_routes_send_each_domain_to_its_channel_in_slack_and_teams_shapes(app, client, orgs, webhook_server):  # noqa: F811
    org_id = orgs.a.org.id
    slack = services.create_channel(org_id, "webhook", name="Slack", min_severity="info",
                                    settings={"url": webhook_server.url + "/slack", "format": "slack"},
                                    new_secrets={"secret": None})
    teams = services.create_channel(org_id, "webhook", name="Teams", min_severity="info",
                                    settings={"url": webhook_server.url + "/teams", "format": "teams"},
                                    new_secrets={"secret": None})
    routing.add_route(org_id, slack, ["wireless"], "warning")
    routing.add_route(org_id, teams, ["threats"], "critical")
    db.session.commit()
    services.notify(org_id, "network_high", "FordPass is CRITICAL", body="Score 91", severity="critical",
                    link="/wireless/networks/41", payload={"domain": "wireless"})
    services.notify(org_id, "indicator_sighted", "Indicator sighted", severity="warning",
                    payload={"domain": "threats"})  # below the Teams route's severity: nowhere
    services.notify(org_id, "user_risk_high", "Risk of bob at 90", severity="critical",
                    link="/threats/events", payload={"domain": "threats"})
    services.notify(org_id, "cpu_high", "CPU 95 %", severity="critical", payload={"domain": "fleet"})  # no route
    db.session.commit()
    run_jobs(app)
    by_path = {r["path"]: json.loads(r["body"]) for r in webhook_server.requests}
    assert sorted(by_path) == ["/hooks/vigil/slack", "/hooks/vigil/teams"] and len(webhook_server.requests) == 2
    body = by_path["/hooks/vigil/slack"]
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    assert body["text"].endswith("[critical] FordPass is CRITICAL")
    assert body["blocks"][1]["text"]["text"] == "Score 91"
    assert body["blocks"][-1]["elements"][0]["url"] == base + "/wireless/networks/41"
    card = by_path["/hooks/vigil/teams"]
    assert card["type"] == "message"
    content = card["attachments"][0]["content"]
    assert card["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert content["type"] == "AdaptiveCard" and content["body"][0]["text"] == "Risk of bob at 90"
    assert content["actions"][0] == {"type": "Action.OpenUrl", "title": "Open in Vigil", "url": base + "/threats/events"}
    assert [d.status for d in deliveries_of(slack.id)] == ["sent"]


def test_without_routes_every_channel_gets_what_its_minimum_admits(app, client, orgs, webhook_server):  # noqa: F811
    channel = webhook_channel(orgs.a.org.id, webhook_server.url, min_severity="warning")
    services.notify(orgs.a.org.id, "cpu_high", "CPU", severity="warning", payload={"domain": "fleet"})
    services.notify(orgs.a.org.id, "cpu_high", "CPU", severity="info", payload={"domain": "fleet"})
    db.session.commit()
    assert len(deliveries_of(channel.id)) == 1


def quiet_around(now: datetime, tz: str = "UTC", **kw) -> NotificationPolicy:
    local = now.astimezone(routing.zone(tz))
    policy = NotificationPolicy(timezone=tz, quiet_start=f"{(local - timedelta(hours=1)):%H:%M}",
                                quiet_end=f"{(local + timedelta(hours=1)):%H:%M}", **kw)
    return policy


def test_quiet_hours_in_the_org_time_zone_cross_midnight():
    policy = NotificationPolicy(timezone="Australia/Perth", quiet_start="22:00", quiet_end="07:00",
                                quiet_allows_critical=True)
    # 23:30 in Perth (UTC+8) is 15:30 UTC: held until 07:00 Perth the next day (23:00 UTC).
    at = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
    assert routing.quiet_until(policy, "warning", at) == datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
    assert routing.quiet_until(policy, "warning", datetime(2026, 12, 7, 21, 0, tzinfo=UTC)) \
        == datetime(2026, 12, 7, 23, 0, tzinfo=UTC)  # 05:00 Perth
    assert routing.quiet_until(policy, "warning", datetime(2026, 12, 7, 23, 0, tzinfo=UTC)) is None  # 07:00
    assert routing.quiet_until(policy, "critical", at) is None  # critical still goes out
    policy.quiet_allows_critical = False
    assert routing.quiet_until(policy, "critical", at) is not None


def test_quiet_hours_hold_a_delivery_and_retry_due_sends_it_after(app, client, orgs, webhook_server):  # noqa: F811
    org_id = orgs.a.org.id
    channel = webhook_channel(org_id, webhook_server.url, min_severity="info")
    policy = quiet_around(utcnow(), "Europe/Berlin", quiet_allows_critical=True)
    policy.org_id = org_id
    db.session.add(policy)
    db.session.commit()
    services.notify(org_id, "cpu_high", "CPU 95 %", severity="warning", payload={"domain": "fleet"})
    services.notify(org_id, "device_offline", "gw-1 offline", severity="critical", payload={"domain": "fleet"})
    db.session.commit()
    jobs = db.session.scalar(sa.select(sa.func.count(JobRun.id)).where(JobRun.kind == "notifications.deliver"))
    assert jobs == 1  # only the critical one is on its way
    run_jobs(app)
    held = [d for d in deliveries_of(channel.id) if d.event == "cpu_high"][0]
    assert held.status == "pending" and held.next_attempt_at > utcnow() + timedelta(minutes=30)
    assert "held_until" in held.payload
    client.login(orgs.a.users["admin"].email)
    assert "held for quiet hours" in client.get("/notifications/deliveries").get_data(as_text=True)
    assert [json.loads(r["body"])["data"]["attributes"]["name"] for r in webhook_server.requests] == ["gw-1 offline"]
    assert delivery.queue_due() == 0  # still quiet
    held.next_attempt_at = utcnow() - timedelta(seconds=1)  # the quiet hours are over
    db.session.commit()
    assert delivery.queue_due() == 1
    db.session.commit()
    run_jobs(app)
    assert deliveries_of(channel.id)[0].status == "sent" and len(webhook_server.requests) == 2


def test_the_daily_digest_mails_what_stayed_open_once_a_day(app, client, orgs, smtp_server):  # noqa: F811
    rows = seeded(orgs)
    channel = email_channel(orgs.a.org.id, smtp_server.port)
    db.session.add(NotificationPolicy(org_id=orgs.a.org.id, timezone="UTC", digest_enabled=True, digest_hour=0))
    db.session.commit()
    assert routing.has_digest_work()
    assert send_due_digests() == 1
    assert send_due_digests() == 0  # once a day
    db.session.commit()
    run_jobs(app)
    [d] = [d for d in deliveries_of(channel.id) if d.event == "alerts.digest"]
    assert d.status == "sent", d.last_error
    text = message_from_bytes(smtp_server.envelopes[0].content, policy=email_policy).get_content()
    assert "FordPass is CRITICAL" in text and "CPU 95 %" in text and "Indicator sighted" in text
    assert "PR low" not in text and "B network" not in text and rows


def test_routing_page_validates_and_audits(client, orgs):
    client.login(orgs.a.users["admin"].email)
    channel = webhook_channel(orgs.a.org.id, "http://127.0.0.1:9/hook")
    other = webhook_channel(orgs.b.org.id, "http://127.0.0.1:9/hook")
    assert client.get("/notifications/routing").status_code == 200
    bad = client.post("/notifications/routing/policy", data={"timezone": "Mars/Base", "quiet_start": "22:00",
                                                             "digest_hour": "25"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Unknown time zone" in text and "both ends" in text and "0 to 23" in text
    assert db.session.scalar(sa.select(NotificationPolicy.id)) is None
    ok = client.post("/notifications/routing/policy", data={"timezone": "Europe/Berlin", "quiet_start": "22:00",
                                                            "quiet_end": "07:00", "digest_hour": "8"})
    assert ok.status_code == 303
    assert "Quiet from 22:00 to 07:00 (Europe/Berlin)" in client.get("/notifications/routing").get_data(as_text=True)
    assert client.post("/notifications/routing/routes", data={"channel_id": str(other.id),
                                                              "min_severity": "warning"}).status_code == 422
    assert client.post("/notifications/routing/routes", data={"channel_id": str(channel.id), "domains": ["wireless"],
                                                              "min_severity": "critical"}).status_code == 303
    actions = set(db.session.scalars(sa.select(AuditLog.action).where(AuditLog.org_id == orgs.a.org.id)))
    assert {"notification_policy.updated", "notification_route.created"} <= actions
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    assert client.get("/notifications/routing").status_code == 403


def test_a_webhook_channel_keeps_its_chosen_format(client, orgs):
    from app.models import NotificationChannel

    client.login(orgs.a.users["admin"].email)
    assert 'value="teams"' in client.get("/notifications/channels/new?kind=webhook").get_data(as_text=True)
    response = client.post("/notifications/channels/new?kind=webhook", data={
        "name": "Teams", "min_severity": "warning", "url": "https://hooks.example.com/teams", "format": "teams"})
    assert response.status_code == 303
    channel = db.session.scalar(sa.select(NotificationChannel).where(NotificationChannel.name == "Teams"))
    assert channel.config["format"] == "teams"
    assert client.post("/notifications/channels/new?kind=webhook", data={
        "name": "X", "min_severity": "warning", "url": "https://hooks.example.com/x",
        "format": "pager"}).status_code == 422


def test_alerts_of_a_domain_need_that_domains_permission(client, orgs):
    rows = seeded(orgs)
    client.login(orgs.a.users["read_only"].email)  # may read data, not threats
    page = client.get("/alerts/?status=all").get_data(as_text=True)
    assert "Indicator sighted" not in page and 'data-domain-count="threats"' not in page
    assert ids_on(page, rows) == {"net", "cpu", "old"}
    assert client.get("/alerts/?domain=threats").status_code == 422
    assert client.get(f"/alerts/{rows['ioc'].id}").status_code == 404
    risky = alert(orgs.a.org.id, "threats", "user_risk_high", key="user:1", message="Risk of bob at 90")
    db.session.commit()
    client.post("/auth/logout")
    client.login(orgs.a.users["operator"].email)
    client.post("/alerts/acknowledge", data={"alert_ids": [str(risky.id), str(rows["cpu"].id)]})
    db.session.expire_all()
    assert db.session.get(Alert, risky.id).status == "open"  # not the operator's to see or touch
    assert db.session.get(Alert, rows["cpu"].id).status == "acknowledged"
    assert client.post(f"/alerts/{risky.id}/ack").status_code == 404


def test_the_fleet_alert_pages_hand_other_domains_to_the_alerts_page(client, orgs):
    rows = seeded(orgs)
    client.login(orgs.a.users["read_only"].email)
    response = client.get(f"/fleet/alerts/{rows['ioc'].id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/alerts/{rows['ioc'].id}")
    assert client.get(response.headers["Location"]).status_code == 404  # threats: not for read-only
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    assert client.post(f"/fleet/alerts/{rows['net'].id}/ack").status_code == 404
    # A fleet alert's old address goes to its one page, which shows the fleet's panel.
    moved = client.get(f"/fleet/alerts/{rows['cpu'].id}")
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/alerts/{rows['cpu'].id}")
    assert client.get(moved.headers["Location"]).status_code == 200


def test_acknowledging_nothing_shows_the_filtered_page_again_with_the_reason(client, orgs):
    rows = seeded(orgs)
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/alerts/acknowledge", data={"domain": "wireless"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Tick at least one alert to acknowledge." in html
    assert 'id="bulk-ack"' in html and f'value="{rows["net"].id}"' in html  # the page, not a bare error
    assert '<option selected value="wireless">' in html  # the filter is kept
