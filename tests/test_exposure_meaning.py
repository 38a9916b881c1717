"""What a breach file means, through the pages and the real job worker: findings on the
organization's domains, users and monitored e-mails; a leaked password still in use (critical
event, forced change, one notification); shared passwords by HMAC; never a plaintext password
anywhere; permissions and tenant isolation of every page."""

from __future__ import annotations

import io
import logging

import pytest
import sqlalchemy as sa

from app.exposure import services
from app.models import JobRun, Notification, SecurityEvent, User, db, utcnow
from app.models.exposure import BreachFileResult, MonitoredEmail, UploadedBreachFile
from tests.conftest import run_jobs
from tests.exposure_fakes import database_text
from tests.factories import PASSWORD
from tests.tenancy import assert_other_org_cannot_reach

SHARED = "Shared-Leak-Pw-7731"
SECRETS = ("Unique-Leak-Pw-0042", SHARED, "monitored-Pw-9", PASSWORD, "café-Latin1-Pw")


@pytest.fixture()
def instance(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    return tmp_path


@pytest.fixture()
def acme(orgs):
    orgs.a.org.primary_domain = "acme.test"
    db.session.add(MonitoredEmail(org_id=orgs.a.org.id, email_address="watch@elsewhere.test",
                                  monitor_scope="company", confirmed_at=utcnow()))
    db.session.commit()
    return orgs


def combolist(victim: User) -> bytes:
    text = (f"{victim.email}:{PASSWORD}\n"
            f"alice@acme.test:{SECRETS[0]}\n"
            f"bob@acme.test : {SHARED}\n"
            f"carol@acme.test;{SHARED}\n"
            f"watch@elsewhere.test|{SECRETS[2]}\n"
            f"stranger@nowhere.test:{SHARED}\n"
            "garbage line without separator\n")
    return text.encode() + f"dave@acme.test:{SECRETS[4]}\n".encode("latin-1")


def upload(client, data: bytes, name: str = "leak.txt"):
    return client.post("/exposure/uploads", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def only_upload(org_id: int) -> UploadedBreachFile:
    return db.session.scalar(sa.select(UploadedBreachFile).where(UploadedBreachFile.org_id == org_id)
                             .order_by(UploadedBreachFile.id.desc()).limit(1))


def test_upload_job_findings_and_leaked_password_in_use(app, client, acme, instance, redis_conn):
    victim = acme.a.users["operator"]
    client.login(acme.a.users["analyst"].email)
    response = upload(client, combolist(victim))
    assert response.status_code == 303
    row = only_upload(acme.a.org.id)
    run = db.session.get(JobRun, row.job_run_id)
    assert run.kind == "exposure.import" and run.params == {"upload_id": row.id}
    fragment = client.get("/exposure/uploads", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'hx-trigger="every 3s"' in fragment.text
    run_jobs(app)
    db.session.expire_all()
    row = db.session.get(UploadedBreachFile, row.id)
    assert row.processing_status == "completed"
    assert (row.line_count, row.records_count, row.rejected_count, row.matched_count) == (8, 7, 1, 6)
    reasons = dict(db.session.execute(sa.select(BreachFileResult.email, BreachFileResult.match_reason)
                                      .where(BreachFileResult.org_id == acme.a.org.id)).all())
    assert reasons[victim.email] == "user" and reasons["alice@acme.test"] == "org_domain"
    assert reasons["watch@elsewhere.test"] == "monitored_email" and reasons["stranger@nowhere.test"] is None
    # The victim's current password was in the file.
    victim = db.session.get(User, victim.id)
    assert victim.must_change_password is True
    events = db.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.event_type == "leaked_password_in_use")).all()
    assert len(events) == 1 and events[0].severity == "critical" and events[0].user_id == victim.id
    notes = db.session.scalars(sa.select(Notification).where(Notification.event == "exposure.password_leaked")).all()
    assert len(notes) == 1 and notes[0].user_id == acme.a.users["admin"].id and notes[0].severity == "critical"
    detail = client.get(f"/exposure/uploads/{row.id}")
    assert "read=8 imported=7 duplicate=0 rejected=1 matched=6" in detail.text
    assert 'data-reject-line="7"' in detail.text and "current password" in detail.text
    # A second file holding the same credential adds nothing and notifies nobody again.
    again = upload(client, f"{victim.email}:{PASSWORD}\nnew@acme.test:x1\n".encode(), "second.txt")
    assert again.status_code == 303
    run_jobs(app)
    db.session.expire_all()
    second = only_upload(acme.a.org.id)
    assert (second.records_count, second.duplicate_count, second.matched_count) == (1, 1, 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.event == "exposure.password_leaked")) == 1
    # The same file again is recognised by its SHA-256.
    same = upload(client, combolist(victim))
    assert same.status_code == 422 and "already imported" in same.text
    # The victim must change the password at the next sign-in.
    client.post("/auth/logout")
    client.login(victim.email)
    assert "/auth/" in client.get("/exposure/").headers.get("Location", "")


