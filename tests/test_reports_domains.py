"""The new domains' reports (attack surface, compliance, roadmap, exposure, canary tokens):
each renders from the demo data, its PDF opens with the expected headings, nothing secret
goes in, and its permission is enforced."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.crypto import decrypt_text
from app.models import BaitAccess, BaitToken, MonitoredEmail, Profile, SurfaceDomain, db
from app.reports import services
from app.reports.registry import REPORTS
from tests import test_reports_content
from tests.conftest import run_jobs

demo = test_reports_content.demo  # the demo-data fixture, shared with the framework's content tests

HEADINGS = {
    "surface_vulnerability": ("Domains",),
    "compliance": ("Assessments", "Scores by category", "Controls"),
    "roadmap": ("Progress by phase", "Open tasks", "Achievements"),
    "exposure": ("Breach findings by source", "Monitored e-mail addresses", "People's exposure scores"),
    "bait": ("Canary tokens", "Hits", "Attribution", "Sources"),
}


def render(org_id: int, kind: str, **params) -> tuple[str, dict[str, bytes]]:
    report = services.request_report(org_id, kind, user_id=None,
                                      params={"days": 90, "until": datetime.now(UTC).isoformat(), **params})
    db.session.flush()
    services.generate(report.id)
    reader = PdfReader(io.BytesIO(services.open_file(report, services.PDF_NAME)))
    assert len(reader.pages) >= 1
    files = {name: services.open_file(report, name) for name in report.files}
    return "\n".join(page.extract_text() for page in reader.pages), files


@pytest.mark.parametrize("kind", sorted(HEADINGS))
def test_each_new_report_renders_from_demo_data(demo, kind):
    text, files = render(demo.id, kind)
    assert REPORTS[kind].title in text and demo.name in text
    for heading in HEADINGS[kind]:
        assert heading in text, f"{kind}: {heading!r} missing"
    assert "report.pdf" in files and any(name.endswith(".csv") for name in files)


def test_surface_report_for_one_domain_is_the_vulnerability_report(demo):
    domain = db.session.scalar(sa.select(SurfaceDomain).where(SurfaceDomain.org_id == demo.id))
    text, files = render(demo.id, "surface_vulnerability", subject=domain.domain.upper())
    for heading in (f"Vulnerability report: {domain.domain}", "Executive summary", "Top issues",
                    "Attack scenarios", "Remediation plan", "Findings by category"):
        assert heading in text, heading
    assert b"Subdomain takeover" in files["issues.csv"] or b"dangling" in files["issues.csv"].lower()


def test_compliance_and_roadmap_reports_carry_the_demo_numbers(demo):
    text, files = render(demo.id, "roadmap")
    assert "Security score" in text and files["open_tasks.csv"].count(b"\n") > 1
    text, files = render(demo.id, "compliance")
    assert files["controls.csv"].count(b"\n") > 1


def test_exposure_report_lists_findings_but_no_credential(demo):
    db.session.add(MonitoredEmail(org_id=demo.id, email_address="ceo-private@northwind.example",
                                  monitor_scope="admin", findings_count=0))
    db.session.flush()
    text, files = render(demo.id, "exposure")
    # Every person of the demo with their address (the demo data is app/exposure/demo.py).
    people = db.session.scalars(sa.select(Profile).where(Profile.org_id == demo.id)).all()
    assert people and all(f"{p.name},{p.email},".encode() in files["people.csv"] for p in people)
    assert b"security@northwind.example" in files["monitored_emails.csv"]
    assert files["breaches_by_source.csv"].startswith(b"Source,")
    # an admin-only address is not in a file analysts may download too
    assert "ceo-private" not in text and all(b"ceo-private" not in data for data in files.values())
    headers = b"".join(data.split(b"\n", 1)[0] for name, data in files.items() if name.endswith(".csv")).lower()
    assert b"hash" not in headers and b"hint" not in headers and b"password," not in headers


def test_bait_report_shows_hits_and_sources_never_the_token_value(demo):
    text, files = render(demo.id, "bait")
    # Every source address of the demo's hits, and every triggered token (app/bait/demo.py).
    sources = set(db.session.scalars(sa.select(BaitAccess.source_ip).where(BaitAccess.org_id == demo.id)))
    assert sources and all(ip in text for ip in sources)
    hit = db.session.scalars(sa.select(BaitToken).where(BaitToken.org_id == demo.id, BaitToken.access_count > 0)).all()
    assert hit and all(t.name.split()[0] in text for t in hit)
    for token in db.session.scalars(sa.select(BaitToken).where(BaitToken.org_id == demo.id,
                                                               BaitToken.token_value.is_not(None))):
        secret = decrypt_text(token.token_value)
        for value in __import__("json").loads(secret).values():
            if isinstance(value, str) and len(value) > 8:
                assert value not in text and all(value.encode() not in d for d in files.values())


@pytest.mark.parametrize(("kind", "denied", "allowed"), [
    ("exposure", "read_only", "analyst"),
    ("exposure", "operator", "admin"),
])
def test_report_permission_is_enforced(app, client, orgs, tmp_path, monkeypatch, kind, denied, allowed):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    report = services.request_report(orgs.a.org.id, kind, user_id=None, params={"month": "2026-11"})
    db.session.commit()
    run_jobs(app)
    client.login(orgs.a.users[denied].email)
    assert f"/reports/{report.id}/files/" not in client.get("/reports/").get_data(as_text=True)
    assert client.get(f"/reports/{report.id}/files/report.pdf").status_code == 404
    other = app.test_client()
    other.login(orgs.a.users[allowed].email)
    assert other.get(f"/reports/{report.id}/files/report.pdf").status_code == 200


def test_bait_report_is_readable_like_the_token_pages(app, client, orgs, tmp_path, monkeypatch):
    """Read-only users see the tokens and their hits on the pages, so they may read the report
    (which carries no bait); another organization's users may not."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    report = services.request_report(orgs.a.org.id, "bait", user_id=None, params={"month": "2026-11"})
    db.session.commit()
    run_jobs(app)
    client.login(orgs.a.users["read_only"].email)
    assert f"/reports/{report.id}/files/" in client.get("/reports/").get_data(as_text=True)
    assert client.get(f"/reports/{report.id}/files/report.pdf").status_code == 200
    other = app.test_client()
    other.login(orgs.b.users["admin"].email)
    assert f"/reports/{report.id}/files/" not in other.get("/reports/").get_data(as_text=True)
    assert other.get(f"/reports/{report.id}/files/report.pdf").status_code == 404


