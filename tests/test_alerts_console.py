"""Issue 13's console gaps: one alert page for every domain (the fleet's device as a
registered panel, its old addresses redirecting), the rules page across domains at
/alerts/rules, editable routing rules, threat detections through the shared engine (one
notification per attack), incidents from an alert taking its severity and from a wireless
network's page."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.alerting import registry
from app.models import (
    Alert,
    AlertRule,
    AuditLog,
    LoginAttempt,
    Notification,
    NotificationRoute,
    ThreatEvent,
    db,
    utcnow,
)
from app.notifications import routing
from app.permissions import can
from app.threats import detection
from tests.tenancy import assert_other_org_cannot_reach
from tests.test_alerts import alerts_of, send, tune
from tests.test_alerts_page import alert as make_alert
from tests.test_fleet import enrolled
from tests.test_notifications import deliveries_of, webhook_channel
from tests.wireless_fakes import make_network

# ---------------------------------------------------------------- one alert page


def test_a_fleet_alert_has_the_one_alert_page_with_the_fleets_device_panel(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    tune(orgs.a.org.id, "ram_high", threshold_duration_seconds=0)
    send(client, agent, ram_percent=95)
    [alert] = alerts_of(orgs.a.org.id, "ram_high")
    client.login(orgs.a.users["operator"].email)
    page = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert 'id="alert-device"' in page and f'href="/fleet/devices/{agent["device_id"]}"' in page
    assert 'id="open-incident"' not in page  # operators do not open incidents
    moved = client.get(f"/fleet/alerts/{alert.id}")
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/alerts/{alert.id}")
    # A form posted to the old address goes on to the shared action, method and body kept.
    ack = client.post(f"/fleet/alerts/{alert.id}/ack")
    assert ack.status_code == 307 and ack.headers["Location"].endswith(f"/alerts/{alert.id}/ack")
    assert client.post(ack.headers["Location"]).status_code == 303  # what the browser does next
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).status == "acknowledged"
    # Another domain's alert shows no fleet panel.
    other = make_alert(orgs.a.org.id, "wireless", "network_high", "critical")
    db.session.commit()
    assert 'id="alert-device"' not in client.get(f"/alerts/{other.id}").get_data(as_text=True)


# ---------------------------------------------------------------- rules across domains

def test_the_rules_page_lists_every_registered_rule_type_by_domain(client, orgs):
    admin = orgs.a.users["admin"]
    client.login(admin.email)
    page = client.get("/alerts/rules").get_data(as_text=True)
    shown = registry.visible_domains(lambda permission: can(permission, admin))
    assert "fleet" in shown and "threats" in shown and "wireless" in shown and "metrics" in shown
    for domain in registry.domains():
        assert (f'id="domain-{domain}"' in page) == (domain in shown), domain
    for name, rule_type in registry.RULE_TYPES.items():
        if rule_type.domain not in shown:
            continue
        section = page[page.index(f'id="domain-{rule_type.domain}"'):]
        assert f'data-rule-type="{name}"' in section[:section.index("</section>")], name
    assert 'id="routing-link"' in page
    one = client.get("/alerts/rules?domain=threats").get_data(as_text=True)
    assert 'id="domain-threats"' in one and 'id="domain-fleet"' not in one
    # "Add" on a type fills in its defaults.
    form = client.get("/alerts/rules/new?rule_type=threat_detected").get_data(as_text=True)
    assert '<option selected value="threat_detected">' in form and 'value="Threat detected"' in form
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)  # no threats.view: no threats rules either
    page = client.get("/alerts/rules").get_data(as_text=True)
    assert 'id="domain-fleet"' in page and 'id="domain-threats"' not in page and 'id="add-rule"' not in page


def test_the_old_rules_addresses_redirect_to_the_one_rules_page(client, orgs):
    rule = AlertRule(org_id=orgs.a.org.id, domain="fleet", rule_type="cpu_high", name="CPU", threshold_value=90,
                     recovery_value=80, severity="warning")
    db.session.add(rule)
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    for old, new, code in (("/fleet/alert-rules", "/alerts/rules", 301),
                           ("/fleet/alert-rules/new", "/alerts/rules/new", 301),
                           (f"/fleet/alert-rules/{rule.id}/edit", f"/alerts/rules/{rule.id}/edit", 301)):
        response = client.get(old)
        assert response.status_code == code and response.headers["Location"].endswith(new), old
    posted = client.post(f"/fleet/alert-rules/{rule.id}/delete")
    assert posted.status_code == 308 and posted.headers["Location"].endswith(f"/alerts/rules/{rule.id}/delete")
    assert client.get("/fleet/alert-rules", follow_redirects=True).status_code == 200


def test_a_threats_rule_is_out_of_reach_without_threats_view(client, orgs):
    rule = AlertRule(org_id=orgs.a.org.id, domain="threats", rule_type="threat_detected", name="Detections",
                     threshold_value=1, recovery_value=1, severity="warning")
    db.session.add(rule)
    db.session.commit()
    client.login(orgs.b.users["admin"].email)
    assert_other_org_cannot_reach(client, [("GET", f"/alerts/rules/{rule.id}/edit"),
                                           ("POST", f"/alerts/rules/{rule.id}/delete")])
    client.post("/auth/logout")
    client.login(orgs.a.users["admin"].email)
    assert client.get(f"/alerts/rules/{rule.id}/edit").status_code == 200


# ---------------------------------------------------------------- routing rules are edited

def test_routing_rules_are_edited_validated_and_audited(client, orgs):
    org_id = orgs.a.org.id
    ops = webhook_channel(org_id, "https://hooks.example.test/ops", name="Ops")
    pager = webhook_channel(org_id, "https://hooks.example.test/pager", name="Pager")
    theirs = webhook_channel(orgs.b.org.id, "https://hooks.example.test/b", name="B")
    route = routing.add_route(org_id, ops, ["wireless"], "warning")
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    page = client.get("/notifications/routing").get_data(as_text=True)
    assert f'/notifications/routing/routes/{route.id}/edit' in page
    form = client.get(f"/notifications/routing/routes/{route.id}/edit").get_data(as_text=True)
    assert f'<option selected value="{ops.id}">' in form and '<option selected value="wireless">' in form
    bad = client.post(f"/notifications/routing/routes/{route.id}/edit", data={
        "channel_id": str(theirs.id), "domains": ["nowhere"], "min_severity": "loud"})
    assert bad.status_code == 422 and "Not a valid choice" in bad.get_data(as_text=True)
    ok = client.post(f"/notifications/routing/routes/{route.id}/edit", data={
        "channel_id": str(pager.id), "domains": ["threats", "fleet"], "min_severity": "critical"})
    assert ok.status_code == 303
    db.session.expire_all()
    route = db.session.get(NotificationRoute, route.id)
    assert (route.channel_id, route.domains, route.min_severity, route.is_enabled) == (
        pager.id, ["fleet", "threats"], "critical", False)  # the box left unticked: switched off
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "notification_route.updated"))
    assert audit.old_values["channel_id"] == ops.id and audit.new_values["is_enabled"] is False
    # Switched off, it routes nothing: every channel gets what its minimum admits again.
    assert {c.id for c in routing.routed(org_id, [ops, pager], "wireless", "warning")} == {ops.id, pager.id}
    client.post(f"/notifications/routing/routes/{route.id}/edit", data={
        "channel_id": str(pager.id), "domains": ["threats"], "min_severity": "critical", "is_enabled": "y"})
    assert [c.id for c in routing.routed(org_id, [ops, pager], "threats", "critical")] == [pager.id]
    assert routing.routed(org_id, [ops, pager], "threats", "warning") == []
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    assert client.get(f"/notifications/routing/routes/{route.id}/edit").status_code == 403
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)
    assert_other_org_cannot_reach(client, [("GET", f"/notifications/routing/routes/{route.id}/edit"),
                                           ("POST", f"/notifications/routing/routes/{route.id}/edit")],
                                  data={"channel_id": str(theirs.id), "min_severity": "warning"})


# ---------------------------------------------------------------- threat detections through the engine

def brute_force(org_id, user, n=8, ip="203.0.113.5"):
    for _ in range(n):
        db.session.add(LoginAttempt(email=user.email, user_id=user.id, org_id=org_id, ip_address=ip, success=False,
                                    failure_reason="bad_credentials", attempted_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()


def detections(org_id):
    db.session.expire_all()
    return db.session.scalars(sa.select(Alert).where(Alert.org_id == org_id, Alert.alert_type == "threat_detected")
                              .order_by(Alert.id)).all()


def told(org_id):
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.org_id == org_id, Notification.event == "threat_detected"))


def test_a_detection_notifies_once_per_attack_through_its_rule_routed_and_resolved(client, orgs):
    org_id, victim = orgs.a.org.id, orgs.a.users["analyst"]
    hook = webhook_channel(org_id, "https://hooks.example.test/soc", name="SOC", min_severity="info")
    routing.add_route(org_id, hook, ["threats"], "warning")
    db.session.commit()
    brute_force(org_id, victim)
    assert detection.detect(org_id) == {"created": 1, "updated": 0}
    db.session.commit()
    [alert] = detections(org_id)
    [threat] = db.session.scalars(sa.select(ThreatEvent).where(ThreatEvent.org_id == org_id)).all()
    assert (alert.domain, alert.severity, alert.target_key) == ("threats", "warning",
                                                                f"threat:brute_force:user:{victim.id}")
    assert alert.details["link"] == f"/threats/{threat.id}" and "lock account" in alert.message
    first = told(org_id)
    assert first >= 1 and len(deliveries_of(hook.id)) == 1  # the route sends it to the SOC hook
    # The next passes find the same attack: the threat was mitigated (the account locked), and
    # while its evidence is in the window each pass updates that threat; one alert, told once.
    for _ in range(3):
        brute_force(org_id, victim, n=1)
        assert detection.detect(org_id) == {"created": 0, "updated": 1}
        db.session.commit()
    assert len(detections(org_id)) == 1 and told(org_id) == first and len(deliveries_of(hook.id)) == 1
    assert db.session.scalar(sa.select(sa.func.count(ThreatEvent.id)).where(ThreatEvent.org_id == org_id)) == 1
    db.session.refresh(threat)
    assert threat.occurrences == 4
    # Resolving the threat on its page resolves the alert, and says so where it was said.
    client.login(orgs.a.users["admin"].email)  # the analyst is the one locked out
    latest = db.session.scalar(sa.select(ThreatEvent).where(ThreatEvent.org_id == org_id)
                               .order_by(ThreatEvent.id.desc()).limit(1))
    assert client.post(f"/threats/{latest.id}", data={"status": "resolved"}).status_code == 303
    [alert] = detections(org_id)
    assert alert.status == "resolved" and len(deliveries_of(hook.id)) == 2
    assert detections(orgs.b.org.id) == []


def test_a_muted_detection_alert_stays_quiet_and_a_critical_one_is_critical(client, orgs):
    org_id = orgs.a.org.id
    hook = webhook_channel(org_id, "https://hooks.example.test/crit", name="Critical only", min_severity="info")
    routing.add_route(org_id, hook, ["threats"], "critical")
    db.session.commit()
    # Credential stuffing: ten accounts from five addresses, every attempt failed: a critical detection.
    for i in range(10):
        db.session.add(LoginAttempt(email=f"u{i}@example.test", org_id=org_id, ip_address=f"198.51.100.{i % 5}",
                                    success=False, failure_reason="bad_credentials",
                                    attempted_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    detection.detect(org_id)
    db.session.commit()
    [alert] = [a for a in detections(org_id) if a.target_key == "threat:credential_stuffing:org"]
    assert alert.severity == "critical" and len(deliveries_of(hook.id)) == 1
    client.login(orgs.a.users["analyst"].email)
    assert client.post(f"/alerts/{alert.id}/mute", data={"hours": "4"}).status_code == 303
    rule = db.session.scalar(sa.select(AlertRule).where(AlertRule.org_id == org_id,
                                                        AlertRule.rule_type == "threat_detected"))
    rule.repeat_interval_seconds = 60
    db.session.commit()
    before = told(org_id)
    db.session.execute(sa.update(Alert).where(Alert.id == alert.id)
                       .values(last_notified_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    detection.detect(org_id)  # a repeat would be due, but the alert is muted
    db.session.commit()
    assert told(org_id) == before and len(deliveries_of(hook.id)) == 1


# ---------------------------------------------------------------- incidents

def test_an_incident_opened_from_an_alert_takes_its_severity(client, orgs):
    critical = make_alert(orgs.a.org.id, "wireless", "network_high", "critical")
    info = make_alert(orgs.a.org.id, "fleet", "cpu_high", "info")
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    for row, expected in ((critical, "critical"), (info, "low")):
        form = client.get(f"/threats/incidents/new?link=alert:{row.id}").get_data(as_text=True)
        assert f'<option selected value="{expected}">' in form or f'value="{expected}" selected' in form, expected
    by_hand = client.get("/threats/incidents/new").get_data(as_text=True)
    assert 'value="medium" selected' in by_hand or '<option selected value="medium">' in by_hand


def test_a_wireless_network_page_offers_open_incident(client, orgs):
    network = make_network(orgs.a.org.id, ssid="Lurker")
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    page = client.get(f"/wireless/networks/{network.id}").get_data(as_text=True)
    assert f'id="open-incident" href="/threats/incidents/new?link=network:{network.id}"' in page
    form = client.get(f"/threats/incidents/new?link=network:{network.id}").get_data(as_text=True)
    assert "Lurker" in form
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert 'id="open-incident"' not in client.get(f"/wireless/networks/{network.id}").get_data(as_text=True)


def test_migration_0035_gives_the_detection_rule_to_organizations_with_threats_rules(db_session, orgs):
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0035_threat_detected_rule.py"
    spec = importlib.util.spec_from_file_location("migration_0035", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db.session.add(AlertRule(org_id=orgs.a.org.id, domain="threats", rule_type="indicator_sighted",
                             name="Indicator sighted", threshold_value=1, recovery_value=1, severity="critical"))
    db.session.commit()

    def upgrade():
        with Operations.context(MigrationContext.configure(db.session.connection())):
            migration.upgrade()
        db.session.commit()

    def detection_rules(org_id):
        return db.session.scalars(sa.select(AlertRule).where(AlertRule.org_id == org_id,
                                                             AlertRule.rule_type == "threat_detected")).all()

    upgrade()
    upgrade()  # a second run adds nothing
    [rule] = detection_rules(orgs.a.org.id)
    assert (rule.domain, rule.enabled, rule.notify, rule.cooldown_seconds, rule.params) == ("threats", True, True,
                                                                                           3600, {})
    assert detection_rules(orgs.b.org.id) == []  # no threats rules yet: its defaults come when needed
