"""The JSON API's write resources of issue 13: bulk acknowledge of alerts, sending a signed
command to a device (the Commands tab's service) and uploading a wireless import (the
Imports page's steps, 202 with a status URL); scopes, tenancy, validation, audit."""

from __future__ import annotations

import io

import sqlalchemy as sa

from app.fleet.commands import envelope
from app.fleet.signing import signing_key
from app.models import Alert, AuditLog, Command, JobRun, WirelessImport, db
from app.models.wireless import DeviceSource
from tests.conftest import run_jobs
from tests.test_alerts_page import seeded
from tests.test_api_registry import key
from tests.test_metrics_live import device
from tests.test_wireless_import import instance  # noqa: F401 - the temporary instance folder
from tests.wireless_import_files import WIGLE_16
from vigil_agent.protocol import verify

# ---------------------------------------------------------------- alerts


def test_bulk_acknowledge_takes_only_this_organizations_open_alerts_it_may_see(client, orgs):
    rows = seeded(orgs)  # net (wireless, open), ioc (threats, acknowledged), cpu (fleet, open), old (resolved)
    headers = key(orgs, ["alerts:write"], role="analyst")
    ids = [rows["net"].id, rows["cpu"].id, rows["other"].id, rows["old"].id, rows["net"].id, 2**31 - 1]
    response = client.post("/api/alerts/acknowledge", json={"ids": ids}, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json == {"acknowledged": sorted([rows["net"].id, rows["cpu"].id]),
                             "skipped": [rows["other"].id, rows["old"].id, 2**31 - 1]}
    db.session.expire_all()
    assert db.session.get(Alert, rows["other"].id).status == "open"  # another organization's: untouched
    assert sorted(db.session.scalars(sa.select(AuditLog.resource_id).where(
        AuditLog.action == "alert.acknowledged"))) == sorted([str(rows["net"].id), str(rows["cpu"].id)])
    for bad in ({}, {"ids": []}, {"ids": ["x"]}, {"ids": [0]}, {"ids": list(range(1, 202))}, {"ids": 5},
                {"ids": [1], "note": "x"}):
        assert client.post("/api/alerts/acknowledge", json=bad, headers=headers).status_code == 422, bad
    assert client.post("/api/alerts/acknowledge", json={"ids": [rows["cpu"].id]},
                       headers=key(orgs, ["alerts:read"], role="analyst")).status_code == 403
    # A read-only user's key cannot hold alerts:write (data.write), and threats alerts need threats.view.
    assert client.post("/api/alerts/acknowledge", json={"ids": [rows["cpu"].id]},
                       headers=key(orgs, ["alerts:write"], role="read_only")).status_code == 403
    operator = key(orgs, ["alerts:write"], role="operator")
    db.session.execute(sa.update(Alert).where(Alert.id == rows["ioc"].id).values(status="open"))
    db.session.commit()
    skipped = client.post("/api/alerts/acknowledge", json={"ids": [rows["ioc"].id]}, headers=operator).json
    assert skipped == {"acknowledged": [], "skipped": [rows["ioc"].id]}


# ---------------------------------------------------------------- fleet commands

def test_a_command_sent_through_the_api_is_signed_tiered_and_audited(client, orgs):
    dev = device(orgs.a.org.id, 1, 1)
    theirs = device(orgs.b.org.id, 2, 1)
    unenrolled = device(orgs.a.org.id, 3, None, enrolled_at=None, status="pending")
    db.session.commit()
    operator = key(orgs, ["fleet:write", "fleet:read"], role="operator")
    response = client.post(f"/api/fleet/devices/{dev.id}/commands", json={"type": "restart_services",
                                                                          "services": ["gvmd", "ospd"]},
                           headers=operator)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "pending" and body["tier"] == "safe" and "payload" not in body
    command = db.session.get(Command, body["id"])
    assert command.command_payload == {"services": ["gvmd", "ospd"]}
    assert verify(signing_key().public_key(), envelope(command), command.command_signature)  # as the agent checks
    assert command.created_by_id == orgs.a.users["operator"].id
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "command.issued"))
    assert audit.user_id == orgs.a.users["operator"].id and audit.resource_id == str(command.id)
    # The role's tier: an operator cannot reboot; an admin can, and recovery waits for a second admin.
    assert client.post(f"/api/fleet/devices/{dev.id}/commands", json={"type": "reboot"},
                       headers=operator).status_code == 403
    admin = key(orgs, ["fleet:write"], role="admin")
    recovery = client.post(f"/api/fleet/devices/{dev.id}/commands", json={"type": "boot_recovery"}, headers=admin)
    assert recovery.status_code == 201 and recovery.json["status"] == "awaiting_approval"
    # Validation: the type's own parameters only, the page's rules.
    for bad in ({"type": "change_hostname", "hostname": "bad host!"}, {"type": "reboot", "hostname": "x"},
                {"type": "forget_snapshots"}, {"type": "nope"}, {}, {"type": "restart_services", "services": "x"}):
        assert client.post(f"/api/fleet/devices/{dev.id}/commands", json=bad,
                           headers=admin).status_code == 422, bad
    assert client.post(f"/api/fleet/devices/{unenrolled.id}/commands", json={"type": "update_agent"},
                       headers=admin).status_code == 409
    assert client.post(f"/api/fleet/devices/{theirs.id}/commands", json={"type": "update_agent"},
                       headers=admin).status_code == 404
    assert client.post(f"/api/fleet/devices/{dev.id}/commands", json={"type": "update_agent"},
                       headers=key(orgs, ["fleet:read"], role="admin")).status_code == 403
    # An analyst's role has no command tier, so a key of theirs cannot hold fleet:write.
    assert client.post(f"/api/fleet/devices/{dev.id}/commands", json={"type": "update_agent"},
                       headers=key(orgs, ["fleet:write"], role="analyst")).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Command.id)).where(Command.org_id == orgs.b.org.id)) == 0


