"""Attack-surface pages: signed in, tenant scoped, audited, htmx fragments, exports."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from app.models import AuditLog, JobRun, LightboxFinding, SurfaceDomain, XasmScanHistory, db
from app.surface import domains, scans
from tests.conftest import run_jobs
from tests.surface_lab import ZONE, lab, surface_lab  # noqa: F401 - fixtures

HX = {"HX-Request": "true"}


def scanned(lab, org_id: int) -> SurfaceDomain:  # noqa: F811
    row, token = domains.add_domain(org_id, ZONE, actor_label="test")
    lab.txt[ZONE] = [f"vigil-verification={token}"]
    domains.verify(row, actor_label="test")
    db.session.commit()
    scans.execute(row.id, active=True)
    db.session.commit()
    return row


def test_add_a_domain_from_the_overview(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    page = client.get("/surface/")
    assert page.status_code == 200 and "No domains listed yet" in page.text
    bad = client.post("/surface/domains", data={"domain": "not a domain"})
    assert bad.status_code == 422 and "is not a domain name" in bad.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurfaceDomain)) == 0
    added = client.post("/surface/domains", data={"domain": "Example.COM"})
    assert added.status_code == 303
    row = db.session.scalar(sa.select(SurfaceDomain).where(SurfaceDomain.org_id == orgs.a.org.id))
    assert row.domain == "example.com"
    detail = client.get(added.headers["Location"])
    assert "vigil-verification=" + domains.token_of(row) in detail.text
    assert "Verify the domain first" in detail.text  # the active scan button is disabled
    again = client.post("/surface/domains", data={"domain": "example.com"})
    assert again.status_code == 422 and "already listed" in again.text


def test_read_only_users_see_but_cannot_change(client, orgs):
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/surface/").status_code == 200
    assert client.post("/surface/domains", data={"domain": "example.com"}).status_code == 403


def test_another_tenants_domain_is_a_404(client, lab, orgs):  # noqa: F811
    row = scanned(lab, orgs.b.org.id)
    history = db.session.scalar(sa.select(XasmScanHistory).where(XasmScanHistory.domain_id == row.id))
    client.login(orgs.a.users["admin"].email)
    for url in (f"/surface/domains/{row.id}", f"/surface/scans/{history.id}"):
        assert client.get(url).status_code == 404
    for url in (f"/surface/domains/{row.id}/verify", f"/surface/domains/{row.id}/scan",
                f"/surface/domains/{row.id}/delete"):
        assert client.post(url).status_code == 404
    assert ZONE not in client.get("/surface/findings?status=").text
    assert ZONE not in client.get("/surface/findings.json?status=").text


def test_domain_page_explains_every_point(client, lab, orgs):  # noqa: F811
    row = scanned(lab, orgs.a.org.id)
    client.login(orgs.a.users["analyst"].email)
    page = client.get(f"/surface/domains/{row.id}")
    assert page.status_code == 200
    text = page.text
    for needle in ("Risk, point by point", "database services reachable: min(8 x 1, 12) = 8", "critical from 76",
                   "dev.lab.test", "lab-assets.s3.amazonaws.com", "dangling: takeover candidate", "vsftpd 2.3.4",
                   "self-signed", "v=spf1 mx -all", "Scan history"):
        assert needle in text, needle
    assert f'id="risk-score">{row.risk_score}<' in text
    overview = client.get("/surface/").text
    assert f"<td class=\"small tabular\" data-trend>{row.risk_score}</td>" in overview


def test_scan_from_the_page_with_live_progress_and_diff(app, client, lab, orgs):  # noqa: F811
    row, token = domains.add_domain(orgs.a.org.id, ZONE, actor_label="test")
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    refused = client.post(f"/surface/domains/{row.id}/scan", data={"active": "y"})
    assert refused.status_code == 303 and not db.session.scalar(sa.select(JobRun.id).where(
        JobRun.kind == "surface.scan"))
    lab.txt[ZONE] = [f"vigil-verification={token}"]
    assert client.post(f"/surface/domains/{row.id}/verify").status_code == 303
    started = client.post(f"/surface/domains/{row.id}/scan", data={"active": "y"})
    assert started.status_code == 303
    twice = client.post(f"/surface/domains/{row.id}/scan", data={"active": "y"})
    assert twice.status_code == 303 and "/runs/" not in twice.headers["Location"]  # one scan at a time
    run_url = started.headers["Location"]
    assert f'hx-get="{run_url}" hx-trigger="load"' in client.get(f"/surface/domains/{row.id}").text
    queued = client.get(run_url, headers=HX)
    assert 'hx-trigger="every 1s"' in queued.text and "<html" not in queued.text
    run_jobs(app)
    db.session.expire_all()
    done = client.get(run_url, headers=HX)
    assert "every 1s" not in done.text and "See the result" in done.text
    history = db.session.scalar(sa.select(XasmScanHistory).where(XasmScanHistory.domain_id == row.id))
    result_page = client.get(f"/surface/scans/{history.id}")
    assert "the first scan of this domain" in result_page.text and "exposed_git" in result_page.text
    logged = set(db.session.scalars(sa.select(AuditLog.action).where(AuditLog.org_id == orgs.a.org.id)))
    assert {"surface.domain_added", "surface.domain_verification", "surface.scan_requested",
            "surface.scan_completed"} <= logged


def test_findings_filters_and_exports(client, lab, orgs):  # noqa: F811
    row = scanned(lab, orgs.a.org.id)
    client.login(orgs.a.users["analyst"].email)
    page = client.get(f"/surface/findings?domain_id={row.id}&severity=high")
    assert page.status_code == 200 and "exposed_git" in page.text and "missing_csp" not in page.text
    fragment = client.get("/surface/findings?severity=low", headers=HX)
    assert "<html" not in fragment.text and "missing_csp" in fragment.text and "exposed_git" not in fragment.text
    exported = client.get("/surface/findings.csv?severity=high")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["severity"] for r in rows} == {"high"}
    data = client.get("/surface/findings.json").get_json()
    assert {f["type"] for f in data["findings"]} >= {"exposed_git", "dangling_cname"}


def test_scope_form_validates_and_audits(client, lab, orgs):  # noqa: F811
    row, _ = domains.add_domain(orgs.a.org.id, ZONE, actor_label="test")
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    bad = client.post(f"/surface/domains/{row.id}/scope", data={"exclusions": "other.org", "schedule": "daily"})
    assert bad.status_code == 422 and "is not a host under" in bad.text
    db.session.expire_all()
    assert db.session.get(SurfaceDomain, row.id).scan_schedule == "off"  # nothing half-saved
    good = client.post(f"/surface/domains/{row.id}/scope", data={"exclusions": "dev.lab.test\n", "schedule": "weekly"})
    assert good.status_code == 303
    db.session.expire_all()
    saved = db.session.get(SurfaceDomain, row.id)
    assert saved.scope_exclusions == ["dev.lab.test"] and saved.next_scan_at is not None
    assert db.session.scalar(sa.select(AuditLog.action).order_by(AuditLog.id.desc()).limit(1)) == \
        "surface.domain_scope_changed"


def test_verify_fix_reruns_one_test(app, client, lab, orgs):  # noqa: F811
    row = scanned(lab, orgs.a.org.id)
    git = db.session.scalar(sa.select(LightboxFinding).where(LightboxFinding.domain_id == row.id,
                                                             LightboxFinding.finding_type == "exposed_git",
                                                             LightboxFinding.asset.like("www.lab.test:%")))
    dmarc = db.session.scalar(sa.select(LightboxFinding).where(LightboxFinding.domain_id == row.id,
                                                               LightboxFinding.finding_type == "dmarc_missing"))
    client.login(orgs.a.users["analyst"].email)
    assert "Verify fix" in client.get(f"/surface/findings?domain_id={row.id}&severity=high").text
    assert client.post(f"/surface/findings/{dmarc.id}/verify-fix").status_code == 409
    # Still exposed: the re-check keeps it open.
    assert client.post(f"/surface/findings/{git.id}/verify-fix").status_code == 303
    lab.http_requests.clear()
    run_jobs(app)
    db.session.expire_all()
    assert db.session.get(LightboxFinding, git.id).status == "open"
    assert {path for _, host, _, path in lab.http_requests} <= {"/", "/.git/HEAD", "/.env", "/.DS_Store",
                                                                "/backup.zip", "/server-status"}
    lab.fixed_paths.add("/.git/HEAD")
    client.post(f"/surface/findings/{git.id}/verify-fix")
    run_jobs(app)
    db.session.expire_all()
    assert db.session.get(LightboxFinding, git.id).status == "fixed"
    assert db.session.scalar(sa.select(AuditLog.action).where(AuditLog.resource_id == str(git.id))
                             .order_by(AuditLog.id.desc()).limit(1)) == "surface.finding_rechecked"


def test_demo_data_fills_the_pages(client, orgs):
    from app.surface.demo import seed_surface

    orgs.a.org.primary_domain = "globex.example"
    seed_surface({"a": orgs.a.org, "b": orgs.b.org})  # b has no primary domain: skipped
    seed_surface({"a": orgs.a.org})  # seeding twice adds nothing
    db.session.commit()
    rows = db.session.scalars(sa.select(SurfaceDomain)).all()
    assert [(r.org_id, r.domain, r.state) for r in rows] == [(orgs.a.org.id, "globex.example", "pending")]
    assert rows[0].risk_score is not None
    client.login(orgs.a.users["analyst"].email)
    page = client.get(f"/surface/domains/{rows[0].id}")
    assert "assets.globex.example" in page.text and "dangling: takeover candidate" in page.text
    assert "dmarc_missing" in client.get("/surface/findings").text
