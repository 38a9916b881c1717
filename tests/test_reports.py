"""The report framework: generation as a job, storage with SHA-256, downloads, schedules, retention."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.models import AuditLog, Report, ReportSchedule, db
from app.reports import render, schedules, services
from app.reports.registry import REPORTS
from tests.conftest import run_jobs
from tests.fakes import start_smtp
from tests.tenancy import assert_other_org_cannot_reach


@pytest.fixture()
def instance(app, monkeypatch, tmp_path):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


@pytest.fixture()
def mail(app, monkeypatch):
    sink, controller = start_smtp()
    for name, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", sink.port), ("SMTP_SENDER", "vigil@test.example")):
        monkeypatch.setitem(app.config, name, value)
    try:
        yield sink
    finally:
        controller.stop()


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    return "\n".join(page.extract_text() for page in reader.pages)


def test_generate_download_and_audit(app, client, orgs, instance):
    admin = orgs.a.users["admin"]
    client.login(admin.email)
    response = client.post("/reports/generate", data={"kind": "executive", "month": "2026-11"})
    assert response.status_code == 303
    report = db.session.scalar(sa.select(Report).where(Report.org_id == orgs.a.org.id))
    assert report.status == "queued" and report.params["month"] == "2026-11"
    run_jobs(app)
    db.session.expire_all()
    report = db.session.get(Report, report.id)
    assert report.status == "ready", report
    assert (instance / "reports" / str(orgs.a.org.id) / str(report.id) / "report.pdf").is_file()
    page = client.get("/reports/").get_data(as_text=True)
    assert "Executive monthly report: November 2026" in page
    pdf = client.get(f"/reports/{report.id}/files/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["X-Content-SHA256"] == report.files["report.pdf"]["sha256"]
    text = pdf_text(pdf.data)
    for heading in ("Executive monthly report", "Cybersecurity Framework 2.0 scores", "State of each domain",
                    "Top risks", "Incidents"):
        assert heading in text
    csv = client.get(f"/reports/{report.id}/files/incidents.csv")
    assert csv.status_code == 200 and csv.data.startswith(b"Opened,Title,Severity")
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.resource_type == "report")).all()
    assert actions.count("report.generate") == 1 and actions.count("report.download") == 2


def test_other_org_and_tampered_files_are_404(app, client, orgs, instance):
    report = services.request_report(orgs.a.org.id, "executive", user_id=None, params={"month": "2026-10"})
    db.session.commit()
    run_jobs(app)
    client.login(orgs.b.users["admin"].email)
    assert_other_org_cannot_reach(client, [("GET", f"/reports/{report.id}/files/report.pdf")])
    client.login(orgs.a.users["admin"].email)
    assert client.get(f"/reports/{report.id}/files/../../etc.csv").status_code == 404
    path = instance / "reports" / str(orgs.a.org.id) / str(report.id) / "report.pdf"
    path.write_bytes(path.read_bytes() + b"tampered")
    assert client.get(f"/reports/{report.id}/files/report.pdf").status_code == 404


def test_read_only_sees_reports_but_cannot_generate(client, orgs, instance):
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/reports/").status_code == 200
    assert client.post("/reports/generate", data={"kind": "executive"}).status_code == 403


def test_invalid_form_is_422_and_saves_nothing(client, orgs, instance):
    client.login(orgs.a.users["admin"].email)
    assert client.post("/reports/generate", data={"kind": "executive", "month": "2026-13"}).status_code == 422
    assert client.post("/reports/generate", data={"kind": "nope"}).status_code == 422
    bad = client.post("/reports/schedules", data={"kind": "executive", "frequency": "weekly", "hour": "7",
                                                  "timezone": "Mars/Olympus", "recipients": "ceo@example.com"})
    assert bad.status_code == 422 and "Unknown time zone" in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Report.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(ReportSchedule.id))) == 0


def test_schedule_runs_in_its_time_zone_and_mails_the_pdf(app, client, orgs, instance, mail):
    client.login(orgs.a.users["admin"].email)
    response = client.post("/reports/schedules", data={
        "kind": "executive", "frequency": "monthly", "hour": "7", "timezone": "Australia/Sydney",
        "recipients": "ceo@example.com, cfo@example.com"})
    assert response.status_code == 303
    schedule = db.session.scalar(sa.select(ReportSchedule).where(ReportSchedule.org_id == orgs.a.org.id))
    # 07:00 in Sydney on the 1st is 20:00 or 21:00 UTC the day before.
    assert schedule.next_run_at.astimezone(UTC).hour in (20, 21)
    assert schedules.next_run("monthly", 7, "Australia/Sydney", datetime(2026, 12, 31, 21, tzinfo=UTC)) \
        == datetime(2027, 1, 31, 20, tzinfo=UTC)  # 1 Feb 07:00 AEDT (UTC+11)
    schedule.next_run_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    assert schedules.has_due_schedules()
    [report] = schedules.run_due()
    db.session.commit()
    assert not schedules.has_due_schedules()
    run_jobs(app)
    [envelope] = mail.envelopes
    assert sorted(envelope.rcpt_tos) == ["ceo@example.com", "cfo@example.com"]
    message = message_from_bytes(envelope.content)
    [attachment] = [part for part in message.walk() if part.get_content_type() == "application/pdf"]
    assert "Executive monthly report" in pdf_text(attachment.get_payload(decode=True))
    db.session.expire_all()
    assert db.session.get(Report, report.id).status == "ready"


def test_retention_deletes_only_old_reports(app, orgs, instance, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_RETENTION_DAYS", 30)
    old = services.request_report(orgs.a.org.id, "executive", user_id=None, params={})
    new = services.request_report(orgs.a.org.id, "executive", user_id=None, params={})
    old.created_at = datetime.now(UTC) - timedelta(days=31)
    new.created_at = datetime.now(UTC) - timedelta(days=29)
    db.session.commit()
    assert services.has_old_reports()
    assert services.prune() == 1
    assert db.session.get(Report, new.id) is not None and db.session.get(Report, old.id) is None


def test_render_refuses_the_network(app):
    fetcher = render.LocalOnlyFetcher(app.static_folder and __import__("pathlib").Path(app.static_folder))
    with pytest.raises(ValueError):
        fetcher.fetch("http://127.0.0.1:9/pixel.png")
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")


def test_every_registered_report_renders(app, orgs, instance):
    for name, rtype in REPORTS.items():
        report = services.request_report(orgs.a.org.id, name, user_id=None, params={"month": "2026-11"})
        db.session.flush()
        services.generate(report.id)
        assert rtype.title in pdf_text(services.open_file(report, services.PDF_NAME)), name


def test_failed_generation_shows_failed_and_the_table_polls_while_pending(app, client, orgs, instance, monkeypatch):
    from app.reports import registry

    def broken(org_id, period, params):
        raise RuntimeError("boom")

    monkeypatch.setitem(registry.REPORTS, "broken", registry.ReportType("broken", "Broken report", "data.read", broken))
    client.login(orgs.a.users["admin"].email)
    assert client.post("/reports/generate", data={"kind": "broken"}).status_code == 303
    fragment = client.get("/reports/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 3s"' in fragment and "<h1" not in fragment
    run_jobs(app)
    db.session.expire_all()
    fragment = client.get("/reports/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert ">failed<" in fragment and "every 3s" not in fragment


def test_a_report_type_needs_its_own_permission(app, client, orgs, instance):
    report = services.request_report(orgs.a.org.id, "threats", user_id=None, params={"month": "2026-11"})
    db.session.commit()
    run_jobs(app)
    client.login(orgs.a.users["read_only"].email)  # threats.view is for analysts upward
    assert f"/reports/{report.id}/files/" not in client.get("/reports/").get_data(as_text=True)
    assert client.get(f"/reports/{report.id}/files/report.pdf").status_code == 404
    analyst = app.test_client()
    analyst.login(orgs.a.users["analyst"].email)
    assert analyst.get(f"/reports/{report.id}/files/report.pdf").status_code == 200