def test_registered_permissions(app):
    assert REPORTS["exposure"].permission == "exposure.details"
    assert REPORTS["bait"].permission == "data.read"  # as the token pages (issue 22)
    assert REPORTS["compliance"].permission == "compliance.view"
    assert REPORTS["roadmap"].permission == "roadmap.view"


def test_executive_domain_state_reads_every_posture_tile(app, orgs, tmp_path, monkeypatch):
    from app.dashboard import registry
    from app.dashboard.registry import PostureState, Worst

    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    for name, label, permission, state in (
            ("lighthouse", "Lighthouse keeping", "data.read",
             PostureState("7 / 9", "lamps lit", "/lighthouse", status="warn", worst=Worst("North lamp out", "/l/n"))),
            ("vault", "Vault", "threats.view",
             PostureState("3", "secret count", "/vault", status="bad", worst=Worst("Vault door ajar", "/v/d")))):
        # registered the way a domain's home.py does, and taken away again after the test
        monkeypatch.setitem(registry.POSTURE, name, registry.Registration(name, label, permission,
                                                                          lambda org_id, s=state: s))
    text, files = render(orgs.a.org.id, "executive", month="2026-11")
    state = files["domain_state.csv"].decode()
    assert "Lighthouse keeping,watch,7 / 9,lamps lit,,North lamp out" in state
    assert "Lighthouse keeping" in text and "North lamp out" in text
    # a tile the report's readers may not all see: its state only, never its worst item
    assert "Vault,attention,,,,details need threats.view" in state and "Vault door ajar" not in text
    for reg in registry.ordered(registry.POSTURE):
        assert reg.label in state, reg.label
