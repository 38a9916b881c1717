"""Backups with real restic: the real agent against a real Vigil server on 127.0.0.1 and a
restic repository in a temporary directory. A backup is reported in progress then
completed with restic's numbers, the repository password travels sealed and is never in
the clear anywhere, a restore test restores and checksums a sample, retention forgets
exactly the snapshots the dry run listed, and what cannot work says so."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from app.fleet import backup_repository, backups, commands
from app.models import AuditLog, BackupConfig, BackupSnapshot, Command, Device, db
from tests.test_agent import new_code, server  # noqa: F401 - the real-server fixture
from vigil_agent.collect import HostCollector
from vigil_agent.config import StateFile
from vigil_agent.runner import Agent

pytestmark = pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed (apt-get install restic)")
PASSWORD = "correct-horse-battery-staple-19"


def restic_ids(repo) -> list[str]:
    done = subprocess.run(["restic", "snapshots", "--json"], env={**os.environ, "RESTIC_REPOSITORY": str(repo),
                                                                   "RESTIC_PASSWORD": PASSWORD},
                          capture_output=True, text=True, check=True)
    return sorted(s["id"] for s in json.loads(done.stdout))


@pytest.fixture()
def host(server, orgs, tmp_path):  # noqa: F811 - pytest fixture injection
    """An enrolled agent whose device backs up tmp/data (without *.tmp) into tmp/repo."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("hello")
    (data / "sub" / "b.txt").write_text("world!")
    (data / "skip.tmp").write_text("not wanted")
    _, code = new_code(orgs.a.org.id)
    agent = Agent(server, StateFile(tmp_path / "state" / "agent.json"), HostCollector())
    agent.ensure_enrolled(code)
    device = db.session.get(Device, agent.state.device_id)
    backups.save_config(device, {**backups.default_values(), "enabled": True, "backup_mode": "file",
                                 "repository": str(tmp_path / "repo"), "backup_paths": [str(data)],
                                 "exclude_patterns": ["*.tmp"]}, None, secrets={"repository_password": PASSWORD})
    db.session.commit()
    return agent, device, tmp_path


def run_backup(agent, device) -> Command:
    command = commands.issue(device, "run_backup", {}, None, actor_label="test")
    db.session.commit()
    assert agent.poll() == ["completed"], db.session.get(Command, command.id).error_message
    db.session.expire_all()
    return db.session.get(Command, command.id)


def test_a_backup_is_made_with_restic_and_reported_in_progress_then_completed(host, caplog):
    agent, device, tmp = host
    caplog.set_level(logging.DEBUG, logger="vigil.agent")
    command = run_backup(agent, device)
    [snap] = db.session.scalars(sa.select(BackupSnapshot).where(BackupSnapshot.device_id == device.id)).all()
    assert restic_ids(tmp / "repo") == [snap.snapshot_id] or restic_ids(tmp / "repo")[0].startswith(snap.snapshot_id)
    assert (snap.status, snap.backup_method, snap.backup_type, snap.command_id) == ("completed", "restic", "file", command.id)
    assert (snap.file_count, snap.size_bytes) == (2, 11)  # a.txt + sub/b.txt; skip.tmp excluded
    assert snap.duration_seconds is not None and snap.encrypted and snap.storage_path == str(tmp / "repo")
    assert "snapshot" in snap.logs and command.result["snapshot_id"] == snap.snapshot_id
    reported = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "backup.reported",
                                                            AuditLog.resource_id == str(snap.id))
                                  .order_by(AuditLog.id)).all()
    assert [r.new_values["status"] for r in reported] == ["in_progress", "completed"]
    # The password is sealed to the device: not in the stored command, the audit trail,
    # the catalog or the agent's log; the sealed blob is not the Fernet value at rest either.
    config = db.session.get(BackupConfig, device.id)
    assert PASSWORD not in config.repository_password_sealed
    assert PASSWORD not in json.dumps(command.command_payload) and command.command_payload["secrets"]
    audits = db.session.scalars(sa.select(AuditLog)).all()
    assert not any(PASSWORD in json.dumps([a.old_values, a.new_values, a.details], default=str) for a in audits)
    assert PASSWORD not in (snap.logs or "") and PASSWORD not in caplog.text


