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
