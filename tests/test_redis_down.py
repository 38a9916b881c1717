"""Redis down is not an outage (issue 11.8): the app pointed at a Redis address where nothing
listens still signs people in, serves pages, stores heartbeats and limits sign-in per process;
starting a job is a clear 503 that records nothing; /health names what is degraded; and once
Redis answers again the limiter goes back to it without a restart. The database down makes
the agent API a 503 with Retry-After, so agents keep their data and resend it."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from app import create_app
from app.jobs import connection, queue
from app.models import JobRun, db
from app.threats import ratestore
from tests.factories import PASSWORD
from tests.fakes import free_port
from tests.test_fleet import bearer, enrolled, heartbeat


@pytest.fixture()
def redis_down(app, redis_conn):
    """Point the app at a closed loopback port; put the real client back afterwards."""
    real = app.extensions["vigil_redis"]
    app.extensions["vigil_redis"] = connection.make_redis({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    app.extensions.pop("vigil_rate_store", None)
    try:
        yield real
    finally:
        app.extensions["vigil_redis"] = real
        app.extensions.pop("vigil_rate_store", None)


def test_sign_in_and_pages_work_and_the_fallback_is_logged_once(app, client, orgs, redis_down, caplog):
    caplog.set_level(logging.ERROR, logger="app.threats.ratestore")
    assert client.get("/auth/login").status_code == 200
    assert client.login(orgs.a.users["admin"].email, PASSWORD).status_code == 303
    assert client.get("/").status_code == 200
    assert client.get("/admin/audit").status_code == 200
    fallbacks = [r for r in caplog.records if "falls back to per-process" in r.getMessage()]
    assert len(fallbacks) == 1


def test_the_per_process_limiter_still_blocks_sign_in_guessing(client, orgs, redis_down):
    email = orgs.a.users["analyst"].email
    codes = [client.login(email, "x" * 12).status_code for _ in range(12)]
    assert codes[:10] == [422] * 10 and codes[10:] == [429, 429]


def test_starting_a_job_is_a_503_that_records_nothing(client, orgs, redis_down):
    client.login(orgs.a.users["admin"].email, PASSWORD)
    before = db.session.scalar(sa.select(sa.func.count(JobRun.id)))
    response = client.post("/admin/audit/verify")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "The job queue is unavailable" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == before


def test_live_progress_says_it_is_unavailable(client, orgs, redis_down):
    run = JobRun(kind="audit.verify", org_id=orgs.a.org.id, status="running", progress=40, message="Reading")
    db.session.add(run)
    db.session.commit()
    client.login(orgs.a.users["admin"].email, PASSWORD)
    page = client.get(f"/jobs/{run.id}")
    assert page.status_code == 200 and queue.PROGRESS_UNAVAILABLE in page.get_data(as_text=True)


def test_heartbeats_are_stored_without_redis(client, orgs, redis_down):
    agent = enrolled(client, orgs.a.org.id)
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat())
    assert response.status_code == 202


def test_health_names_what_is_degraded_and_recovery_needs_no_restart(app, client, orgs, redis_down, monkeypatch):
    client.login(orgs.a.users["admin"].email, PASSWORD)  # trips the limiter's fallback
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["status"] == "degraded"
    assert response.json["checks"]["redis"].startswith("error:")
    assert response.json["checks"]["queue"].startswith("unavailable")
    assert response.json["checks"]["rate_limiting"] == "per-process fallback"
    assert set(response.json["degraded"]) == {"redis", "queue", "rate_limiting"}
    # Redis is back: the next request counts in Redis again, and /health is all ok.
    app.extensions["vigil_redis"] = redis_down
    monkeypatch.setattr(ratestore, "RETRY_SECONDS", 0)
    ratestore.store().retry_at = 0
    assert client.get("/").status_code == 200
    assert any(key.startswith(b"vigil:rl:read:") for key in redis_down.keys("vigil:rl:*"))
    assert client.get("/health").json["status"] == "ok"


@pytest.mark.postgres
def test_the_agent_api_answers_503_with_retry_after_when_the_database_is_down(app):
    """A second app whose database address has nothing listening: nothing can be stored."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    dead = url.rsplit("@", 1)[0] + f"@127.0.0.1:{free_port()}/vigil"
    down = create_app({**{k: app.config[k] for k in ("VIGIL_ENV", "TESTING", "SECRET_KEY", "REDIS_URL")},
                       "SQLALCHEMY_DATABASE_URI": dead, "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}})
    try:
        with down.test_client() as http:
            response = http.post("/api/agent/heartbeat", headers=bearer("vgl_abcd1234_" + "x" * 40), json=heartbeat())
            assert response.status_code == 503 and response.headers["Retry-After"] == "30"
            assert response.json["error"]["code"] == "database_unavailable"
            health = http.get("/health")
            assert health.status_code == 503 and health.json["checks"]["database"].startswith("error:")
    finally:
        with down.app_context():
            db.engine.dispose()


def test_a_secure_cookie_dropped_on_plain_http_is_explained(app, client, monkeypatch):
    """Production mode tried over http://: the browser drops the secure session cookie, so
    every form fails its CSRF check; the page says why instead of "Your form expired"."""
    from app.core.errors import COOKIE_DROPPED_MESSAGE, CSRF_MESSAGE

    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    dropped = client.post("/auth/login", data={"email": "a@example.test", "password": "x" * 12}, csrf=False)
    assert dropped.status_code == 400 and "VIGIL_SECURE_COOKIES=0" in dropped.get_data(as_text=True)
    assert "this server marks its cookies secure" in dropped.get_data(as_text=True)
    assert COOKIE_DROPPED_MESSAGE.startswith("Your browser did not send")
    # Over HTTPS the cookie would have been sent: an ordinary CSRF failure keeps its message.
    https = client.post("/auth/login", data={}, csrf=False, base_url="https://localhost")
    assert https.status_code == 400 and CSRF_MESSAGE in https.get_data(as_text=True)


def test_a_system_run_recorded_while_redis_was_down_is_pushed_by_jobs_recover(app, client, orgs, redis_down):
    """No one waits for a system run (no requester): it is recorded, its push fails after the
    commit, and jobs.recover pushes it once Redis answers; a worker then runs it."""
    from datetime import timedelta

    from app.jobs import enqueue
    from app.jobs.recovery import QUEUED_GRACE, has_lost_runs, recover
    from tests.conftest import run_jobs

    run = enqueue("audit.verify", org_id=orgs.a.org.id)
    db.session.commit()  # the push after commit fails (logged); the row stays queued
    app.extensions["vigil_redis"] = redis_down  # Redis is back
    run.created_at = run.created_at - QUEUED_GRACE - timedelta(seconds=1)
    db.session.commit()
    assert has_lost_runs()
    assert recover(None)["requeued"] == [run.id]
    run_jobs(app)
    db.session.expire_all()
    assert db.session.get(JobRun, run.id).status == "succeeded"


def test_no_page_is_a_500_without_redis(app, client, orgs, redis_down):
    """Every GET page without path arguments, signed in as an admin: never a 500."""
    from tests.test_routes import all_rules

    client.login(orgs.a.users["admin"].email, PASSWORD)
    pages = sorted(r.rule for r in all_rules(app) if "GET" in r.methods and not r.arguments
                   and not r.rule.startswith("/api/"))
    assert len(pages) > 20
    statuses = {page: client.get(page).status_code for page in pages}
    assert not [page for page, status in statuses.items() if status >= 500], statuses
