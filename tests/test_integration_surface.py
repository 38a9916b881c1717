"""The attack surface in the one console: its alert rules through a real scan of the lab
(one alert and one notification per finding, resolved when fixed; lost verification),
search, home page tiles, indicator places (on scan and by retro-hunt) and incident links,
each scoped to the organization."""

from __future__ import annotations

import sqlalchemy as sa

from app.core import linkable
from app.indicators import matching
from app.models import IocSighting, LightboxFinding, SurfaceAsset, SurfaceDomain, db, utcnow
from app.search.registry import PROVIDERS
from app.surface import domains, recheck, scans
from app.threats.intel import add_indicator
from tests.surface_lab import ZONE, lab, surface_lab  # noqa: F401 - fixtures
from tests.test_alerts_domains import alerts_of, notes
from tests.test_surface import verified


def scanned(lab, org_id: int):  # noqa: F811
    row = verified(lab, org_id)
    scans.execute(row.id, active=True)
    db.session.commit()
    return row


def finding(org_id: int, finding_type: str) -> LightboxFinding:
    db.session.expire_all()
    return db.session.scalar(sa.select(LightboxFinding).where(LightboxFinding.org_id == org_id,
                                                              LightboxFinding.finding_type == finding_type))


def test_a_scan_alerts_once_per_finding_and_a_fix_resolves_it(app, lab, orgs):  # noqa: F811
    org_id = orgs.a.org.id
    row = scanned(lab, org_id)
    urgent = db.session.scalars(sa.select(LightboxFinding).where(
        LightboxFinding.org_id == org_id, LightboxFinding.severity.in_(("critical", "high")))).all()
    critical = alerts_of(org_id, "surface.finding_critical")
    high = alerts_of(org_id, "surface.finding_high")
    assert {a.target_key for a in critical + high} == {f"finding:{f.id}" for f in urgent}
    assert len(critical) == sum(1 for f in urgent if f.severity == "critical") > 0
    assert notes(org_id, "surface.finding_critical") == len(critical)
    assert notes(org_id, "surface.finding_high") == len(high)
    git = finding(org_id, "exposed_git")
    assert git.severity == "high" and f"finding:{git.id}" in {a.target_key for a in high}
    # The same world again: the same alerts, nobody told twice.
    scans.execute(row.id, active=True)
    db.session.commit()
    assert len(alerts_of(org_id, "surface.finding_high")) == len(high)
    assert notes(org_id, "surface.finding_high") == len(high)
    # The exposed .git is removed: the next active scan marks it fixed and resolves its alert.
    lab.fixed_paths.add("/.git/HEAD")
    scans.execute(row.id, active=True)
    db.session.commit()
    assert finding(org_id, "exposed_git").status == "fixed"
    (alert,) = [a for a in alerts_of(org_id, "surface.finding_high") if a.target_key == f"finding:{git.id}"]
    assert alert.status == "resolved"
    assert notes(org_id, "surface.finding_high") == len(high)  # the resolution is its own event
    assert not alerts_of(orgs.b.org.id, "surface.finding_high")


def test_a_passing_re_check_resolves_the_findings_alert(app, lab, orgs):  # noqa: F811
    org_id = orgs.a.org.id
    scanned(lab, org_id)
    git = finding(org_id, "exposed_git")
    key = f"finding:{git.id}"
    assert [a.status for a in alerts_of(org_id, "surface.finding_high") if a.target_key == key] == ["open"]
    lab.fixed_paths.add("/.git/HEAD")
    assert recheck.recheck(git, actor_label="test")
    db.session.commit()
    assert [a.status for a in alerts_of(org_id, "surface.finding_high") if a.target_key == key] == ["resolved"]