def test_shared_password_shown_by_hmac_never_as_text(app, client, acme, instance, redis_conn):
    client.login(acme.a.users["analyst"].email)
    upload(client, combolist(acme.a.users["operator"]))
    run_jobs(app)
    page = client.get("/exposure/credentials")
    assert page.status_code == 200
    assert 'data-reused="P1"' in page.text and "bob@acme.test" in page.text and "carol@acme.test" in page.text
    assert "stranger@nowhere.test" not in page.text  # not this organization's account
    for secret in SECRETS:
        assert secret not in page.text
    overview = client.get("/exposure/")
    assert 'data-count="reused">1<' in overview.text and 'data-count="passwords_in_use">1<' in overview.text
    chart = services.breaches_over_time(acme.a.org.id)
    assert len(chart["labels"]) == 12 and chart["series"]["Credentials of this organization"][-1] == 6
    assert "data-chart-data" in overview.text and "data-coverage" in overview.text
    assert services.coverage(acme.a.org.id)["active"] == 1
    search = client.get("/exposure/credentials?q=acme.test", headers={"HX-Request": "true"})
    assert "<html" not in search.text and "alice@acme.test" in search.text and "watch@elsewhere" not in search.text


def test_no_plaintext_password_anywhere_after_import(app, client, acme, instance, redis_conn, caplog):
    caplog.set_level(logging.DEBUG)
    client.login(acme.a.users["analyst"].email)
    upload(client, combolist(acme.a.users["operator"]))
    run_jobs(app)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "exposure.import"))
    assert run.status == "succeeded"
    needles = [s.encode() for s in SECRETS] + [SECRETS[4].encode("latin-1")]
    # Every column of every table (job params and results, audit details, events, notifications).
    database = database_text().encode()
    assert b"acme.test" in database  # the dump really holds the imported rows
    # Every file left under instance/ (sealed raw upload, reject report).
    files = [p for p in (instance / "instance").rglob("*") if p.is_file()]
    assert any(p.suffix == ".sealed" for p in files) and any(p.name.endswith("-rejects.csv") for p in files)
    # Everything in Redis (RQ job payloads, progress hashes).
    redis_values = []
    for key in redis_conn.keys("*"):
        kind = redis_conn.type(key)
        if kind == b"string":
            redis_values.append(redis_conn.get(key) or b"")
        elif kind == b"hash":
            redis_values.extend(b"".join(pair) for pair in redis_conn.hgetall(key).items())
        elif kind == b"list":
            redis_values.extend(redis_conn.lrange(key, 0, -1))
    logs = caplog.text.encode()
    for needle in needles:
        assert needle not in database, needle
        assert needle not in logs, needle
        for path in files:
            assert needle not in path.read_bytes(), (needle, path)
        for value in redis_values:
            assert needle not in value, needle


