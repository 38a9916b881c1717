"""WiGLE enrichment: parsing real answers, the client against a local fake WiGLE, the quota
ledger (soft and hard limits, WiGLE's own refusal, retries not double-counted), the jobs,
the CLI, the Providers page (credentials set/test/clear, admins only) and tenant isolation."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import crypto
from app.models import (
    AuditLog,
    JobRun,
    Network,
    ProviderCredential,
    Setting,
    WigleApiCall,
    WigleV3NetworkDetail,
    WigleV3Observation,
    db,
    utcnow,
)
from app.wireless.wigle import client as wc
from app.wireless.wigle import credentials as creds
from app.wireless.wigle import parse
from app.wireless.wigle.enrich import enrich, never_enriched_ids
from app.wireless.wigle.quota import quota_state
from tests.conftest import run_jobs
from tests.tenancy import assert_other_org_cannot_reach
from tests.wireless_fakes import DROP, FakeServer, Reply, make_network, sample

TOKEN = "wigle-token-Zq9-never-shown"
V3_BSSID = "A0:1D:48:75:64:78"
RATE_LIMITED = sample("v2_error_rate_limited.json")


@pytest.fixture(scope="module")
def fake():
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture()
def wigle(app, fake, monkeypatch):
    fake.reset()
    monkeypatch.setitem(app.config, "WIGLE_BASE_URL", fake.url)
    monkeypatch.setitem(app.config, "PROVIDER_BACKOFF_SECONDS", 0)
    monkeypatch.setitem(app.config, "PROVIDER_RETRIES", 2)
    monkeypatch.setitem(app.config, "PROVIDER_TIMEOUT_SECONDS", 5)
    return fake


def v3_path(bssid: str, kind: str = "wifi") -> str:
    return f"/api/v3/detail/{kind}/{bssid}"


def with_credential(org_id: int) -> None:
    creds.set_credential(org_id, "wigle", api_name="AIDtest", secret=TOKEN, actor_label="test")
    db.session.commit()


def set_limits(soft: int, hard: int) -> None:
    db.session.merge(Setting(key="wireless.wigle_soft_limit", value=soft))
    db.session.merge(Setting(key="wireless.wigle_hard_limit", value=hard))
    db.session.flush()


def ledger(org_id: int) -> list[WigleApiCall]:
    return db.session.scalars(sa.select(WigleApiCall).where(WigleApiCall.org_id == org_id)
                              .order_by(WigleApiCall.id)).all()


# ------------------------------------------------------------------ parsing real samples

def test_v3_wifi_detail_sample_becomes_detail_and_sightings():
    detail, observations = parse.parse_v3_detail(json.loads(sample("v3_detail_wifi_single_cluster.json")), V3_BSSID)
    assert detail["trilat"] == pytest.approx(43.01398849) and detail["trilong"] == pytest.approx(-83.68473053)
    assert (detail["encryption"], detail["channel"], detail["frequency"]) == ("wpa2", 6, 2437)
    assert (detail["city"], detail["region"], detail["country"]) == ("Flint", "MI", "US")
    assert detail["ssid"] == "HP-Print-78-Officejet Pro X576dw"
    assert detail["first_seen"].isoformat() == "2018-05-31T21:08:39+00:00"
    assert detail["last_update"].isoformat() == "2024-11-21T03:29:55+00:00"
    assert len(observations) == 8
    first = observations[0]
    assert (first["lat"], first["lon"], first["level"]) == (43.01391602, -83.68473816, -71)
    assert first["observed_at"].isoformat() == "2024-07-18T07:00:00+00:00"
    assert first["source"] == "wigle_v3" and first["wigle_id"] == "176047630148728"
    assert len({(o["observed_at"], o["lat"], o["lon"]) for o in observations}) == len(observations)


def test_v2_detail_and_search_samples_become_detail_fields():
    detail, observations = parse.parse_v2_detail(json.loads(sample("v2_network_detail_small.json")),
                                                 "8C:76:3F:AB:83:63")
    assert detail["trilat"] == pytest.approx(42.96010208) and detail["ssid"] == "Spartan85"
    assert (detail["encryption"], detail["channel"], detail["frequency"]) == ("wpa2", 1, 2412)
    assert (detail["country"], detail["region"], detail["city"]) == ("US", "MI", None)
    assert detail["first_seen"].isoformat() == "2025-02-02T05:23:34+00:00"
    assert len(observations) == 1 and observations[0]["level"] == -68
    search = json.loads(sample("v2_network_search_rapid7_example.json"))
    found = parse.parse_v2_search(search, "00:1d:73:0b:4f:b0")
    assert (found["city"], found["region"], found["country"], found["encryption"]) == ("豊橋市", "愛知県", "JP", "wpa")
    assert found["channel"] == 11 and found["trilong"] == pytest.approx(137.40457153)
    assert parse.parse_v2_search(search, "00:00:00:00:00:01") is None


def test_the_real_rate_limit_body_is_recognised_whatever_the_status():
    body = json.loads(RATE_LIMITED)
    assert wc.is_rate_limited(200, body) and wc.is_rate_limited(429, body) and wc.is_rate_limited(429, None)
    assert not wc.is_rate_limited(200, {"success": False, "message": "invalid netid"})


# ------------------------------------------------------------------ client and enrichment

def test_enrichment_stores_detail_and_sightings_and_is_idempotent(app, orgs, wigle):
    org_id = orgs.a.org.id
    with_credential(org_id)
    wifi = make_network(org_id, bssid=V3_BSSID)
    bt = make_network(org_id, type="B")
    cell = make_network(org_id, type="L", bssid="310-410-1234-5678")
    wigle.script(v3_path(V3_BSSID), Reply(200, sample("v3_detail_wifi_single_cluster.json")))
    wigle.script(v3_path(bt.bssid, "bt"), Reply(404, {"success": False, "message": "not found"}))
    report = enrich(org_id, [wifi.id, bt.id, cell.id], user_requested=True)
    assert (report.enriched, report.not_found, report.skipped, report.stopped) == (1, 1, 1, None)
    auth = wigle.requests[0].headers["Authorization"]
    assert auth == "Basic " + base64.b64encode(f"AIDtest:{TOKEN}".encode()).decode()
    assert [r.path for r in wigle.requests] == [v3_path(V3_BSSID), v3_path(bt.bssid, "bt")]
    detail = db.session.scalar(sa.select(WigleV3NetworkDetail).where(WigleV3NetworkDetail.network_id == wifi.id))
    assert (detail.city, detail.encryption, detail.channel, detail.org_id) == ("Flint", "wpa2", 6, org_id)
    assert detail.raw_response["networkId"] == "a0:1d:48:75:64:78"
    count = sa.select(sa.func.count()).select_from(WigleV3Observation).where(WigleV3Observation.network_id == wifi.id)
    assert db.session.scalar(count) == 8
    assert wifi.wigle_enriched_at is not None and bt.wigle_enriched_at is not None
    assert cell.wigle_enriched_at is None
    assert [c.outcome for c in ledger(org_id)] == ["ok", "not_found"]
    # Again: replaced, never duplicated.
    enrich(org_id, [wifi.id], user_requested=True)
    assert db.session.scalar(count) == 8
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WigleV3NetworkDetail)
                             .where(WigleV3NetworkDetail.network_id == wifi.id)) == 1
    assert len(ledger(org_id)) == 3


def test_v2_apis_fill_the_detail_too(app, orgs, wigle):
    org_id = orgs.a.org.id
    with_credential(org_id)
    net = make_network(org_id, bssid="8C:76:3F:AB:83:63")
    wigle.script("/api/v2/network/detail", Reply(200, sample("v2_network_detail_small.json")))
    assert enrich(org_id, [net.id], user_requested=True, api="v2").enriched == 1
    assert wigle.requests[0].query == {"netid": ["8C:76:3F:AB:83:63"]}
    other = make_network(org_id, bssid="00:1D:73:0B:4F:75")
    wigle.script("/api/v2/network/search", Reply(200, sample("v2_network_search_rapid7_example.json")))
    assert enrich(org_id, [other.id], user_requested=True, api="v2-search").enriched == 1
    detail = db.session.scalar(sa.select(WigleV3NetworkDetail).where(WigleV3NetworkDetail.network_id == other.id))
    assert (detail.city, detail.country, detail.encryption) == ("札幌市", "JP", "wep")


def test_the_rate_limit_body_stops_the_batch_without_retrying(app, orgs, wigle):
    org_id = orgs.a.org.id
    with_credential(org_id)
    nets = [make_network(org_id) for _ in range(3)]
    wigle.script(v3_path(nets[0].bssid), Reply(200, sample("v3_detail_wifi_single_cluster.json")))
    wigle.script(v3_path(nets[1].bssid), Reply(429, RATE_LIMITED))
    report = enrich(org_id, [n.id for n in nets], user_requested=True)
    assert report.enriched == 1 and "Too many queries today" in report.stopped
    assert wigle.count(v3_path(nets[1].bssid)) == 1  # no retry
    assert wigle.count(v3_path(nets[2].bssid)) == 0  # the batch stopped
    assert [c.outcome for c in ledger(org_id)] == ["ok", "rate_limited"]
    state = quota_state(org_id)
    assert state.used == 1  # WiGLE's refusal is not counted as a served query
    assert state.refused_until is not None and not state.allows(True)
    # The next batch sends nothing at all until WiGLE's day turns.
    again = enrich(org_id, [nets[2].id], user_requested=True)
    assert "refused further queries" in again.stopped and wigle.count(v3_path(nets[2].bssid)) == 0


def test_a_200_rate_limit_body_is_also_a_stop(app, orgs, wigle):
    org_id = orgs.a.org.id
    with_credential(org_id)
    net = make_network(org_id)
    wigle.script(v3_path(net.bssid), Reply(200, RATE_LIMITED))
    assert "Too many" in enrich(org_id, [net.id], user_requested=True).stopped
    assert net.wigle_enriched_at is None


def test_server_errors_and_dropped_connections_back_off_and_count_once(app, orgs, wigle):
    org_id = orgs.a.org.id
    with_credential(org_id)
    a, b, c = (make_network(org_id) for _ in range(3))
    body = sample("v3_detail_wifi_single_cluster.json")
    wigle.script(v3_path(a.bssid), Reply(503, "busy"), Reply(502, "bad gateway"), Reply(200, body))
    wigle.script(v3_path(b.bssid), DROP, Reply(200, body))
    report = enrich(org_id, [a.id, b.id], user_requested=True)
    assert report.enriched == 2
    assert wigle.count(v3_path(a.bssid)) == 3 and wigle.count(v3_path(b.bssid)) == 2
    assert [x.outcome for x in ledger(org_id)] == ["ok", "ok"]  # one row per lookup, not per attempt
    wigle.script(v3_path(c.bssid), Reply(500, "down"))
    report = enrich(org_id, [c.id], user_requested=True)
    assert report.stopped and "HTTP 500 after 3 attempt(s)" in report.stopped  # bounded: 1 + 2 retries
    assert wigle.count(v3_path(c.bssid)) == 3
    assert [x.outcome for x in ledger(org_id)][-1] == "server_error" and len(ledger(org_id)) == 3


def test_a_refused_credential_stops_the_batch(app, orgs, wigle):
    org_id = orgs.a.org.id
    with_credential(org_id)
    nets = [make_network(org_id) for _ in range(2)]
    wigle.script(v3_path(nets[0].bssid), Reply(401, {"success": False, "message": "unauthorized"}))
    report = enrich(org_id, [n.id for n in nets], user_requested=True)
    assert "refused the credential" in report.stopped and wigle.count() == 1


def test_soft_limit_lets_only_user_requests_through_and_hard_limit_stops_all(app, client, orgs, wigle):
    org_id = orgs.a.org.id
    with_credential(org_id)
    set_limits(soft=2, hard=3)
    old = utcnow() - timedelta(hours=23)
    for _ in range(2):
        db.session.add(WigleApiCall(org_id=org_id, endpoint="v3/detail/wifi", outcome="ok", requested_at=old))
    # Calls older than 24 hours and another org's calls do not count.
    db.session.add(WigleApiCall(org_id=org_id, endpoint="v3/detail/wifi", outcome="ok",
                                requested_at=utcnow() - timedelta(hours=25)))
    db.session.add(WigleApiCall(org_id=orgs.b.org.id, endpoint="v3/detail/wifi", outcome="ok", requested_at=utcnow()))
    db.session.commit()
    net, other = make_network(org_id), make_network(org_id)
    wigle.script(v3_path(net.bssid), Reply(200, sample("v3_detail_wifi_single_cluster.json")))
    background = enrich(org_id, [net.id], user_requested=False)
    assert "soft limit reached (2/2" in background.stopped and wigle.count() == 0
    assert enrich(org_id, [net.id], user_requested=True).enriched == 1 and wigle.count() == 1
    state = quota_state(org_id)
    assert state.used == 3 and state.at_hard and not state.allows(True)
    assert state.hard_frees_at == old + timedelta(hours=24)
    blocked = enrich(org_id, [other.id], user_requested=True)
    assert "hard limit reached" in blocked.stopped and wigle.count() == 1
    client.login(orgs.a.users["admin"].email)
    page = client.get("/wireless/providers").get_data(as_text=True)
    assert 'data-quota="blocked"' in page and f"quota frees at {state.hard_frees_at:%Y-%m-%d %H:%M} UTC" in page


def test_never_enriched_batch_takes_highest_threat_first(app, client, orgs, wigle):
    org_id = orgs.a.org.id
    with_credential(org_id)
    low = make_network(org_id, threat=10)
    high = make_network(org_id, threat=90)
    unscored = make_network(org_id)
    make_network(org_id, type="G", threat=99)  # cells are not looked up
    done = make_network(org_id, threat=95)
    done.wigle_enriched_at = utcnow()
    db.session.commit()
    assert never_enriched_ids(org_id, 10) == [high.id, low.id, unscored.id]
    for net in (high, low):
        wigle.script(v3_path(net.bssid), Reply(200, sample("v3_detail_wifi_single_cluster.json")))
    client.login(orgs.a.users["admin"].email)
    response = client.post("/wireless/wigle/enrich", data={"enrich-limit": "2", "enrich-api": "v3"})
    assert response.status_code == 303
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "wireless.wigle_enrich"))
    assert response.headers["Location"].endswith(f"/jobs/{run.id}")
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "wireless.wigle_enrich_started",
                                                       AuditLog.resource_id == str(run.id)))
    run_jobs(app)
    db.session.refresh(run)
    assert run.status == "succeeded", run.error
    assert run.result["enriched"] == 2 and [r.path for r in wigle.requests] == [v3_path(high.bssid), v3_path(low.bssid)]
    assert unscored.wigle_enriched_at is None
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "wireless.wigle_enrich_finished"))


def test_one_network_lookup_from_its_page_runs_past_the_soft_limit(app, client, orgs, wigle):
    org_id = orgs.a.org.id
    with_credential(org_id)
    set_limits(soft=1, hard=5)
    db.session.add(WigleApiCall(org_id=org_id, endpoint="v3/detail/wifi", outcome="ok"))
    net = make_network(org_id, bssid=V3_BSSID)
    db.session.commit()
    wigle.script(v3_path(V3_BSSID), Reply(200, sample("v3_detail_wifi_single_cluster.json")))
    client.login(orgs.a.users["analyst"].email)
    assert client.post(f"/wireless/networks/{net.id}/wigle").status_code == 303
    run_jobs(app)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "wireless.wigle_enrich"))
    assert run.status == "succeeded" and run.result["enriched"] == 1, (run.error, run.result)
    html = client.get(f"/wireless/networks/{net.id}/wigle").get_data(as_text=True)
    assert "Flint, MI, US" in html and "8 sighting(s)" in html and "wpa2" in html
    # Selected networks go the same way; a cell network is refused with a clear message.
    cell = make_network(org_id, type="L", bssid="310-410-1-2")
    db.session.commit()
    assert client.post(f"/wireless/networks/{cell.id}/wigle").status_code == 400
    assert client.post("/wireless/wigle/enrich-selected", data={"network_id": ["x"]}).status_code == 400
    assert client.post("/wireless/wigle/enrich-selected", data={"network_id": [str(net.id)]}).status_code == 303


def test_enrichment_without_a_credential_fails_the_job_with_a_message(app, client, orgs, wigle):
    make_network(orgs.a.org.id)
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    client.post("/wireless/wigle/enrich", data={"enrich-limit": "5", "enrich-api": "v3"})
    run_jobs(app)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "wireless.wigle_enrich"))
    assert run.status == "failed" and "No WiGLE credential" in run.error
    assert wigle.count() == 0


def test_enrich_command(app, orgs, wigle):
    org_id = orgs.a.org.id
    with_credential(org_id)
    net = make_network(org_id, threat=50)
    db.session.commit()
    wigle.script(v3_path(net.bssid), Reply(200, sample("v3_detail_wifi_single_cluster.json")))
    result = app.test_cli_runner().invoke(args=["wireless", "enrich", "--org", orgs.a.org.slug, "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "1 enriched" in result.output and net.wigle_enriched_at is not None
    assert TOKEN not in result.output
    assert app.test_cli_runner().invoke(args=["wireless", "enrich", "--org", "nope"]).exit_code != 0
    no_cred = app.test_cli_runner().invoke(args=["wireless", "enrich", "--org", orgs.b.org.slug])
    assert no_cred.exit_code == 2 and "No WiGLE credential" in no_cred.output


# ------------------------------------------------------------------ the Providers page

def test_admin_sets_tests_and_clears_the_wigle_credential(app, client, orgs, wigle, caplog):
    org_id = orgs.a.org.id
    client.login(orgs.a.users["admin"].email)
    assert client.get("/wireless/providers").status_code == 200
    response = client.post("/wireless/providers/wigle/credential",
                           data={"wigle-api_name": "AIDadmin", "wigle-secret": TOKEN})
    assert response.status_code == 303
    row = db.session.scalar(sa.select(ProviderCredential).where(ProviderCredential.org_id == org_id))
    assert row.api_name == "AIDadmin" and TOKEN not in row.secret_encrypted
    assert crypto.decrypt_text(row.secret_encrypted) == TOKEN
    page = client.get("/wireless/providers").get_data(as_text=True)
    assert "AIDadmin" in page and TOKEN not in page and row.secret_encrypted not in page
    # A blank secret keeps the stored one (renaming only).
    client.post("/wireless/providers/wigle/credential", data={"wigle-api_name": "AIDrenamed", "wigle-secret": ""})
    db.session.refresh(row)
    assert row.api_name == "AIDrenamed" and crypto.decrypt_text(row.secret_encrypted) == TOKEN
    # Test: the profile call, ledgered but not metered.
    wigle.script("/api/v2/profile/user", Reply(200, {"success": True, "userid": "vigil-test"}),
                 Reply(401, {"success": False, "message": "unauthorized"}))
    assert client.post("/wireless/providers/wigle/test").status_code == 303
    db.session.refresh(row)
    assert row.options["last_test"]["ok"] is True
    client.post("/wireless/providers/wigle/test")
    db.session.refresh(row)
    assert row.options["last_test"]["ok"] is False and "refused" in row.options["last_test"]["message"]
    assert quota_state(org_id).used == 0
    assert client.post("/wireless/providers/wigle/clear").status_code == 303
    assert db.session.scalar(sa.select(ProviderCredential).where(ProviderCredential.org_id == org_id)) is None
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.org_id == org_id)
                                 .where(AuditLog.action.like("wireless.credential%"))).all()
    assert actions == ["wireless.credential_set", "wireless.credential_set", "wireless.credential_tested",
                       "wireless.credential_tested", "wireless.credential_cleared"]
    rows = db.session.scalars(sa.select(AuditLog).where(AuditLog.action.like("wireless.%"))).all()
    assert all(TOKEN not in json.dumps([r.old_values, r.new_values, r.details], default=str) for r in rows)
    assert TOKEN not in caplog.text


def test_a_bad_credential_form_is_a_422_and_saves_nothing(app, client, orgs):
    client.login(orgs.a.users["admin"].email)
    response = client.post("/wireless/providers/wigle/credential", data={"wigle-api_name": "", "wigle-secret": "x"})
    assert response.status_code == 422 and "Enter the API name" in response.get_data(as_text=True)
    response = client.post("/wireless/providers/nominatim/credential", data={"nominatim-api_name": "not-an-email"})
    assert response.status_code == 422
    assert client.post("/wireless/providers/nosuch/credential", data={}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProviderCredential)) == 0


def test_only_admins_manage_credentials_and_readers_cannot_start_jobs(app, client, orgs):
    net = make_network(orgs.a.org.id)
    db.session.commit()
    for role in ("analyst", "operator", "read_only"):
        client.login(orgs.a.users[role].email)
        assert client.get("/wireless/providers").status_code == 403
        assert client.post("/wireless/providers/wigle/credential",
                           data={"wigle-api_name": "x", "wigle-secret": "y"}).status_code == 403
        assert client.post("/wireless/providers/wigle/clear").status_code == 403
        assert client.post("/wireless/providers/wigle/test").status_code == 403
        client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.post(f"/wireless/networks/{net.id}/wigle").status_code == 403
    assert client.post("/wireless/wigle/enrich", data={"enrich-limit": "1"}).status_code == 403
    assert client.get(f"/wireless/networks/{net.id}/wigle").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProviderCredential)) == 0


def test_other_organizations_credentials_quota_and_networks_are_invisible(app, client, orgs, wigle):
    a, b = orgs.a.org.id, orgs.b.org.id
    with_credential(a)
    net = make_network(a)
    db.session.add(WigleApiCall(org_id=a, endpoint="v3/detail/wifi", outcome="ok"))
    db.session.commit()
    client.login(orgs.b.users["admin"].email)
    page = client.get("/wireless/providers").get_data(as_text=True)
    assert "AIDtest" not in page and "0</strong> counted request" in page
    client.post("/wireless/providers/wigle/clear")
    assert creds.get_credential(a, "wigle") is not None
    assert_other_org_cannot_reach(client, [("GET", f"/wireless/networks/{net.id}/wigle"),
                                           ("POST", f"/wireless/networks/{net.id}/wigle")])
    assert client.post("/wireless/wigle/enrich-selected", data={"network_id": [str(net.id)]}).status_code == 404
    # B's batch uses B's (missing) credential, never A's.
    client.post("/wireless/wigle/enrich", data={"enrich-limit": "5", "enrich-api": "v3"})
    run_jobs(app)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "wireless.wigle_enrich"))
    assert run.org_id == b and run.status == "failed" and wigle.count() == 0
    assert db.session.get(Network, net.id).wigle_enriched_at is None


def test_a_second_background_batch_is_refused_while_one_is_pending(app, client, orgs):
    client.login(orgs.a.users["admin"].email)
    data = {"enrich-limit": "5", "enrich-api": "v3"}
    assert client.post("/wireless/wigle/enrich", data=data).status_code == 303
    assert client.post("/wireless/wigle/enrich", data=data).status_code == 303
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.kind == "wireless.wigle_enrich")).all()
    assert len(runs) == 1
    assert "already queued or running" in client.get("/wireless/providers").get_data(as_text=True)
    # Org B is not held up by org A's batch.
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)
    client.post("/wireless/wigle/enrich", data=data)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)
                             .where(JobRun.kind == "wireless.wigle_enrich")) == 2


def test_private_addresses_are_refused_unless_allowed(app, orgs, wigle, monkeypatch):
    org_id = orgs.a.org.id
    with_credential(org_id)
    net = make_network(org_id)
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW", "")
    report = enrich(org_id, [net.id], user_requested=True)
    assert "refused" in report.stopped and wigle.count() == 0
    assert [c.outcome for c in ledger(org_id)] == ["refused"] and quota_state(org_id).used == 0


def test_an_unreadable_answer_skips_that_network_only(app, orgs, wigle):
    org_id = orgs.a.org.id
    with_credential(org_id)
    bad, good = make_network(org_id), make_network(org_id)
    wigle.script(v3_path(bad.bssid), Reply(200, "<html>maintenance</html>", {"Content-Type": "text/html"}))
    wigle.script(v3_path(good.bssid), Reply(200, sample("v3_detail_wifi_single_cluster.json")))
    report = enrich(org_id, [bad.id, good.id], user_requested=True)
    assert (report.failed, report.enriched, report.stopped) == (1, 1, None)
    assert bad.wigle_enriched_at is None and good.wigle_enriched_at is not None
    assert [c.outcome for c in ledger(org_id)] == ["bad_response", "ok"]
