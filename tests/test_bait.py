"""Canary tokens: creation, the honeypot's answers and records, alerts without floods, and
the address followed across Vigil (issue 22; pages and CLI in test_bait_pages.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.bait import kinds, services
from app.models import (
    Alert,
    AuditLog,
    BaitToken,
    IocSighting,
    SecurityEvent,
    ThreatIntelligence,
    db,
    utcnow,
)
from tests.bait_support import (
    ATTACKER,
    CHROME,
    OTHER,
    accesses,
    bait_notifications,
    configure,
    make,
    touch,
)


@pytest.fixture()
def bait_config(app, monkeypatch):
    return configure(app, monkeypatch)


# 1. Models: one identifier format, unique triggers, sealed credentials ------------------------

@pytest.mark.parametrize("kind", list(kinds.KINDS))
def test_every_kind_gets_one_identifier_format_and_a_unique_trigger(bait_config, orgs, kind):
    token = make(orgs.a.org.id, kind)
    assert kinds.IDENTIFIER_RE.fullmatch(token.identifier)
    assert token.identifier[:16] in token.trigger.lower()  # an AWS key id carries 16 of its 20
    assert token.status == "active" and token.access_count == 0
    other = make(orgs.a.org.id, kind, "second")
    assert other.identifier != token.identifier and other.trigger != token.trigger


def test_fake_credentials_are_sealed_at_rest(bait_config, orgs):
    token = make(orgs.a.org.id, "aws")
    secret = services.secret_of(token)
    assert secret["aws_access_key_id"] == token.trigger and secret["aws_access_key_id"].startswith("AKIA")
    raw = db.session.scalar(sa.text("SELECT token_value FROM bait_tokens WHERE id = :i"), {"i": token.id})
    assert secret["aws_secret_access_key"] not in raw and "AKIA" not in raw


def test_a_duplicate_trigger_is_refused_by_the_database(bait_config, orgs):
    token = make(orgs.a.org.id)
    db.session.add(BaitToken(org_id=orgs.a.org.id, identifier="x" * 20, trigger=token.trigger, name="dup",
                             bait_type="url"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_dns_tokens_need_a_zone(app, orgs, monkeypatch):
    monkeypatch.setitem(app.config, "BAIT_DNS_ZONE", "")
    with pytest.raises(services.BaitError, match="VIGIL_BAIT_DNS_ZONE"):
        services.create_token(orgs.a.org.id, "dns", "hosts file")


# 2. The honeypot ----------------------------------------------------------------------------

def test_a_web_bug_hit_is_recorded_with_everything_the_client_sent(client, bait_config, orgs):
    token = make(orgs.a.org.id)
    headers = {"User-Agent": CHROME, "Accept-Language": "de-DE,de;q=0.9", "Referer": "https://wiki.example.com/",
               "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "cross-site", "Cookie": "session=secret"}
    response = touch(client, token, headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/html"
    (hit,) = accesses(token)
    assert (hit.source_ip, hit.user_agent, hit.request_type) == (ATTACKER, CHROME, "http")
    assert hit.accept_language == "de-DE,de;q=0.9" and hit.referer == "https://wiki.example.com/"
    assert hit.sec_fetch_headers == {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "cross-site"}
    assert "Cookie" not in hit.request_headers and hit.request_headers["Accept-Language"].startswith("de")
    assert (hit.attribution_type, hit.evidence_strength, hit.attribution_confidence) == ("human", "court_ready", 100)
    assert hit.geolocation and "United Kingdom" in hit.geolocation and hit.fingerprint
    db.session.refresh(token)
    assert token.status == "triggered" and token.access_count == 1
    assert token.first_access == token.last_access == hit.accessed_at
    touch(client, token, headers={"User-Agent": "curl/8.5.0"})
    db.session.refresh(token)
    assert token.access_count == 2 and token.last_access > token.first_access
    assert db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(
        AuditLog.resource_type == "bait_token", AuditLog.resource_id == str(token.id),
        AuditLog.action.in_(["bait.token_triggered", "bait.token_hit"]))) == 2


def test_the_honeypot_never_reveals_vigil_and_sets_no_session(client, bait_config, orgs):
    for kind, suffix in (("url", ""), ("image", "logo.gif"), ("aws", ""), ("api", "github/user"),
                         ("kubeconfig", "api/v1/namespaces"), ("qr", ""), ("url", "nope")):
        token = make(orgs.a.org.id, kind)
        response = touch(client, token, suffix, method="POST" if kind == "aws" else "GET", data=b"x=1")
        text = response.get_data(as_text=True).lower() if response.mimetype != "image/gif" else ""
        assert "vigil" not in text and "csrf" not in text
        assert not any("vigil" in f"{k}: {v}".lower() for k, v in response.headers.items())
        assert "Set-Cookie" not in response.headers
    unknown = client.get("/c/" + "a" * 20)
    assert unknown.status_code == 404 and "nginx" in unknown.get_data(as_text=True)
    hostile = client.get(f"/c/{make(orgs.a.org.id).identifier}?q=%00")  # the console's input check
    assert hostile.status_code == 400 and "nginx" in hostile.get_data(as_text=True)
    assert "Set-Cookie" not in hostile.headers
    traced = touch(client, make(orgs.a.org.id), method="TRACE")  # not the console's 405 page
    assert traced.status_code == 200 and "vigil" not in traced.get_data(as_text=True).lower()


def test_image_kinds_answer_with_a_pixel(client, bait_config, orgs):
    for kind in ("image", "html", "docx"):
        token = make(orgs.a.org.id, kind)
        response = touch(client, token, "logo.gif")
        assert response.mimetype == "image/gif" and response.data.startswith(b"GIF89a")
        assert accesses(token)[0].request_type == "image"


def test_aws_endpoint_answers_invalid_client_token_id(client, bait_config, orgs):
    token = make(orgs.a.org.id, "aws")
    response = touch(client, token, method="POST", data="Action=GetCallerIdentity&Version=2011-06-15",
                     content_type="application/x-www-form-urlencoded",
                     headers={"User-Agent": "aws-cli/2.17.0",
                              "Authorization": f"AWS4-HMAC-SHA256 Credential={token.trigger}/20261207/us-east-1/sts"})
    assert response.status_code == 403 and response.mimetype == "text/xml"
    assert b"<Code>InvalidClientTokenId</Code>" in response.data
    (hit,) = accesses(token)
    assert hit.request_type == "aws" and hit.request_body.startswith("Action=GetCallerIdentity")
    assert "Authorization" not in hit.request_headers and hit.attribution_type == "tool"


@pytest.mark.parametrize("service, status, marker", [
    ("stripe/v1/charges", 401, b"invalid_request_error"),
    ("github/user", 401, b"Bad credentials"),
    ("slack/api/auth.test", 200, b"invalid_auth"),
])
def test_api_tokens_are_refused_like_the_real_service(client, bait_config, orgs, service, status, marker):
    token = make(orgs.a.org.id, "api")
    response = touch(client, token, service, headers={"User-Agent": "python-requests/2.32"})
    assert response.status_code == status and marker in response.data
    assert accesses(token)[0].request_type == "api"


def test_the_env_file_points_every_base_url_at_the_honeypot(bait_config, orgs):
    token = make(orgs.a.org.id, "api")
    name, _media, content = services_artifact(token)
    text = content.decode()
    assert name == ".env"
    for line in ("STRIPE_SECRET_KEY=sk_live_", "GITHUB_TOKEN=ghp_", "SLACK_BOT_TOKEN=xoxb-"):
        assert line in text
    assert text.count(f"/c/{token.identifier}/") == 3


def test_kubeconfig_server_is_the_honeypot_and_answers_401(client, bait_config, orgs):
    token = make(orgs.a.org.id, "kubeconfig")
    assert f"server: http://localhost/c/{token.identifier}" in services_artifact(token)[2].decode()
    response = touch(client, token, "api", headers={"User-Agent": "kubectl/v1.31.0 (linux/amd64)"})
    assert response.status_code == 401 and response.json["reason"] == "Unauthorized"
    assert accesses(token)[0].request_type == "kubernetes"


def test_unknown_revoked_and_expired_identifiers_are_probes_not_accesses(client, bait_config, orgs, redis_conn):
    revoked = make(orgs.a.org.id, name="revoked")
    services.revoke(revoked, orgs.a.users["admin"])
    expired = make(orgs.a.org.id, name="expired", expires_at=utcnow() - timedelta(minutes=1))
    db.session.commit()
    before = services.probe_count()
    assert client.get("/c/" + "b" * 20).status_code == 404
    assert touch(client, revoked).status_code == 404
    assert touch(client, expired).status_code == 404
    with client.application.app_context():
        assert services.probe_count() == before + 3
    assert accesses(revoked) == [] and accesses(expired) == []
    db.session.refresh(expired)
    assert expired.status == "expired"


def test_the_honeypot_answers_only_on_the_bait_host_when_one_is_set(client, bait_config, orgs, monkeypatch):
    token = make(orgs.a.org.id)
    monkeypatch.setitem(client.application.config, "BAIT_BASE_URL", "http://bait.example.net")
    assert touch(client, token).status_code == 404  # the console's own host
    assert client.get(f"/c/{token.identifier}", base_url="http://bait.example.net",
                      environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 200
    assert len(accesses(token)) == 1


def test_on_a_bait_host_of_its_own_nothing_but_the_honeypot_answers(client, bait_config, orgs, monkeypatch):
    monkeypatch.setitem(client.application.config, "BAIT_BASE_URL", "http://bait.example.net")
    for path in ("/", "/auth/login", "/bait/", "/c/", "/static/js/app.js"):
        response = client.get(path, base_url="http://bait.example.net")
        assert response.status_code == 404 and "nginx" in response.get_data(as_text=True), path
        assert "Location" not in response.headers and "Set-Cookie" not in response.headers
    assert client.get("/auth/login").status_code == 200  # the console's own host is untouched


def test_the_body_is_kept_up_to_the_limit(client, bait_config, orgs, monkeypatch):
    monkeypatch.setitem(client.application.config, "BAIT_BODY_LIMIT", 10)
    token = make(orgs.a.org.id, "api")
    touch(client, token, "stripe/v1/charges", method="POST", data=b"amount=1000&currency=usd")
    assert accesses(token)[0].request_body == "amount=100"


def services_artifact(token):
    from app.bait import artifacts

    return artifacts.artifact(token, services.secret_of(token))


# 3. Threat level across tokens ------------------------------------------------------------------

def test_threat_level_rises_with_hits_and_with_several_tokens_from_one_address(client, bait_config, orgs):
    one, two = make(orgs.a.org.id, name="one"), make(orgs.a.org.id, name="two")
    touch(client, one, headers={"User-Agent": CHROME, "Accept-Language": "en"})
    assert accesses(one)[-1].threat_level == "medium"
    touch(client, two, headers={"User-Agent": CHROME, "Accept-Language": "en"})
    assert accesses(two)[-1].threat_level == "high"  # a second token from the same address
    for _ in range(3):
        touch(client, one, headers={"User-Agent": CHROME, "Accept-Language": "en"})
    assert accesses(one)[-1].threat_level == "critical"  # 5 hits from the address
    assert services.token_threat_level(one) == "critical"


# 4. Alerts without floods -----------------------------------------------------------------------

def test_a_burst_of_hits_opens_one_alert_and_notifies_once(client, bait_config, orgs):
    token = make(orgs.a.org.id, "aws")
    for _ in range(12):
        touch(client, token, method="POST", headers={"User-Agent": "aws-cli/2.17.0"})
    db.session.expire_all()
    (alert,) = db.session.scalars(sa.select(Alert).where(Alert.org_id == orgs.a.org.id,
                                                         Alert.alert_type == "bait_triggered"))
    assert alert.notify_count == 1 and alert.status == "open"
    assert "12 hits" in alert.message  # the burst is counted into the one alert
    assert alert.details["link"] == f"/bait/{token.id}"
    assert bait_notifications(orgs.a.org.id) == 1
    assert bait_notifications(orgs.b.org.id) == 0


def test_a_new_address_or_a_new_token_may_notify_again(client, bait_config, orgs):
    token, second = make(orgs.a.org.id, name="one"), make(orgs.a.org.id, name="two")
    touch(client, token)
    touch(client, token)
    touch(client, token, ip=OTHER)
    touch(client, second)
    db.session.expire_all()
    alerts = list(db.session.scalars(sa.select(Alert).where(Alert.alert_type == "bait_triggered")
                                     .order_by(Alert.id)))
    assert [a.target_key for a in alerts] == [f"token:{token.id}:{ATTACKER}", f"token:{token.id}:{OTHER}",
                                              f"token:{second.id}:{ATTACKER}"]
    assert bait_notifications(orgs.a.org.id) == 3


# 5. Across Vigil ----------------------------------------------------------------------------------

def test_the_source_address_becomes_an_indicator_with_a_sighting_and_flags_a_later_sign_in(client, bait_config,
                                                                                             orgs):
    token = make(orgs.a.org.id)
    touch(client, token, headers={"User-Agent": "curl/8"})
    db.session.expire_all()
    ioc = db.session.scalar(sa.select(ThreatIntelligence).where(ThreatIntelligence.org_id == orgs.a.org.id,
                                                                ThreatIntelligence.indicator_value == ATTACKER))
    assert ioc is not None and ioc.source == "bait" and ioc.indicator_type == "ip"
    (hit,) = accesses(token)
    sighting = db.session.scalar(sa.select(IocSighting).where(IocSighting.intel_id == ioc.id))
    assert (sighting.source, sighting.object_id) == ("bait_accesses", str(hit.id))
    # Later the same address signs in: the existing matcher flags it.
    event = SecurityEvent(org_id=orgs.a.org.id, event_type="login_success", severity="info",
                          ip_address=ATTACKER, email=orgs.a.users["analyst"].email, description="sign-in")
    db.session.add(event)
    db.session.flush()
    assert db.session.scalar(sa.select(IocSighting).where(IocSighting.intel_id == ioc.id,
                                                          IocSighting.source == "security_event")) is not None
    # Organization B knows nothing of it.
    assert db.session.scalar(sa.select(ThreatIntelligence).where(
        ThreatIntelligence.org_id == orgs.b.org.id, ThreatIntelligence.indicator_value == ATTACKER)) is None


def test_private_and_own_site_addresses_never_become_indicators(client, bait_config, orgs):
    orgs.a.site.public_ip = OTHER  # the organization's own office
    db.session.commit()
    token = make(orgs.a.org.id)
    for ip in ("10.1.2.3", "127.0.0.1", "192.168.1.5", OTHER):
        touch(client, token, ip=ip)
    assert len(accesses(token)) == 4
    assert db.session.scalar(sa.select(sa.func.count(ThreatIntelligence.id)).where(
        ThreatIntelligence.org_id == orgs.a.org.id, ThreatIntelligence.source == "bait")) == 0


def test_the_token_page_lists_where_else_the_address_appears(client, bait_config, orgs):
    token = make(orgs.a.org.id)
    touch(client, token, headers={"User-Agent": "curl/8"})
    db.session.add(SecurityEvent(org_id=orgs.a.org.id, event_type="login_failed", severity="warning",
                                 ip_address=ATTACKER, email="someone@example.test", description="bad password"))
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    html = client.get(f"/bait/{token.id}").get_data(as_text=True)
    assert f'data-source="{ATTACKER}"' in html
    assert 'data-sighting="security_event"' in html and "login_failed" in html
    assert "<strong data-attribution>tool</strong>" in html and "<strong data-evidence>moderate</strong>" in html


def test_a_flood_is_limited_by_the_shared_limiter_but_answered_as_the_web_server(client, bait_config, orgs):
    token = make(orgs.a.org.id, "api")
    statuses: list[int] = []
    # The limiter counts fixed one-minute windows: a burst that straddles a window edge needs
    # up to two windows' worth before it is refused.
    while 429 not in statuses and len(statuses) < 300:
        statuses.append(touch(client, token, "stripe/v1/charges", method="POST",
                              headers={"User-Agent": "curl/8"}).status_code)
    assert statuses[0] == 401 and statuses[-1] == 429
    limited = touch(client, token, "stripe/v1/charges", method="POST")
    text = limited.get_data(as_text=True)
    assert limited.status_code == 429 and "429 Too Many Requests" in text and "nginx" in text
    assert "vigil" not in text.lower() and "Retry-After" in limited.headers and "Set-Cookie" not in limited.headers
    assert len(accesses(token)) == statuses.count(401)  # refused requests are not hits
