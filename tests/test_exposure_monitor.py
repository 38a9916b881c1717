"""Monitored e-mails: own-domain addresses at once, others after the owner's signed link
(sent over SMTP to a local sink), the scheduled recheck through the real worker against the
fake breach services and the local corpus, severities, once-only notification, tenancy."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes

import pytest
import sqlalchemy as sa

from app.exposure import importer, monitoring, uploads
from app.exposure.providers.base import Hit
from app.jobs import enqueue
from app.models import AuditLog, Notification, db, utcnow
from app.models.exposure import MonitoredEmail, MonitoredEmailFinding
from tests.conftest import run_jobs
from tests.exposure_fakes import GITHUB_ITEM, FakeServices, hibp_routes
from tests.fakes import start_smtp
from tests.tenancy import assert_other_org_cannot_reach


@pytest.fixture()
def mail(app, monkeypatch):
    sink, controller = start_smtp()
    for name, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", sink.port), ("SMTP_SENDER", "vigil@test.example")):
        monkeypatch.setitem(app.config, name, value)
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture()
def acme(orgs):
    orgs.a.org.primary_domain = "acme.test"
    orgs.a.org.domains = ["acme-corp.test"]
    db.session.commit()
    return orgs


@pytest.fixture()
def services(app, monkeypatch, tmp_path):
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    fake = FakeServices(hibp_routes())
    for key, path in (("HIBP", "/hibp"), ("XPOSEDORNOT", "/xon"), ("LEAKCHECK", "/leakcheck"),
                      ("PSBDMP", "/psbdmp"), ("GITHUB", "/github")):
        monkeypatch.setitem(app.config, f"EXPOSURE_{key}_URL", fake.url + path)
    yield fake
    fake.close()


def monitored(org_id: int) -> dict[str, MonitoredEmail]:
    return {m.email_address: m for m in db.session.scalars(sa.select(MonitoredEmail).where(
        MonitoredEmail.org_id == org_id, MonitoredEmail.deleted_at.is_(None)))}


def test_own_domain_at_once_others_after_signed_link(app, client, acme, mail):
    client.login(acme.a.users["admin"].email)
    assert client.post("/exposure/monitored", data={"email_address": "CEO@acme.test", "monitor_scope": "company"}
                       ).status_code == 303
    assert client.post("/exposure/monitored", data={"email_address": "cfo@acme-corp.test", "monitor_scope": "admin"}
                       ).status_code == 303
    assert client.post("/exposure/monitored", data={"email_address": "friend@gmail.test", "monitor_scope": "analyst"}
                       ).status_code == 303
    rows = monitored(acme.a.org.id)
    assert rows["ceo@acme.test"].confirmed_at and rows["cfo@acme-corp.test"].confirmed_at
    assert rows["friend@gmail.test"].confirmed_at is None
    [envelope] = mail.envelopes
    assert envelope.rcpt_tos == ["friend@gmail.test"]
    body = message_from_bytes(envelope.content).get_payload(decode=True).decode()
    token = re.search(r"/exposure/monitored/confirm/(\S+)", body).group(1)
    duplicate = client.post("/exposure/monitored", data={"email_address": "ceo@acme.test", "monitor_scope": "company"})
    assert duplicate.status_code == 422 and "already monitored" in duplicate.text
    client.post("/auth/logout")
    # The owner is not a Vigil user: the link works signed out; a GET only shows the question.
    page = client.get(f"/exposure/monitored/confirm/{token}")
    assert page.status_code == 200 and "I agree" in page.text
    db.session.expire_all()
    assert monitored(acme.a.org.id)["friend@gmail.test"].confirmed_at is None
    done = client.post(f"/exposure/monitored/confirm/{token}")
    assert done.status_code == 200 and "data-confirmed" in done.text
    db.session.expire_all()
    assert monitored(acme.a.org.id)["friend@gmail.test"].confirmed_at is not None
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "exposure.monitor_confirmed")) is not None
    assert client.get(f"/exposure/monitored/confirm/{token}x").status_code == 400


def test_recheck_job_finds_once_and_notifies_once(app, client, acme, services, redis_conn):
    org = acme.a.org.id
    client.login(acme.a.users["admin"].email)
    client.post("/exposure/providers/hibp", data={"hibp-secret": "hibp-key-0123456789"})
    client.post("/exposure/monitored", data={"email_address": "jane@acme.test", "monitor_scope": "company"})
    client.post("/exposure/monitored", data={"email_address": "nobody@acme.test", "monitor_scope": "company"})
    row = uploads.receive(org, None, "leak.txt", [b"jane@acme.test:Leaked-Pw-1\n"])
    db.session.commit()
    importer.run_import(row.id)
    assert monitoring.has_due_addresses()
    enqueue("exposure.recheck_monitored", org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    findings = db.session.scalars(sa.select(MonitoredEmailFinding).where(MonitoredEmailFinding.org_id == org)).all()
    by_name = {(f.source, f.breach_name): f for f in findings}
    assert by_name[("hibp", "Adobe")].severity == "high"  # passwords leaked
    assert by_name[("local", "leak.txt")].severity == "high" and by_name[("local", "leak.txt")].finding_type == "credential_leak"
    assert by_name[("hibp", "syslog")].finding_type == "paste"
    assert by_name[("xposedornot", "Canva")].severity == "low"
    # The paste search is asked too (issue 15): its two pastes for jane are findings of their own.
    assert by_name[("psbdmp", "Paste Xy12AbCd (mail)")].severity == "high"  # a combolist line: credentials
    assert by_name[("psbdmp", "Paste Qw34ErTy")].finding_type == "paste"
    assert all(f.notified and f.notified_at for f in findings)
    assert {m.email_address: m.findings_count for m in monitored(org).values()} == {"jane@acme.test": len(findings),
                                                                                     "nobody@acme.test": 0}
    notes = db.session.scalars(sa.select(Notification).where(Notification.event == "exposure.monitored_finding")).all()
    assert len(notes) == 1 and notes[0].severity == "critical"
    assert not monitoring.has_due_addresses()
    # Due again: the same breaches are found again, nothing is added and nobody is told twice.
    for m in monitored(org).values():
        m.last_checked = utcnow() - timedelta(hours=25)
    db.session.commit()
    enqueue("exposure.recheck_monitored", org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MonitoredEmailFinding)) == len(findings)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.event == "exposure.monitored_finding")) == 1
    page = client.get("/exposure/findings")
    assert page.status_code == 200 and "Adobe" in page.text and "jane@acme.test" in page.text


def recheck_all(app) -> None:
    enqueue("exposure.recheck_monitored", org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()


def test_recheck_asks_every_configured_source_and_keeps_a_paste_once(app, client, acme, monkeypatch, redis_conn):
    """Issue 15: the paste search (and GitHub once its key is stored) are asked by the recheck;
    a paste is one finding per (source, paste id, address) even when its tags change."""
    pastes = {"answer": [
        {"id": "Mn78GhJk", "tags": "mail", "length": 900, "time": "2021-03-02 10:00:00",
         "text": "fresh combo\njane@acme.test:Paste-Monitor-Pw-77\n"},
        {"id": "Po90LkJh", "tags": "", "length": 120, "time": "2020-01-05 09:00:00",
         "text": "ask jane@acme.test about the invoice"},
    ]}
    routes = {**hibp_routes(),
              "/psbdmp/v3/search/": lambda path: (200, {}, [] if "nobody" in path else pastes["answer"]),
              "/github/search/code": lambda path: (200, {}, {"total_count": 1, "incomplete_results": False,
                                                            "items": [] if "nobody" in path else [GITHUB_ITEM]})}
    fake = FakeServices(routes)
    try:
        for key, path in (("HIBP", "/hibp"), ("XPOSEDORNOT", "/xon"), ("LEAKCHECK", "/leakcheck"),
                          ("PSBDMP", "/psbdmp"), ("GITHUB", "/github")):
            monkeypatch.setitem(app.config, f"EXPOSURE_{key}_URL", fake.url + path)
        org = acme.a.org.id
        client.login(acme.a.users["admin"].email)
        assert client.post("/exposure/providers/github", data={"github-secret": "ghp_" + "b" * 36}).status_code == 303
        client.post("/exposure/monitored", data={"email_address": "jane@acme.test", "monitor_scope": "company"})
        client.post("/exposure/monitored", data={"email_address": "nobody@acme.test", "monitor_scope": "company"})
        recheck_all(app)
        asked = [p for p, _ in fake.requests]
        assert "/psbdmp/v3/search/jane%40acme.test" in asked and "/psbdmp/v3/search/nobody%40acme.test" in asked
        assert any(p.startswith("/github/search/code") for p in asked)
        jane = monitored(org)["jane@acme.test"]
        rows = db.session.scalars(sa.select(MonitoredEmailFinding).where(
            MonitoredEmailFinding.monitored_email_id == jane.id)).all()
        pasted = {f.breach_name: f for f in rows if f.source == "psbdmp"}
        assert set(pasted) == {"Paste Mn78GhJk (mail)", "Paste Po90LkJh"}
        leak, mention = pasted["Paste Mn78GhJk (mail)"], pasted["Paste Po90LkJh"]
        assert leak.severity == "high" and leak.finding_type == "paste" and leak.details["data_classes"] == ["Passwords"]
        assert mention.severity == "low" and mention.details["data_classes"] == []  # old and without secrets
        assert leak.dedupe_key == monitoring.dedupe_key("psbdmp", "Mn78GhJk", "jane@acme.test")
        assert "Paste-Monitor-Pw-77" not in str(leak.details)  # the paste's password is masked
        [code] = [f for f in rows if f.source == "github"]
        assert code.finding_type == "code" and code.severity == "high"  # a password in the code
        assert all(f.notified and f.notified_at for f in rows)
        assert not db.session.scalars(sa.select(MonitoredEmailFinding).where(
            MonitoredEmailFinding.monitored_email_id == monitored(org)["nobody@acme.test"].id)).all()
        notes = sa.select(sa.func.count()).select_from(Notification).where(
            Notification.event == "exposure.monitored_finding")
        assert db.session.scalar(notes) == 1
        # Due again; the paste's tags changed (so did its title): still the same paste, nothing new.
        pastes["answer"] = [{**pastes["answer"][0], "tags": "mail,combo"}, pastes["answer"][1]]
        for m in monitored(org).values():
            m.last_checked = utcnow() - timedelta(hours=25)
        db.session.commit()
        recheck_all(app)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MonitoredEmailFinding).where(
            MonitoredEmailFinding.monitored_email_id == jane.id)) == len(rows)
        assert db.session.scalar(notes) == 1
        assert monitored(org)["jane@acme.test"].findings_count == len(rows)
    finally:
        fake.close()


def test_recheck_sources_are_every_email_source_but_vigils_own_records():
    assert set(monitoring.RECHECK_SOURCES) == {"local", "hibp", "xposedornot", "leakcheck", "github", "psbdmp"}


def test_severity_rules():
    today = utcnow().date()
    assert monitoring.severity(Hit("psbdmp", "paste", "P1", data_classes=["Credentials"])) == "high"
    assert monitoring.severity(Hit("psbdmp", "paste", "P2", data_classes=["Passwords"], date="2001-01-01")) == "high"
    assert monitoring.severity(Hit("psbdmp", "paste", "P3", date=today.isoformat())) == "medium"
    assert monitoring.severity(Hit("psbdmp", "paste", "P4", date="2001-01-01")) == "low"
    assert monitoring.severity(Hit("x", "breach", "A", data_classes=["Passwords"])) == "high"
    assert monitoring.severity(Hit("x", "breach", "B", count=2_000_000, date="2001-01-01")) == "medium"
    assert monitoring.severity(Hit("x", "breach", "C", count=10, date=today.isoformat())) == "medium"
    assert monitoring.severity(Hit("x", "breach", "D", count=10, date="2001-01-01")) == "low"


def test_permissions_and_tenancy(app, client, acme, mail):
    client.login(acme.a.users["analyst"].email)
    assert client.get("/exposure/monitored").status_code == 200
    assert client.post("/exposure/monitored", data={"email_address": "x@acme.test", "monitor_scope": "company"}
                       ).status_code == 403
    client.post("/auth/logout")
    client.login(acme.a.users["admin"].email)
    bad = client.post("/exposure/monitored", data={"email_address": "not an address", "monitor_scope": "company"})
    assert bad.status_code == 422 and "valid e-mail" in bad.text
    client.post("/exposure/monitored", data={"email_address": "x@acme.test", "monitor_scope": "company"})
    row = monitored(acme.a.org.id)["x@acme.test"]
    client.post("/auth/logout")
    client.login(acme.b.users["admin"].email)
    assert_other_org_cannot_reach(client, [("POST", f"/exposure/monitored/{row.id}/delete")])
    assert "x@acme.test" not in client.get("/exposure/monitored").text
    client.post("/auth/logout")
    client.login(acme.a.users["admin"].email)
    assert client.post(f"/exposure/monitored/{row.id}/delete").status_code == 303
    assert "x@acme.test" not in monitored(acme.a.org.id)


def test_scope_decides_who_sees_an_address_and_its_findings(app, client, acme):
    org = acme.a.org.id
    for address, scope in (("all@acme.test", "company"), ("soc@acme.test", "analyst"), ("ceo@acme.test", "admin")):
        row = monitoring.add(org, acme.a.users["admin"].id, address, scope)
        db.session.add(MonitoredEmailFinding(org_id=org, monitored_email_id=row.id, finding_type="breach", source="hibp",
                                             breach_name=f"Breach of {address}", severity="low",
                                             dedupe_key=monitoring.dedupe_key("hibp", "x", address)))
    db.session.commit()
    seen = {}
    for role in ("admin", "analyst", "read_only"):
        client.login(acme.a.users[role].email)
        monitored_page, findings_page = client.get("/exposure/monitored").text, client.get("/exposure/findings").text
        seen[role] = {a for a in ("all@acme.test", "soc@acme.test", "ceo@acme.test")
                      if f'data-monitored="{a}"' in monitored_page and a in findings_page}
        client.post("/auth/logout")
    assert seen == {"admin": {"all@acme.test", "soc@acme.test", "ceo@acme.test"},
                    "analyst": {"all@acme.test", "soc@acme.test"}, "read_only": {"all@acme.test"}}
