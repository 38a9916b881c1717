"""The heartbeat's one-statement path (issue 18.3, app/fleet/heartbeat_fast.py) and the alert
rules cache it reads through a version (app/alerting/rule_cache.py): a warm device's
heartbeat is stored in one statement, a replayed timestamp is stored once, a rule change
takes effect on the very next heartbeat, alerts open and resolve as on the full path, and
a state change (a service failing) still goes through the full path and its audit."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from app.alerting import rule_cache
from app.api import tokens
from app.auth.api_keys import digest
from app.fleet import heartbeat_fast, ingest
from app.models import (
    Alert,
    AlertRule,
    AlertRuleVersion,
    AuditLog,
    Device,
    DockerContainer,
    Heartbeat,
    MetricRollup,
    ScannerStats,
    ServiceStatus,
    db,
    utcnow,
)
from tests.test_fleet import bearer, enrolled, heartbeat
from tests.test_fleet_heartbeat_keys import key_row, stored, warm


def postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def post(client, agent: dict, **overrides):
    return client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat(**overrides))


class Statements:
    """Counts the SQL statements sent to the database while active."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __enter__(self) -> Statements:
        sa.event.listen(db.engine, "before_cursor_execute", self.record)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(db.engine, "before_cursor_execute", self.record)

    def record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(statement)


def disk_rule(org_id: int) -> AlertRule:
    return db.session.scalar(sa.select(AlertRule).where(AlertRule.org_id == org_id, AlertRule.device_id.is_(None),
                                                        AlertRule.rule_type == "disk_full"))


def open_alerts(device_id: int, rule_type: str) -> list[Alert]:
    return list(db.session.scalars(sa.select(Alert).where(Alert.device_id == device_id, Alert.alert_type == rule_type,
                                                          Alert.status != "resolved")))


def test_a_warm_heartbeat_is_one_statement_and_stores_everything(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    device_id = agent["device_id"]
    used = key_row(device_id).usage_count
    with Statements() as statements:
        response = post(client, agent, cpu_percent=33.0, uptime_seconds=7200,
                        containers=[{"name": "ospd-openvas", "id": "abc124", "image": "greenbone/ospd:22.5",
                                     "status": "running", "restarts": 2},
                                    {"name": "redis", "id": "r1", "image": "redis:7", "status": "running"}],
                        services=[{"name": "gvmd", "status": "active", "enabled": False, "pid": 42}],
                        scanner_stats={"tasks_total": 30, "vulns_critical": 2})
    assert response.status_code == 202, response.json
    assert response.json["duplicate"] is False and response.json["device_id"] == device_id
    if postgres():
        # The key's check and count, the device's lock and every write: one statement.
        writes = [s for s in statements.seen if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))]
        assert len(writes) == 1, writes
    db.session.expire_all()
    assert stored(device_id) == 3 and key_row(device_id).usage_count == used + 1
    newest = db.session.scalar(sa.select(Heartbeat).where(Heartbeat.device_id == device_id)
                               .order_by(Heartbeat.id.desc()).limit(1))
    assert newest.cpu_usage_percent == 33.0 and newest.payload["cpu_percent"] == 33.0
    device = db.session.get(Device, device_id)
    assert device.uptime_seconds == 7200 and device.docker_present
    assert abs((device.last_seen_at - newest.received_at).total_seconds()) < 1
    gvmd = db.session.scalar(sa.select(ServiceStatus).where(ServiceStatus.device_id == device_id))
    assert gvmd.enabled is False and gvmd.pid == 42 and gvmd.status == "active"
    containers = {c.container_name: c for c in db.session.scalars(
        sa.select(DockerContainer).where(DockerContainer.device_id == device_id))}
    assert set(containers) == {"ospd-openvas", "redis"}
    assert containers["ospd-openvas"].restart_count == 2 and containers["ospd-openvas"].image_tag == "22.5"
    stats = db.session.scalar(sa.select(ScannerStats).where(ScannerStats.device_id == device_id)
                              .order_by(ScannerStats.collected_at.desc()).limit(1))
    assert stats.tasks_total == 30 and stats.scans_running == 0 and stats.collected_at == newest.timestamp
    cpu = db.session.scalars(sa.select(MetricRollup).where(MetricRollup.device_id == device_id,
                                                           MetricRollup.metric == "cpu")).all()
    assert sum(r.sample_count for r in cpu) == 3
    assert max(r.max_value for r in cpu) == 33.0


