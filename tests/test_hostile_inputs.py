"""Input hygiene (issue 11.3): the reported inputs that ended in a 500, each refused with a
clear 4xx, and nothing stored. The route sweep with hostile values is tests/test_hostile_sweep.py."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.hygiene import JSON_MAX_DEPTH, json_depth
from app.models import Heartbeat, SecurityIncident, ServiceStatus, Site, db
from tests.conftest import BACKEND
from tests.test_fleet import bearer, enrolled, heartbeat

NUL = "a\x00b"
SURROGATE = "a\ud800b"


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_json_depth_counts_brackets_outside_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[["}]}') == 3
    assert json_depth(b'"just a string"') == 0
    assert json_depth(b"[" * 5000 + b"]" * 5000) == 5000


# Agent heartbeat -----------------------------------------------------------------------------

def test_heartbeat_integers_beyond_their_columns_are_422(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    for field, value in (("uptime_seconds", 2**64), ("failed_login_count_24h", 2**64),
                         ("failed_login_count_24h", 2**31), ("uptime_seconds", -1)):
        response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat(**{field: value}))
        assert response.status_code == 422, (field, value, response.json)
        assert field in response.json["error"]["fields"]
    nested = heartbeat(services=[{"name": "x", "status": "active", "pid": 2**40}],
                       network={"rx_bytes_per_sec": 2**63})
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=nested)
    assert response.status_code == 422
    assert {"services[0].pid", "network.rx_bytes_per_sec"} <= set(response.json["error"]["fields"])
    assert count(Heartbeat) == 0


def test_heartbeat_nested_5000_deep_is_400_without_parsing(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    body = '{"cpu_percent": 1, "ram_percent": 1, "scanner_stats": ' + "[" * 5000 + "]" * 5000 + "}"
    response = client.post("/api/agent/heartbeat", headers={**bearer(agent["api_key"]), "Content-Type": "application/json"},
                           data=body)
    assert response.status_code == 400
    assert f"{JSON_MAX_DEPTH} levels" in response.json["error"]["message"]
    assert count(Heartbeat) == 0


def test_nul_and_lone_surrogate_in_json_strings_are_400(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    headers = {**bearer(agent["api_key"]), "Content-Type": "application/json"}
    nul = heartbeat(services=[{"name": NUL, "status": "active"}])
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=nul)
    assert response.status_code == 400 and "body.services[0].name" in response.json["error"]["message"]
    # A lone surrogate only exists as a JSON escape; json.dumps would refuse to send it raw.
    raw = '{"cpu_percent": 1, "ram_percent": 1, "services": [{"name": "a\\ud800b", "status": "active"}]}'
    assert client.post("/api/agent/heartbeat", headers=headers, data=raw).status_code == 400
    key = '{"cpu_percent": 1, "ram_percent": 1, "x\\u0000": 1}'
    assert client.post("/api/agent/heartbeat", headers=headers, data=key).status_code == 400
    not_finite = '{"cpu_percent": 1, "ram_percent": 1, "load_1m": 1e400}'
    assert client.post("/api/agent/heartbeat", headers=headers, data=not_finite).status_code == 400
    nan = '{"cpu_percent": NaN, "ram_percent": 1}'
    assert client.post("/api/agent/heartbeat", headers=headers, data=nan).status_code == 400
    assert count(Heartbeat) == 0 and count(ServiceStatus) == 0


def test_any_json_body_over_the_general_limit_is_413(client, orgs):
    response = client.post("/api/auth/token", json={"email": "x@example.test", "password": "p" * (1024 * 1024)})
    assert response.status_code == 413 and response.json["error"]["code"] == "request_entity_too_large"


# Web forms and GET parameters ----------------------------------------------------------------

def test_nul_in_web_forms_is_400_and_nothing_is_saved(client, orgs):
    client.login(orgs.a.users["admin"].email)
    sites, incidents = count(Site), count(SecurityIncident)
    for url, data in (("/threats/incidents/new", {"title": NUL, "severity": "high", "description": "d"}),
                      ("/admin/sites/new", {"name": "Lyon", "slug": "lyon", "notes": NUL}),
                      ("/wireless/places", {"name": NUL, "lat": "45.7", "lon": "4.8"}),
                      ("/wireless/networks/1/notes", {"body": NUL})):
        response = client.post(url, data=data)
        assert response.status_code == 400, (url, response.status_code)
        assert "NUL byte" in response.get_data(as_text=True)
    assert (count(Site), count(SecurityIncident)) == (sites, incidents)
    json_client = client.post("/admin/sites/new", data={"notes": NUL}, headers={"Accept": "application/json"})
    assert json_client.status_code == 400 and json_client.json["error"]["code"] == "bad_request"


def test_nul_in_get_parameters_and_paths_is_400(client, orgs):
    client.login(orgs.a.users["admin"].email)
    for url in ("/wireless/networks?ssid=%00", "/admin/audit?action=%00", "/metrics/functions/%00",
                "/wireless/networks?ssid=%ED%A0%80x%00", "/admin/audit?%00=1"):
        response = client.get(url)
        assert response.status_code == 400, (url, response.status_code)


def test_an_id_beyond_bigint_in_a_path_is_404(client, orgs):
    client.login(orgs.a.users["admin"].email)
    assert client.get(f"/fleet/devices/{2**64}").status_code == 404
    assert client.get(f"/threats/incidents/{2**70}").status_code == 404


# The agent API stores only its schema (issue 11.4) --------------------------------------------

def test_heartbeat_unknown_fields_are_dropped_listed_and_not_stored(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    beat = heartbeat(junk="x" * 1000, services=[{"name": "sshd", "status": "active", "extra": 1}],
                     network={"rx_bytes_per_sec": 1, "sneaky": {"a": 1}})
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=beat)
    assert response.status_code == 202, response.json
    assert response.json["ignored"] == ["junk", "network.sneaky", "services[0].extra"]
    stored = db.session.scalar(sa.select(Heartbeat.payload).where(Heartbeat.device_id == agent["device_id"]))
    assert "junk" not in stored and stored["services"] == [{"name": "sshd", "status": "active"}]
    assert stored["network"] == {"rx_bytes_per_sec": 1} and stored["cpu_percent"] == 12.5


def test_every_agent_endpoint_ignores_and_lists_undocumented_fields(client, orgs):
    from app.models import BackupSnapshot, DeviceFacts

    agent = enrolled(client, orgs.a.org.id)
    report = {"snapshot_id": "s1", "backup_type": "file", "storage_path": "/b", "status": "completed",
              "started_at": "2026-01-01T00:00:00Z", "junk": "x" * 100}
    response = client.post("/api/agent/backups", headers=bearer(agent["api_key"]), json=report)
    assert response.status_code == 201 and response.json["ignored"] == ["junk"]
    assert db.session.scalar(sa.select(BackupSnapshot.snapshot_id)) == "s1"
    facts = client.post("/api/agent/facts", headers=bearer(agent["api_key"]),
                        json={"facts": {"hostname": "h", "anything": {"nested": 1}}, "junk": 1})
    assert facts.status_code == 201 and facts.json["ignored"] == ["junk"]
    assert db.session.scalar(sa.select(DeviceFacts.facts)) == {"hostname": "h", "anything": {"nested": 1}}


def test_agent_bodies_over_256_kb_are_413_and_nothing_is_stored(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    big = heartbeat(junk="x" * (256 * 1024))
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=big)
    assert response.status_code == 413 and response.json["error"]["code"] == "request_entity_too_large"
    assert count(Heartbeat) == 0
    assert client.post("/api/agent/backups", headers=bearer(agent["api_key"]), json=big).status_code == 413
    # A real heartbeat with 500 services still fits.
    many = heartbeat(services=[{"name": f"service-{i:03d}.service", "status": "active", "enabled": True,
                                "pid": 1000 + i, "memory_mb": 12} for i in range(500)])
    assert client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=many).status_code == 202


def test_a_replayed_heartbeat_is_stored_once_and_answered_as_a_duplicate(client, orgs):
    from app.models import utcnow

    agent = enrolled(client, orgs.a.org.id)
    beat = heartbeat(timestamp=utcnow().isoformat())
    first = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=beat)
    again = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=beat)
    assert (first.status_code, first.json["duplicate"]) == (202, False)
    assert (again.status_code, again.json["duplicate"]) == (200, True)
    assert again.json["received_at"] == first.json["received_at"]
    assert count(Heartbeat) == 1
    # The same timestamp from another device is its own heartbeat.
    other = enrolled(client, orgs.a.org.id, serial="SN-2", name="scanner-2")
    assert client.post("/api/agent/heartbeat", headers=bearer(other["api_key"]), json=beat).status_code == 202
    assert count(Heartbeat) == 2


def test_a_nul_byte_in_a_credential_header_is_400(client):
    response = client.get("/api/me", headers={"Authorization": "Bearer vgl_ab\x00cd"})
    assert response.status_code == 400


def test_every_agent_endpoint_carries_its_body_limit_through_its_decorators(app):
    for endpoint in ("api.agent_heartbeat", "api.agent_enrol", "api.agent_backup_report",
                     "api.agent_command_result", "api.agent_facts"):
        assert getattr(app.view_functions[endpoint], "max_body_bytes", 0) <= 320 * 1024, endpoint
        assert getattr(app.view_functions[endpoint], "max_body_bytes", None), endpoint


@pytest.mark.postgres  # SQLite stores any integer in any column: nothing to refuse
def test_a_value_the_database_refuses_is_a_422_with_an_error_id_and_no_sql(app, orgs, caplog):
    # Views now bound what they pass on (a huge ?page= is refused by app/pagination.py), so
    # the backstop is driven by a real refusal of the database, through the app's handlers.
    with app.test_request_context("/admin/sites"):
        try:
            db.session.execute(sa.text("SELECT CAST(:v AS bigint)"), {"v": "9" * 25})  # beyond BIGINT
        except sa.exc.DataError as exc:
            response = app.make_response(app.handle_user_exception(exc))
        else:
            pytest.fail("PostgreSQL accepted a value beyond BIGINT")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "error id" in html and "SELECT" not in html and "bigint" not in html
    assert any("error id" in r.getMessage() and r.exc_info for r in caplog.records)  # the detail is logged


def test_an_integer_the_sqlite_driver_cannot_bind_is_the_same_422(app, caplog):
    if BACKEND.is_postgres:
        pytest.skip("SQLite's driver only: PostgreSQL refuses such a value itself (the test above)")
    with app.test_request_context("/admin/sites"):
        try:
            db.session.execute(sa.text("SELECT :v"), {"v": 10**25})
        except OverflowError as exc:
            response = app.make_response(app.handle_user_exception(exc))
        else:
            pytest.fail("the SQLite driver bound an integer beyond 64 bits")
    assert response.status_code == 422 and "error id" in response.get_data(as_text=True)
    with app.test_request_context("/admin/sites"):
        other = app.make_response(app.handle_user_exception(OverflowError("math range error")))
    assert other.status_code == 500  # an overflow of our own is not the input's fault


def test_a_huge_page_is_refused_before_it_reaches_the_database(client, orgs, caplog):
    client.login(orgs.a.users["admin"].email)
    response = client.get("/admin/sites?page=" + "9" * 25)  # an offset beyond BIGINT
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "page must be a whole number" in html and "SELECT" not in html and "bigint" not in html
    assert not any("error id" in r.getMessage() for r in caplog.records)  # not the database backstop
