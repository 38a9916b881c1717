"""The home page: posture per domain, one ranked attention list, the timeline, live blocks,
the super admin's per-organization table, and a query count that does not grow with data."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.dashboard.registry import (
    ATTENTION,
    POSTURE,
    AttentionItem,
    PostureState,
    register_attention,
    register_posture,
)
from app.models import (
    Alert,
    BackupSnapshot,
    BreachFileResult,
    Device,
    FrameworkFunction,
    FrameworkScore,
    IocSighting,
    LightboxFinding,
    Metric,
    MonitoredEmail,
    MonitoredEmailFinding,
    Network,
    SecurityIncident,
    SurfaceDomain,
    ThreatIntelligence,
    UploadedBreachFile,
    db,
    utcnow,
)


def seed(org_id: int, n: int, csf=None, user=None, tag: str = "") -> None:
    """n of everything the home page reads, in one organization."""
    now = utcnow()
    for i in range(n):
        device = Device(org_id=org_id, hostname=f"dev{tag}{i}", device_name=f"Device {tag}{i}",
                        device_type="scanner" if i % 2 else "server", enrolled_at=now - timedelta(days=30),
                        last_seen_at=now - timedelta(hours=3 + i), status="offline")
        db.session.add(device)
        db.session.flush()
        db.session.add(Alert(org_id=org_id, device_id=device.id, target_key=f"k{tag}{i}", target_label=f"dev{tag}{i}",
                             alert_type="device_offline", severity="critical" if i == 0 else "warning",
                             message=f"alert {tag}{i}", status="open", fired_at=now - timedelta(minutes=i)))
        db.session.add(Network(org_id=org_id, bssid=f"02:00:{ord(tag[:1] or '0'):02X}:00:{i // 256:02X}:{i % 256:02X}", ssid=f"follow{tag}{i}",
                               type="W", firsttime_ms=0, lasttime_ms=0, lastlat=0, lastlon=0, encryption="wpa2",
                               threat_level="CRITICAL" if i == 0 else "HIGH", threat_score_v2=Decimal(90 - i % 50),
                               threat_updated_at=now - timedelta(hours=i)))
        db.session.add(SecurityIncident(org_id=org_id, title=f"Incident {tag}{i}", severity="high", status="open"))
        db.session.add(BackupSnapshot(org_id=org_id, device_id=device.id, backup_type="file", snapshot_id=f"s{tag}{i}",
                                      storage_path="/b", status="failed", started_at=now - timedelta(hours=1)))
    if user is not None:
        ioc = ThreatIntelligence(org_id=org_id, indicator_type="email", indicator_value=f"x{tag}@bad.example")
        db.session.add(ioc)
        db.session.flush()
        db.session.add(IocSighting(org_id=org_id, intel_id=ioc.id, source="user", object_id=str(user.id),
                                   object_label="user", observed_value=user.email, observed_at=now))
    if csf is not None:
        function = db.session.scalar(sa.select(FrameworkFunction).where(FrameworkFunction.code == "PR"))
        for i in range(n):
            db.session.add(Metric(org_id=org_id, metric_number=f"PR-{i + 1:03d}", name=f"Metric {tag}{i}",
                                  function_id=function.id, current_value=Decimal(10), target_value=Decimal(90),
                                  direction="higher_is_better", priority="High"))
        db.session.add(FrameworkScore(org_id=org_id, framework_id=csf.id, overall_score=Decimal("60"),
                                      overall_rating="medium risk", calculated_at=now - timedelta(days=8),
                                      function_scores={"PR": 60}))
        db.session.add(FrameworkScore(org_id=org_id, framework_id=csf.id, overall_score=Decimal("70.5"),
                                      overall_rating="medium risk", calculated_at=now,
                                      function_scores={"PR": 40, "GV": 90}))
    db.session.commit()


def seed_surface_and_exposure(org_id: int, n: int, user=None, tag: str = "") -> None:
    """n of what the attack-surface and exposure tiles read: domains with critical and high
    findings (every other one unverified), breach credentials (leaked passwords in use when
    a user is given), monitored addresses with high findings."""
    now = utcnow()
    upload = UploadedBreachFile(org_id=org_id, upload_id=str(uuid.uuid4()), filename=f"leak{tag}.txt", file_size=1,
                                content_hash=f"{tag}{org_id}".ljust(64, "0")[:64], mime_type="text/plain",
                                processing_status="completed", expires_at=now + timedelta(days=1))
    db.session.add(upload)
    db.session.flush()
    for i in range(n):
        domain = SurfaceDomain(org_id=org_id, domain=f"d{tag}{i}.example", verification_token_enc="x",
                               state="failed" if i % 2 else "verified", risk_level="critical" if i == 0 else "high",
                               last_checked_at=now)
        db.session.add(domain)
        db.session.flush()
        for severity in ("critical", "high"):
            db.session.add(LightboxFinding(org_id=org_id, domain_id=domain.id, fingerprint=f"{severity}{tag}{i}",
                                           asset=f"www.d{tag}{i}.example", finding_type=f"planted_{severity}",
                                           title=f"Planted {severity} {tag}{i}", severity=severity))
        db.session.add(BreachFileResult(org_id=org_id, uploaded_file_id=upload.id, line_number=i + 1,
                                        email=f"p{tag}{i}@example.test", credential_key=f"k{tag}{i}", matched=True,
                                        match_reason="user" if user else "org_domain",
                                        user_id=user.id if user else None, password_in_use=user is not None))
        address = MonitoredEmail(org_id=org_id, email_address=f"m{tag}{i}@example.test", confirmed_at=now)
        db.session.add(address)
        db.session.flush()
        db.session.add(MonitoredEmailFinding(org_id=org_id, monitored_email_id=address.id, finding_type="breach",
                                             source="hibp", breach_name=f"Breach{tag}{i}", severity="high",
                                             dedupe_key=f"d{tag}{i}", found_at=now - timedelta(hours=i)))


@contextmanager
def counting_queries():
    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_posture_attention_and_timeline(client, orgs, csf):
    user = orgs.a.users["analyst"]
    seed(orgs.a.org.id, 3, csf, user)
    client.login(user.email)
    html = client.get("/").get_data(as_text=True)
    assert 'data-count="users"' in html  # the CI smoke test's marker
    for name in ("csf", "threats", "wireless", "fleet"):
        assert f'data-posture="{name}"' in html
    assert "70.5" in html and 'data-trend="10.5"' in html  # CSF score from the snapshots, +10.5 over a week
    assert "/metrics/functions/PR" in html  # the worst function, one click away
    attention = html[html.index('id="attention"'):html.index('id="timeline"')]
    # Critical items first (alert, follower, compromised account), each linking to its object.
    first_high = attention.index("text-bg-warning")
    for needle in ("\"/alerts/", "/wireless/networks/", "/threats/entity?v="):
        assert attention.index(needle) < first_high
    for needle in ("/threats/incidents/", "/fleet/devices/", "/metrics/"):
        assert needle in attention
    assert "Metric 0 below target" in attention and "Scanner Device 1 offline" in attention
    assert "Backup failed on Device 0" in attention and "/fleet/devices/" in attention
    assert 'data-timeline="threats"' in html and 'data-timeline="fleet"' in html


def test_permissions_shape_the_page(client, orgs):
    seed(orgs.a.org.id, 2)
    client.login(orgs.a.users["read_only"].email)
    html = client.get("/").get_data(as_text=True)
    assert 'data-posture="fleet"' in html and 'data-posture="threats"' not in html
    assert "/threats/incidents/" not in html
    assert 'id="org-table"' not in html


def test_another_organizations_data_stays_out(client, orgs):
    seed(orgs.b.org.id, 2, tag="other")
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/").get_data(as_text=True)
    assert "Deviceother" not in html and "Incident other" not in html and "followother" not in html
    assert "data-attention-empty" in html


def test_each_block_polls_on_its_own(client, orgs):
    seed(orgs.a.org.id, 2)
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/").get_data(as_text=True)
    for block in ("posture", "attention", "timeline", "counts"):
        assert f'hx-get="/?block={block}"' in html
    fragment = client.get("/?block=attention", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "\"/alerts/" in fragment and 'data-posture=' not in fragment
    fragment = client.get("/?block=posture", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-posture="fleet"' in fragment and "\"/alerts/" in fragment  # the worst alert
    # An unknown block name falls back to the counts block.
    assert 'data-count="users"' in client.get("/?block=nope", headers={"HX-Request": "true"}).get_data(as_text=True)


def test_super_admin_sees_every_organization(client, orgs, csf):
    seed(orgs.a.org.id, 2, csf)
    seed(orgs.b.org.id, 3, tag="b")
    client.login(orgs.super_admin.email)
    html = client.get("/").get_data(as_text=True)
    table = html[html.index('id="org-table"'):]
    assert f'data-org="{orgs.a.org.id}"' in table and f'data-org="{orgs.b.org.id}"' in table
    row_b = table[table.index(f'data-org="{orgs.b.org.id}"'):]
    row_b = row_b[:row_b.index("</tr>")]
    assert ">1<" in row_b and ">3<" in row_b  # one critical alert, three open incidents / offline devices
    row_a = table[table.index(f'data-org="{orgs.a.org.id}"'):]
    assert "70.5" in row_a[:row_a.index("</tr>")]


def test_the_query_count_does_not_grow_with_data(client, orgs, csf, app):
    user = orgs.a.users["admin"]
    client.login(user.email)
    client.get("/")  # warm: first-request work (settings cache, geo data) is not what is counted
    seed(orgs.a.org.id, 2, csf, user, tag="s")
    seed_surface_and_exposure(orgs.a.org.id, 2, user, tag="s")
    db.session.commit()
    with app.app_context(), counting_queries() as small:
        page = client.get("/")
        assert page.status_code == 200
    for name in ("surface", "exposure"):  # the new domains' tiles are part of what is counted
        assert f'data-posture="{name}"' in page.get_data(as_text=True)
    seed(orgs.a.org.id, 40, None, user, tag="l")
    seed_surface_and_exposure(orgs.a.org.id, 40, user, tag="l")
    db.session.commit()
    with app.app_context(), counting_queries() as large:
        assert client.get("/").status_code == 200
    assert small["n"] > 10  # it did count the page's queries
    assert large["n"] == small["n"]


def test_a_new_domain_plugs_in_by_registration(client, orgs):
    def canary_posture(org_id: int) -> PostureState:
        return PostureState(value="7", caption="canary tokens tripped", url="/canary", trend=2, higher_is_better=False)

    def canary_attention(org_id: int, limit: int) -> list[AttentionItem]:
        return [AttentionItem("critical", "Canary token tripped", "/canary/1", utcnow(), "", "canary")]

    register_posture("canary_test", "Canary tokens", "data.read", canary_posture)
    register_attention("canary_test", "Canary", "data.read", canary_attention)
    try:
        client.login(orgs.a.users["read_only"].email)
        html = client.get("/").get_data(as_text=True)
        assert 'data-posture="canary_test"' in html and 'href="/canary/1"' in html
    finally:
        POSTURE.pop("canary_test")
        ATTENTION.pop("canary_test")


@pytest.mark.parametrize("role", ["admin", "read_only"])
def test_empty_organization_renders(client, orgs, role):
    client.login(orgs.a.users[role].email)
    response = client.get("/")
    assert response.status_code == 200 and "Nothing needs attention right now" in response.get_data(as_text=True)


def test_alerts_of_a_domain_the_user_may_not_open_stay_off_the_home_page_and_search(client, orgs):
    # A read-only user lacks threats.view: a threats alert (its title names an address and a
    # user) was listed under "Needs attention now" and in search with a link that was a 404.
    now = utcnow()
    db.session.add(Alert(org_id=orgs.a.org.id, target_key="ioc:1", target_label="cidr 198.51.100.0/24",
                         alert_type="ioc_sighting", domain="threats", severity="critical",
                         message="Indicator sighted (login_failed victim@a.example)", status="open", fired_at=now))
    db.session.flush()
    client.login(orgs.a.users["read_only"].email)
    assert "198.51.100.0/24" not in client.get("/").get_data(as_text=True)
    assert "198.51.100.0/24" not in client.get("/search/?q=198.51.100").get_data(as_text=True)
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)  # who may see threats still does
    assert "198.51.100.0/24" in client.get("/").get_data(as_text=True)
    assert "198.51.100.0/24" in client.get("/search/?q=198.51.100").get_data(as_text=True)
