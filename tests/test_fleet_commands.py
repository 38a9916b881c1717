"""Fleet commands: role tiers, second-admin approval, Ed25519 signatures over canonical JSON,
the agent's poll and reports (own device only), expiry, audit, pages and tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.fleet import commands
from app.fleet.signing import private_key_from_config, public_key
from app.models import AuditLog, Command, Device, db, utcnow
from tests.conftest import run_jobs
from tests.tenancy import assert_other_org_cannot_reach
from tests.test_fleet import bearer, enrolled
from vigil_agent.protocol import canonical_bytes, load_public_key, verify


def device_of(agent: dict) -> Device:
    return db.session.get(Device, agent["device_id"])


def queue(agent: dict, user, kind: str = "collect_diagnostics", payload: dict | None = None) -> Command:
    command = commands.issue(device_of(agent), kind, payload or {}, user)
    db.session.commit()
    return command


def poll(client, agent: dict):
    return client.get("/api/agent/commands", headers=bearer(agent["api_key"]))


def report(client, agent: dict, command_id: int, **body):
    return client.post(f"/api/agent/commands/{command_id}/result", json=body, headers=bearer(agent["api_key"]),
                       csrf=False)


# Signing ------------------------------------------------------------------------------------------

def test_canonical_json_is_stable_and_covers_exactly_the_signed_fields():
    a = {"id": 7, "device_id": 3, "type": "change_hostname", "payload": {"b": 1, "a": "é"},
         "expires_at": "2026-12-03T06:30:00Z", "nonce": "ab" * 16}
    b = dict(reversed(list(a.items())), signature="ignored", extra="ignored")
    assert canonical_bytes(a) == canonical_bytes(b)
    assert canonical_bytes(a) == ('{"device_id":3,"expires_at":"2026-12-03T06:30:00Z","id":7,"nonce":"'
                                  + "ab" * 16 + '","payload":{"a":"é","b":1},"type":"change_hostname"}').encode()
    with pytest.raises(ValueError):
        canonical_bytes({k: v for k, v in a.items() if k != "nonce"})


def test_the_signing_key_is_configurable_and_otherwise_derived(app):
    derived = private_key_from_config({"SECRET_KEY": "s1"})
    assert private_key_from_config({"SECRET_KEY": "s1"}).public_key() == derived.public_key()
    assert private_key_from_config({"SECRET_KEY": "s2"}).public_key() != derived.public_key()
    with pytest.raises(ValueError):
        private_key_from_config({"SECRET_KEY": "s1", "FLEET_SIGNING_KEY": "dG9vIHNob3J0"})


def test_enrolment_hands_out_the_key_that_verifies_commands(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    with client.application.app_context():
        assert agent["command_public_key"] == public_key()
    command = queue(agent, orgs.a.users["operator"], "restart_services", {"services": ["gvmd"]})
    body = poll(client, agent).json
    assert body["public_key"] == agent["command_public_key"]
    [item] = body["commands"]
    key = load_public_key(agent["command_public_key"])
    assert item["id"] == command.id and item["type"] == "restart_services" and item["payload"] == {"services": ["gvmd"]}
    assert verify(key, item, item["signature"])
    tampered = {**item, "payload": {"services": ["sshd"]}}
    assert not verify(key, tampered, item["signature"])
    assert not verify(key, {**item, "expires_at": "2030-01-01T00:00:00Z"}, item["signature"])
    assert not verify(key, item, "bm90IGEgc2lnbmF0dXJl")


# Tiers and approval --------------------------------------------------------------------------------

def test_role_tiers(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    device = device_of(agent)
    users = orgs.a.users
    commands.issue(device, "collect_diagnostics", {}, users["operator"])
    for role in ("read_only", "analyst"):
        with pytest.raises(commands.CommandError) as refused:
            commands.issue(device, "collect_diagnostics", {}, users[role])
        assert refused.value.status == 403
    with pytest.raises(commands.CommandError):
        commands.issue(device, "reboot", {}, users["operator"])
    assert commands.issue(device, "reboot", {}, users["admin"]).status == "pending"
    with pytest.raises(commands.CommandError) as bad:
        commands.issue(device, "change_hostname", {"hostname": "no spaces allowed"}, users["admin"])
    assert bad.value.status == 422
    with pytest.raises(commands.CommandError):
        commands.issue(device, "format_disk", {}, users["admin"])
    db.session.rollback()

    client.login(users["operator"].email)
    ok = client.post(f"/fleet/devices/{device.id}/commands", data={"command_type": "docker_prune"})
    assert ok.status_code == 303
    refused = client.post(f"/fleet/devices/{device.id}/commands", data={"command_type": "shutdown"})
    assert refused.status_code == 422  # not a choice offered to an operator
    client.post("/auth/logout")
    client.login(users["read_only"].email)
    page = client.get(f"/fleet/devices/{device.id}/commands")
    assert page.status_code == 200 and "Queue command" not in page.get_data(as_text=True)
    assert client.post(f"/fleet/devices/{device.id}/commands", data={"command_type": "docker_prune"}).status_code == 403
    kinds = db.session.scalars(sa.select(Command.command_type).where(Command.device_id == device.id)).all()
    assert sorted(kinds) == ["docker_prune"]


def test_recovery_needs_a_second_admin_before_the_agent_sees_it(client, orgs, app):
    from tests import factories

    agent = enrolled(client, orgs.a.org.id)
    first = orgs.a.users["admin"]
    second = factories.user(orgs.a.org.id, "admin", email="second-admin@example.test")
    db.session.commit()
    command = queue(agent, first, "boot_recovery")
    assert command.status == "awaiting_approval" and command.command_signature is None
    assert poll(client, agent).json["commands"] == []

    client.login(first.email)
    page = client.get(f"/fleet/devices/{command.device_id}/commands").get_data(as_text=True)
    assert "awaiting approval" in page and ">Approve<" not in page
    assert client.post(f"/fleet/commands/{command.id}/approve").status_code == 403
    client.post("/auth/logout")
    client.login(orgs.a.users["operator"].email)
    assert client.post(f"/fleet/commands/{command.id}/approve").status_code == 403
    client.post("/auth/logout")
    client.login(second.email)
    assert ">Approve<" in client.get(f"/fleet/devices/{command.device_id}/commands").get_data(as_text=True)
    assert client.post(f"/fleet/commands/{command.id}/approve").status_code == 303
    db.session.expire_all()
    command = db.session.get(Command, command.id)
    assert command.status == "pending" and command.approved_by_id == second.id
    assert timedelta(minutes=4) < command.expires_at - utcnow() <= timedelta(minutes=5)
    [item] = poll(client, agent).json["commands"]
    assert item["type"] == "boot_recovery" and verify(load_public_key(agent["command_public_key"]), item,
                                                      item["signature"])
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.resource_type == "command",
                                                                  AuditLog.resource_id == str(command.id))
                                 .order_by(AuditLog.id)).all()
    assert actions == ["command.issued", "command.approved", "command.fetched"]
    approval = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "command.approved"))
    assert approval.user_id == second.id and approval.ip_address and approval.user_agent is not None


# The agent's side ----------------------------------------------------------------------------------

def test_poll_and_report_lifecycle_with_bad_transitions(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    command = queue(agent, orgs.a.users["operator"])
    [item] = poll(client, agent).json["commands"]
    assert item["id"] == command.id
    assert report(client, agent, command.id, status="done").status_code == 422
    assert report(client, agent, command.id, status="failed").json["error"]["fields"] == {
        "error": "required when the status is failed"}
    assert report(client, agent, command.id, status="in_progress").status_code == 200
    assert poll(client, agent).json["commands"] == []  # no longer pending
    done = report(client, agent, command.id, status="completed", result={"uptime": 12})
    assert done.status_code == 200 and done.json["status"] == "completed"
    again = report(client, agent, command.id, status="in_progress")
    assert again.status_code == 409 and again.json["error"]["code"] == "bad_transition"
    db.session.expire_all()
    row = db.session.get(Command, command.id)
    assert row.result == {"uptime": 12} and row.completed_at is not None and row.picked_up_at is not None
    reported = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "command.reported")).all()
    assert len(reported) == 2 and all(a.actor_type == "agent" and a.ip_address for a in reported)
    issued = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "command.issued"))
    assert issued.user_id == orgs.a.users["operator"].id


def test_a_device_key_reaches_only_its_own_commands(client, orgs):
    mine = enrolled(client, orgs.a.org.id, serial="A1")
    sibling = enrolled(client, orgs.a.org.id, serial="A2", name="scanner-2")
    other_org = enrolled(client, orgs.b.org.id, serial="B1", name="b-1")
    theirs = queue(sibling, orgs.a.users["operator"])
    foreign = queue(other_org, orgs.b.users["operator"])
    assert poll(client, mine).json["commands"] == []
    for command in (theirs, foreign):
        response = report(client, mine, command.id, status="completed")
        assert response.status_code == 404
    db.session.expire_all()
    assert {db.session.get(Command, c.id).status for c in (theirs, foreign)} == {"pending"}
    # A user's API key, even with the scope, is not a device key.
    from app.api.tokens import create_api_key

    user_key, _ = create_api_key(orgs.a.users["admin"], orgs.a.org.id, "x", ["events:read"], None)
    db.session.commit()
    assert client.get("/api/agent/commands", headers=bearer(user_key)).status_code == 403


def test_expired_commands_are_not_fetched_and_the_job_expires_them(app, client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    stale = queue(agent, orgs.a.users["operator"])
    fresh = queue(agent, orgs.a.users["operator"], "docker_prune")
    unapproved = queue(agent, orgs.a.users["admin"], "boot_recovery")
    db.session.execute(sa.update(Command).where(Command.id.in_([stale.id, unapproved.id]))
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert [c["id"] for c in poll(client, agent).json["commands"]] == [fresh.id]
    late = report(client, agent, stale.id, status="completed")
    assert late.status_code == 409 and late.json["error"]["code"] == "command_expired"
    # Fetched while valid, reported after the expiry: the report is accepted.
    db.session.execute(sa.update(Command).where(Command.id == fresh.id).values(
        picked_up_at=utcnow() - timedelta(seconds=10), expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert report(client, agent, fresh.id, status="in_progress").status_code == 200
    assert commands.has_stale_commands()
    from app.jobs import enqueue

    enqueue("fleet.expire_commands", org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    assert [db.session.get(Command, c.id).status for c in (stale, fresh, unapproved)] == [
        "expired", "in_progress", "expired"]
    assert not commands.has_stale_commands()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "command.expired")) == 2


def test_cancel_and_tenancy_of_the_pages(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    other = enrolled(client, orgs.b.org.id, serial="B1", name="b-1")
    mine = queue(agent, orgs.a.users["operator"])
    theirs = queue(other, orgs.b.users["admin"], "boot_recovery")
    client.login(orgs.a.users["admin"].email)
    assert client.post(f"/fleet/commands/{mine.id}/cancel").status_code == 303
    db.session.expire_all()
    assert db.session.get(Command, mine.id).status == "canceled"
    queue_html = client.get(f"/fleet/devices/{agent['device_id']}/commands/queue",
                            headers={"HX-Request": "true"}).get_data(as_text=True)
    assert queue_html.lstrip().startswith('<div class="card" id="command-queue"') and "canceled" in queue_html
    assert "Send a command" not in queue_html
    assert client.post(f"/fleet/commands/{mine.id}/cancel").status_code == 409
    assert_other_org_cannot_reach(client, [
        ("GET", f"/fleet/devices/{other['device_id']}/commands"),
        ("GET", f"/fleet/devices/{other['device_id']}/commands/queue"),
        ("POST", f"/fleet/devices/{other['device_id']}/commands"),
        ("POST", f"/fleet/commands/{theirs.id}/approve"),
        ("POST", f"/fleet/commands/{theirs.id}/cancel"),
    ])
    db.session.expire_all()
    assert db.session.get(Command, theirs.id).status == "awaiting_approval"


def test_old_finished_commands_are_pruned_and_their_audit_stays(app, client, orgs):
    from app.jobs import enqueue

    agent = enrolled(client, orgs.a.org.id)
    old_done, old_pending, recent_done = (queue(agent, orgs.a.users["operator"], kind).id
                                          for kind in ("collect_diagnostics", "docker_prune", "run_backup"))
    long_ago = utcnow() - timedelta(days=91)
    db.session.execute(sa.update(Command).where(Command.id.in_([old_done, old_pending]))
                       .values(created_at=long_ago))
    db.session.execute(sa.update(Command).where(Command.id.in_([old_done, recent_done]))
                       .values(status="completed"))
    db.session.commit()
    assert commands.has_old_commands()
    enqueue("fleet.prune_commands", org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    left = db.session.scalars(sa.select(Command.id).where(Command.device_id == agent["device_id"])).all()
    assert sorted(left) == sorted([old_pending, recent_done])  # a pending command is never pruned
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "command.issued",
                                                       AuditLog.resource_id == str(old_done))) is not None
    assert not commands.has_old_commands()
