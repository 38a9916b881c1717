"""The real agent against a real Vigil server on 127.0.0.1 (werkzeug, in a thread, on the
test database): enrolment, heartbeats from this host, signed commands (tampered, replayed,
expired and foreign ones refused), results and backups reported, and the simulator."""

from __future__ import annotations

import json
import stat
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app.fleet import commands, services
from app.models import ApiKey, BackupSnapshot, Command, Device, Heartbeat, db, utcnow
from vigil_agent.client import AgentHttpError, ApiClient
from vigil_agent.collect import HostCollector
from vigil_agent.config import StateFile
from vigil_agent.protocol import iso_utc, sign
from vigil_agent.runner import Agent
from vigil_agent.simulate import simulate


@pytest.fixture()
def server(app, db_session, redis_conn):
    """Vigil served over real HTTP on a free loopback port, one request at a time, on the
    test's connection (the test thread waits while the server thread answers)."""
    http = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)


def new_code(org_id: int, name: str = "agent-host", kind: str = "server") -> tuple[Device, str]:
    device, code = services.create_device(org_id, name=name, device_type=kind, actor_label="test")
    db.session.commit()
    return device, code


class CountingActions(dict):
    """The agent's real allowlist, counting what actually ran."""

    def __init__(self):
        from vigil_agent.actions import ALLOWLIST

        self.ran: list[str] = []
        super().__init__({name: self._wrap(name, fn) for name, fn in ALLOWLIST.items()})

    def _wrap(self, name, fn):
        def run(agent, payload):
            self.ran.append(name)
            return fn(agent, payload)
        return run


def test_agent_run_enrols_once_sends_real_numbers_and_keeps_its_key_private(app, server, orgs, tmp_path):
    device, code = new_code(orgs.a.org.id)
    config = tmp_path / "agent" / "agent.json"
    runner = app.test_cli_runner()
    first = runner.invoke(args=["agent", "run", "--server", server, "--claim-code", code, "--once",
                                "--config", str(config)])
    assert first.exit_code == 0, first.output
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = json.loads(config.read_text())
    assert saved["device_id"] == device.id and saved["api_key"].startswith("vgl_")
    assert saved["command_public_key"] and saved["wireguard_private_key"]
    db.session.expire_all()
    device = db.session.get(Device, device.id)
    assert device.status == "active" and device.last_seen_at is not None
    [beat] = db.session.scalars(sa.select(Heartbeat).where(Heartbeat.device_id == device.id)).all()
    assert 0 <= beat.cpu_usage_percent <= 100 and 0 < beat.ram_usage_percent < 100
    assert beat.ram_total_gb > 0 and beat.uptime_seconds > 0
    assert "/" in {fs["mount"] for fs in beat.filesystems} and beat.network_rx_bytes_per_sec is not None
    # A second run needs no claim code: it reuses its saved key (the used code would be refused).
    again = runner.invoke(args=["agent", "run", "--server", server, "--once", "--config", str(config)])
    assert again.exit_code == 0, again.output
    assert db.session.scalar(sa.select(sa.func.count(Heartbeat.id)).where(Heartbeat.device_id == device.id)) == 2
    assert db.session.scalar(sa.select(sa.func.count(ApiKey.id)).where(ApiKey.device_id == device.id)) == 1
    fresh = runner.invoke(args=["agent", "run", "--server", server, "--claim-code", code, "--once",
                                "--config", str(tmp_path / "other.json")])
    assert fresh.exit_code == 3 and "claim_code_used" in fresh.output