def test_permissions_and_tenancy(app, client, acme, instance, redis_conn):
    client.login(acme.a.users["analyst"].email)
    upload(client, b"x@acme.test:pw1\nbad\n")
    run_jobs(app)
    row = only_upload(acme.a.org.id)
    client.post("/auth/logout")
    client.login(acme.a.users["read_only"].email)
    assert client.get("/exposure/").status_code == 200
    assert client.get("/exposure/uploads").status_code == 200
    detail = client.get(f"/exposure/uploads/{row.id}")
    assert detail.status_code == 200 and "x@acme.test" not in detail.text  # counts, not credentials
    assert client.get("/exposure/credentials").status_code == 403
    assert upload(client, b"y@acme.test:pw\n").status_code == 403
    assert client.post(f"/exposure/uploads/{row.id}/delete").status_code == 403
    client.post("/auth/logout")
    client.login(acme.b.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("GET", f"/exposure/uploads/{row.id}"), ("GET", f"/exposure/uploads/{row.id}/rejects.csv"),
        ("POST", f"/exposure/uploads/{row.id}/delete"),
    ])
    assert "x@acme.test" not in client.get("/exposure/credentials").text
    client.post("/auth/logout")
    client.login(acme.a.users["admin"].email)
    report = client.get(f"/exposure/uploads/{row.id}/rejects.csv")
    lines = report.data.decode().splitlines()
    report.close()
    assert report.status_code == 200
    assert lines == ["line,reason", "2,no separator (: ; | or tab) and not an e-mail address"]
    assert client.post(f"/exposure/uploads/{row.id}/delete").status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BreachFileResult).where(
        BreachFileResult.org_id == acme.a.org.id)) == 0


def test_upload_refusals_are_422(app, client, acme, instance):
    client.login(acme.a.users["analyst"].email)
    binary = upload(client, b"\x00\x01\x02\x03", "x.txt")
    assert binary.status_code == 422 and "refused" in binary.text and "binary" in binary.text
    missing = client.post("/exposure/uploads", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "Choose a file." in missing.text
    assert only_upload(acme.a.org.id) is None


def test_upload_over_the_limit(app, client, acme, instance, monkeypatch):
    monkeypatch.setitem(app.config, "EXPOSURE_MAX_UPLOAD_MB", 0.25)
    client.login(acme.a.users["analyst"].email)
    big = upload(client, b"x@acme.test:pw\n" * 30000)  # about 450 KB
    assert big.status_code == 413 and "upload limit of 0.25 MB" in big.text
    assert only_upload(acme.a.org.id) is None
    assert not list((instance / "instance").rglob("*.sealed"))
    assert upload(client, b"x@acme.test:pw\n").status_code == 303  # under the limit


@pytest.mark.parametrize("role", ["admin", "analyst", "read_only"])
def test_every_page_renders_for_each_role(app, client, acme, instance, redis_conn, role):
    client.login(acme.a.users["admin"].email)
    upload(client, b"x@acme.test:pw1\n")
    run_jobs(app)
    row = only_upload(acme.a.org.id)
    client.post("/auth/logout")
    client.login(acme.a.users[role].email)
    pages = {"/exposure/": 200, "/exposure/uploads": 200, f"/exposure/uploads/{row.id}": 200,
             "/exposure/monitored": 200, "/exposure/findings": 200, "/exposure/threat-actors": 200,
             "/exposure/credentials": 200 if role != "read_only" else 403,
             "/exposure/search": 200 if role != "read_only" else 403,
             "/exposure/profiles": 200 if role != "read_only" else 403,
             "/exposure/providers": 200 if role == "admin" else 403}
    for url, status in pages.items():
        response = client.get(url)
        assert response.status_code == status, f"{role} {url} {response.status_code}"
    nav = client.get("/exposure/").text
    assert "Exposure" in nav and ("Ghost search" in nav) == (role != "read_only")
    fragment = client.get(f"/exposure/uploads/{row.id}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="upload-status"' in fragment.text