def test_a_replayed_timestamp_is_stored_once(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    ts = (utcnow() - timedelta(seconds=30)).isoformat()
    first = post(client, agent, timestamp=ts)
    again = post(client, agent, timestamp=ts, cpu_percent=99.0)
    assert first.status_code == 202 and first.json["duplicate"] is False
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert again.json["received_at"] == first.json["received_at"]
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Heartbeat).where(Heartbeat.device_id == agent["device_id"],
                                                         Heartbeat.timestamp == datetime.fromisoformat(ts))).all()
    assert len(rows) == 1 and rows[0].cpu_usage_percent == 12.5


def test_a_rule_change_takes_effect_on_the_next_heartbeat(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    org_id, device_id = orgs.a.org.id, agent["device_id"]
    assert post(client, agent).status_code == 202  # disk / at 61 %: under the default 90 %
    assert open_alerts(device_id, "disk_full") == []
    before = db.session.get(AlertRuleVersion, org_id)
    before = before.version if before else 0
    rule = disk_rule(org_id)
    rule.threshold_value, rule.recovery_value = 50.0, 45.0
    db.session.commit()
    assert db.session.get(AlertRuleVersion, org_id).version == before + 1
    assert post(client, agent).status_code == 202
    db.session.expire_all()
    opened = open_alerts(device_id, "disk_full")
    assert len(opened) == 1 and opened[0].threshold_value == 50.0
    # Disabled: the cached rules are dropped with the next version, nothing new is opened.
    rule = disk_rule(org_id)
    rule.enabled = False
    db.session.commit()
    assert db.session.get(AlertRuleVersion, org_id).version == before + 2
    assert post(client, agent, filesystems=[{"mount": "/", "used_percent": 70.0}]).status_code == 202
    db.session.expire_all()
    # The cache holds the organization's rules as of the newest version, without the disabled one.
    cached = rule_cache.rules_cache.entries.get(org_id)
    if postgres():
        assert cached is not None and cached[0] >= before + 2
        assert all(r.id != rule.id for r in cached[1])


def test_deleting_and_adding_rules_bump_the_version(client, orgs):
    org_id = orgs.a.org.id
    version = rule_cache.version_of(org_id)
    rule = AlertRule(org_id=org_id, rule_type="cpu_high", name="cpu 70", threshold_value=70, recovery_value=60,
                     severity="warning", domain="fleet")
    db.session.add(rule)
    db.session.commit()
    assert rule_cache.version_of(org_id) == version + 1
    db.session.delete(rule)
    db.session.commit()
    assert rule_cache.version_of(org_id) == version + 2
    # A global rule moves every organization's version.
    other = rule_cache.version_of(orgs.b.org.id)
    glob = AlertRule(org_id=None, rule_type="ram_high", name="ram", threshold_value=99, recovery_value=90,
                     severity="warning", domain="fleet", enabled=False)
    db.session.add(glob)
    db.session.commit()
    assert rule_cache.version_of(orgs.b.org.id) == other + 1
    assert rule_cache.version_of(org_id) == version + 3


def test_alerts_open_and_resolve_on_warm_heartbeats(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    device_id = agent["device_id"]
    full = [{"mount": "/", "used_percent": 95.0}]
    assert post(client, agent, filesystems=full).status_code == 202
    db.session.expire_all()
    opened = open_alerts(device_id, "disk_full")
    assert len(opened) == 1
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "alert.opened",
                                                       AuditLog.resource_id == str(opened[0].id))) is not None
    # Still firing at the same number: nothing re-opened, the alert stays as it is.
    assert post(client, agent, filesystems=full).status_code == 202
    # Its number moves while it fires: the alert's title follows.
    assert post(client, agent, filesystems=[{"mount": "/", "used_percent": 97.0}]).status_code == 202
    db.session.expire_all()
    still = open_alerts(device_id, "disk_full")
    assert [a.id for a in still] == [opened[0].id] and "97 %" in still[0].message
    assert post(client, agent, filesystems=[{"mount": "/", "used_percent": 40.0}]).status_code == 202
    db.session.expire_all()
    assert open_alerts(device_id, "disk_full") == []
    assert db.session.get(Alert, opened[0].id).status == "resolved"


def test_a_service_change_on_a_warm_device_is_audited(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    device_id = agent["device_id"]
    response = post(client, agent, services=[{"name": "gvmd", "status": "failed", "enabled": True}])
    assert response.status_code == 202
    db.session.expire_all()
    row = db.session.scalar(sa.select(ServiceStatus).where(ServiceStatus.device_id == device_id))
    assert row.status == "failed"
    changes = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "device.state_changed",
                                                           AuditLog.resource_id == str(device_id))).all()
    assert any(c.details.get("service_changes") == [{"service": "gvmd", "from": "active", "to": "failed"}]
               for c in changes)
    assert stored(device_id) == 3