def test_signed_commands_through_the_real_agent(app, server, orgs, tmp_path):
    _, code = new_code(orgs.a.org.id)
    state = StateFile(tmp_path / "agent.json")
    actions = CountingActions()
    agent = Agent(server, state, HostCollector(), actions)
    agent.ensure_enrolled(code)
    operator = orgs.a.users["operator"]
    device = db.session.get(Device, agent.state.device_id)

    def issue(kind: str) -> Command:
        command = commands.issue(device, kind, {}, operator)
        db.session.commit()
        return command

    def fetch() -> list[dict]:
        status, body = ApiClient(server, agent.state.api_key).get("/agent/commands")
        assert status == 200
        return body["commands"]

    def row(command: Command) -> Command:
        db.session.expire_all()
        return db.session.get(Command, command.id)

    # Polled, verified, run, reported.
    diag = issue("collect_diagnostics")
    assert agent.poll() == ["completed"]
    done = row(diag)
    assert done.status == "completed" and done.result["hostname"] and actions.ran == ["collect_diagnostics"]

    # Not among this agent's actions: reported unsupported, nothing runs.
    del actions["docker_prune"]
    prune = issue("docker_prune")
    assert agent.poll() == ["unsupported"]
    assert row(prune).status == "failed" and row(prune).error_message.startswith("unsupported")

    # Tampered: the signature no longer matches; refused and reported, nothing runs.
    other = issue("collect_diagnostics")
    [envelope] = fetch()
    assert agent.handle({**envelope, "payload": {"services": ["sshd"]}}) == "refused: the signature does not verify"
    assert agent.handle({**envelope, "signature": envelope["signature"][:-4] + "AAA="}).startswith("refused: the signature")
    assert actions.ran == ["collect_diagnostics"]
    assert row(other).status == "failed" and "signature" in row(other).error_message

    # Replayed: the same signed command a second time, even after a restart of the agent.
    third = issue("collect_diagnostics")
    [envelope] = fetch()
    assert agent.handle(envelope) == "completed"
    assert agent.handle(envelope) == "refused: nonce already used (replay)"
    restarted = Agent(server, state, HostCollector(), actions)
    assert restarted.handle(envelope) == "refused: nonce already used (replay)"
    assert actions.ran == ["collect_diagnostics", "collect_diagnostics"] and row(third).status == "completed"

    # Expired, and for another device: signed by the real key, refused all the same.
    with app.app_context():
        from app.fleet.signing import signing_key

        key = signing_key()
    stale = {"id": 999999, "device_id": device.id, "type": "collect_diagnostics", "payload": {},
             "expires_at": iso_utc(utcnow() - timedelta(seconds=5)), "nonce": "e" * 32}
    assert agent.handle({**stale, "signature": sign(key, stale)}) == "refused: the command expired"
    foreign = {**stale, "device_id": device.id + 1000, "expires_at": iso_utc(utcnow() + timedelta(minutes=5))}
    assert agent.handle({**foreign, "signature": sign(key, foreign)}) == "refused: the command is for another device"
    assert len(actions.ran) == 2


def test_run_backup_without_backup_settings_reports_an_honest_failure(app, server, orgs, tmp_path):
    """No repository and no paths configured: nothing is backed up and the catalog says so
    (real restic backups are in tests/test_agent_backups.py)."""
    _, code = new_code(orgs.a.org.id)
    agent = Agent(server, StateFile(tmp_path / "agent.json"), HostCollector())
    agent.ensure_enrolled(code)
    command = commands.issue(db.session.get(Device, agent.state.device_id), "run_backup", {}, None)
    db.session.commit()
    assert agent.poll() == ["failed"]
    db.session.expire_all()
    snap = db.session.scalar(sa.select(BackupSnapshot).where(BackupSnapshot.device_id == agent.state.device_id))
    assert (snap.status, snap.backup_method, snap.command_id) == ("failed", "restic", command.id)
    assert "no paths to back up" in snap.error_message
    assert "no paths to back up" in db.session.get(Command, command.id).error_message


def test_simulate_two_devices_for_a_few_ticks(app, server, orgs):
    codes = [(new_code(orgs.a.org.id, f"sim-{i}", kind)[1], kind) for i, kind in enumerate(("scanner", "server"))]
    stats = simulate(server, codes, 0, ticks=3, failure_rate=0.3, seed=7, workers=2)
    assert stats.devices == 2 and stats.heartbeat_errors == 0
    assert stats.heartbeats + stats.skipped == 6 and stats.heartbeats >= 1
    beats = db.session.scalars(sa.select(Heartbeat).join(Device).where(Device.org_id == orgs.a.org.id)).all()
    assert len(beats) == stats.heartbeats
    assert {b.payload["services"][0]["name"] for b in beats} <= {"sshd"}
    devices = db.session.scalars(sa.select(Device).where(Device.org_id == orgs.a.org.id)).all()
    assert all(d.status == "active" and d.hostname.startswith("sim-") for d in devices)


