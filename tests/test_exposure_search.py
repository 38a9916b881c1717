"""Ghost search: every source against a local fake with the real response shapes (results,
not found, 401, 429, a dead server), per-source status, merged and deduplicated results, the
recorded query and audit row, k-anonymity (only the prefix leaves, the password is stored
nowhere), export, sealed API keys, validation and tenancy."""

from __future__ import annotations

import json
import logging
import re

import pytest
import sqlalchemy as sa

from app.exposure import keys, search
from app.exposure.providers import PROVIDERS
from app.exposure.providers.base import credential_name
from app.models import AuditLog, ProviderCredential, SecurityEvent, db
from app.models.exposure import GhostSearchQuery, GithubFinding, PastebinFinding
from tests.exposure_fakes import GITHUB_ITEM, PASTE_SECRET, FakeServices, database_text, hibp_routes
from tests.fakes import free_port
from tests.tenancy import assert_other_org_cannot_reach

HIBP_KEY = "hibp-key-0123456789abcdef"


@pytest.fixture()
def services(app, monkeypatch):
    fake = FakeServices(hibp_routes())
    for key, path in (("HIBP", "/hibp"), ("PWNED_PASSWORDS", "/pwned"), ("XPOSEDORNOT", "/xon"),
                      ("LEAKCHECK", "/leakcheck"), ("PSBDMP", "/psbdmp")):
        monkeypatch.setitem(app.config, f"EXPOSURE_{key}_URL", fake.url + path)
    monkeypatch.setitem(app.config, "EXPOSURE_PROVIDER_BACKOFF", 0.01)
    yield fake
    fake.close()


def login_and_key(client, fx):
    client.login(fx.users["admin"].email)
    assert client.post("/exposure/providers/hibp", data={"hibp-secret": HIBP_KEY}).status_code == 303


def run_search(client, **data):
    return client.post("/exposure/search", data=data)


def statuses(record: GhostSearchQuery) -> dict[str, str]:
    return {k: v["status"] for k, v in record.source_status.items()}


def latest() -> GhostSearchQuery:
    return db.session.scalar(sa.select(GhostSearchQuery).order_by(GhostSearchQuery.id.desc()).limit(1))


def test_email_search_all_sources_merged_and_recorded(app, client, orgs, services, redis_conn):
    login_and_key(client, orgs.a)
    db.session.add(SecurityEvent(org_id=orgs.a.org.id, email="jane@example.com", event_type="login_failed",
                                 severity="low", description="Failed sign-in"))
    db.session.commit()
    response = run_search(client, query_type="email", value="Jane@Example.com")
    assert response.status_code == 200
    record = latest()
    assert record.query_type == "email" and record.query_value == "jane@example.com"
    assert statuses(record) == {"local": "ok", "vigil": "ok", "hibp": "ok", "pwned_passwords": "skipped",
                                "xposedornot": "ok", "leakcheck": "ok", "github": "no_key", "psbdmp": "ok"}
    titles = [(h["source"], h["title"]) for h in record.results]
    assert titles.count(("hibp", "Adobe")) == 1 and ("hibp", "Gawker") in titles  # deduplicated
    assert ("hibp", "syslog") in titles and ("xposedornot", "Canva") in titles and ("leakcheck", "Zynga.com") in titles
    assert ("vigil", "login failed") in titles
    assert record.results_count == len(record.results) and record.response_time_ms is not None
    adobe = next(h for h in record.results if h["title"] == "Adobe")
    assert "Passwords" in adobe["data_classes"] and adobe["date"] == "2013-10-04"
    # The key went in the documented header, sealed at rest.
    hibp_calls = [h for p, h in services.requests if p.startswith("/hibp/breachedaccount/jane%40example.com")]
    assert hibp_calls and hibp_calls[0]["hibp-api-key"] == HIBP_KEY
    stored = db.session.scalar(sa.select(ProviderCredential).where(ProviderCredential.provider == credential_name("hibp")))
    assert HIBP_KEY not in stored.secret_encrypted
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "exposure.search"))
    assert audit.details["value"] == "jane@example.com" and audit.details["statuses"]["hibp"] == "ok"
    assert 'data-source="hibp" data-status="ok"' in response.text