def test_restore_test_restores_a_sample_and_compares_checksums(host, orgs):
    agent, device, tmp = host
    run_backup(agent, device)
    snap = db.session.scalar(sa.select(BackupSnapshot).where(BackupSnapshot.device_id == device.id))
    (tmp / "data" / "a.txt").write_text("changed since the snapshot")  # compared with the repository's copy
    command = backup_repository.request_restore_test(snap, orgs.a.users["operator"])
    db.session.commit()
    assert agent.poll() == ["completed"]
    db.session.expire_all()
    snap = db.session.get(BackupSnapshot, snap.id)
    assert (snap.restore_tested, snap.restore_result) == (True, "passed") and snap.last_verified_at
    assert db.session.get(Command, command.id).result["files_checked"] == 2
    assert not list(tmp.glob("vigil-restore-*"))


def test_retention_forgets_exactly_the_snapshots_the_dry_run_listed(host):
    agent, device, tmp = host
    for n in range(3):
        (tmp / "data" / f"new-{n}.txt").write_text(str(n))
        run_backup(agent, device)
    config = db.session.get(BackupConfig, device.id)
    config.retention_count, config.keep_daily, config.keep_weekly, config.keep_monthly = 1, 0, 0, 0
    db.session.commit()
    listed = sorted(s.snapshot_id for s in backups.retention_plan(device).expire)
    assert len(listed) == 2
    backups.apply_retention(device)
    db.session.commit()
    forget = db.session.scalar(sa.select(Command).where(Command.command_type == "forget_snapshots"))
    assert sorted(forget.command_payload["snapshot_ids"]) == listed and forget.command_signature
    assert agent.poll() == ["completed"]
    db.session.expire_all()
    [kept] = restic_ids(tmp / "repo")
    assert not any(kept.startswith(s) for s in listed)
    assert sorted(db.session.get(Command, forget.id).result["forgotten"]) == listed


def test_missing_restic_unsupported_modes_and_a_switched_off_backup_say_so(host, monkeypatch):
    agent, device, tmp = host
    empty = tmp / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    command = commands.issue(device, "run_backup", {}, None, actor_label="test")
    db.session.commit()
    assert agent.poll() == ["failed"]
    db.session.expire_all()
    assert "restic is not installed" in db.session.get(Command, command.id).error_message
    snap = db.session.scalar(sa.select(BackupSnapshot).where(BackupSnapshot.command_id == command.id))
    assert snap.status == "failed" and "restic is not installed" in snap.error_message
    monkeypatch.undo()

    config = db.session.get(BackupConfig, device.id)
    config.backup_mode, config.full_disk_method = "full_disk", "online_lvm"
    db.session.commit()
    command = commands.issue(device, "run_backup", {}, None, actor_label="test")
    db.session.commit()
    assert agent.poll() == ["failed"]
    db.session.expire_all()
    assert "not supported by this agent" in db.session.get(Command, command.id).error_message

    (tmp / "state" / "policy.toml").write_text("[actions]\nrun_backup = false\n")
    before = db.session.scalar(sa.select(sa.func.count(BackupSnapshot.id)))
    command = commands.issue(device, "run_backup", {}, None, actor_label="test")
    db.session.commit()
    assert agent.poll() == ["disabled"]
    db.session.expire_all()
    assert "switched off" in db.session.get(Command, command.id).error_message
    assert db.session.scalar(sa.select(sa.func.count(BackupSnapshot.id))) == before
    assert not (tmp / "repo" / "snapshots").exists() or len(restic_ids(tmp / "repo")) == 0


def test_a_damaged_repository_fails_the_restore_test(host, orgs):
    agent, device, tmp = host
    run_backup(agent, device)
    snap = db.session.scalar(sa.select(BackupSnapshot).where(BackupSnapshot.device_id == device.id))
    for pack in (tmp / "repo" / "data").rglob("*"):
        if pack.is_file():
            pack.chmod(0o644)
            raw = pack.read_bytes()
            # Every blob damaged (the pack's trailing header length kept, so restic reads it).
            pack.write_bytes(bytes(b ^ 0x5A for b in raw[:-4]) + raw[-4:])
    command = backup_repository.request_restore_test(snap, orgs.a.users["operator"])
    db.session.commit()
    assert agent.poll() == ["failed"]
    db.session.expire_all()
    snap = db.session.get(BackupSnapshot, snap.id)
    assert (snap.restore_tested, snap.restore_result) == (True, "failed")
    assert "restore test failed" in db.session.get(Command, command.id).error_message
