"""TCP connect scan with banner grab and a service guess.

Bounded: at most `concurrency` connections at once, every connect and read under a
timeout. A connect scan only completes the handshake (what any client does); the banner
grab reads what the service says first, and only a silent service is sent one HTTP HEAD
line, then tried with a TLS handshake.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from dataclasses import dataclass, field

from app.surface.httpclient import insecure_context
from app.surface.settings import DATA_DIR, USER_AGENT

BANNER_LIMIT = 1024

# (service, product, regex on the banner; group 1 is the version when present)
BANNER_RULES: tuple[tuple[str, str, re.Pattern[bytes]], ...] = (
    ("ssh", "openssh", re.compile(rb"^SSH-[\d.]+-OpenSSH_([\w.]+)")),
    ("ssh", "ssh", re.compile(rb"^SSH-[\d.]+-(\S+)")),
    ("ftp", "vsftpd", re.compile(rb"^220.*vsFTPd ([\d.]+)", re.I)),
    ("ftp", "proftpd", re.compile(rb"^220.*ProFTPD ([\d.]+)", re.I)),
    ("ftp", "ftp", re.compile(rb"^220[ -].*FTP", re.I)),
    ("smtp", "postfix", re.compile(rb"^220.*Postfix", re.I)),
    ("smtp", "exim", re.compile(rb"^220.*Exim ([\d.]+)", re.I)),
    ("smtp", "smtp", re.compile(rb"^220[ -].*E?SMTP", re.I)),
    ("pop3", "pop3", re.compile(rb"^\+OK")),
    ("imap", "imap", re.compile(rb"^\* OK")),
    ("mysql", "mysql", re.compile(rb"^.{4}\x0a([\d.]+)", re.S)),
    ("redis", "redis", re.compile(rb"^-(?:NOAUTH|ERR)")),
    ("telnet", "telnet", re.compile(rb"^\xff[\xfb-\xfe]")),
    ("vnc", "vnc", re.compile(rb"^RFB \d{3}\.\d{3}")),
)
SERVER_HEADER = re.compile(r"^(Apache|nginx|Microsoft-IIS|lighttpd|openresty|Caddy)(?:/([\d.]+))?", re.I)
PRODUCT_ALIASES = {"microsoft-iis": "iis", "openresty": "nginx"}


@dataclass
class OpenPort:
    address: str
    port: int
    service: str = "unknown"
    product: str | None = None
    version: str | None = None
    banner: str = ""
    tls: bool = False
    hostnames: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"host": self.address, "port": self.port, "service": self.service, "product": self.product,
                "version": self.version, "banner": self.banner[:200], "tls": self.tls, "hostnames": self.hostnames}


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def printable(text: str) -> str:
    """Control bytes shown as dots: banners and evidence are stored as text (PostgreSQL refuses NUL)."""
    return CONTROL.sub(".", text)


def port_names() -> dict[int, str]:
    """nmap's service names for the shipped ports (the fallback guess)."""
    names: dict[int, str] = {}
    for line in (DATA_DIR / "top-ports.txt").read_text(encoding="utf-8").splitlines():
        value, _, comment = line.partition("#")
        if value.strip():
            names[int(value)] = comment.strip() or "unknown"
    names.update({3306: "mysql", 5432: "postgresql", 6379: "redis", 27017: "mongodb", 9200: "elasticsearch",
                  11211: "memcached", 1433: "ms-sql-s", 1521: "oracle", 5984: "couchdb", 8443: "https-alt"})
    return names


def guess_from_banner(data: bytes) -> tuple[str, str | None, str | None] | None:
    for service, product, rule in BANNER_RULES:
        match = rule.search(data)
        if match:
            version = match.group(1).decode("ascii", "replace") if rule.groups else None
            if product in ("ssh",):
                version = None
            return service, product, version
    return None


def guess_from_server_header(server: str | None) -> tuple[str | None, str | None]:
    match = SERVER_HEADER.match(server or "")
    if not match:
        return None, None
    product = match.group(1).lower()
    return PRODUCT_ALIASES.get(product, product), match.group(2)


async def read_some(reader: asyncio.StreamReader, timeout: float) -> bytes:
    try:
        return await asyncio.wait_for(reader.read(BANNER_LIMIT), timeout)
    except (TimeoutError, OSError):
        return b""


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1)
    except (TimeoutError, OSError, ssl.SSLError):
        pass


async def probe(address: str, port: int, timeout: float, names: dict[int, str], host: str) -> OpenPort | None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
    except (TimeoutError, OSError):
        return None
    found = OpenPort(address, port)
    silent = False
    try:
        banner = await read_some(reader, timeout)
        silent = not banner
        if silent:  # a silent service: speak HTTP once
            writer.write(f"HEAD / HTTP/1.0\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n\r\n".encode())
            await writer.drain()
            banner = await read_some(reader, timeout)
    except OSError:
        banner = b""
    finally:
        await close(writer)
    found.banner = printable(banner.decode("latin-1")[:BANNER_LIMIT])
    if banner.startswith(b"HTTP/"):
        found.service = "http"
        server = next((line.split(":", 1)[1].strip() for line in found.banner.splitlines()
                       if line.lower().startswith("server:")), None)
        found.product, found.version = guess_from_server_header(server)
    elif guessed := guess_from_banner(banner):
        found.service, found.product, found.version = guessed
    elif silent and await tls_handshake(address, port, timeout):
        found.service, found.tls = "https", True
    else:
        found.service = names.get(port, "unknown")
    return found


async def tls_handshake(address: str, port: int, timeout: float) -> bool:
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(address, port, ssl=insecure_context(), server_hostname=None), timeout)
    except (TimeoutError, OSError, ssl.SSLError):
        return False
    await close(writer)
    return True


async def scan_async(addresses: list[str], ports: list[int], concurrency: int, timeout: float,
                     hosts: dict[str, str]) -> list[OpenPort]:
    names = port_names()
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(address: str, port: int) -> OpenPort | None:
        async with limit:
            return await probe(address, port, timeout, names, hosts.get(address, address))

    results = await asyncio.gather(*(one(a, p) for a in addresses for p in ports))
    return sorted((r for r in results if r is not None), key=lambda r: (r.address, r.port))


def scan(addresses: list[str], ports: list[int], *, concurrency: int = 50, timeout: float = 1.5,
         hosts: dict[str, str] | None = None) -> list[OpenPort]:
    """Open ports of `addresses` among `ports`, each with its service guess; `hosts` names the
    in-scope host sent as `Host` when a silent service is asked over HTTP."""
    return asyncio.run(scan_async(addresses, ports, concurrency, timeout, hosts or {}))