def test_not_found_everywhere(app, client, orgs, services, redis_conn):
    login_and_key(client, orgs.a)
    fragment = client.post("/exposure/search", data={"query_type": "email", "value": "nobody@example.com"},
                           headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="search-results"' in fragment.text
    assert "Nothing found." in fragment.text
    record = latest()
    assert record.results_count == 0 and set(statuses(record).values()) <= {"ok", "skipped", "no_key"}
    assert statuses(record)["hibp"] == "ok" and statuses(record)["github"] == "no_key"


@pytest.mark.parametrize("status, expected", [(429, "rate_limited"), (401, "error")])
def test_hibp_errors_are_a_status_not_a_failure(app, client, orgs, monkeypatch, status, expected, redis_conn):
    fake = FakeServices(hibp_routes(account_status=status))
    monkeypatch.setitem(app.config, "EXPOSURE_HIBP_URL", fake.url + "/hibp")
    try:
        login_and_key(client, orgs.a)
        response = run_search(client, query_type="email", value="jane@example.com", sources=["hibp", "local"])
    finally:
        fake.close()
    assert response.status_code == 200
    record = latest()
    assert statuses(record) == {"hibp": expected, "local": "ok"}
    if status == 429:
        assert "2 s" in record.source_status["hibp"]["message"]


def test_no_key_dead_server_and_vigils_own_rate_limit(app, client, orgs, monkeypatch, redis_conn):
    client.login(orgs.a.users["analyst"].email)
    monkeypatch.setitem(app.config, "EXPOSURE_XPOSEDORNOT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setitem(app.config, "EXPOSURE_PROVIDER_BACKOFF", 0.01)
    run_search(client, query_type="email", value="jane@example.com", sources=["hibp", "xposedornot"])
    assert statuses(latest()) == {"hibp": "no_key", "xposedornot": "error"}
    monkeypatch.setattr(PROVIDERS["local"], "per_minute", 1)
    run_search(client, query_type="email", value="jane@example.com", sources=["local"])
    run_search(client, query_type="email", value="jane@example.com", sources=["local"])
    assert statuses(latest()) == {"local": "rate_limited"}


def test_password_search_sends_only_the_prefix_and_stores_nothing(app, client, orgs, services, redis_conn, caplog):
    caplog.set_level(logging.DEBUG)
    client.login(orgs.a.users["analyst"].email)
    response = run_search(client, query_type="password", password="password")
    assert response.status_code == 200
    record = latest()
    assert record.query_value == search.PASSWORD_PLACEHOLDER
    assert statuses(record)["pwned_passwords"] == "ok" and statuses(record)["hibp"] == "skipped"
    hit = next(h for h in record.results if h["source"] == "pwned_passwords")
    assert hit["count"] == 9659365
    paths = [p for p, _ in services.requests]
    assert paths == ["/pwned/range/5BAA6"]  # only the 5-character prefix left
    assert all(h.get("add-padding") == "true" for p, h in services.requests)
    field = re.search(r'<input[^>]*name="password"[^>]*>', response.text).group(0)
    assert field.endswith('value="">')  # never put back into the page
    # A distinctive password: nowhere in the database, the logs or what left Vigil.
    secret = "Vigil-Search-Pw-5521"
    assert run_search(client, query_type="password", password=secret).status_code == 200
    assert latest().results_count == 0 and services.requests[-1][0] == f"/pwned/range/{keys.sha1_prefix(secret)}"
    dump = database_text()
    assert search.PASSWORD_PLACEHOLDER in dump and secret not in dump
    assert "1E4C9B93F3F0682250B6CF8331B7EE68FD8" not in dump  # not even the full hash of the first one
    assert secret not in caplog.text and secret not in str(services.requests)


def test_domain_search_and_export(app, client, orgs, services, redis_conn):
    login_and_key(client, orgs.a)
    run_search(client, query_type="domain", value="@Example.COM")
    record = latest()
    assert record.query_value == "example.com"
    hibp = {h["title"]: h["count"] for h in record.results if h["source"] == "hibp"}
    assert hibp == {"Adobe": 2, "Gawker": 1}
    exported = client.get(f"/exposure/search/{record.id}/export.json")
    assert exported.status_code == 200 and json.loads(exported.data)["results"] == record.results
    csv_text = client.get(f"/exposure/search/{record.id}/export.csv").data.decode()
    assert csv_text.splitlines()[0] == "source,kind,title,date,count,data_classes,detail,url" and "Gawker" in csv_text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "exposure.search_exported")) == 2
    assert client.get(f"/exposure/search/{record.id}").status_code == 200


