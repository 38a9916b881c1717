"""The fleet resources of the JSON API for operators (issue 13.6): devices with filters, one
device, its alerts, commands; scope refusal, another organization's id, pagination."""

from __future__ import annotations

import secrets
from datetime import timedelta

from app.models import Alert, Command, db, utcnow
from tests.test_api_registry import key, walk
from tests.test_metrics_live import device


def command(dev, status: str = "pending") -> Command:
    row = Command(org_id=dev.org_id, device_id=dev.id, command_type="restart_service", tier="safe",
                  command_payload={"service": "x"}, nonce=secrets.token_hex(16), command_signature="sig",
                  expires_at=utcnow() + timedelta(hours=1), status=status)
    db.session.add(row)
    db.session.flush()
    return row


def test_devices_page_through_once_and_filter(client, orgs):
    mine = [device(orgs.a.org.id, i, 1 if i % 2 else None, status="active" if i % 2 else "pending") for i in range(5)]
    theirs = device(orgs.b.org.id, 9, 1)
    db.session.commit()
    headers = key(orgs, ["fleet:read"], role="operator")
    assert walk(client, "/api/fleet/devices", headers) == sorted([d.id for d in mine], reverse=True)
    active = client.get("/api/fleet/devices?status=active", headers=headers).json["items"]
    assert {d["id"] for d in active} == {mine[1].id, mine[3].id} and all(d["online"] for d in active)
    found = client.get(f"/api/fleet/devices?q={mine[2].hostname}", headers=headers).json["items"]
    assert [d["id"] for d in found] == [mine[2].id]
    assert client.get("/api/fleet/devices?status=lost", headers=headers).status_code == 422
    assert client.get(f"/api/fleet/devices/{theirs.id}", headers=headers).status_code == 404
    assert client.get(f"/api/fleet/devices/{theirs.id}/alerts", headers=headers).status_code == 404
    assert client.get("/api/fleet/devices", headers=key(orgs, ["wireless:read"])).status_code == 403


def test_a_devices_alerts_and_commands_without_payloads(client, orgs):
    dev = device(orgs.a.org.id, 1, 1)
    other = device(orgs.b.org.id, 2, 1)
    for i in range(3):
        db.session.add(Alert(org_id=dev.org_id, device_id=dev.id, domain="fleet", alert_type="cpu_high",
                             severity="warning", target_key=f"device:{dev.id}", target_label="gw", message=f"m{i}"))
    sent = [command(dev, "completed" if i else "pending").id for i in range(4)]
    command(other)
    db.session.commit()
    headers = key(orgs, ["fleet:read"], role="operator")
    assert len(walk(client, f"/api/fleet/devices/{dev.id}/alerts", headers)) == 3
    assert walk(client, "/api/fleet/commands", headers) == sorted(sent, reverse=True)
    done = client.get(f"/api/fleet/commands?status=completed&device_id={dev.id}", headers=headers).json["items"]
    assert len(done) == 3 and all("payload" not in c and "signature" not in c for c in done)