def test_an_offline_device_coming_back_takes_the_full_path(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    device = db.session.get(Device, agent["device_id"])
    device.status = "offline"
    db.session.commit()
    assert post(client, agent).status_code == 202
    db.session.expire_all()
    assert db.session.get(Device, agent["device_id"]).status == "active"
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "device.state_changed",
                                                       AuditLog.resource_id == str(agent["device_id"]))) is not None


def test_a_revoked_key_is_refused_on_the_next_heartbeat_after_fast_ones(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    for _ in range(2):
        assert post(client, agent).status_code == 202
    key = key_row(agent["device_id"])
    key.revoked_at = utcnow()
    db.session.commit()
    response = post(client, agent)
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_api_key"
    db.session.expire_all()
    assert stored(agent["device_id"]) == 4


def test_a_cold_key_is_read_once_and_counted_once(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    used = key_row(agent["device_id"]).usage_count
    tokens.device_keys.clear()  # another process, or the cache's entry expired
    with Statements() as statements:
        assert post(client, agent).status_code == 202
    if postgres():
        writes = [s for s in statements.seen if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))]
        assert len(writes) == 2, writes  # the key's read, then the heartbeat's one statement
    db.session.expire_all()
    assert key_row(agent["device_id"]).usage_count == used + 1
    assert tokens.device_keys.get(digest(agent["api_key"])) is not None
    assert stored(agent["device_id"]) == 3


def test_a_statement_that_falls_back_wrote_nothing_before_any_rollback(client, orgs):
    """In autocommit nothing would undo a write: when the guard sends the heartbeat to the
    full path, the statement itself must have written nothing, the key's usage count
    included (the full path counts it once)."""
    if not postgres():
        return
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    device_id = agent["device_id"]
    key = key_row(device_id)
    used, before = key.usage_count, stored(device_id)
    now = utcnow()
    data = heartbeat(services=[{"name": "gvmd", "status": "failed", "enabled": True}], timestamp=now.isoformat())
    clean = ingest.validate(data, now)
    with db.session.begin_nested():  # not rolled back: what the statement wrote stays visible
        result = heartbeat_fast.store(key_id=key.id, key_hash=digest(agent["api_key"]), device_id=device_id,
                                      org_id=orgs.a.org.id, key_ip=key.last_used_ip, public_ip=None,
                                      data=data, clean=clean, now=now)
    assert result is None  # a service changing status: the full path decides
    db.session.expire_all()
    assert key_row(device_id).usage_count == used and stored(device_id) == before
    assert db.session.get(Device, device_id).last_seen_at < now
    # The same heartbeat with nothing changing is stored, and counts the key once.
    data = heartbeat(timestamp=now.isoformat())
    with db.session.begin_nested():
        result = heartbeat_fast.store(key_id=key.id, key_hash=digest(agent["api_key"]), device_id=device_id,
                                      org_id=orgs.a.org.id, key_ip=key.last_used_ip, public_ip=None,
                                      data=data, clean=ingest.validate(data, now), now=now)
    assert result is not None
    db.session.expire_all()
    assert key_row(device_id).usage_count == used + 1 and stored(device_id) == before + 1


def test_a_heartbeat_after_a_fallback_counts_the_key_once(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    used = key_row(agent["device_id"]).usage_count
    assert post(client, agent, services=[{"name": "gvmd", "status": "failed", "enabled": True}]).status_code == 202
    db.session.expire_all()
    assert key_row(agent["device_id"]).usage_count == used + 1


def test_outside_a_transaction_the_statement_runs_alone_in_autocommit(app):
    """The session as a request has it (bound to the engine, nothing begun): the statement is
    sent on a connection in autocommit, so psycopg sends no BEGIN and no COMMIT, and a key
    that matches nothing falls back having written nothing (nothing here to roll back)."""
    with app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            db.session.remove()
            return
        seen: list[tuple[bool, str]] = []

        def record(conn, cursor, statement, parameters, context, executemany) -> None:
            seen.append((conn.connection.dbapi_connection.autocommit, statement))

        now = utcnow()
        data = heartbeat(timestamp=now.isoformat())
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            result = heartbeat_fast.store(key_id=-1, key_hash="0" * 64, device_id=-1, org_id=-1, key_ip=None,
                                          public_ip=None, data=data, clean=ingest.validate(data, now), now=now)
            assert not db.session().in_transaction()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
            db.session.remove()
        assert result is None
        assert len(seen) == 1 and seen[0][0] is True and "INSERT INTO heartbeats" in seen[0][1]