@pytest.mark.parametrize("qtype, value, message", [
    ("email", "not-an-email", "valid e-mail"), ("domain", "no spaces.com x", "domain name"),
    ("ip", "999.1.1.1", "IPv4 or IPv6"), ("phone", "call me", "international form"), ("password", "", "1 to 256"),
    ("bogus", "x", "Not a valid choice"),
])
def test_invalid_values_are_422(app, client, orgs, qtype, value, message, redis_conn):
    client.login(orgs.a.users["analyst"].email)
    response = run_search(client, query_type=qtype, value=value)
    assert response.status_code == 422 and message in response.text
    assert latest() is None


def test_permissions_and_tenancy(app, client, orgs, services, redis_conn):
    login_and_key(client, orgs.a)
    run_search(client, query_type="email", value="jane@example.com")
    record = latest()
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/exposure/search").status_code == 403
    assert run_search(client, query_type="email", value="x@example.com").status_code == 403
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    assert client.post("/exposure/providers/hibp", data={"hibp-secret": "x" * 20}).status_code == 403
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)
    assert_other_org_cannot_reach(client, [("GET", f"/exposure/search/{record.id}"),
                                           ("GET", f"/exposure/search/{record.id}/export.csv")])
    assert client.post("/exposure/providers/hibp/delete").status_code == 404  # B has no key of its own
    client.post("/auth/logout")
    client.login(orgs.a.users["admin"].email)
    assert client.post("/exposure/providers/hibp", data={"hibp-secret": "short"}).status_code == 422
    assert client.post("/exposure/providers/hibp/delete").status_code == 303
    assert db.session.scalar(sa.select(ProviderCredential).where(
        ProviderCredential.org_id == orgs.a.org.id, ProviderCredential.provider == credential_name("hibp"))) is None


@pytest.mark.parametrize("status", [200, 403])
def test_github_code_search_masks_secrets_and_reads_its_rate_limit(app, client, orgs, monkeypatch, status, redis_conn):
    def route(path):
        if status == 403:
            return 403, {"X-RateLimit-Remaining": "0"}, {"message": "API rate limit exceeded for user ID 1.",
                                                           "documentation_url": "https://docs.github.com/rest"}
        return 200, {}, {"total_count": 1, "incomplete_results": False, "items": [GITHUB_ITEM]}

    fake = FakeServices({"/gh/search/code": route})
    monkeypatch.setitem(app.config, "EXPOSURE_GITHUB_URL", fake.url + "/gh")
    try:
        client.login(orgs.a.users["admin"].email)
        client.post("/exposure/providers/github", data={"github-secret": "ghp_" + "a" * 36})
        response = run_search(client, query_type="domain", value="acme.test", sources=["github"])
    finally:
        fake.close()
    record = latest()
    if status == 403:
        assert statuses(record) == {"github": "rate_limited"}
        return
    assert statuses(record) == {"github": "ok"}
    [hit] = record.results
    assert hit["title"] == "someone/leaky/app/settings.py" and "2 secret(s) masked" in hit["detail"]
    path, headers = fake.requests[0]
    assert path.startswith("/gh/search/code?q=%22acme.test%22") and headers["authorization"] == "Bearer ghp_" + "a" * 36
    finding = db.session.scalar(sa.select(GithubFinding).where(GithubFinding.org_id == orgs.a.org.id))
    assert finding.gist_url == GITHUB_ITEM["html_url"] and finding.credential_type == "aws_access_key"
    assert finding.credential_masked == "AKIA…OP (20)" and len(finding.credential_hmac) == 64
    assert "Hunt…99 (17)" in finding.context and "ops@acme.test" in finding.context
    dump = database_text()
    for secret in ("Hunter2-Secret-99", "AKIAABCDEFGHIJKLMNOP"):
        assert secret not in dump and secret not in response.text


