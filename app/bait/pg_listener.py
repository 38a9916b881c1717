"""`vigil bait pg-listener`: a PostgreSQL front door that only ever says no.

It speaks the start of the PostgreSQL wire protocol (version 3): declines SSL and GSS
encryption like a server without certificates, reads the startup packet (user, database,
application_name), asks for a password as a server with `password` authentication would,
and refuses with the real FATAL 28P01 "password authentication failed". A user name that
is a live PostgreSQL token's is a hit; the password is compared with the bait's and only
the verdict kept. Anything else is counted as a probe.
"""

from __future__ import annotations

import hmac
import socketserver
import struct
import threading

from flask import Flask

from app.bait import kinds, services
from app.models import db

SSL_REQUEST, GSS_REQUEST, PROTOCOL_3 = 80877103, 80877104, 196608
MAX_PACKET = 10_000


def error_response(user: str, code: str = "28P01") -> bytes:
    fields = [(b"S", "FATAL"), (b"V", "FATAL"), (b"C", code),
              (b"M", f'password authentication failed for user "{user}"'), (b"R", "auth_failed")]
    body = b"".join(t + v.encode() + b"\0" for t, v in fields) + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


def read_exact(sock, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_startup(sock) -> dict[str, str] | None:
    """The startup parameters, after declining any encryption request (None: not PostgreSQL)."""
    for _ in range(3):
        length, code = struct.unpack("!II", read_exact(sock, 8))
        if length < 8 or length > MAX_PACKET:
            return None
        rest = read_exact(sock, length - 8)
        if code in (SSL_REQUEST, GSS_REQUEST):
            sock.sendall(b"N")
            continue
        if code != PROTOCOL_3:
            return None
        parts = rest.split(b"\0")
        return {parts[i].decode("utf-8", "replace"): parts[i + 1].decode("utf-8", "replace")
                for i in range(0, len(parts) - 1, 2) if parts[i]}
    return None


def read_password(sock) -> str | None:
    sock.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
    kind = read_exact(sock, 1)
    (length,) = struct.unpack("!I", read_exact(sock, 4))
    if kind != b"p" or length > MAX_PACKET:
        return None
    return read_exact(sock, length - 4).rstrip(b"\0").decode("utf-8", "replace")


class Handler(socketserver.BaseRequestHandler):
    app: Flask

    def handle(self) -> None:
        try:
            params = read_startup(self.request)
            if params is None:
                return
            user = params.get("user", "")
            password = read_password(self.request)
            with self.app.app_context():
                try:
                    self.record(params, password)
                except Exception:  # the client must still get the server's refusal; the log keeps it
                    db.session.rollback()
                    self.app.logger.exception("bait: recording a PostgreSQL hit failed")
            self.request.sendall(error_response(user))
        except (ConnectionError, OSError, struct.error):
            return

    def record(self, params: dict[str, str], password: str | None) -> None:
        user = params.get("user", "")
        token = services.live_token(trigger=user) or services.live_token(
            identifier=kinds.find_identifier(user) or kinds.find_identifier(params.get("database")))
        if token is None or token.bait_type != "postgres":
            services.count_probe()
            db.session.commit()
            return
        secret = services.secret_of(token)
        matches = password is not None and hmac.compare_digest(password, str(secret.get("password", "")))
        kept = {k: v[:200] for k, v in params.items() if k in ("user", "database", "application_name")}
        services.record_hit(token, services.Hit(
            self.client_address[0], "postgres", params.get("application_name") or None, kept,
            notes=f"user {user}, database {params.get('database', '')}; "
                  f"password {'is the bait' if matches else 'differs from the bait'}"))
        db.session.commit()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def start(app: Flask, host: str, port: int) -> Server:
    """Listen on host:port in a background thread; returns the server (shutdown())."""
    handler = type("BoundHandler", (Handler,), {"app": app})
    server = Server((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