def test_losing_and_regaining_the_proof_is_one_alert_that_resolves(app, lab, orgs):  # noqa: F811
    org_id = orgs.a.org.id
    row = verified(lab, org_id)
    token_txt = list(lab.txt[ZONE])
    lab.txt.clear()
    assert not domains.verify(row, actor_label="test")
    db.session.commit()
    assert not domains.verify(row, actor_label="test")  # still lost: the same alert
    db.session.commit()
    (alert,) = alerts_of(org_id, "surface.domain_unverified")
    assert alert.status == "open" and alert.message == f"{ZONE} lost its proof of ownership"
    assert alert.target_key == f"domain:{row.id}" and notes(org_id, "surface.domain_unverified") == 1
    lab.txt[ZONE] = token_txt
    assert domains.verify(row, actor_label="test")
    db.session.commit()
    (alert,) = alerts_of(org_id, "surface.domain_unverified")
    assert alert.status == "resolved" and notes(org_id, "surface.domain_unverified") == 1


def test_search_finds_domains_findings_and_assets_of_the_own_organization_only(app, lab, orgs):  # noqa: F811
    scanned(lab, orgs.a.org.id)
    with app.test_request_context():
        domains_hit = PROVIDERS["surface_domains"].search_fn(orgs.a.org.id, "lab.te", 10)
        findings_hit = PROVIDERS["surface_findings"].search_fn(orgs.a.org.id, "vpn.lab", 10)
        assets_hit = PROVIDERS["surface_assets"].search_fn(orgs.a.org.id, "127.0.0.2", 10)
        assert [h.title for h in domains_hit] == [ZONE] and domains_hit[0].url.startswith("/surface/domains/")
        assert findings_hit and all("vpn.lab.test" in h.title for h in findings_hit)
        assert assets_hit and assets_hit[0].title == "127.0.0.2"
        for name in ("surface_domains", "surface_findings", "surface_assets"):
            assert PROVIDERS[name].search_fn(orgs.b.org.id, "lab", 10) == []


def test_the_global_search_page_lists_surface_hits(client, lab, orgs):  # noqa: F811
    scanned(lab, orgs.a.org.id)
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/search/?q=vpn.lab.test").get_data(as_text=True)
    assert "Discovered assets" in html and "vpn.lab.test" in html
    client.post("/auth/logout")
    client.login(orgs.b.users["analyst"].email)
    other = client.get("/search/?q=vpn.lab.test").get_data(as_text=True)
    assert "Discovered assets" not in other and "/surface/domains/" not in other


def test_an_indicator_matches_scan_targets_on_scan_and_by_retro_hunt(app, lab, orgs):  # noqa: F811
    org_id = orgs.a.org.id
    ioc, _ = add_indicator(org_id, "domain", f"vpn.{ZONE}", confidence=90, threat_type="c2")
    db.session.commit()
    scanned(lab, org_id)  # the scan's own flush matches the discovered subdomain
    seen = db.session.scalars(sa.select(IocSighting).where(IocSighting.intel_id == ioc.id)).all()
    assert {(s.source, s.observed_value) for s in seen} == {("surface_asset", f"vpn.{ZONE}")}
    (alert,) = alerts_of(org_id, "indicator_sighted")
    assert alert.target_key == f"indicator:{ioc.id}" and notes(org_id, "indicator_sighted") == 1
    # An indicator arriving after the scan is found by the retro-hunt.
    later, _ = add_indicator(org_id, "domain", f"www.{ZONE}", confidence=90, threat_type="c2")
    db.session.commit()
    assert matching.retro_hunt(later.id) >= 1
    db.session.commit()
    assert {s.source for s in db.session.scalars(sa.select(IocSighting).where(IocSighting.intel_id == later.id))
            } == {"surface_asset"}
    # Resolved addresses are a place too (the lab's are loopback, which indicators refuse: a
    # public address is stored the way the scan stores it).
    address, _ = add_indicator(org_id, "ip", "203.0.113.77", confidence=90, threat_type="c2")
    db.session.commit()
    domain_id = db.session.scalar(sa.select(SurfaceAsset.domain_id).where(SurfaceAsset.org_id == org_id).limit(1))
    db.session.add(SurfaceAsset(org_id=org_id, domain_id=domain_id, asset_type="address", value="203.0.113.77"))
    db.session.commit()
    assert db.session.scalar(sa.select(IocSighting.source).where(IocSighting.intel_id == address.id)) == "surface_asset"
    assert {a.target_key for a in alerts_of(org_id, "indicator_sighted")} == {
        f"indicator:{i.id}" for i in (ioc, later, address)}
    assert notes(org_id, "indicator_sighted") == 3
    with app.test_request_context():
        places = {p.name for p, _ in matching.appearances(org_id, "domain", ZONE)}
        assert "surface_domain" in places
        assert not matching.appearances(orgs.b.org.id, "domain", ZONE)


