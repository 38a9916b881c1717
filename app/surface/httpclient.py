"""The one HTTP client of the attack-surface probes: a request to a known address with the
host name in `Host` (and SNI), no redirects followed, a bounded body, the Vigil user agent.

Addresses come from the scan's own resolver and target checks, so nothing here resolves
names: a probe can only reach an address the scope rules already allowed.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from dataclasses import dataclass, field

from app.surface.settings import USER_AGENT, setting

BODY_LIMIT = 64 * 1024


class Pacer:
    """At most `rate` requests a second from this process (0: no limit); threads share it."""

    def __init__(self, clock=time.monotonic, sleep=time.sleep) -> None:
        self.clock, self.sleep = clock, sleep
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self, rate: float) -> None:
        if rate <= 0:
            return
        with self.lock:
            now = self.clock()
            start = max(now, self.next_at)
            self.next_at = start + 1.0 / rate
        if start > now:
            self.sleep(start - now)


PACER = Pacer()


@dataclass
class HttpResponse:
    request_line: str
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def insecure_context() -> ssl.SSLContext:
    """TLS that accepts any certificate: the probes report certificate problems, they do not stop at them."""
    # No CA bundle is loaded (nothing is verified), which keeps a context cheap to make.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a given address while presenting `sni` as the server name."""

    def __init__(self, address: str, port: int, sni: str, *, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(address, port, timeout=timeout, context=context)
        self.sni = sni
        self.tls_context = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self.tls_context.wrap_socket(self.sock, server_hostname=self.sni)


def request(scheme: str, address: str, port: int, host: str, path: str, *, method: str = "GET",
            headers: dict[str, str] | None = None, limit: int = BODY_LIMIT,
            timeout: float | None = None) -> HttpResponse:
    """One request; raises OSError / http.client.HTTPException on network failure."""
    timeout = timeout or float(setting("SURFACE_CONNECT_TIMEOUT")) * 2
    PACER.wait(float(setting("SURFACE_HTTP_RATE")))
    if scheme == "https":
        conn: http.client.HTTPConnection = PinnedHTTPSConnection(address, port, host, timeout=timeout,
                                                                 context=insecure_context())
    else:
        conn = http.client.HTTPConnection(address, port, timeout=timeout)
    default_port = 443 if scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    try:
        conn.request(method, path, headers={"Host": host_header, "User-Agent": USER_AGENT,
                                            "Accept": "*/*", **(headers or {})})
        response = conn.getresponse()
        body = b"" if method == "HEAD" else response.read(limit)
        return HttpResponse(f"{method} {scheme}://{host_header}{path}", response.status, response.reason,
                            list(response.getheaders()), body)
    finally:
        conn.close()
