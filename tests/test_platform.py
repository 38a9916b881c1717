"""Configuration, the CLI, periodic jobs, the embedded queue and super-admin org switching."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import ConfigError
from app.jobs import REGISTRY, enqueue
from app.jobs.schedule import PERIODIC_JOBS, build_cron_scheduler, start_periodic
from app.models import AuditLog, JobRun, Organization, User, db
from tests.conftest import run_jobs


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        create_app({"VIGIL_ENV": "production", "SECRET_KEY": None})


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="VIGIL_ENV"):
        create_app({"VIGIL_ENV": "staging", "SECRET_KEY": "x"})


def test_proxy_hops_make_the_forwarded_client_ip_count(app, client, orgs):
    proxied = create_app({**app.config, "PROXY_HOPS": 1})
    proxied.test_client_class = type(client)
    c = proxied.test_client()
    c.post("/auth/login", data={"email": orgs.a.users["admin"].email, "password": "wrong-password-x"},
           headers={"X-Forwarded-For": "203.0.113.9"})
    from app.models import LoginAttempt

    ips = db.session.scalars(sa.select(LoginAttempt.ip_address).where(LoginAttempt.user_id == orgs.a.users["admin"].id)).all()
    assert ips == ["203.0.113.9"]


def test_every_periodic_job_is_a_registered_kind_and_reaches_rq_cron(redis_conn):
    for item in PERIODIC_JOBS:
        assert item.kind in REGISTRY
        assert (item.interval is None) != (item.cron is None)
    scheduler = build_cron_scheduler(redis_conn)
    assert sorted(j.name for j in scheduler.get_jobs()) == sorted(p.kind for p in PERIODIC_JOBS)


def test_periodic_start_does_not_pile_up_runs(app, db_session, redis_conn):
    with app.app_context():
        start_periodic("platform.prune")
        start_periodic("platform.prune")  # the first is still queued
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id)).where(JobRun.kind == "platform.prune")) == 1
    run_jobs(app)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "platform.prune"))
    db.session.refresh(run)
    assert run.status == "succeeded" and "Pruned" in run.result["message"]


def test_create_admin_and_seed_demo_commands(app, db_session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--email", "Root@Example.test", "--password", "long-enough-pass"])
    assert result.exit_code == 0, result.output
    root = db.session.scalar(sa.select(User).where(User.email == "root@example.test"))
    assert root.role == "super_admin" and root.org_id is None
    again = runner.invoke(args=["create-admin", "--email", "root@example.test", "--password", "long-enough-pass"])
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(args=["create-admin", "--email", "x@example.test", "--password", "short"])
    assert short.exit_code != 0
    seeded = runner.invoke(args=["seed-demo"])
    assert seeded.exit_code == 0 and "vigil-demo-2026" in seeded.output
    assert db.session.scalar(sa.select(sa.func.count(Organization.id)).where(Organization.slug.in_(("northwind", "globex")))) == 2
    twice = runner.invoke(args=["seed-demo"])
    assert "already present" in twice.output
    org_admin = runner.invoke(args=["create-admin", "--email", "boss@globex.example.test", "--password",
                                    "long-enough-pass", "--org", "globex"])
    assert org_admin.exit_code == 0
    boss = db.session.scalar(sa.select(User).where(User.email == "boss@globex.example.test"))
    assert boss.role == "admin" and boss.org.slug == "globex"


def test_audit_verify_command_reports_the_chain(app, db_session, orgs):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output


def test_super_admin_switches_organization(client, orgs):
    client.login(orgs.super_admin.email)
    response = client.post("/org/switch", data={"org_id": orgs.b.org.id})
    assert response.status_code == 303
    page = client.get("/").get_data(as_text=True)
    assert orgs.b.org.name in page
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "org.switched",
                                                        AuditLog.resource_id == str(orgs.b.org.id)))
    assert client.post("/org/switch", data={"org_id": 999999}).status_code == 404
    assert client.post("/org/switch", data={"org_id": "abc"}).status_code == 400


def test_only_super_admins_switch_organization(client, orgs):
    client.login(orgs.a.users["admin"].email)
    assert client.post("/org/switch", data={"org_id": orgs.b.org.id}).status_code == 403


def test_super_admin_sees_system_runs_but_org_admins_do_not(client, orgs, app):
    run = enqueue("platform.prune", org_id=None)
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    assert client.get(f"/jobs/{run.id}").status_code == 404
    client.post("/auth/logout")
    client.login(orgs.super_admin.email)
    assert client.get(f"/jobs/{run.id}").status_code == 200


def test_htmx_post_needs_the_csrf_header_too(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    headers = {"HX-Request": "true"}
    refused = client.post("/notifications/read-all", headers=headers, csrf=False)
    assert refused.status_code == 400
    accepted = client.post("/notifications/read-all", headers=headers)
    assert accepted.status_code == 200


def test_dashboard_counts_are_real_and_scoped(client, orgs):
    client.login(orgs.a.users["read_only"].email)
    html = client.get("/").get_data(as_text=True)
    assert 'data-count="users">4<' in html and 'data-count="sites">1<' in html
    fragment = client.get("/", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and 'data-count="users">4<' in fragment.get_data(as_text=True)
    assert fragment.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]


def test_embedded_queue_runs_jobs_in_a_thread(tmp_path):
    """The `make run` mode: SQLite + fakeredis + the worker thread, no services."""
    from flask_migrate import upgrade

    from app.jobs.embedded import EmbeddedWorker

    app = create_app({"VIGIL_ENV": "testing", "SECRET_KEY": "x", "REDIS_URL": None,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'embedded.db'}"})
    with app.app_context():
        upgrade()
        run = enqueue("audit.verify", org_id=None)
        db.session.commit()
        run_id = run.id
    worker = EmbeddedWorker(app, poll_seconds=0.05)
    worker.start()
    try:
        finished = threading.Event()
        for _ in range(400):
            with app.app_context():
                status = db.session.get(JobRun, run_id).status
                db.session.remove()
            if status == "succeeded":
                finished.set()
                break
            finished.wait(0.05)
        assert finished.is_set(), f"embedded run ended as {status}"
    finally:
        worker.stop()
        worker.join(timeout=5)
        with app.app_context():
            db.engine.dispose()
