"""Exposure in the one console: its alert rules through a real breach import and a real
recheck (one alert and one notification per incident), search without passwords, home page
tiles, indicator places (on import and by retro-hunt), incident links and the OSINT devices
filled from the attack surface, each scoped to the organization."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.auth.events import record_event
from app.core import linkable
from app.exposure import importer, monitoring, osint, uploads
from app.indicators import matching
from app.jobs import enqueue
from app.models import (
    IocSighting,
    MonitoredEmail,
    OsintDevice,
    Profile,
    SurfaceAsset,
    SurfaceDomain,
    User,
    db,
    utcnow,
)
from app.search.registry import PROVIDERS
from app.threats.intel import add_indicator
from tests.conftest import run_jobs
from tests.factories import PASSWORD
from tests.test_alerts_domains import alerts_of, notes
from tests.test_exposure_monitor import services  # noqa: F401 - fixture

LEAK = "Uniq-Leak-Pw-5531"


@pytest.fixture()
def acme(orgs, app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    orgs.a.org.primary_domain = "acme.test"
    orgs.b.org.primary_domain = "acme.test"  # the same file means nothing to another tenant's indicators
    db.session.commit()
    return orgs


def imported(org_id: int, text: str, name: str = "leak.txt"):
    row = uploads.receive(org_id, None, name, [text.encode()])
    db.session.commit()
    importer.run_import(row.id)
    db.session.expire_all()
    return row


def test_a_leaked_password_in_use_is_one_alert_until_the_password_changes(acme):
    org_id, victim = acme.a.org.id, acme.a.users["operator"]
    imported(org_id, f"{victim.email}:{PASSWORD}\nalice@acme.test:{LEAK}\n")
    (alert,) = alerts_of(org_id, "exposure.password_leaked")
    assert alert.target_key == f"user:{victim.id}" and alert.status == "open" and alert.severity == "critical"
    assert alert.message == f"Leaked password in use: {victim.email}"
    assert notes(org_id, "exposure.password_leaked") == 1
    imported(org_id, f"{victim.email}:{PASSWORD}\n", "again.txt")  # a duplicate: nothing new
    assert len(alerts_of(org_id, "exposure.password_leaked")) == 1 and notes(org_id, "exposure.password_leaked") == 1
    record_event("password_changed", "Password changed", user=db.session.get(User, victim.id))
    db.session.commit()
    (alert,) = alerts_of(org_id, "exposure.password_leaked")
    assert alert.status == "resolved" and notes(org_id, "exposure.password_leaked") == 1
    assert not alerts_of(acme.b.org.id, "exposure.password_leaked")


def test_a_new_high_monitored_finding_alerts_once(app, client, acme, services, redis_conn):  # noqa: F811
    org_id = acme.a.org.id
    client.login(acme.a.users["admin"].email)
    client.post("/exposure/providers/hibp", data={"hibp-secret": "hibp-key-0123456789"})
    client.post("/exposure/monitored", data={"email_address": "jane@acme.test", "monitor_scope": "company"})
    for _ in range(2):  # the second recheck finds the same breaches: no new alert, nobody told twice
        for row in db.session.scalars(sa.select(MonitoredEmail).where(MonitoredEmail.org_id == org_id)):
            row.last_checked = None
        enqueue("exposure.recheck_monitored", org_id=None)
        db.session.commit()
        run_jobs(app)
        db.session.expire_all()
    jane = db.session.scalar(sa.select(MonitoredEmail).where(MonitoredEmail.email_address == "jane@acme.test"))
    (alert,) = alerts_of(org_id, "exposure.monitored_finding")
    assert alert.target_key == f"monitored_email:{jane.id}" and "jane@acme.test" in alert.message
    assert notes(org_id, "exposure.monitored_finding") == 1
    assert monitoring.has_due_addresses() is False


def test_an_indicator_matches_breach_e_mails_on_import_and_by_retro_hunt(acme):
    org_id = acme.a.org.id
    ioc, _ = add_indicator(org_id, "email", "mallory@evil.test", confidence=90, threat_type="phishing")
    db.session.commit()
    imported(org_id, f"mallory@evil.test:{LEAK}\nbob@other.test:{LEAK}x\n")
    imported(acme.b.org.id, f"mallory@evil.test:{LEAK}\n")
    seen = db.session.scalars(sa.select(IocSighting).where(IocSighting.intel_id == ioc.id)).all()
    assert [(s.source, s.org_id, s.observed_value) for s in seen] == [("breach_credential", org_id, "mallory@evil.test")]
    (alert,) = alerts_of(org_id, "indicator_sighted")
    assert alert.target_key == f"indicator:{ioc.id}" and notes(org_id, "indicator_sighted") == 1
    assert not alerts_of(acme.b.org.id, "indicator_sighted")
    later, _ = add_indicator(org_id, "domain", "other.test", confidence=90, threat_type="phishing")
    db.session.commit()
    assert matching.retro_hunt(later.id) == 1
    db.session.commit()
    assert db.session.scalar(sa.select(IocSighting.observed_value).where(IocSighting.intel_id == later.id)) \
        == "bob@other.test"
    assert notes(org_id, "indicator_sighted") == 2
    places = {p.name for p, _ in matching.appearances(org_id, "email", "mallory@evil.test")}
    assert "breach_credential" in places


def test_search_finds_addresses_people_and_credentials_never_passwords(app, client, acme):
    org_id = acme.a.org.id
    imported(org_id, f"alice@acme.test:{LEAK}\nzed_user:{LEAK}\n")
    db.session.add(MonitoredEmail(org_id=org_id, email_address="ceo@acme.test", monitor_scope="admin",
                                  confirmed_at=utcnow()))
    db.session.add(Profile(id="00000000-0000-4000-8000-000000000001", org_id=org_id, name="Alice Example",
                           email="alice@acme.test"))
    db.session.commit()
    with app.test_request_context():
        credentials = PROVIDERS["exposure_credentials"].search_fn(org_id, "alice", 10)
        assert [h.title for h in credentials] == ["alice@acme.test"]
        assert [h.title for h in PROVIDERS["exposure_credentials"].search_fn(org_id, "zed_us", 10)] == ["zed_user"]
        assert [h.title for h in PROVIDERS["exposure_profiles"].search_fn(org_id, "alice ex", 10)] == ["Alice Example"]
        for name in ("exposure_credentials", "exposure_profiles", "exposure_monitored"):
            assert PROVIDERS[name].search_fn(acme.b.org.id, "acme", 10) == []
    client.login(acme.a.users["admin"].email)
    html = client.get("/search/?q=acme.test").get_data(as_text=True)
    assert "ceo@acme.test" in html and "Alice Example" in html and LEAK not in html
    client.post("/auth/logout")
    client.login(acme.a.users["read_only"].email)  # admin-scope addresses and details stay hidden
    html = client.get("/search/?q=acme.test").get_data(as_text=True)
    assert "ceo@acme.test" not in html and "Alice Example" not in html


def test_home_shows_exposure_and_the_leaked_account(client, acme):
    victim = acme.a.users["operator"]
    imported(acme.a.org.id, f"{victim.email}:{PASSWORD}\nalice@acme.test:{LEAK}\n")
    client.login(acme.a.users["analyst"].email)
    html = client.get("/").get_data(as_text=True)
    tile = html[html.index('data-posture="exposure"'):]
    assert "1 leaked password(s) in use" in tile[:2000]
    attention = html[html.index('id="attention"'):html.index('id="timeline"')]
    assert f"Password known leaked: {victim.email}" in attention
    client.post("/auth/logout")
    client.login(acme.b.users["analyst"].email)
    assert 'data-posture="exposure"' not in client.get("/").get_data(as_text=True)


def test_profiles_addresses_and_uploads_link_to_incidents_within_the_organization(app, acme):
    org_id = acme.a.org.id
    upload = imported(org_id, f"alice@acme.test:{LEAK}\n")
    profile = Profile(id="00000000-0000-4000-8000-000000000002", org_id=org_id, name="Bob", email="bob@acme.test")
    address = MonitoredEmail(org_id=org_id, email_address="bob@acme.test", confirmed_at=utcnow())
    db.session.add_all([profile, address])
    db.session.commit()
    with app.test_request_context():
        for kind, object_id in (("exposure_profile", profile.id), ("monitored_email", address.id),
                                ("breach_upload", upload.id)):
            assert linkable.resolve(org_id, kind, str(object_id)) is not None
            assert linkable.resolve(acme.b.org.id, kind, str(object_id)) is None
        assert any("uploaded" in what for _, what in linkable.timeline("breach_upload", upload))


def test_osint_devices_come_from_the_attack_surface_of_the_persons_domain(acme):
    org_id = acme.a.org.id
    for owner, name in ((org_id, "acme.test"), (acme.b.org.id, "acme.test")):
        row = SurfaceDomain(org_id=owner, domain=name, verification_token_enc="x", state="verified")
        db.session.add(row)
        db.session.flush()
        host = f"vpn.{name}" if owner == org_id else f"other.{name}"
        db.session.add(SurfaceAsset(org_id=owner, domain_id=row.id, asset_type="subdomain", value=host,
                                    details={"name": host, "addresses": ["203.0.113.5"]}))
        db.session.add(SurfaceAsset(org_id=owner, domain_id=row.id, asset_type="port", value="203.0.113.5:443",
                                    details={"host": "203.0.113.5", "port": 443}))
    profile = Profile(id="00000000-0000-4000-8000-000000000003", org_id=org_id, name="Carol", email="carol@acme.test")
    db.session.add(profile)
    db.session.flush()
    assert osint.refresh_devices(profile) == 1
    assert osint.refresh_devices(profile) == 1  # again: updated, not added twice
    db.session.commit()
    devices = db.session.scalars(sa.select(OsintDevice).where(OsintDevice.profile_id == profile.id)).all()
    assert [(d.hostname, d.ip_address, d.ports_open) for d in devices] == [("vpn.acme.test", "203.0.113.5", [443])]
