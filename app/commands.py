"""Vigil's own commands (`vigil create-admin`, `seed-demo`, `worker`, `scheduler`, `audit`,
`serve`, and each domain's group), registered on every app by the factory, so `vigil ...`,
`flask --app wsgi ...` and a test's CLI runner all see them.

In embedded mode the queue lives inside the web process, so commands here do their
work in-process instead of enqueuing it.
"""

from __future__ import annotations

import os
import sys
import time

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from flask_migrate.cli import db as migrate_db_group
from werkzeug import serving

from app import audit as audit_trail
from app import audit_anchor
from app.agent.cli import agent_cli
from app.audit_owner import apply_owner_role, owner_role_statements
from app.auth.services import MIN_PASSWORD_LENGTH
from app.core.serve_log import QuietStaticHandler
from app.demo import DEMO_PASSWORD, demo_logins
from app.demo import seed_demo as run_seed
from app.fleet.cli import fleet_cli
from app.indicators.cli import geo_cli
from app.jobs.connection import get_redis, is_embedded
from app.jobs.embedded import AppWorker, EmbeddedWorker
from app.jobs.schedule import PERIODIC_JOBS, build_cron_scheduler
from app.metrics.cli import metrics_cli
from app.models import Organization, User, db
from app.passwords import hash_password
from app.threats.cli import threats_cli
from app.wireless.cli import wireless_cli


def register(app: Flask) -> None:
    """Add Vigil's commands to `app.cli` (called by the factory, app/__init__.py)."""
    for command in (create_admin, seed_demo, worker, scheduler, audit_group, serve, threats_cli, metrics_cli,
                    fleet_cli, wireless_cli, agent_cli, geo_cli):
        app.cli.add_command(command)
    # `vigil db ...` is Flask-Migrate's group; the owner-role helper belongs beside upgrade.
    migrate_db_group.add_command(db_owner_role)


@click.command("create-admin")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--org", "org_slug", default=None, help="Organization slug; without it the user is a super admin.")
@with_appcontext
def create_admin(email: str, password: str, org_slug: str | None) -> None:
    """Create an admin of an organization, or a super admin when no --org is given."""
    email = email.strip().lower()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.UsageError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email)):
        raise click.UsageError(f"a user with email {email} already exists")
    org = None
    if org_slug:
        org = db.session.scalar(sa.select(Organization).where(Organization.slug == org_slug))
        if org is None:
            raise click.UsageError(f"no organization with slug {org_slug!r}")
    user = User(email=email, org_id=org.id if org else None, role="admin" if org else "super_admin",
                password_hash=hash_password(password), status="active", email_verified=True)
    db.session.add(user)
    db.session.flush()
    audit_trail.record("user.created", resource_type="user", resource_id=user.id, org_id=user.org_id,
                       actor_type="system", actor_label="cli create-admin",
                       new={"email": email, "role": user.role})
    db.session.commit()
    click.echo(f"Created {user.role} {email}" + (f" in {org.slug}" if org else ""))


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Allow in production.")
@with_appcontext
def seed_demo(force: bool) -> None:
    """Create two demo organizations with sites and one user of each role, and print the logins."""
    if current_app.config["VIGIL_ENV"] == "production" and not force:
        raise click.UsageError("refusing to add demo data in production without --force")
    created = run_seed()
    db.session.commit()
    click.echo("Demo data created." if created else "Demo data already present.")
    print_logins(demo_logins(), DEMO_PASSWORD)


def print_logins(logins: list[tuple[str, str, str]], password: str) -> None:
    click.echo(f"Demo logins (password for all: {password}):")
    for email, role, where in logins:
        click.echo(f"  {email:32} {role:12} {where}")


@click.command("worker")
@click.option("--queues", default="high,default,low", show_default=True)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker(queues: str, burst: bool) -> None:
    """Run an RQ worker that executes jobs inside the application context."""
    if is_embedded():
        raise click.UsageError("REDIS_URL is not set: the embedded queue runs inside `vigil serve`")
    w = AppWorker([q.strip() for q in queues.split(",") if q.strip()], connection=get_redis())
    w.flask_app = current_app._get_current_object()
    w.work(burst=burst, with_scheduler=True)


@click.command("scheduler")
@with_appcontext
def scheduler() -> None:
    """Run RQ's cron scheduler with Vigil's periodic jobs (app.jobs.schedule.PERIODIC_JOBS)."""
    if is_embedded():
        raise click.UsageError("REDIS_URL is not set: the embedded worker schedules periodic jobs itself")
    use_utc()
    build_cron_scheduler(get_redis()).start()


