"""Attack surface: domains and their proof, scope, the scan job and its storage, the CLI.

Everything runs against the loopback lab (tests/surface_lab.py)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.jobs import enqueue
from app.models import (
    AuditLog,
    JobRun,
    LightboxFinding,
    LightboxScanHistory,
    Notification,
    ScanResultXasm,
    SurfaceAsset,
    SurfaceDomain,
    XasmScanHistory,
    db,
    utcnow,
)
from app.surface import domains, scans
from app.surface.domains import SurfaceError
from app.surface.findings import open_findings
from app.surface.resolver import Resolver, TargetRefused, check_target
from tests.conftest import run_jobs
from tests.surface_lab import ZONE, lab, surface_lab  # noqa: F401 - fixtures

FINDING_EVENTS = ("surface.finding_critical", "surface.finding_high")


def listed(org_id: int, name: str = ZONE) -> tuple[SurfaceDomain, str]:
    row, token = domains.add_domain(org_id, name, actor_label="test")
    db.session.commit()
    return row, token


def verified(lab, org_id: int) -> SurfaceDomain:  # noqa: F811
    row, token = listed(org_id)
    lab.txt[ZONE] = [f"vigil-verification={token}"]
    assert domains.verify(row, actor_label="test")
    db.session.commit()
    return row


def actions(org_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(AuditLog.action).where(AuditLog.org_id == org_id)
                                   .order_by(AuditLog.id)))


# ---------------------------------------------------------------- domains and proof

def test_domain_names_are_normalised_and_validated(orgs):
    assert domains.normalise_domain(" HTTPS://Example.COM/path ") == "example.com"
    for bad in ("", "localhost", "exa mple.com", "-bad.com", "a" * 64 + ".com"):
        with pytest.raises(SurfaceError):
            domains.normalise_domain(bad)
    row, _ = listed(orgs.a.org.id, "example.com")
    with pytest.raises(SurfaceError, match="already listed"):
        domains.add_domain(orgs.a.org.id, "EXAMPLE.com")
    # Another organization may list the same domain; each proves it separately.
    other, _ = listed(orgs.b.org.id, "example.com")
    assert other.id != row.id


def test_the_token_is_sealed_at_rest(app, lab, orgs):  # noqa: F811
    row, token = listed(orgs.a.org.id)
    assert token not in row.verification_token_enc
    assert domains.txt_record(row) == f"vigil-verification={token}"
    assert "domain_added" in actions(orgs.a.org.id)[-1]
    assert token not in json.dumps([a.new_values for a in db.session.scalars(sa.select(AuditLog))], default=str)


def test_verification_by_dns_txt_at_the_domain_or_vigil_label(app, lab, orgs):  # noqa: F811
    with app.app_context():
        row, token = listed(orgs.a.org.id)
        assert not domains.verify(row, actor_label="test")
        assert row.state == "pending" and "no TXT record" in row.last_check_error
        lab.txt[f"_vigil.{ZONE}"] = [f"vigil-verification={token}"]
        assert domains.verify(row, actor_label="test")
        assert (row.state, row.verification_method) == ("verified", "dns_txt")
        assert row.verified_at is not None
        assert actions(orgs.a.org.id)[-1] == "surface.domain_verification"


def test_a_wrong_token_does_not_verify(app, lab, orgs):  # noqa: F811
    row, _ = listed(orgs.a.org.id)
    lab.txt[ZONE] = ["vigil-verification=someone-elses-token"]
    assert not domains.verify(row, actor_label="test")
    assert row.state == "pending"


def test_verification_by_the_well_known_file(app, lab, orgs):  # noqa: F811
    row, token = listed(orgs.a.org.id)
    lab.well_known[ZONE] = token + "\n"
    assert domains.verify(row, actor_label="test")
    assert row.verification_method == "http_file"
    assert any(path == domains.WELL_KNOWN_PATH for _, host, _, path in lab.http_requests if host == ZONE)


def test_private_targets_are_refused_unless_allowed(app, lab, orgs):  # noqa: F811
    with pytest.raises(TargetRefused, match="private, loopback or reserved"):
        app.config["SURFACE_SCAN_PRIVATE_TARGETS"] = False
        try:
            check_target("x.example", ["10.1.2.3"])
        finally:
            app.config["SURFACE_SCAN_PRIVATE_TARGETS"] = True
    assert check_target("x.example", ["93.184.216.34"]) == ["93.184.216.34"]
    row, token = listed(orgs.a.org.id)
    lab.well_known[ZONE] = token
    app.config["SURFACE_SCAN_PRIVATE_TARGETS"] = False
    try:
        assert not domains.verify(row, actor_label="test")
    finally:
        app.config["SURFACE_SCAN_PRIVATE_TARGETS"] = True
    assert "127.0.0.1" in row.last_check_error and not lab.probes_of(ZONE)


def test_losing_the_proof_on_the_weekly_check(app, lab, orgs):  # noqa: F811
    row = verified(lab, orgs.a.org.id)
    row.last_checked_at = utcnow().replace(year=2025)
    db.session.commit()
    assert row.id in domains.domains_due_reverify()
    lab.txt.clear()
    enqueue("surface.reverify", org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    assert db.session.get(SurfaceDomain, row.id).state == "failed"
    told = db.session.scalars(sa.select(Notification).where(Notification.event == "surface.domain_unverified",
                                                            Notification.org_id == orgs.a.org.id)).all()
    assert told and all(n.title == "lab.test lost its proof of ownership" for n in told)
    with pytest.raises(SurfaceError, match="not verified"):
        scans.start_scan(db.session.get(SurfaceDomain, row.id), active=True)


def test_scope_is_verified_subdomains_minus_exclusions(orgs):
    row, _ = listed(orgs.a.org.id, "example.com")
    assert not domains.in_scope(row, "www.example.com")  # not verified yet
    row.state = "verified"
    domains.set_scope(row, ["dev.example.com", "*.internal.example.com"], "weekly", actor=None)
    assert domains.in_scope(row, "example.com") and domains.in_scope(row, "www.example.com")
    assert not domains.in_scope(row, "dev.example.com")
    assert not domains.in_scope(row, "a.b.internal.example.com")
    assert not domains.in_scope(row, "example.com.evil.test") and not domains.in_scope(row, "other.com")
    assert row.next_scan_at is not None
    with pytest.raises(SurfaceError):
        domains.set_scope(row, ["elsewhere.org"], "off")


# ---------------------------------------------------------------- scans

def test_an_unverified_domain_gets_no_active_probe(app, lab, orgs):  # noqa: F811
    row, _ = listed(orgs.a.org.id)
    with pytest.raises(SurfaceError, match="not verified"):
        scans.start_scan(row, active=True)
    with pytest.raises(SurfaceError, match="not verified"):
        scans.execute(row.id, active=True)
    history = scans.execute(row.id, active=False)
    db.session.commit()
    # Passive discovery worked (DNS and CT only) ...
    assert "www.lab.test" in history.results_json["subdomains"] and lab.ct_requests
    # ... and not one HTTP request or TCP connection reached the lab's servers.
    assert lab.http_requests == [] and lab.tcp_connections == []
    assert history.results_json["open_ports"] == []


def test_excluded_hosts_are_not_probed(app, lab, orgs):  # noqa: F811
    row = verified(lab, orgs.a.org.id)
    domains.set_scope(row, ["www.lab.test", "api.lab.test", "vpn.lab.test", "ns1.lab.test"], "off")
    db.session.commit()
    scans.execute(row.id, active=True)
    hosts = {host for _, host, _, _ in lab.http_requests}
    assert hosts == {ZONE}


def test_the_scan_job_stores_history_findings_and_notifies_once(app, lab, orgs):  # noqa: F811
    org_id = orgs.a.org.id
    row = verified(lab, org_id)
    run_id = scans.start_scan(row, active=True)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    run = db.session.get(JobRun, run_id)
    assert run.status == "succeeded", run.error
    history = db.session.scalar(sa.select(XasmScanHistory).where(XasmScanHistory.job_run_id == run_id))
    assert history.active and history.risk_score == run.result["risk_score"]
    types = {f.finding_type for f in db.session.scalars(sa.select(LightboxFinding).where(
        LightboxFinding.domain_id == row.id))}
    assert {"exposed_git", "directory_listing", "dangling_cname", "axfr_allowed", "dmarc_missing",
            "tls_self_signed", "tls_certificate_expiring", "database_exposed", "cve:CVE-2021-42013",
            "default_page"} <= types
    assets = {f.asset.split(":")[0] for f in db.session.scalars(sa.select(LightboxFinding).where(
        LightboxFinding.finding_type == "default_page"))}
    assert assets == {"vpn.lab.test"}
    assert "spf_missing" not in types  # the lab publishes SPF
    assert len(history.summary_stats["diff"]["new"]) == len(history.results_json["findings"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LightboxScanHistory)
                             .where(LightboxScanHistory.domain_id == row.id)) == 1
    assert db.session.scalar(sa.select(ScanResultXasm).where(ScanResultXasm.company == ZONE)).expires_at > utcnow()
    kinds = set(db.session.scalars(sa.select(SurfaceAsset.asset_type).where(SurfaceAsset.domain_id == row.id)))
    assert {"subdomain", "address", "port", "certificate", "cloud"} <= kinds
    # Findings alert on the shared engine: one alert (and notification) per critical/high finding,
    # the event being the rule type (was one "surface.finding_new" notification per scan).
    notes = db.session.scalars(sa.select(Notification).where(Notification.event.in_(FINDING_EVENTS),
                                                             Notification.org_id == org_id)
                               .order_by(Notification.severity != "critical", Notification.id)).all()
    assert notes and notes[0].severity == "critical" and "critical" in notes[0].title
    assert notes[0].link == f"/surface/findings?domain_id={row.id}"
    first_count = len(notes)

    # The same world again: nothing new, nothing fixed, nobody notified twice.
    scans.execute(row.id, active=True)
    db.session.commit()
    second = db.session.scalar(sa.select(XasmScanHistory).where(XasmScanHistory.domain_id == row.id)
                               .order_by(XasmScanHistory.id.desc()).limit(1))
    assert second.summary_stats["diff"]["new"] == [] and second.summary_stats["diff"]["fixed"] == []
    assert len(db.session.scalars(sa.select(Notification).where(Notification.event.in_(FINDING_EVENTS),
                                                                Notification.org_id == org_id)).all()) == first_count

    # DMARC published: that finding is fixed by the next (even passive) scan.
    lab.txt[f"_dmarc.{ZONE}"] = ["v=DMARC1; p=reject"]
    third = scans.execute(row.id, active=False)
    db.session.commit()
    fixed = [f for f in db.session.scalars(sa.select(LightboxFinding).where(
        LightboxFinding.fingerprint.in_(third.summary_stats["diff"]["fixed"])))]
    assert [f.finding_type for f in fixed] == ["dmarc_missing"]  # active findings wait for an active scan
    assert {"dmarc_missing"} == {f.finding_type for f in fixed if f.status == "fixed"}
    open_types = {f.type for f in open_findings(org_id)}
    assert "exposed_git" in open_types and "dmarc_missing" not in open_types


def test_expired_results_are_cleaned_up(app, lab, orgs):  # noqa: F811
    row, _ = listed(orgs.a.org.id)
    scans.execute(row.id, active=False)
    db.session.commit()
    assert not scans.has_expired_results()
    result = db.session.scalar(sa.select(ScanResultXasm).where(ScanResultXasm.org_id == orgs.a.org.id))
    result.expires_at = utcnow().replace(year=2025)
    db.session.commit()
    assert scans.has_expired_results()
    assert scans.cleanup_expired_results() == 1
    assert not scans.has_expired_results()


# ---------------------------------------------------------------- CLI

def test_cli_add_verify_scan_json(app, lab, orgs):  # noqa: F811
    runner = app.test_cli_runner()
    slug = orgs.a.org.slug
    added = runner.invoke(args=["surface", "add-domain", ZONE, "--org", slug])
    assert added.exit_code == 0, added.output
    token = next(line.split(": ", 1)[1] for line in added.output.splitlines() if line.startswith("token: "))
    not_yet = runner.invoke(args=["surface", "verify", ZONE, "--org", slug])
    assert not_yet.exit_code == 1
    refused = runner.invoke(args=["surface", "scan", ZONE, "--org", slug, "--active", "--json"])
    assert refused.exit_code == 2 and "not verified" in refused.output
    lab.txt[ZONE] = [f"vigil-verification={token}"]
    assert runner.invoke(args=["surface", "verify", ZONE, "--org", slug]).exit_code == 0
    scanned = runner.invoke(args=["surface", "scan", ZONE, "--org", slug, "--active", "--json"])
    assert scanned.exit_code == 0, scanned.output
    data = json.loads(scanned.stdout)
    assert 0 <= data["risk_score"] <= 100 and data["risk_level"] in ("low", "medium", "high", "critical")
    assert "dev.lab.test" in data["subdomains"]
    services = {p["service"] for p in data["open_ports"]}
    assert {"http", "https", "ssh", "ftp", "mysql"} <= services
    assert all(set(p) >= {"host", "port", "service"} for p in data["open_ports"])
    by_type = {f["type"]: f for f in data["findings"]}
    assert set(by_type["exposed_git"]) >= {"type", "severity", "asset", "evidence"}
    assert "GET http" in by_type["exposed_git"]["evidence"] and "ref: refs/heads/main" in by_type["exposed_git"]["evidence"]
    assert len(by_type["exposed_git"]["evidence"].encode()) <= 2048
    assert "KEV" in by_type["cve:CVE-2021-42013"]["evidence"]
    unknown = runner.invoke(args=["surface", "scan", "nope.test", "--org", slug])
    assert unknown.exit_code != 0


def test_a_resolver_pointed_at_the_lab_answers_every_record_type(app, lab):  # noqa: F811
    with app.app_context():
        resolver = Resolver()
        assert resolver.lookup(ZONE, "MX").values == ["10 mail.lab.test"]
        assert resolver.lookup(ZONE, "CAA").values == ['0 issue "letsencrypt.org"']
        assert resolver.lookup(f"nothing.{ZONE}", "A").nxdomain
        assert resolver.cname(f"dev.{ZONE}") == "lab-assets.s3.amazonaws.com"
        assert resolver.axfr(ZONE, f"ns1.{ZONE}") and resolver.axfr("wild.test", f"ns1.{ZONE}") is None


def test_scheduled_rescans_are_queued_when_due(app, lab, orgs):  # noqa: F811
    row = verified(lab, orgs.a.org.id)
    domains.set_scope(row, [], "daily")
    db.session.commit()
    assert not domains.has_due_scans()
    row.next_scan_at = utcnow().replace(year=2025)
    db.session.commit()
    assert domains.domains_due_scan() == [row.id]
    enqueue("surface.scheduled_scans", org_id=None)
    db.session.commit()
    run_jobs(app)  # queues the scan, and the same burst runs it
    db.session.expire_all()
    history = db.session.scalar(sa.select(XasmScanHistory).where(XasmScanHistory.domain_id == row.id))
    assert history is not None and history.active  # verified: the scheduled scan is active
    assert db.session.get(SurfaceDomain, row.id).next_scan_at > utcnow()
    assert not domains.has_due_scans()


def test_resolved_addresses_are_matched_against_threat_intelligence(app, lab, orgs):  # noqa: F811
    import ipaddress

    from app.models import ThreatIntelligence
    from app.threats.intel import address_hex

    ip = ipaddress.ip_address("127.0.0.2")
    db.session.add(ThreatIntelligence(org_id=orgs.a.org.id, indicator_type="ip", indicator_value=str(ip),
                                      range_start=address_hex(ip), range_end=address_hex(ip),
                                      threat_type="c2", source="test"))
    db.session.commit()
    row, _ = listed(orgs.a.org.id)
    history = scans.execute(row.id, active=False)
    matches = [f for f in history.results_json["findings"] if f["type"] == "threat_intel_match"]
    assert [m["asset"] for m in matches] == ["127.0.0.2"] and "c2" in matches[0]["evidence"]
    other, _ = listed(orgs.b.org.id)  # the indicator is org A's only
    assert not [f for f in scans.execute(other.id, active=False).results_json["findings"]
                if f["type"] == "threat_intel_match"]


def test_an_active_scan_skips_private_addresses_unless_allowed(app, lab, orgs):  # noqa: F811
    row = verified(lab, orgs.a.org.id)
    app.config["SURFACE_SCAN_PRIVATE_TARGETS"] = False
    try:
        history = scans.execute(row.id, active=True)
    finally:
        app.config["SURFACE_SCAN_PRIVATE_TARGETS"] = True
    notes = history.results_json["notes"]
    assert any(n.startswith("not probed (private or reserved addresses): 127.0.0.1") for n in notes)
    assert lab.http_requests == [] and lab.tcp_connections == [] and history.results_json["open_ports"] == []
