"""Every domain alerts through the one engine: each rule type through its real path
(a rescore, a sign-in, a detection, an incident, a value change, a heartbeat), with
exactly one notification per alert, and the registry and events seams themselves."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.alerting import events, registry
from app.models import Alert, AlertRule, Notification, User, db, utcnow
from app.threats import incidents
from app.threats.blocks import block_ip, unblock
from app.threats.intel import add_indicator
from app.wireless import rescore
from tests.conftest import run_jobs
from tests.test_alerts import agent, send  # noqa: F401 - fixture
from tests.test_metrics import fn, payload
from tests.test_wireless_rescore import scenario


def alerts_of(org_id: int, alert_type: str) -> list[Alert]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Alert).where(Alert.org_id == org_id, Alert.alert_type == alert_type)
                                   .order_by(Alert.id)))


def notes(org_id: int, event: str) -> int:
    """Notifications of one alert event in the organization, counted per admin (one admin here)."""
    admins = db.session.scalar(sa.select(sa.func.count(User.id)).where(User.org_id == org_id, User.role == "admin"))
    total = db.session.scalar(sa.select(sa.func.count(Notification.id)).where(Notification.org_id == org_id,
                                                                               Notification.event == event))
    return total // max(admins, 1)


def test_every_domain_registers_its_rule_types_with_a_target_page(app):
    by_domain = {d: set(registry.of_domain(d)) for d in registry.domains()}
    assert {"network_high", "follower_new", "threat_seen_again"} <= by_domain["wireless"]
    assert {"indicator_sighted", "incident_opened", "user_risk_high", "ip_blocked"} <= by_domain["threats"]
    assert {"function_score_low", "framework_score_low", "rating_dropped"} <= by_domain["metrics"]
    assert {"cpu_high", "device_offline", "backup_failed"} <= by_domain["fleet"]
    with app.test_request_context():
        assert registry.target_url("cpu_high", "device:7:mount:/var") == "/fleet/devices/7"
        assert registry.target_url("network_high", "network:3") == "/wireless/networks/3"
        assert registry.target_url("indicator_sighted", "indicator:5") == "/threats/intel/5"
        assert registry.target_url("function_score_low", "function:PR") == "/metrics/functions/PR"
        assert registry.target_url("cpu_high", "not-a-device") is None  # an odd key is no 500


def test_publish_reaches_subscribers_only_of_that_event():
    seen: list[dict] = []
    events.subscribe("test.happened", lambda **data: seen.append(data))
    try:
        assert events.publish("test.happened", name="x", n=1) == 1
        assert events.publish("test.other") == 0
        assert seen == [{"name": "x", "n": 1}]
    finally:
        events.SUBSCRIBERS.pop("test.happened")


# ---------------------------------------------------------------- wireless

def test_a_rescore_alerts_once_for_a_new_high_follower_and_not_again(app, orgs):
    org_id = orgs.a.org.id
    follower, neighbour, _ = scenario(org_id)
    rescore.rescore(org_id)
    high, follows = alerts_of(org_id, "network_high"), alerts_of(org_id, "follower_new")
    assert [a.target_key for a in high] == [f"network:{follower.id}"]
    assert [a.target_key for a in follows] == [f"network:{follower.id}"]
    assert high[0].domain == "wireless" and high[0].details["link"] == f"/wireless/networks/{follower.id}"
    assert notes(org_id, "network_high") == 1 and notes(org_id, "follower_new") == 1
    # Rules were seeded for A (audited) when they first had something to say; B has none.
    assert db.session.scalar(sa.select(sa.func.count(AlertRule.id)).where(AlertRule.org_id == org_id,
                                                                          AlertRule.domain == "wireless")) == 3
    assert not db.session.scalar(sa.select(AlertRule.id).where(AlertRule.org_id == orgs.b.org.id))
    rescore.rescore(org_id, everything=True)  # the same scores again: nothing new to say
    assert len(alerts_of(org_id, "network_high")) == 1 and notes(org_id, "network_high") == 1
    assert notes(org_id, "follower_new") == 1
    assert not alerts_of(orgs.b.org.id, "network_high")


def test_a_tagged_threat_seen_again_alerts_once_per_incident(app, orgs):
    from app.models.wireless import Network, NetworkTag

    org_id = orgs.a.org.id
    _, neighbour, _ = scenario(org_id)
    rescore.rescore(org_id)
    assert not alerts_of(org_id, "threat_seen_again")  # first scoring: nothing "again" yet
    db.session.add(NetworkTag(org_id=org_id, network_id=neighbour.id, tag="THREAT", is_threat=True))
    net = db.session.get(Network, neighbour.id)
    net.lasttime_ms = int((utcnow() + timedelta(minutes=1)).timestamp() * 1000)  # a sighting after the scoring
    net.needs_rescore = True
    db.session.commit()
    rescore.rescore(org_id)
    again = alerts_of(org_id, "threat_seen_again")
    assert len(again) == 1 and "seen again" in again[0].message and notes(org_id, "threat_seen_again") == 1
    net = db.session.get(Network, neighbour.id)
    net.lasttime_ms += 60_000
    net.needs_rescore = True
    db.session.commit()
    rescore.rescore(org_id)
    assert len(alerts_of(org_id, "threat_seen_again")) == 1 and notes(org_id, "threat_seen_again") == 1


# ---------------------------------------------------------------- threats

def test_a_sign_in_from_an_indicator_alerts_the_sighting_and_the_users_risk_once(client, orgs):
    org_id = orgs.a.org.id
    user = orgs.a.users["analyst"]
    db.session.get(User, user.id).trust_score = Decimal("0")
    client.environ_base["REMOTE_ADDR"] = "203.0.113.10"
    ioc, _ = add_indicator(org_id, "ip", "203.0.113.10", confidence=100, threat_type="botnet")
    db.session.commit()
    client.login(user.email)
    client.login(user.email)  # the same address again: the same open alerts
    sighted = alerts_of(org_id, "indicator_sighted")
    assert [a.target_key for a in sighted] == [f"indicator:{ioc.id}"]
    assert sighted[0].details["link"] == f"/threats/intel/{ioc.id}"
    assert notes(org_id, "indicator_sighted") == 1
    risky = alerts_of(org_id, "user_risk_high")
    assert [a.target_key for a in risky] == [f"user:{user.id}"] and notes(org_id, "user_risk_high") == 1
    assert not alerts_of(orgs.b.org.id, "indicator_sighted")


def test_an_incident_alerts_when_opened_and_resolves_when_closed(db_session, orgs):
    org_id = orgs.a.org.id
    admin = orgs.a.users["admin"]
    incident = incidents.create(org_id, admin, title="Phish", severity="high", priority="high",
                                incident_type="phishing")
    (alert,) = alerts_of(org_id, "incident_opened")
    assert alert.status == "open" and "Phish" in alert.message and notes(org_id, "incident_opened") == 1
    incidents.change_status(incident, admin, "resolved", "user retrained")
    (alert,) = alerts_of(org_id, "incident_opened")
    assert alert.status == "resolved"


def test_an_ip_block_alerts_and_the_unblock_resolves_it(db_session, orgs):
    org_id = orgs.a.org.id
    entry = block_ip("198.51.100.7", 30, "password spraying", org_id=org_id)
    db.session.flush()
    (alert,) = alerts_of(org_id, "ip_blocked")
    assert alert.status == "open" and alert.severity == "info"
    block_ip("198.51.100.7", 60, "again", org_id=org_id)  # extended: no second alert
    assert len(alerts_of(org_id, "ip_blocked")) == 1
    unblock(entry)
    assert alerts_of(org_id, "ip_blocked")[0].status == "resolved"


# ---------------------------------------------------------------- metrics

def test_a_value_change_that_drops_a_score_below_target_alerts_once(app, client, orgs, csf):
    org_id = orgs.a.org.id
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(current_value="95"))
    run_jobs(app)
    assert not alerts_of(org_id, "function_score_low")
    metric_id = db.session.scalar(sa.select(sa.text("id")).select_from(sa.table("metrics")))
    assert client.post(f"/metrics/{metric_id}/value", data={"value": "40"}).status_code == 303
    run_jobs(app)
    low = alerts_of(org_id, "function_score_low")
    assert [a.target_key for a in low] == ["function:PR"] and "40.0" in low[0].message
    assert [a.target_key for a in alerts_of(org_id, "framework_score_low")] == ["framework"]
    dropped = alerts_of(org_id, "rating_dropped")
    assert len(dropped) == 1 and "dropped" in dropped[0].message
    assert notes(org_id, "function_score_low") == 1
    client.post(f"/metrics/{metric_id}/value", data={"value": "41"})
    run_jobs(app)
    assert len(alerts_of(org_id, "function_score_low")) == 1 and notes(org_id, "function_score_low") == 1
    assert "41.0" in alerts_of(org_id, "function_score_low")[0].message  # the title follows the number
    client.post(f"/metrics/{metric_id}/value", data={"value": "100"})
    run_jobs(app)
    assert alerts_of(org_id, "function_score_low")[0].status == "resolved"
    assert fn("PR") is not None


# ---------------------------------------------------------------- fleet (issue 12.7)

@pytest.mark.usefixtures("agent")
def test_a_firing_fleet_alerts_title_follows_the_condition(client, orgs, agent):  # noqa: F811
    from tests.test_alerts import tune

    tune(orgs.a.org.id, "disk_full", threshold_duration_seconds=0)
    fs = [{"mount": "/var", "used_percent": 91.0, "total_bytes": 100, "used_bytes": 91}]
    send(client, agent, filesystems=fs)
    (alert,) = alerts_of(orgs.a.org.id, "disk_full")
    assert "91 %" in alert.message
    send(client, agent, filesystems=[{**fs[0], "used_percent": 97.0, "used_bytes": 97}])
    (alert,) = alerts_of(orgs.a.org.id, "disk_full")
    assert "97 %" in alert.message and "91 %" not in alert.message and alert.metric_value == 97.0
    assert alert.notify_count == 1


def test_the_rules_page_tunes_every_domains_rules(client, orgs):
    from tests.test_alert_rules_pages import RULE

    client.login(orgs.a.users["admin"].email)
    form = client.get("/alerts/rules/new").get_data(as_text=True)
    assert "Wireless: New follower" in form and "Metrics: Function score below target" in form
    metric_rule = {**RULE, "name": "PR under 60", "rule_type": "function_score_low", "threshold_value": "60",
                   "recovery_value": "70"}
    assert client.post("/alerts/rules/new", data=metric_rule).status_code == 303
    rule = db.session.scalar(sa.select(AlertRule).where(AlertRule.name == "PR under 60"))
    assert (rule.domain, rule.direction, rule.org_id) == ("metrics", "below", orgs.a.org.id)
    on_device = client.post("/alerts/rules/new", data={**RULE, "rule_type": "network_high", "scope": "device",
                                                            "device_id": "1", "threshold_value": "3",
                                                            "recovery_value": "2"})
    assert on_device.status_code == 422 and "Only rules about devices" in on_device.get_data(as_text=True)
    page = client.get("/alerts/rules").get_data(as_text=True)
    metrics = page[page.index('id="domain-metrics"'):]
    metrics = metrics[:metrics.index("</section>")]
    assert 'data-rule-type="function_score_low"' in metrics and "PR under 60" in metrics


def test_an_org_wide_maintenance_window_quiets_every_domain(db_session, orgs):
    from app.models import MaintenanceWindow

    org_id = orgs.a.org.id
    db.session.add(MaintenanceWindow(org_id=org_id, name="Office move", recurrence="once",
                                     starts_at=utcnow() - timedelta(hours=1), ends_at=utcnow() + timedelta(hours=1)))
    db.session.flush()
    block_ip("198.51.100.8", 30, "spraying", org_id=org_id)
    incidents.create(org_id, orgs.a.users["admin"], title="Quiet", severity="low", priority="low",
                     incident_type="other")
    for kind in ("ip_blocked", "incident_opened"):
        (alert,) = alerts_of(org_id, kind)
        assert alert.status == "open" and "Office move" in alert.suppressed_reason and alert.notify_count == 0
        assert notes(org_id, kind) == 0