def use_utc() -> None:
    """RQ's cron scheduler reads cron expressions in the process's local time; ours are UTC."""
    os.environ["TZ"] = "UTC"
    time.tzset()


@click.group("audit")
def audit_group() -> None:
    """Audit log commands."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Check the audit log's hash chain and its checkpointed tail; exit 1 on a break."""
    report = audit_anchor.verify_with_tail()
    if report.ok:
        tail = audit_anchor.verify_tail()
        anchored = (f" Tail anchored at row {tail.checkpoint['row_id']} ({tail.checkpoint['at']})."
                    if tail.checkpoint else f" Note: {tail.reason}.")
        click.echo(f"Audit chain intact: {report.checked} rows verified.{anchored}")
        return
    click.echo(f"Audit chain BROKEN at row {report.first_broken_id}: {report.reason} "
               f"({report.checked} rows before it verified).", err=True)
    sys.exit(1)


@audit_group.command("checkpoint")
@with_appcontext
def audit_checkpoint() -> None:
    """Sign the audit log's head into the checkpoint file now (and POST it to the webhook)."""
    checkpoint = audit_anchor.write_checkpoint()
    if checkpoint is None:
        click.echo("The audit log is empty; nothing to anchor.")
        return
    click.echo(f"Anchored row {checkpoint['row_id']} in {audit_anchor.checkpoint_path()}.")
    failed = audit_anchor.post_checkpoint(checkpoint)
    if failed:
        click.echo(f"The webhook copy failed: {failed}", err=True)
        sys.exit(1)


@click.command("create-owner-role")
@click.option("--owner", default="vigil_owner", show_default=True, help="The role that will own audit_log.")
@click.option("--app-role", default=None, help="The application's role (default: the one VIGIL_DATABASE_URL uses).")
@click.option("--admin-url", envvar="VIGIL_ADMIN_DATABASE_URL", default=None,
              help="A superuser connection (or VIGIL_ADMIN_DATABASE_URL); without it, print the SQL only.")
@with_appcontext
def db_owner_role(owner: str, app_role: str | None, admin_url: str | None) -> None:
    """Give audit_log a separate owner so the application's role cannot alter it or its trigger."""
    app_role = app_role or db.engine.url.username
    if not app_role:
        raise click.UsageError("name the application's role with --app-role")
    try:
        statements = owner_role_statements(owner, app_role)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if not admin_url:
        click.echo("-- Run as a PostgreSQL superuser, or pass --admin-url:")
        click.echo(";\n".join(statements) + ";")
        return
    engine = sa.create_engine(admin_url)
    try:
        with engine.begin() as connection:
            apply_owner_role(connection, owner, app_role)
    except (ValueError, sa.exc.DBAPIError) as exc:
        raise click.ClickException(f"not changed: {exc}") from exc
    finally:
        engine.dispose()
    click.echo(f"audit_log is owned by {owner}; {app_role} may only read and append.")


DEV_SERVER_NOTE = ("Werkzeug's development server is fine for trying Vigil on one machine; in production run "
                   "gunicorn behind a TLS proxy, `vigil worker` and one `vigil scheduler` (docs/deployment.md).")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", 5000)), show_default="PORT or 5000")
@click.option("--no-demo", is_flag=True, help="Do not load demo data into an empty database.")
@with_appcontext
def serve(host: str, port: int, no_demo: bool) -> None:
    """Migrate, load demo data on first run, start the embedded worker and serve the console."""
    app = current_app._get_current_object()
    upgrade()
    if app.config["VIGIL_ENV"] == "production":
        no_demo = True  # published demo passwords never reach a production database
    if not no_demo and db.session.scalar(sa.select(sa.func.count(Organization.id))) == 0:
        run_seed()
        db.session.commit()
    db.session.remove()
    if not no_demo:
        print_logins(demo_logins(), DEMO_PASSWORD)
    if is_embedded():
        use_utc()
        EmbeddedWorker(app).start()
        click.echo(f"Embedded queue: jobs run in a worker thread of this process; {len(PERIODIC_JOBS)} periodic "
                   "jobs are scheduled (the Jobs page lists their runs).")
    click.echo(f"Vigil is serving on http://{host}:{port}")
    # Werkzeug warns next that this is a development server; say what production uses instead.
    click.echo(DEV_SERVER_NOTE)
    # app.run() refuses to start from inside a CLI command; run_simple is what it wraps.
    serving.run_simple(host, port, app, use_reloader=False, use_debugger=False, threaded=True,
               request_handler=QuietStaticHandler)
