"""Local stand-ins for the outside world, started by tests on 127.0.0.1 only."""

from __future__ import annotations

import socket

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

SMTP_LOGIN = "mailer"
SMTP_PASSWORD = "smtp-pass-Xy7-never-shown"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """An SMTP server's handler that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.logins: list[tuple[str, str]] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        # handled=False: aiosmtpd itself answers 535 on a refusal.
        return AuthResult(success=(login, password) == (SMTP_LOGIN, SMTP_PASSWORD), handled=False)


class BoundController(Controller):
    """aiosmtpd's Controller on a socket bound (to port 0) before it starts: a port found free
    and bound later could be taken by another process in between (aiosmtpd==1.4.6 is pinned;
    `_create_server` and `_factory_invoker` are its own)."""

    def __init__(self, handler, **kwargs) -> None:
        self.listening = socket.socket()
        self.listening.bind(("127.0.0.1", 0))
        super().__init__(handler, hostname="127.0.0.1", port=self.listening.getsockname()[1], **kwargs)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self.listening, ssl=self.ssl_context)


def start_smtp() -> tuple[SmtpSink, Controller]:
    sink = SmtpSink()
    controller = BoundController(sink, server_hostname="smtp.vigil.local",
                                 authenticator=sink.authenticate, auth_require_tls=False)
    controller.start()
    sink.port = controller.port
    return sink, controller


def solid_png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A one-colour PNG (what a fake tile server answers; no imaging library needed)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * size
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


class FakeTileServer:
    """A map tile server on 127.0.0.1: /{z}/{x}/{y}.png answers a solid PNG, anything under
    /down/ answers 503 (a tile server that is unreachable or refusing). Keeps every request
    path with its Referer."""

    TILE = (170, 211, 223)

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        fake = self
        self.requests: list[tuple[str, str | None]] = []
        png = solid_png(self.TILE)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                fake.requests.append((self.path, self.headers.get("Referer")))
                ok = not self.path.startswith("/down/") and self.path.endswith(".png")
                body = png if ok else b"unavailable"
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "image/png" if ok else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet: the test reads self.requests
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-tiles", daemon=True)
        self.thread.start()

    def tile_paths(self) -> list[str]:
        return [path for path, _ in self.requests if not path.startswith("/down/")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