# ---------------------------------------------------------------- wireless imports

def test_uploading_an_import_queues_it_and_its_status_url_follows_it(app, client, orgs, instance, redis_conn):  # noqa: F811
    headers = key(orgs, ["wireless:write", "wireless:read"], role="analyst")
    with open(WIGLE_16, "rb") as fh:
        response = client.post("/api/wireless/imports", headers=headers, content_type="multipart/form-data",
                               data={"file": (io.BytesIO(fh.read()), WIGLE_16.name), "new_source": "pixel-7"})
    assert response.status_code == 202, response.json
    started = response.json
    assert started["status"] == "queued" and started["format"] == "wigle_csv"
    assert started["status_url"] == f"/api/wireless/imports/{started['id']}"
    imp = db.session.get(WirelessImport, started["id"])
    assert imp.org_id == orgs.a.org.id and imp.stored_path.startswith(str(instance))
    assert db.session.get(JobRun, started["job_run_id"]).kind == "wireless.import"
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "wireless.import_started")).user_id == \
        orgs.a.users["analyst"].id
    run_jobs(app)
    done = client.get(started["status_url"], headers=headers)
    assert done.status_code == 200 and done.json["status"] == "succeeded" and done.json["rows_imported"] == 124
    assert client.get(started["status_url"], headers=key(orgs, ["wireless:read"], org="b")).status_code == 404


def test_an_upload_is_refused_cleanly_without_scope_format_or_source(client, orgs, instance):  # noqa: F811
    headers = key(orgs, ["wireless:write"], role="analyst")

    def send(data, who=headers):
        return client.post("/api/wireless/imports", headers=who, content_type="multipart/form-data", data=data)

    not_a_file = send({"file": (io.BytesIO(b"hello, world\n"), "notes.txt")})
    assert not_a_file.status_code == 422 and not_a_file.json["error"]["fields"].keys() == {"file"}
    with open(WIGLE_16, "rb") as fh:
        raw = fh.read()
    assert send({"new_source": "x"}).status_code == 422  # no file
    assert send({"file": (io.BytesIO(raw), "w.csv"), "other": "1"}).status_code == 422  # unknown field
    assert send({"file": (io.BytesIO(raw), "w.csv"), "source_id": "abc"}).status_code == 422
    theirs = client.post("/api/wireless/imports", headers=headers, json={"file": "x"})
    assert theirs.status_code == 422  # JSON is not a multipart upload
    other = DeviceSource(org_id=orgs.b.org.id, code="b-phone", name="b-phone", device_type="wigle")
    db.session.add(other)
    db.session.commit()
    foreign = send({"file": (io.BytesIO(raw), "w.csv"), "source_id": str(other.id)})
    assert foreign.status_code == 422 and "source" in foreign.json["error"]["message"]
    assert send({"file": (io.BytesIO(raw), "w.csv")}, key(orgs, ["wireless:read"], role="analyst")).status_code == 403
    assert send({"file": (io.BytesIO(raw), "w.csv")}, key(orgs, ["wireless:write"], role="read_only")).status_code \
        == 403
    assert db.session.scalar(sa.select(sa.func.count(WirelessImport.id))) == 0
    leftovers = list((instance / "instance").rglob("*.upload")) if (instance / "instance").exists() else []
    assert leftovers == []  # nothing kept of a refused file
