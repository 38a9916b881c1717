"""Scanner statistics from Greenbone over GMP: the agent's client against a fake gvmd on a
temporary unix socket that speaks GMP's XML (authenticate first, then get_tasks,
get_feeds, get_info, get_results), sent in a real heartbeat to a real Vigil server."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa

from app.models import ScannerStats, db
from tests.test_agent import new_code, server  # noqa: F401 - the real-server fixture
from vigil_agent.collect import HostCollector
from vigil_agent.config import StateFile
from vigil_agent.gmp import GmpClient, GmpError, collect
from vigil_agent.runner import Agent

RECENT = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
TASKS = f"""<get_tasks_response status="200" status_text="OK">
<task id="t1"><name>Weekly LAN</name><status>Done</status>
  <last_report><report id="r1"><timestamp>2026-12-01T02:00:00Z</timestamp><scan_end>{RECENT}</scan_end></report></last_report></task>
<task id="t2"><name>DMZ</name><status>Running</status></task>
<task id="t3"><name>Servers</name><status>Queued</status></task>
<task id="t4"><name>Old</name><status>Done</status>
  <last_report><report id="r4"><scan_end>2026-11-01T02:00:00Z</scan_end></report></last_report></task>
<task_count><filtered>4</filtered><page>4</page></task_count></get_tasks_response>"""
FEEDS = """<get_feeds_response status="200" status_text="OK"><feed><type>NVT</type><name>Greenbone Community Feed</name>
<version>202612070600</version></feed><feed><type>SCAP</type><version>202612060000</version></feed></get_feeds_response>"""
INFO = """<get_info_response status="200" status_text="OK"><info_count><filtered>150321</filtered><page>1</page></info_count>
</get_info_response>"""
COUNTS = {"severity&gt;8.9": 3, "severity&gt;6.9 and": 12, "severity&gt;3.9": 40, "severity&gt;0.0": 7}
TOP = """<get_results_response status="200" status_text="OK">
<result id="a"><name>OpenSSH flaw</name><host>10.0.0.5</host><severity>9.8</severity>
  <nvt oid="1"><refs><ref type="cve" id="CVE-2024-6387"/><ref type="url" id="https://x"/></refs></nvt></result>
<result id="b"><name>OpenSSH flaw</name><host>10.0.0.6</host><severity>9.8</severity>
  <nvt oid="1"><refs><ref type="cve" id="CVE-2024-6387"/></refs></nvt></result>
<result id="c"><name>Apache flaw</name><host>10.0.0.7</host><severity>7.5</severity>
  <nvt oid="2"><refs><ref type="cve" id="CVE-2021-41773"/></refs></nvt></result>
<result_count><filtered>3</filtered></result_count></get_results_response>"""


class FakeGvmd:
    """A unix-socket server answering GMP commands one XML element at a time."""

    def __init__(self, path: str, password: str = "reader-pass"):
        self.path, self.password, self.seen = path, password, []
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(path)
        self.listener.listen(4)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                self.session(conn)

    def answer(self, element: ElementTree.Element, authed: bool) -> tuple[str, bool]:
        tag = element.tag
        self.seen.append(tag)
        if tag == "authenticate":
            if element.findtext("credentials/password") == self.password:
                return '<authenticate_response status="200" status_text="OK"><role>Observer</role></authenticate_response>', True
            return '<authenticate_response status="400" status_text="Authentication failed"/>', False
        if not authed:
            return f'<{tag}_response status="400" status_text="Authenticate first"/>', False
        if tag == "get_tasks":
            return TASKS, True
        if tag == "get_feeds":
            return FEEDS, True
        if tag == "get_info":
            return INFO, True
        if tag == "get_results":
            expr = ElementTree.tostring(element).decode()
            if 'details="1"' in expr:
                return TOP, True
            n = next(v for k, v in COUNTS.items() if k in expr)
            return (f'<get_results_response status="200" status_text="OK"><result_count><filtered>{n}</filtered>'
                    f'</result_count></get_results_response>'), True
        return f'<{tag}_response status="400" status_text="Bogus command name"/>', authed

    def session(self, conn):
        parser, depth, authed = ElementTree.XMLPullParser(events=("start", "end")), 0, False
        while chunk := conn.recv(65536):
            parser.feed(chunk)
            for event, element in parser.read_events():
                depth += 1 if event == "start" else -1
                if event == "end" and depth == 0:
                    reply, authed = self.answer(element, authed)
                    conn.sendall(reply.encode())
                    parser, depth = ElementTree.XMLPullParser(events=("start", "end")), 0

    def close(self):
        self.listener.close()


@pytest.fixture()
def gvmd(tmp_path):
    fake = FakeGvmd(str(tmp_path / "gvmd.sock"))
    yield fake
    fake.close()


def test_the_gmp_client_reads_counts_feed_last_scan_and_top_cves(gvmd):
    with GmpClient(gvmd.path) as client:
        with pytest.raises(GmpError, match="Authenticate first"):
            client.command("<get_tasks/>")
        client.authenticate("vigil-reader", "reader-pass")
        stats = collect(client)
    assert (stats["tasks_total"], stats["scans_running"], stats["scans_queued"], stats["scans_completed_24h"]) == (4, 1, 1, 1)
    assert stats["feed_updated_at"] == "2026-12-07T06:00:00+00:00" and stats["last_scan_at"].startswith(RECENT[:13])
    assert stats["nvt_count"] == 150321
    assert [stats[k] for k in ("vulns_critical", "vulns_high", "vulns_medium", "vulns_low")] == [3, 12, 40, 7]
    assert stats["top_vulns"] == [
        {"cve": "CVE-2024-6387", "severity": 9.8, "affected_hosts": 2, "title": "OpenSSH flaw"},
        {"cve": "CVE-2021-41773", "severity": 7.5, "affected_hosts": 1, "title": "Apache flaw"}]
    with GmpClient(gvmd.path) as client, pytest.raises(GmpError, match="Authentication failed"):
        client.authenticate("vigil-reader", "wrong")


def test_the_agent_sends_scanner_stats_in_its_heartbeat(server, orgs, gvmd, tmp_path):  # noqa: F811
    state = tmp_path / "state"
    state.mkdir()
    (state / "policy.toml").write_text(f'[scanner]\ngmp_socket = "{gvmd.path}"\nusername = "vigil-reader"\n'
                                       'password = "reader-pass"\n')
    _, code = new_code(orgs.a.org.id, kind="scanner")
    agent = Agent(server, StateFile(state / "agent.json"), HostCollector())
    agent.ensure_enrolled(code)
    assert agent.send_heartbeat() == 202
    row = db.session.scalar(sa.select(ScannerStats).where(ScannerStats.device_id == agent.state.device_id))
    assert (row.tasks_total, row.scans_running, row.vulns_critical, row.nvt_count) == (4, 1, 3, 150321)
    assert row.top_vulns[0]["cve"] == "CVE-2024-6387" and row.feed_updated_at.year == 2026


def test_an_unreachable_gvmd_leaves_the_heartbeat_without_scanner_stats(server, orgs, tmp_path):  # noqa: F811
    state = tmp_path / "state"
    state.mkdir()
    (state / "policy.toml").write_text(f'[scanner]\ngmp_socket = "{tmp_path / "missing.sock"}"\n')
    _, code = new_code(orgs.a.org.id, kind="scanner")
    agent = Agent(server, StateFile(state / "agent.json"), HostCollector())
    agent.ensure_enrolled(code)
    assert agent.send_heartbeat() == 202
    assert db.session.scalar(sa.select(ScannerStats).where(ScannerStats.device_id == agent.state.device_id)) is None
