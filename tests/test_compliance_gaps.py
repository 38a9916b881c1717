"""Compliance (issue 16) follow-ups: evidence shared through NIST CSF links, expiry reminders
sent once through the organization's channels, attack-surface findings as a finding source,
and "N of M controls not tested" beside every score."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.compliance import evidence, findings, frameworks, pdf, services
from app.core import finding_sources
from app.core.settings_registry import SETTINGS, save_setting
from app.models import (
    AuditLog,
    ComplianceControl,
    JobRun,
    Notification,
    NotificationDelivery,
    db,
    utcnow,
)
from app.notifications import services as notifications
from app.surface import scans
from tests.conftest import run_jobs
from tests.surface_lab import ZONE, lab, surface_lab  # noqa: F401 - fixtures
from tests.test_api_registry import key
from tests.test_surface import verified


@pytest.fixture()
def catalogues(db_session):
    frameworks.load_frameworks()
    db.session.commit()


def control(assessment, control_id: str) -> ComplianceControl:
    return next(c for c in assessment.controls if c.control_id == control_id)


def linked_pair(org_id: int, code: str = "PR.AA-01"):
    """SOC 2 CC6.1 and ISO 27001 A.5.15 linked by a person to the same CSF subcategory."""
    soc2 = services.start_assessment(org_id, "SOC2", None)
    iso = services.start_assessment(org_id, "ISO27001", None)
    cc61, a515 = control(soc2, "CC6.1"), control(iso, "A.5.15")
    assert evidence.confirm_csf_link(cc61, code, None)
    assert evidence.confirm_csf_link(a515, code, None)
    return cc61, a515


# ------------------------------------------------------------------ 1. evidence shared through CSF

def test_evidence_serves_every_control_linked_to_the_same_csf_subcategory(orgs, catalogues):
    cc61, a515 = linked_pair(orgs.a.org.id)
    unrelated = control(cc61.assessment, "CC6.2")
    assert a515.evidence_summary == "0 valid of 0 evidence item(s)"
    row = evidence.new_row(cc61, None, "Access review Q4", "document", None, 90)
    evidence._evidence_changed(cc61, row, "compliance.evidence_uploaded")
    assert cc61.evidence_summary == "1 valid of 1 evidence item(s)"
    assert a515.evidence_summary == "1 valid of 1 evidence item(s); 1 via CSF PR.AA-01 from SOC2 CC6.1"
    [shared] = evidence.shared_with(a515)
    assert (shared.row.id, shared.code, shared.source.id) == (row.id, "PR.AA-01", cc61.id)
    assert evidence.shared_with(unrelated) == []
    # the other organization's controls linked to the same code share nothing with these
    b_cc61, _ = linked_pair(orgs.b.org.id)
    assert evidence.shared_with(b_cc61) == []
    # A link confirmed after the evidence was attached counts it from then on.
    nis2 = services.start_assessment(orgs.a.org.id, "NIS2", None)
    measure = nis2.controls[0]
    assert evidence.confirm_csf_link(measure, "PR.AA-01", None)
    assert "1 via CSF PR.AA-01 from SOC2 CC6.1" in measure.evidence_summary


def test_shared_evidence_is_shown_on_the_control_page(client, orgs, catalogues, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "COMPLIANCE_EVIDENCE_DIR", str(tmp_path))
    cc61, a515 = linked_pair(orgs.a.org.id)
    row = evidence.new_row(cc61, None, "Access review Q4", "document", None, 90)
    evidence.refresh_summaries(cc61)
    db.session.commit()
    client.login(orgs.a.users["read_only"].email)
    page = client.get(f"/compliance/controls/{a515.id}").text
    assert f'data-shared-evidence="{row.id}"' in page and "via CSF PR.AA-01 from SOC2 CC6.1" in page
    assessment = client.get(f"/compliance/assessments/{a515.assessment_id}").text
    assert "1 via CSF PR.AA-01 from SOC2 CC6.1" in assessment
    _path, data = pdf.auditor_pdf(a515.assessment)  # the auditor sees where the shared item comes from
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace("\n", " ")
    assert "Access review Q4" in text and "via CSF PR.AA-01 from SOC2 CC6.1" in text


def test_shared_evidence_counts_in_expiry(orgs, catalogues):
    cc61, a515 = linked_pair(orgs.a.org.id)
    services.update_control(a515, {"status": "compliant"})
    services.update_control(cc61, {"status": "compliant"})
    # A.5.15's own evidence lapses in 30 days; CC6.1's (shared) in 60.
    evidence.new_row(a515, None, "Own policy", "document", utcnow() - timedelta(days=60), 90)
    evidence.new_row(cc61, None, "Access review", "document", utcnow() - timedelta(days=30), 90)
    later = utcnow() + timedelta(days=45)
    assert evidence.check_expiry(now=later)["downgraded"] == 0  # the shared item still proves A.5.15
    assert a515.status == "compliant"
    # A control whose only evidence is shared falls back too once that lapses.
    nis2 = services.start_assessment(orgs.a.org.id, "NIS2", None)
    only_shared = nis2.controls[0]
    evidence.confirm_csf_link(only_shared, "PR.AA-01", None)
    services.update_control(only_shared, {"status": "compliant"})
    result = evidence.check_expiry(now=utcnow() + timedelta(days=61))
    assert result["downgraded"] == 3
    assert (a515.status, cc61.status, only_shared.status) == ("partial", "partial", "partial")
    assert "0 valid of 2 evidence item(s)" in only_shared.evidence_summary
    assert nis2.overall_compliance_score == 50


# ------------------------------------------------------------------ 2. reminders, once

def test_expiry_reminder_goes_once_through_the_channels_days_set_by_the_setting(app, orgs, catalogues):
    org_id = orgs.a.org.id
    channel = notifications.create_channel(org_id, "webhook", name="Ops hook", min_severity="info",
                                           settings={"url": "http://127.0.0.1:9/hook"}, new_secrets={"secret": "s"})
    nis2 = services.start_assessment(org_id, "NIS2", None)
    c = nis2.controls[0]
    services.update_control(c, {"status": "compliant", "assigned_to_user_id": orgs.a.users["analyst"].id})
    row = evidence.new_row(c, None, "Risk policy", "policy", utcnow() - timedelta(days=60), 90)  # 30 days left
    db.session.commit()
    assert evidence.check_expiry()["notified"] == 0  # the default notice is 14 days
    assert evidence.expiring(org_id) == []
    save_setting(SETTINGS["compliance.evidence_notice_days"], 45, orgs.a.users["admin"])
    assert evidence.expiring(org_id) == [row]
    db.session.commit()

    from app.jobs import enqueue

    for _ in range(2):  # the scheduled job, twice: one reminder
        enqueue("compliance.evidence_expiry", org_id=None)
        db.session.commit()
        run_jobs(app)
    db.session.expire_all()
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.kind == "compliance.evidence_expiry")).all()
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    assert [r.result["notified"] for r in sorted(runs, key=lambda r: r.id)] == [1, 0]
    told = db.session.scalars(sa.select(Notification).where(
        Notification.event == "compliance.evidence_expiring", Notification.org_id == org_id)).all()
    assert [n.user_id for n in told] == [orgs.a.users["analyst"].id] and "Risk policy" in told[0].body
    deliveries = db.session.scalars(sa.select(NotificationDelivery).where(
        NotificationDelivery.channel_id == channel.id, NotificationDelivery.event == "compliance.evidence_expiring"))
    assert len(deliveries.all()) == 1
    assert db.session.get(type(row), row.id).expiry_notified_at is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "compliance.evidence_expiry_notified")) == 1


def test_the_expiry_job_is_scheduled():
    from app.jobs.schedule import PERIODIC_JOBS

    assert any(p.kind == "compliance.evidence_expiry" for p in PERIODIC_JOBS)


def test_a_control_whose_only_evidence_expired_falls_back_to_partial(orgs, catalogues):
    soc2 = services.start_assessment(orgs.a.org.id, "SOC2", None)
    c, untouched = control(soc2, "CC7.1"), control(soc2, "CC7.2")
    services.update_control(c, {"status": "compliant"})
    services.update_control(untouched, {"status": "compliant"})  # no evidence at all: left alone
    evidence.new_row(c, None, "Vulnerability scan", "document", utcnow() - timedelta(days=91), 90)
    assert soc2.overall_compliance_score == 100
    assert evidence.check_expiry()["downgraded"] == 1
    assert (c.status, untouched.status) == ("partial", "compliant") and soc2.overall_compliance_score == 75
    assert evidence.check_expiry()["downgraded"] == 0  # partial stays partial; nothing twice


# ------------------------------------------------------------------ 3. attack-surface findings

def test_the_surface_registers_into_the_core_registry_and_types_are_translated(orgs):
    assert "surface" in finding_sources.FINDING_SOURCES
    assert findings.FINDING_SOURCES is finding_sources.FINDING_SOURCES
    aliases = frameworks.finding_aliases()
    assert aliases["tls_certificate_expired"] == "expired_certificate"
    assert aliases["missing_hsts"] == "missing_security_headers" and aliases["exposed_git"] == "exposed_file"
    assert aliases["database_exposed"] == "open_database_port" and aliases["dmarc_missing"] == "missing_dmarc"
    finding_sources.register_finding_source("test_types", lambda org_id: [
        {"type": "tls_legacy_protocol", "severity": "medium", "asset": "www.a.test:443", "domain": "a.test"}])
    try:
        [(name, f)] = [(n, f) for n, f in findings.collect(orgs.a.org.id) if n == "test_types"]
        assert (f["type"], f["source_type"]) == ("weak_tls", "tls_legacy_protocol")
    finally:
        finding_sources.unregister_finding_source("test_types")


def test_a_surface_finding_flags_the_mapped_control_per_framework_and_a_rescan_verifies(app, lab, orgs, catalogues):  # noqa: F811
    org_id = orgs.a.org.id
    soc2 = services.start_assessment(org_id, "SOC2", None)
    iso = services.start_assessment(org_id, "ISO27001", None)
    nis2 = services.start_assessment(org_id, "NIS2", None)
    services.update_control(control(soc2, "CC6.6"), {"assigned_to_user_id": orgs.a.users["analyst"].id})
    row = verified(lab, org_id)
    scans.execute(row.id, active=False)  # the lab publishes no DMARC record
    db.session.commit()
    surface = [f for name, f in findings.collect(org_id) if name == "surface"]
    assert {"type": "missing_dmarc", "source_type": "dmarc_missing", "severity": "medium", "asset": ZONE,
            "domain": ZONE} in surface
    findings.apply_findings(org_id)
    flagged = [control(soc2, "CC6.6"), control(iso, "A.5.14"), control(nis2, "Art. 21(2)(e)")]
    for c in flagged:
        assert (c.status, c.scan_source, c.scan_finding_type, c.scan_domain) == \
            ("partial", "surface", "missing_dmarc", ZONE), c.control_id
        assert c.scan_flagged_at is not None and c.scan_verified_at is None
    assert control(soc2, "CC6.1").scan_flagged_at is None  # not mapped from DMARC
    assert soc2.overall_compliance_score == 50

    lab.txt[f"_dmarc.{ZONE}"] = ["v=DMARC1; p=reject"]
    scans.execute(row.id, active=False)  # the rescan no longer finds it
    db.session.commit()
    assert "missing_dmarc" not in {f["type"] for name, f in findings.collect(org_id) if name == "surface"}
    result = findings.apply_findings(org_id)
    assert result["verified"] >= 3
    for c in flagged:
        assert c.scan_verified_at is not None and c.scan_finding_type == "missing_dmarc", c.control_id
    told = db.session.scalars(sa.select(Notification).where(Notification.event == "compliance.control_verified",
                                                            Notification.user_id == orgs.a.users["analyst"].id))
    assert any("CC6.6" in n.title for n in told)


# ------------------------------------------------------------------ 4. "N of M controls not tested"

def test_not_tested_count_beside_the_score(client, orgs, catalogues, tmp_path, app, monkeypatch):
    monkeypatch.setitem(app.config, "COMPLIANCE_EVIDENCE_DIR", str(tmp_path))
    a = services.start_assessment(orgs.a.org.id, "ISO27001", None)
    services.update_control(control(a, "A.5.1"), {"status": "compliant"})
    db.session.commit()
    assert a.overall_compliance_score == 100
    assert str(services.coverage(a)) == "92 of 93 controls not tested"
    client.login(orgs.a.users["read_only"].email)
    overview = client.get("/compliance/").text
    assert overview.count("92 of 93 controls not tested") == 2  # the framework card and the table
    page = client.get(f"/compliance/assessments/{a.id}").text
    assert '<div class="small" data-coverage>92 of 93 controls not tested</div>' in page
    assert "36 of 37 controls not tested" in page  # A.5 Organizational controls
    assert "92 of 93 controls not tested" in client.get(f"/compliance/assessments/{a.id}/scores").text
    csv = client.get("/compliance/assessments.csv").text
    assert "controls_not_tested,controls_total" in csv.splitlines()[0] and ",100,92,93," in csv
    api = client.get(f"/api/compliance/assessments/{a.id}", headers=key(orgs, ["compliance:read"])).json
    assert (api["assessment"]["score"], api["assessment"]["controls_not_tested"],
            api["assessment"]["controls_total"]) == (100, 92, 93)
    _path, data = pdf.auditor_pdf(a)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "92 of 93 controls not tested" in text.replace("\n", " ")
