"""The first minutes in a terminal (issue 12): /login works, `vigil --help` says what to
start with and hides Flask's generic parts, `make help` lists the targets, and the embedded
server's log is readable."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from click.testing import CliRunner

from app.cli import HELP, VigilGroup
from app.core.serve_log import QuietStaticHandler
from app.jobs.schedule import build_cron_scheduler

ROOT = Path(__file__).resolve().parents[1]


def test_login_redirects_to_the_sign_in_page(client):
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    kept = client.get("/login?next=/fleet/")
    assert kept.headers["Location"] == "/auth/login?next=/fleet/"
    assert client.get(response.headers["Location"]).status_code == 200


def test_vigil_help_says_what_to_start_with(app):
    group = VigilGroup(create_app=lambda: app, help=HELP)
    out = CliRunner().invoke(group, ["--help"], prog_name="vigil").output
    assert "Start here:  vigil serve" in out and "vigil worker" in out
    for flask_only in ("--env-file", "--app", "--debug", "--version", "Run a development server",
                       "Run a local development server"):
        assert flask_only not in out, flask_only
    assert " serve " in out and "\n  run " not in out
    # Hidden, not removed: a script that used them keeps working.
    assert CliRunner().invoke(group, ["run", "--help"], prog_name="vigil").exit_code == 0


def test_make_help_lists_the_targets():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for target in ("run", "test", "test-fast", "e2e", "bench", "lint", "routes", "clean"):
        assert f"make {target} " in out, target


def test_the_scheduler_names_each_job_it_enqueues_and_rq_lines_stay_quiet(app, redis_conn, caplog):
    with caplog.at_level(logging.INFO):
        scheduler = build_cron_scheduler(redis_conn)
        enqueued = scheduler.enqueue_jobs()  # every interval job is due on the first tick
    messages = [r.getMessage() for r in caplog.records]
    assert len(enqueued) > 5 and "Scheduled jobs.recover (queue high)" in messages
    assert sum(m.startswith("Scheduled ") for m in messages) == len(enqueued)
    # rq's own lines name only start_periodic, the same function for every job.
    assert not any("start_periodic" in m for m in messages)


def test_static_files_are_not_logged(capsys):
    handler = QuietStaticHandler.__new__(QuietStaticHandler)
    lines: list[str] = []
    handler.log = lambda kind, message, *args: lines.append(message % args)  # werkzeug's log hook
    handler.requestline, handler.client_address = "GET /static/css/app.css HTTP/1.1", ("127.0.0.1", 1)
    handler.path, handler.command, handler.request_version = "/static/css/app.css", "GET", "HTTP/1.1"
    handler.log_request(200, 10)
    handler.path = "/static/missing.js"
    handler.requestline = "GET /static/missing.js HTTP/1.1"
    handler.log_request(404, 10)
    handler.path, handler.requestline = "/auth/login", "GET /auth/login HTTP/1.1"
    handler.log_request(200, 10)
    assert len(lines) == 2 and "missing.js" in lines[0] and "/auth/login" in lines[1]


def test_serve_says_what_to_use_in_production_before_werkzeugs_warning(app, db_session, monkeypatch):
    import werkzeug.serving

    started = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *args, **kwargs: started.append(args[:2]))
    result = app.test_cli_runner().invoke(args=["serve", "--no-demo", "--port", "5999"])
    assert result.exit_code == 0, result.output
    assert started == [("127.0.0.1", 5999)]  # the server itself is werkzeug's (its warning follows)
    last = result.output.strip().splitlines()[-1]
    assert "development server" in last and "gunicorn" in last and "docs/deployment.md" in last