def test_simulate_command_creates_its_own_devices(app, server, orgs):
    result = app.test_cli_runner().invoke(args=["agent", "simulate", "--org", orgs.b.org.slug, "--devices", "2",
                                                "--ticks", "2", "--interval", "0", "--server", server,
                                                "--failure-rate", "0"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output.strip().splitlines()[-1])
    assert stats["devices"] == 2 and stats["heartbeats"] == 4
    assert db.session.scalar(sa.select(sa.func.count(Device.id)).where(
        Device.org_id == orgs.b.org.id, Device.enrolled_at.is_not(None))) == 2


def test_heartbeats_kept_while_the_server_is_unreachable_are_resent_after_a_restart(app, server, orgs, tmp_path):
    from tests.fakes import free_port
    from vigil_agent.client import ApiClient

    _, code = new_code(orgs.a.org.id)
    state = StateFile(tmp_path / "agent.json")
    agent = Agent(server, state, HostCollector())
    agent.ensure_enrolled(code)
    agent.client = ApiClient(f"http://127.0.0.1:{free_port()}", agent.state.api_key, timeout=2)
    for _ in range(3):
        with pytest.raises(AgentHttpError):
            agent.send_heartbeat()
    outbox = tmp_path / "agent.outbox.jsonl"
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o600 and len(outbox.read_text().splitlines()) == 3
    restarted = Agent(server, state, HostCollector())  # the kept heartbeats survive a restart
    assert restarted.send_heartbeat() == 202
    assert not outbox.exists()
    beats = db.session.scalars(sa.select(Heartbeat).where(Heartbeat.device_id == agent.state.device_id)).all()
    assert len(beats) == 4 and len({b.timestamp for b in beats}) == 4


def test_the_outbox_is_bounded(tmp_path):
    from vigil_agent.client import Outbox

    box = Outbox(tmp_path / "o.jsonl", limit=5)
    for n in range(8):
        box.put({"n": n})
    assert [i["n"] for i in box.items()] == [3, 4, 5, 6, 7]


def test_a_503_keeps_the_heartbeat_and_a_refused_kept_one_is_dropped(app, server, orgs, tmp_path):
    """A server that cannot store (503 + Retry-After) gets the heartbeat again later; a kept
    heartbeat the real server refuses for good (422: too old) is dropped, not retried forever."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from vigil_agent.client import ApiClient

    class CannotStore(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"error": {"code": "database_unavailable"}}).encode()
            self.send_response(503)
            self.send_header("Retry-After", "30")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    _, code = new_code(orgs.a.org.id)
    agent = Agent(server, StateFile(tmp_path / "agent.json"), HostCollector())
    agent.ensure_enrolled(code)
    down = ThreadingHTTPServer(("127.0.0.1", 0), CannotStore)
    threading.Thread(target=down.serve_forever, daemon=True).start()
    try:
        agent.client = ApiClient(f"http://127.0.0.1:{down.server_port}", agent.state.api_key)
        assert agent.send_heartbeat() == 503
    finally:
        down.shutdown()
        down.server_close()
    stale = {**agent.outbox.items()[0], "timestamp": iso_utc(utcnow() - timedelta(days=2))}
    agent.outbox.write([stale, *agent.outbox.items()])
    agent.client = ApiClient(server, agent.state.api_key)
    assert agent.send_heartbeat() == 202
    assert agent.outbox.items() == []
    assert db.session.scalar(sa.select(sa.func.count(Heartbeat.id))
                             .where(Heartbeat.device_id == agent.state.device_id)) == 2