def test_findings_and_domains_link_to_incidents_within_the_organization(client, lab, orgs):  # noqa: F811
    row = scanned(lab, orgs.a.org.id)
    git = finding(orgs.a.org.id, "exposed_git")
    with client.application.test_request_context():
        assert linkable.resolve(orgs.a.org.id, "surface_finding", str(git.id)) is git
        assert linkable.resolve(orgs.b.org.id, "surface_finding", str(git.id)) is None
        assert linkable.resolve(orgs.a.org.id, "surface_domain", str(row.id)).domain == ZONE
        assert linkable.resolve(orgs.b.org.id, "surface_domain", str(row.id)) is None
        assert any("Found" in what for _, what in linkable.timeline("surface_finding", git))
        assert any("scan of" in what for _, what in linkable.timeline("surface_domain", row))
    client.login(orgs.a.users["admin"].email)
    page = client.get(f"/threats/incidents/new?link=surface_finding:{git.id}")
    assert page.status_code == 200 and git.title in page.get_data(as_text=True)  # prefilled from the finding


def surface_rows(org_id: int, n: int, tag: str = "") -> None:
    """n listed domains (every other one with its proof lost), each with a critical and a high
    open finding and two discovered assets: what the home page reads, without a scan."""
    for i in range(n):
        row = SurfaceDomain(org_id=org_id, domain=f"d{tag}{i}.example", verification_token_enc="x",
                            state="failed" if i % 2 else "verified", risk_level="critical" if i == 0 else "high",
                            last_checked_at=utcnow())
        db.session.add(row)
        db.session.flush()
        for severity in ("critical", "high"):
            db.session.add(LightboxFinding(org_id=org_id, domain_id=row.id, fingerprint=f"{severity}{tag}{i}",
                                           asset=f"www.d{tag}{i}.example", finding_type=f"planted_{severity}",
                                           title=f"Planted {severity} {tag}{i}", severity=severity))
        db.session.add(SurfaceAsset(org_id=org_id, domain_id=row.id, asset_type="subdomain",
                                    value=f"www.d{tag}{i}.example", details={"name": f"www.d{tag}{i}.example"}))
        db.session.add(SurfaceAsset(org_id=org_id, domain_id=row.id, asset_type="address", value=f"198.51.100.{i % 250}"))
    db.session.commit()


def test_home_shows_the_surface_tile_and_attention_items(client, orgs):
    surface_rows(orgs.a.org.id, 2)
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/").get_data(as_text=True)
    tile = html[html.index('data-posture="surface"'):]
    tile = tile[:tile.index("</div>", tile.index("2 critical"))]
    assert "CRITICAL" in tile and "2 critical, 2 high open findings" in tile and "1 of 2 domain(s) unverified" in tile
    attention = html[html.index('id="attention"'):html.index('id="timeline"')]
    assert "d0.example: 1 critical and 1 high open finding(s)" in attention
    assert "d1.example lost its proof of ownership" in attention
    client.post("/auth/logout")
    client.login(orgs.b.users["analyst"].email)
    other = client.get("/").get_data(as_text=True)
    assert 'data-posture="surface"' not in other and "d0.example" not in other
