"""Scanner statistics from a local Greenbone (gvmd) over GMP, the Greenbone Management
Protocol: XML commands and responses on gvmd's unix socket. A minimal client of our own
(standard library only) so the agent needs no extra package; only read commands are sent.

Configured in the operator's policy file:

    [scanner]
    gmp_socket = "/run/gvmd/gvmd.sock"
    username = "vigil-reader"     # a gvmd user with read access only
    password = "..."
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

log = logging.getLogger("vigil.agent")
TIMEOUT = 30
MAX_RESPONSE = 32 * 1024 * 1024
CACHE_SECONDS = 300  # scans and feeds change over minutes, not per heartbeat
SEVERITY_FILTERS = {"vulns_critical": "severity>8.9", "vulns_high": "severity>6.9 and severity<9.0",
                    "vulns_medium": "severity>3.9 and severity<7.0", "vulns_low": "severity>0.0 and severity<4.0"}
RUNNING = {"Running", "Stop Requested", "Delete Requested"}
QUEUED = {"Requested", "Queued"}
TOP_CVES = 10


class GmpError(Exception):
    """gvmd cannot be reached, or refused or garbled a command."""


def _quote(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


class GmpClient:
    """One connection to gvmd's unix socket: send a command, read its one XML response."""

    def __init__(self, path: str, timeout: float = TIMEOUT):
        self.path, self.timeout = path, timeout
        self.sock: socket.socket | None = None

    def __enter__(self) -> GmpClient:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        try:
            self.sock.connect(self.path)
        except OSError as exc:
            self.sock.close()
            raise GmpError(f"cannot connect to gvmd at {self.path}: {exc}") from exc
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.sock is not None:
            self.sock.close()

    def command(self, xml: str) -> ElementTree.Element:
        """Send one command; its response element (GmpError unless the status is 2xx)."""
        assert self.sock is not None
        parser = ElementTree.XMLPullParser(events=("start", "end"))
        depth, received, root = 0, 0, None
        try:
            self.sock.sendall(xml.encode())
            while root is None:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise GmpError("gvmd closed the connection mid-response")
                received += len(chunk)
                if received > MAX_RESPONSE:
                    raise GmpError("gvmd's response is too large")
                parser.feed(chunk)
                for event, element in parser.read_events():
                    depth += 1 if event == "start" else -1
                    if event == "end" and depth == 0:
                        root = element  # the response's own element has closed
        except (OSError, ElementTree.ParseError) as exc:
            raise GmpError(f"GMP: {exc}") from exc
        status = root.get("status", "")
        if not status.startswith("2"):
            raise GmpError(f"gvmd refused {root.tag}: {status} {root.get('status_text', '')}".strip())
        return root

    def authenticate(self, username: str, password: str) -> None:
        self.command(f"<authenticate><credentials><username>{_quote(username)}</username>"
                     f"<password>{_quote(password)}</password></credentials></authenticate>")


def _when(text: str | None) -> datetime | None:
    """A GMP timestamp (ISO 8601) or a feed version (YYYYMMDDHHMM) as UTC."""
    if not text:
        return None
    text = text.strip()
    try:
        if text.isdigit() and len(text) in (8, 12):
            return datetime.strptime(text.ljust(12, "0"), "%Y%m%d%H%M").replace(tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _count(response: ElementTree.Element, tag: str) -> int:
    """The filtered total a GMP list response states (`<result_count><filtered>`)."""
    text = response.findtext(f"{tag}/filtered")
    return int(text) if text and text.strip().isdigit() else 0


def _cves(result: ElementTree.Element) -> Iterator[str]:
    for ref in result.iterfind("nvt/refs/ref"):
        if ref.get("type", "").lower() == "cve" and ref.get("id", "").startswith("CVE-"):
            yield ref.get("id", "")


def collect(client: GmpClient) -> dict[str, Any]:
    """Task counts, running and queued scans, feed date, last scan, findings by severity and
    the top CVEs, as the heartbeat's scanner_stats."""
    tasks = client.command('<get_tasks details="1" filter="rows=-1"/>').findall("task")
    statuses = [t.findtext("status", "") for t in tasks]
    ends = [_when(t.findtext("last_report/report/scan_end") or t.findtext("last_report/report/timestamp"))
            for t in tasks]
    stats: dict[str, Any] = {"tasks_total": len(tasks), "scans_running": sum(s in RUNNING for s in statuses),
                             "scans_queued": sum(s in QUEUED for s in statuses)}
    day_ago = datetime.now(UTC).timestamp() - 86400
    stats["scans_completed_24h"] = sum(1 for e in ends if e and e.timestamp() >= day_ago)
    last = max((e for e in ends if e), default=None)
    if last:
        stats["last_scan_at"] = last.isoformat()
    feeds = client.command("<get_feeds/>").findall("feed")
    nvt_feed = next((f for f in feeds if f.findtext("type", "").upper() == "NVT"), None)
    if nvt_feed is not None and (feed := _when(nvt_feed.findtext("version"))):
        stats["feed_updated_at"] = feed.isoformat()
    stats["nvt_count"] = _count(client.command('<get_info type="nvt" filter="rows=1"/>'), "info_count")
    for name, expr in SEVERITY_FILTERS.items():
        response = client.command(f'<get_results filter="{_quote(expr)} apply_overrides=1 rows=1"/>')
        stats[name] = _count(response, "result_count")
    top: dict[str, dict[str, Any]] = {}
    response = client.command('<get_results details="1" filter="severity>6.9 apply_overrides=1 '
                              'sort-reverse=severity rows=500"/>')
    for result in response.findall("result"):
        try:
            severity = float(result.findtext("severity") or 0)
        except ValueError:
            continue
        for cve in _cves(result):
            entry = top.setdefault(cve, {"cve": cve, "severity": severity, "hosts": set(),
                                         "title": (result.findtext("name") or "")[:500]})
            entry["severity"] = max(entry["severity"], severity)
            entry["hosts"].add((result.findtext("host") or "").strip())
    ranked = sorted(top.values(), key=lambda e: (-e["severity"], -len(e["hosts"]), e["cve"]))[:TOP_CVES]
    stats["top_vulns"] = [{"cve": e["cve"], "severity": min(10.0, e["severity"]), "affected_hosts": len(e["hosts"]),
                           "title": e["title"]} for e in ranked]
    return stats


class ScannerCollector:
    """scanner_stats for heartbeats, read from gvmd at most every CACHE_SECONDS."""

    def __init__(self, section: dict[str, Any]):
        self.path = str(section["gmp_socket"])
        self.username, self.password = section.get("username"), section.get("password")
        self.cached: dict[str, Any] | None = None
        self.read_at = 0.0

    def stats(self) -> dict[str, Any] | None:
        if self.cached is not None and time.monotonic() - self.read_at < CACHE_SECONDS:
            return self.cached
        try:
            with GmpClient(self.path) as client:
                if self.username:
                    client.authenticate(str(self.username), str(self.password or ""))
                self.cached = collect(client)
        except GmpError as exc:
            log.warning("scanner stats not read: %s", exc)
            return None
        self.read_at = time.monotonic()
        return self.cached
