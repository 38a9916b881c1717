"""Vulnerability reports: written by rules from the newest scan, PDF offline, JSON, CLI, pages."""

from __future__ import annotations

import json

import sqlalchemy as sa

from app.models import AuditLog, VulnerabilityReport, db
from app.surface import domains, reports, scans
from app.surface.domains import SurfaceError
from tests.conftest import run_jobs
from tests.surface_lab import ZONE, lab, surface_lab  # noqa: F401 - fixtures


def scanned(lab, org_id: int, active: bool = True):  # noqa: F811
    row, token = domains.add_domain(org_id, ZONE, actor_label="test")
    lab.txt[ZONE] = [f"vigil-verification={token}"]
    domains.verify(row, actor_label="test")
    db.session.commit()
    scans.execute(row.id, active=active)
    db.session.commit()
    return row


def test_a_report_needs_a_scan(orgs):
    row, _ = domains.add_domain(orgs.a.org.id, "example.com", actor_label="test")
    try:
        reports.create(row)
    except SurfaceError as exc:
        assert "not been scanned" in str(exc)
    else:
        raise AssertionError("a report without a scan was written")


def test_the_report_document(app, lab, orgs):  # noqa: F811
    row = scanned(lab, orgs.a.org.id)
    with app.test_request_context():
        report = reports.create(row, actor_label="test")
    doc = report.report_json
    assert report.ai_model == "rules" and report.risk_score == row.risk_score and report.xasm_scan_id
    assert len(doc["top_issues"]) == 5
    first = doc["top_issues"][0]
    assert first["priority"] == 1 and first["severity"] == "critical"
    assert {"cvss", "cwe", "effort_hours", "priority", "remediation"} <= set(first)
    kev = next(i for i in doc["top_issues"] if i["cve"] == "CVE-2021-42013")
    assert kev["kev"] and kev["cvss"] == 9.8
    names = {s["name"] for s in doc["attack_scenarios"]}
    assert {"Subdomain takeover", "Mail spoofing", "Source code leak to targeted exploit",
            "Known exploited vulnerability", "Direct database attack", "Reconnaissance made easy"} == names
    assert "CISA KEV" in doc["executive_summary"] and ZONE in doc["executive_summary"]
    assert doc["remediation_plan"]["immediate"] and doc["remediation_plan"]["this_month"]
    assert "Exposed files" in doc["findings_by_category"]
    with app.test_request_context():
        pdf = reports.render_pdf(report)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5000


def test_reports_from_the_page_and_the_cli(app, client, lab, orgs, tmp_path):  # noqa: F811
    row = scanned(lab, orgs.a.org.id, active=False)
    client.login(orgs.a.users["analyst"].email)
    assert client.post(f"/surface/domains/{row.id}/reports").status_code == 303
    run_jobs(app)
    db.session.expire_all()
    report = db.session.scalar(sa.select(VulnerabilityReport).where(VulnerabilityReport.domain_id == row.id))
    assert "verify the domain to allow an active scan" in report.executive_summary
    page = client.get(f"/surface/domains/{row.id}")
    assert f"/surface/reports/{report.id}.pdf" in page.text
    pdf = client.get(f"/surface/reports/{report.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    assert client.get(f"/surface/reports/{report.id}.json").get_json()["domain"] == ZONE
    other = app.test_client()
    other.login(orgs.b.users["admin"].email)
    assert other.get(f"/surface/reports/{report.id}.pdf").status_code == 404

    runner = app.test_cli_runner()
    out = tmp_path / "report.pdf"
    done = runner.invoke(args=["surface", "report", ZONE, "--org", orgs.a.org.slug, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert out.read_bytes().startswith(b"%PDF-")
    as_json = tmp_path / "report.json"
    assert runner.invoke(args=["surface", "report", ZONE, "--org", orgs.a.org.slug, "--out", str(as_json)]).exit_code == 0
    assert json.loads(as_json.read_text())["domain"] == ZONE
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "surface.report_created")) == 3


def test_an_ai_narrative_only_when_the_organization_configured_one(app, lab, orgs):  # noqa: F811
    from app.metrics import ai
    from tests.wireless_fakes import FakeServer, Reply

    row = scanned(lab, orgs.a.org.id, active=False)
    plain = reports.create(row, actor_label="test")
    assert plain.ai_model == "rules" and "ai_narrative" not in plain.report_json
    fake = FakeServer().start()
    try:
        ai.set_ai_config(orgs.a.org.id, fake.url + "/v1", "fake-model-1", "sk-test-123", actor=None)
        db.session.commit()
        fake.script("/v1/chat/completions", Reply(200, {"choices": [{"message": {
            "role": "assistant", "content": "Your mail can be spoofed and one subdomain can be taken over."}}]}))
        narrated = reports.create(row, actor_label="test")
        assert narrated.ai_model == "rules+fake-model-1"
        assert narrated.report_json["ai_narrative"].startswith("Your mail can be spoofed")
        sent = fake.requests[-1]
        assert sent.headers["Authorization"] == "Bearer sk-test-123" and ZONE in sent.body
        fake.script("/v1/chat/completions", Reply(500, {"error": "down"}))
        fallback = reports.create(row, actor_label="test")
        assert fallback.ai_model == "rules" and "ai_error" in fallback.report_json
        assert fallback.executive_summary == plain.executive_summary
    finally:
        fake.stop()