def test_paste_search_masks_secrets_stores_findings_once_and_reports_each_failure(app, client, orgs, services,
                                                                                  redis_conn):
    client.login(orgs.a.users["analyst"].email)
    response = run_search(client, query_type="email", value="jane@example.com", sources=["psbdmp"])
    record = latest()
    assert statuses(record) == {"psbdmp": "ok"}
    assert [h["title"] for h in record.results] == ["Paste Xy12AbCd (mail)", "Paste Qw34ErTy"]
    first = record.results[0]
    assert first["url"] == "https://pastebin.com/Xy12AbCd" and first["date"] == "2023-05-01"
    assert "2 secret(s) masked" in first["detail"]
    assert [p for p, _ in services.requests] == ["/psbdmp/v3/search/jane%40example.com"]
    rows = db.session.scalars(sa.select(PastebinFinding).where(PastebinFinding.org_id == orgs.a.org.id)
                              .order_by(PastebinFinding.paste_id)).all()
    assert [r.paste_id for r in rows] == ["psbdmp:Qw34ErTy", "psbdmp:Xy12AbCd"]
    leak = rows[1]
    assert leak.query_term == "jane@example.com" and leak.query_type == "email"
    assert leak.posted_date == "2023-05-01 12:34:56" and leak.paste_url == "https://pastebin.com/Xy12AbCd"
    assert leak.credential_masked == keys.mask_secret(PASTE_SECRET) == "Past…21 (18)"
    assert leak.credential_hmac == keys.password_hmac(PASTE_SECRET, keys.password_hmac_key())
    assert "jane@example.com:Past…21 (18)" in leak.context and rows[0].credential_hmac is None
    run_search(client, query_type="email", value="jane@example.com", sources=["psbdmp"])  # again: kept once
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PastebinFinding)) == 2
    dump = database_text()
    for secret in (PASTE_SECRET, "hunter22"):
        assert secret not in dump and secret not in response.text
    # The older documented answer shape; types the service does not search; every failure a status.
    run_search(client, query_type="domain", value="acme.test", sources=["psbdmp"])
    assert statuses(latest()) == {"psbdmp": "ok"} and latest().results[0]["title"] == "Paste Zx56CvBn (domain)"
    run_search(client, query_type="password", password="whatever-pw", sources=["psbdmp"])
    assert statuses(latest()) == {"psbdmp": "skipped"}
    run_search(client, query_type="email", value="nobody@example.com", sources=["psbdmp"])
    assert statuses(latest()) == {"psbdmp": "ok"} and latest().results_count == 0
    run_search(client, query_type="keyword", value="ratelimited", sources=["psbdmp"])
    assert statuses(latest()) == {"psbdmp": "rate_limited"} and "60 s" in latest().source_status["psbdmp"]["message"]
    for value, message in (("disabled", "temporarily disabled"), ("blocked", "HTTP 403"), ("html", "without JSON")):
        run_search(client, query_type="keyword", value=value, sources=["psbdmp"])
        assert statuses(latest()) == {"psbdmp": "error"} and message in latest().source_status["psbdmp"]["message"]
    requests_before = len(services.requests)
    assert "password" not in "".join(p for p, _ in services.requests) and requests_before == 8


def test_paste_search_dead_server_and_vigils_own_ceiling(app, client, orgs, services, monkeypatch, redis_conn):
    client.login(orgs.a.users["analyst"].email)
    monkeypatch.setitem(app.config, "EXPOSURE_PSBDMP_URL", f"http://127.0.0.1:{free_port()}")
    run_search(client, query_type="email", value="jane@example.com", sources=["psbdmp"])
    assert statuses(latest()) == {"psbdmp": "error"}
    monkeypatch.setitem(app.config, "EXPOSURE_PSBDMP_URL", services.url + "/psbdmp")
    monkeypatch.setattr(PROVIDERS["psbdmp"], "per_minute", 1)
    run_search(client, query_type="email", value="jane@example.com", sources=["psbdmp"])
    assert statuses(latest()) == {"psbdmp": "rate_limited"}  # the dead server's try counted in this minute
    assert not [p for p, _ in services.requests if p.startswith("/psbdmp")]
