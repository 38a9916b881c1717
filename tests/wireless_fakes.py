"""Local fake HTTP servers for the wireless providers (WiGLE and the geocoders).

A FakeServer listens on a free port of 127.0.0.1 in a daemon thread and answers
each path from a script of canned responses (the last one repeats), counting every request
so tests can prove what was and was not sent.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.samples import SAMPLES as SHARED_SAMPLES

# The real WiGLE API bodies (tests/samples.py says where they are found).
SAMPLES = SHARED_SAMPLES / "wigle-api"

DROP = "drop"  # a scripted "response" that closes the connection without answering


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


@dataclass
class Reply:
    status: int = 200
    body: str | bytes | dict | list | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str


class FakeServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply | str]] = {}
        self.requests: list[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                fake.requests.append(Seen(self.command, parts.path, parse_qs(parts.query),
                                          dict(self.headers.items()), body))
                reply = fake.next_reply(parts.path)
                if reply == DROP:
                    self.close_connection = True
                    self.connection.close()
                    return
                assert isinstance(reply, Reply)
                payload = reply.body
                if isinstance(payload, dict | list):
                    payload = json.dumps(payload)
                data = payload.encode() if isinstance(payload, str) else (payload or b"")
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.headers.get("Content-Type", "application/json"))
                for key, value in reply.headers.items():
                    if key != "Content-Type":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _answer  # noqa: N815 - http.server's naming
            do_POST = _answer  # noqa: N815

        # Bound to port 0 and read back: a port found free and bound later could be taken in between.
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, path: str, *replies: Reply | str) -> None:
        self.routes[path] = list(replies)

    def next_reply(self, path: str) -> Reply | str:
        replies = self.routes.get(path)
        if not replies:
            return Reply(404, {"success": False, "message": "no such route on the fake"})
        return replies.pop(0) if len(replies) > 1 else replies[0]

    def count(self, path: str | None = None) -> int:
        return sum(1 for r in self.requests if path is None or r.path == path)

    def reset(self) -> None:
        self.routes.clear()
        self.requests.clear()

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_n = iter(range(1, 10**9))


def make_network(org_id: int, *, bssid: str | None = None, type: str = "W", threat: float | None = None,
                 lat: float = 43.0139, lon: float = -83.6847, ssid: str = "test-net"):
    """A network row of `org_id` (the importers build real ones; tests need only a few fields)."""
    from decimal import Decimal

    from app.models import Network, db

    n = next(_n)
    network = Network(org_id=org_id, bssid=bssid or f"02:00:00:{n >> 16 & 255:02X}:{n >> 8 & 255:02X}:{n & 255:02X}",
                      ssid=ssid, type=type, firsttime_ms=1_700_000_000_000, lasttime_ms=1_700_000_000_000 + n,
                      lastlat=lat, lastlon=lon, bestlat=lat, bestlon=lon,
                      threat_score_v2=Decimal(str(threat)) if threat is not None else None)
    db.session.add(network)
    db.session.flush()
    return network
