"""Compliance (issue 16): catalogues, the score, assessments, inline edits, findings, evidence."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.compliance import evidence, findings, frameworks, scoring, services
from app.models import (
    AuditLog,
    ComplianceControl,
    ComplianceEvidence,
    FrameworkControl,
    Notification,
    db,
    utcnow,
)


@pytest.fixture()
def catalogues(db_session):
    frameworks.load_frameworks()
    db.session.commit()


def control(assessment, control_id: str) -> ComplianceControl:
    return next(c for c in assessment.controls if c.control_id == control_id)


def test_framework_counts(catalogues):
    counts = dict(db.session.execute(sa.select(FrameworkControl.framework, sa.func.count())
                                     .group_by(FrameworkControl.framework)).all())
    assert counts == {"SOC2": 61, "ISO27001": 93, "GDPR": 99, "NIS2": 10, "PIPEDA": 10}
    relevant = db.session.scalar(sa.select(sa.func.count()).where(
        FrameworkControl.framework == "GDPR", FrameworkControl.security_relevant.is_(True)))
    assert relevant == 14
    again = frameworks.load_frameworks()  # a reload updates in place
    assert again["SOC2"] == 61
    assert db.session.scalar(sa.select(sa.func.count(FrameworkControl.id))) == 273


def test_finding_map_names_only_catalogue_controls(catalogues):
    from app.models import FindingControlMap

    unknown = db.session.execute(sa.select(FindingControlMap.framework, FindingControlMap.control_id).where(
        ~sa.exists().where(FrameworkControl.framework == FindingControlMap.framework,
                           FrameworkControl.control_id == FindingControlMap.control_id))).all()
    assert unknown == []


@pytest.mark.parametrize(("statuses", "expected"), [
    ([], None),
    (["not_tested", "not_tested"], None),
    (["compliant"], 100),
    (["compliant", "partial", "non_compliant", "not_tested"], 50),
    (["partial", "non_compliant"], 25),
    (["compliant", "compliant", "partial"], 83),
])
def test_score_is_one_pure_function(statuses, expected):
    assert scoring.score(statuses) == expected


def test_score_by_category():
    assert scoring.by_category([("A", "compliant"), ("B", "partial"), ("A", "non_compliant"), (None, "not_tested")]) \
        == {"A": 50, "B": 50, "Uncategorised": None}


def test_assessment_scores_recomputed_on_every_change(orgs, catalogues):
    a = services.start_assessment(orgs.a.org.id, "GDPR", None)
    assert len(a.controls) == 14 and a.overall_compliance_score is None
    services.update_control(control(a, "Art. 32"), {"status": "compliant"})
    services.update_control(control(a, "Art. 33"), {"status": "partial"})
    assert a.overall_compliance_score == 75
    services.update_control(control(a, "Art. 32"), {"status": "not_tested"})  # undone, not decremented
    assert a.overall_compliance_score == 50
    assert [s.score for s in services.history(a.id)] == [None, 100, 75, 50]


def test_assignee_must_belong_to_the_org(orgs, catalogues):
    a = services.start_assessment(orgs.a.org.id, "NIS2", None)
    with pytest.raises(services.ComplianceError):
        services.update_control(a.controls[0], {"assigned_to_user_id": orgs.b.users["admin"].id})


def test_inline_status_edit_returns_the_row(client, orgs, catalogues):
    a = services.start_assessment(orgs.a.org.id, "SOC2", None)
    db.session.commit()
    c = control(a, "CC6.1")
    client.login(orgs.a.users["analyst"].email)
    r = client.post(f"/compliance/controls/{c.id}/status", data={"status": "compliant"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert f'id="control-{c.id}"' in r.text and "<html" not in r.text
    assert "compliance-control-updated" in r.headers["HX-Trigger"]
    db.session.refresh(a)
    assert a.overall_compliance_score == 100
    bad = client.post(f"/compliance/controls/{c.id}/status", data={"status": "perfect"},
                      headers={"HX-Request": "true"})
    assert bad.status_code == 422
    page = client.get(f"/compliance/assessments/{a.id}")
    assert page.status_code == 200 and "CC6.1" in page.text
    scores = client.get(f"/compliance/assessments/{a.id}/scores", headers={"HX-Request": "true"})
    assert 'data-score="overall">100<' in scores.text and "<html" not in scores.text
    csv = client.get(f"/compliance/assessments/{a.id}/controls.csv")
    assert csv.status_code == 200 and "CC6.1" in csv.text and "compliant" in csv.text


def test_read_only_cannot_edit_and_other_tenant_is_404(client, orgs, catalogues):
    a = services.start_assessment(orgs.a.org.id, "NIS2", None)
    db.session.commit()
    client.login(orgs.a.users["read_only"].email)
    assert client.post(f"/compliance/controls/{a.controls[0].id}/status", data={"status": "compliant"}).status_code \
        == 403
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)
    assert client.get(f"/compliance/assessments/{a.id}").status_code == 404
    assert client.get(f"/compliance/controls/{a.controls[0].id}").status_code == 404


def test_start_from_page_and_overview(client, orgs, catalogues):
    client.login(orgs.a.users["admin"].email)
    r = client.post("/compliance/assessments", data={"framework": "PIPEDA"})
    assert r.status_code == 303
    overview = client.get("/compliance/")
    assert overview.status_code == 200 and "PIPEDA" in overview.text
    assert client.post("/compliance/assessments", data={"framework": "HIPAA"}).status_code == 422


# ------------------------------------------------------------------ scan findings

@pytest.fixture()
def synthetic_source():
    found: list[dict] = []
    findings.register_finding_source("test_surface", lambda org_id: list(found))
    yield found
    findings.unregister_finding_source("test_surface")


def test_findings_flag_and_verify_controls(orgs, catalogues, synthetic_source):
    org_id = orgs.a.org.id
    soc2 = services.start_assessment(org_id, "SOC2", None)
    iso = services.start_assessment(org_id, "ISO27001", None)
    services.update_control(control(soc2, "CC6.1"), {"status": "compliant",
                                                      "assigned_to_user_id": orgs.a.users["analyst"].id})
    synthetic_source.append({"type": "weak_tls", "severity": "high", "asset": "www.a.test", "domain": "www.a.test"})
    result = findings.apply_findings(org_id)
    assert result["flagged"] >= 3
    cc61, a824 = control(soc2, "CC6.1"), control(iso, "A.8.24")
    for c in (cc61, control(soc2, "CC6.7"), a824):
        assert c.status == "non_compliant" and c.scan_finding_type == "weak_tls"
        assert c.scan_source == "test_surface" and c.scan_domain == "www.a.test" and c.scan_flagged_at
    assert soc2.overall_compliance_score == 0
    assert findings.apply_findings(org_id)["flagged"] == 0  # same finding: nothing new
    synthetic_source.clear()
    assert findings.apply_findings(org_id)["verified"] >= 3
    assert cc61.scan_verified_at is not None
    told = db.session.scalars(sa.select(Notification).where(
        Notification.user_id == orgs.a.users["analyst"].id)).all()
    assert any("CC6.1" in n.title for n in told)
    assert control(orgs_b_assessment := services.start_assessment(orgs.b.org.id, "SOC2", None), "CC6.1").status \
        == "not_tested"
    assert orgs_b_assessment.org_id != org_id


def test_fleet_scanner_source_is_registered():
    assert "fleet_scanner" in findings.FINDING_SOURCES


# ------------------------------------------------------------------ evidence

def test_upload_download_and_permissions(client, orgs, catalogues, tmp_path, app, monkeypatch):
    assert evidence.evidence_root().parent == Path(app.instance_path)  # the default
    monkeypatch.setitem(app.config, "COMPLIANCE_EVIDENCE_DIR", str(tmp_path))
    a = services.start_assessment(orgs.a.org.id, "SOC2", None)
    db.session.commit()
    c = control(a, "CC6.1")
    client.login(orgs.a.users["analyst"].email)
    r = client.post(f"/compliance/controls/{c.id}/evidence", content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"%PDF-1.4 policy"), "policy.pdf"), "title": "Access policy",
                          "validity_days": "90"})
    assert r.status_code == 303
    row = db.session.scalar(sa.select(ComplianceEvidence).where(ComplianceEvidence.control_id == c.id))
    assert row.file_type == "application/pdf" and row.sha256 and row.valid_until
    assert evidence.file_of(row).is_relative_to(tmp_path)
    got = client.get(f"/compliance/evidence/{row.id}/file")
    assert got.status_code == 200 and got.data == b"%PDF-1.4 policy"
    assert got.headers["Content-Disposition"].startswith("attachment")
    got.close()
    packed = client.get(f"/compliance/assessments/{a.id}/auditor-pack.zip")
    assert packed.status_code == 200
    with zipfile.ZipFile(io.BytesIO(packed.data)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        names = [n for n in zf.namelist() if n != "manifest.json"]
        assert sorted(manifest["files"]) == sorted(names) and "controls.csv" in names
        for name in names:
            assert hashlib.sha256(zf.read(name)).hexdigest() == manifest["files"][name]
        assert any(zf.read(n) == b"%PDF-1.4 policy" for n in names)
    html = client.post(f"/compliance/controls/{c.id}/evidence", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(b"<html><script>x</script>"), "x.pdf")})
    assert html.status_code == 422
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.get(f"/compliance/evidence/{row.id}/file").status_code == 403
    assert client.get(f"/compliance/assessments/{a.id}/auditor-pack.zip").status_code == 403
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)
    assert client.get(f"/compliance/evidence/{row.id}/file").status_code == 404


def test_expiry_notified_once_and_lapsed_control_falls_back_to_partial(orgs, catalogues):
    a = services.start_assessment(orgs.a.org.id, "NIS2", None)
    c = a.controls[0]
    services.update_control(c, {"status": "compliant"})
    old = utcnow() - timedelta(days=85)
    row = evidence.new_row(c, None, "Risk policy", "policy", old, 90)
    assert evidence.expiring(orgs.a.org.id) == [row]
    assert evidence.check_expiry()["notified"] == 1
    assert evidence.check_expiry()["notified"] == 0  # once
    assert c.status == "compliant"
    result = evidence.check_expiry(now=utcnow() + timedelta(days=6))
    assert result["downgraded"] == 1 and c.status == "partial"
    assert a.overall_compliance_score == 50


def test_automatic_evidence_is_sealed_in_the_audit_chain(orgs, catalogues):
    from app.compliance import autoevidence

    a = services.start_assessment(orgs.a.org.id, "SOC2", None)
    written = autoevidence.generate(orgs.a.org.id)
    assert written > 0
    rows = db.session.scalars(sa.select(ComplianceEvidence).where(
        ComplianceEvidence.control_id == control(a, "CC6.1").id, ComplianceEvidence.evidence_type == "automatic")).all()
    mfa = next(r for r in rows if r.snapshot["item"] == "mfa")
    assert evidence.frozen(mfa.snapshot)[1] == mfa.sha256
    sealed = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "compliance.evidence_snapshot")).all()
    assert mfa.sha256 in {s.details["sha256"] for s in sealed}


def test_compliance_score_is_a_live_query(orgs, catalogues):
    from app.metrics.live import LIVE_QUERIES

    query = LIVE_QUERIES["compliance_score_nis2"]
    assert query.func(orgs.a.org.id) is None
    a = services.start_assessment(orgs.a.org.id, "NIS2", None)
    services.update_control(a.controls[0], {"status": "partial"})
    assert query.func(orgs.a.org.id) == 50
    assert query.func(orgs.b.org.id) is None
    assert query.note(orgs.a.org.id) == "9 of 10 controls not tested"  # the coverage beside the score
    assert query.note(orgs.b.org.id) is None


def test_the_csf_dashboard_shows_the_compliance_coverage_beside_the_value(client, orgs, catalogues, csf):
    """Issue 16: a metric on `compliance_score_<framework>` reads "N of M controls not tested"
    wherever its value is shown; a metric on another live query shows no note."""
    from app.metrics import live
    from app.metrics import services as metrics
    from app.models import FrameworkCategory, FrameworkFunction

    org = orgs.a.org.id
    gv = db.session.scalar(sa.select(FrameworkFunction).where(FrameworkFunction.code == "GV"))
    oversight = db.session.scalar(sa.select(FrameworkCategory).where(FrameworkCategory.code == "GV.OV"))
    score = metrics.create_metric(org, None, name="NIS2 score", function_id=gv.id, category_id=oversight.id,
                                  direction="higher_is_better", target_value=90, unit="%", priority="High",
                                  live_source="compliance_score_nis2")
    plain = metrics.create_metric(org, None, name="MFA", function_id=gv.id, category_id=oversight.id,
                                  direction="higher_is_better", target_value=100, unit="%", priority="High",
                                  live_source="mfa_coverage")
    a = services.start_assessment(org, "NIS2", None)
    services.update_control(a.controls[0], {"status": "partial"})
    db.session.commit()
    live.refresh(org)
    db.session.commit()
    assert score.current_value == 50
    assert live.live_notes([score, plain]) == {score.id: "9 of 10 controls not tested"}
    client.login(orgs.a.users["read_only"].email)
    for url in ("/metrics/", "/metrics/functions/GV", "/metrics/list", f"/metrics/{score.id}"):
        html = client.get(url).get_data(as_text=True)
        assert '<div class="small text-body-secondary" data-live-note>9 of 10 controls not tested</div>' in html, url
        assert html.count("data-live-note") == 1, url  # the MFA metric has no note
    services.update_control(a.controls[1], {"status": "compliant"})
    db.session.commit()
    assert "8 of 10 controls not tested" in client.get(f"/metrics/{score.id}").get_data(as_text=True)


def test_csf_suggestions_need_a_person(client, orgs, catalogues, csf):
    from app.compliance import csf as csf_links

    a = services.start_assessment(orgs.a.org.id, "ISO27001", None)
    c = control(a, "A.8.13")  # Information backup
    suggested = csf_links.suggestions(c)
    assert suggested and csf_links.links(c.id) == []  # suggestions alone link nothing
    assert csf_links.confirm(c, suggested[0].code, orgs.a.users["analyst"].id)
    assert [link.subcategory_code for link in csf_links.links(c.id)] == [suggested[0].code]
    assert not csf_links.confirm(c, suggested[0].code, None)
    soc2 = services.start_assessment(orgs.a.org.id, "SOC2", None)
    csf_links.confirm(control(soc2, "A1.2"), suggested[0].code, None)
    assert [o.control_id for o in csf_links.controls_sharing(c)] == ["A1.2"]
    row = evidence.new_row(control(soc2, "A1.2"), None, "Restore test report", "document", None, 90)
    db.session.commit()
    client.login(orgs.a.users["read_only"].email)
    page = client.get(f"/compliance/controls/{c.id}").text
    assert f'data-shared-evidence="{row.id}"' in page  # one piece of evidence serves both frameworks


def test_built_in_finding_sources_answer_for_an_empty_org(orgs):
    assert {"fleet_scanner", "exposure", "wireless"} <= set(findings.FINDING_SOURCES)
    assert [f for name, f in findings.collect(orgs.a.org.id)
            if name in ("fleet_scanner", "exposure", "wireless")] == []


def test_auditor_pdf_rendered_by_a_job(client, orgs, catalogues, app, tmp_path, monkeypatch):
    from app.models import JobRun
    from tests.conftest import run_jobs

    monkeypatch.setitem(app.config, "COMPLIANCE_EVIDENCE_DIR", str(tmp_path))
    a = services.start_assessment(orgs.a.org.id, "NIS2", None)
    services.update_control(a.controls[0], {"status": "compliant", "remediation_notes": "Policy approved"})
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    assert client.get(f"/compliance/assessments/{a.id}/auditor-pack.pdf").status_code == 404
    assert client.post(f"/compliance/assessments/{a.id}/auditor-pack.pdf").status_code == 303
    run_jobs(app)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "compliance.auditor_pdf"))
    db.session.refresh(run)
    assert run.status == "succeeded", run.error
    got = client.get(f"/compliance/assessments/{a.id}/auditor-pack.pdf")
    assert got.status_code == 200 and got.data.startswith(b"%PDF-")
    got.close()
    sealed = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "compliance.auditor_pdf_rendered"))
    assert sealed.details["sha256"] == hashlib.sha256(got.data).hexdigest()


def test_control_page_edit_and_csf_link(client, orgs, catalogues, csf):
    a = services.start_assessment(orgs.a.org.id, "ISO27001", None)
    db.session.commit()
    c = control(a, "A.8.13")
    client.login(orgs.a.users["analyst"].email)
    page = client.get(f"/compliance/controls/{c.id}")
    assert page.status_code == 200 and "data-suggestion=" in page.text
    r = client.post(f"/compliance/controls/{c.id}", data={
        "status": "partial", "assigned_to_user_id": str(orgs.a.users["operator"].id),
        "next_review_date": "2027-03-01", "remediation_notes": "Restore test pending"})
    assert r.status_code == 303
    db.session.refresh(c)
    assert (c.status, c.assigned_to_user_id, c.remediation_notes) == ("partial", orgs.a.users["operator"].id,
                                                                      "Restore test pending")
    assert c.next_review_date.year == 2027 and c.last_reviewed is not None
    other = client.post(f"/compliance/controls/{c.id}", data={
        "status": "partial", "assigned_to_user_id": str(orgs.b.users["admin"].id)})
    assert other.status_code == 422
    assert client.post(f"/compliance/controls/{c.id}/csf", data={"subcategory_code": "XX.YY-99"}).status_code == 422
    assert client.post(f"/compliance/controls/{c.id}/csf", data={"subcategory_code": "PR.DS-11"}).status_code == 303
    assert "PR.DS-11" in client.get(f"/compliance/controls/{c.id}").text
    expiring = client.get("/compliance/evidence/expiring")
    assert expiring.status_code == 200
    assert client.get("/compliance/evidence/expiring.csv").mimetype == "text/csv"
    assert client.get("/compliance/assessments.csv").status_code == 200


def test_periodic_jobs_run_through_a_real_worker(app, orgs, catalogues, synthetic_source):
    from app.jobs import enqueue
    from app.jobs.schedule import PERIODIC_JOBS
    from app.models import JobRun
    from app.roadmap import services as roadmap
    from tests.conftest import run_jobs

    kinds = ("compliance.apply_findings", "compliance.evidence_expiry", "compliance.auto_evidence",
             "roadmap.regenerate_all")
    assert set(kinds) <= {p.kind for p in PERIODIC_JOBS}
    a = services.start_assessment(orgs.a.org.id, "SOC2", None)
    roadmap.save_profile(orgs.a.org.id, {}, None)
    synthetic_source.append({"type": "missing_dmarc", "severity": "medium", "asset": "a.test", "domain": "a.test"})
    for kind in kinds:
        enqueue(kind, org_id=None)
    db.session.commit()
    run_jobs(app)
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.kind.in_(kinds))).all()
    for run in runs:
        db.session.refresh(run)
    assert sorted((r.kind, r.status) for r in runs) == sorted((k, "succeeded") for k in kinds)
    db.session.expire_all()
    assert control(db.session.get(type(a), a.id), "CC6.6").status == "partial"  # DMARC flags CC6.6 partial
    assert db.session.scalar(sa.select(sa.func.count(ComplianceEvidence.id)).where(
        ComplianceEvidence.evidence_type == "automatic", ComplianceEvidence.org_id == orgs.a.org.id)) > 0


def test_controls_are_linkable_within_their_org(orgs, catalogues):
    from app.core import linkable

    a = services.start_assessment(orgs.a.org.id, "NIS2", None)
    c = a.controls[0]
    assert linkable.resolve(orgs.a.org.id, "compliance_control", str(c.id)) is c
    assert linkable.resolve(orgs.b.org.id, "compliance_control", str(c.id)) is None
    assert linkable.resolve(orgs.a.org.id, "compliance_control", "nope") is None


def test_complete_an_assessment(client, orgs, catalogues):
    a = services.start_assessment(orgs.a.org.id, "PIPEDA", None)
    services.update_control(a.controls[0], {"status": "compliant"})
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    assert client.post(f"/compliance/assessments/{a.id}/complete").status_code == 303
    db.session.refresh(a)
    assert a.status == "completed" and a.completion_date and a.overall_compliance_score == 100


def test_evidence_size_limit_and_record_links(client, orgs, catalogues, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "COMPLIANCE_EVIDENCE_DIR", str(tmp_path))
    monkeypatch.setattr(evidence, "MAX_BYTES", 1024)
    a = services.start_assessment(orgs.a.org.id, "SOC2", None)
    other = services.start_assessment(orgs.b.org.id, "SOC2", None)
    db.session.commit()
    c = control(a, "CC7.3")
    client.login(orgs.a.users["analyst"].email)
    big = client.post(f"/compliance/controls/{c.id}/evidence", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(b"%PDF-" + b"x" * 2000), "big.pdf")})
    assert big.status_code == 413
    assert list(tmp_path.rglob("*")) == [tmp_path / str(orgs.a.org.id)]  # nothing half-saved
    linked = client.post(f"/compliance/controls/{c.id}/evidence/link",
                         data={"link_type": "compliance_control", "link_id": str(control(a, "CC7.4").id)})
    assert linked.status_code == 303
    foreign = client.post(f"/compliance/controls/{c.id}/evidence/link",
                          data={"link_type": "compliance_control", "link_id": str(other.controls[0].id)})
    assert foreign.status_code == 422
    rows = evidence.of_control(c.id)
    assert [(r.evidence_type, r.link_type) for r in rows] == [("link", "compliance_control")]
