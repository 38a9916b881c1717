"""The attack-surface lab: a small internet on loopback that the surface tests scan.

- DNS (dnslib, UDP and TCP) serving `lab.test` (records at 127.0.0.x, a TXT verification
  record the test sets, SPF without DMARC, a DKIM selector, a dangling CNAME to S3, a
  CloudFront CNAME, AXFR allowed) and `wild.test` (a wildcard zone);
- HTTP and HTTPS servers with planted problems: `.git/HEAD`, a directory listing, no
  security headers, a cookie without flags, an `Apache/2.4.49` banner (CVE-2021-41773,
  in KEV), and a self-signed certificate expiring in 10 days (made with `cryptography`);
  `api.lab.test` (the "debug API" host) also reflects any Origin with credentials, redirects
  `?next=` anywhere (the tests only ever name the canary host), allows PUT/DELETE/TRACE and
  shows a Python traceback on errors, while `www.lab.test` is clean of those four;
- a legacy HTTPS server (not in the scanned port list) with a 1024-bit RSA certificate that
  accepts TLS 1.0 and 1.1 (`@SECLEVEL=0`: Debian's OpenSSL 3 refuses both otherwise);
- TCP listeners with SSH, FTP (vsFTPd 2.3.4) and MySQL greetings;
- fake crt.sh and NVD APIs.

Every server records what it was asked, so a test can prove what was (not) probed.
Nothing here listens anywhere but 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import socketserver
import ssl
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from dnslib import CAA, CNAME, MX, NS, QTYPE, RCODE, RR, SOA, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

ZONE = "lab.test"
WILD_ZONE = "wild.test"
APACHE_BANNER = "Apache/2.4.49 (Unix)"
# Connect/read timeout of the lab scans. Loopback answers in microseconds, but on a loaded
# shared machine the scanner's event loop can be starved long enough that 0.5 s missed an
# open port or a banner (a flaky scan test). A silent HTTP service costs one read timeout
# per probe, so this stays small; VIGIL_SURFACE_CONNECT_TIMEOUT raises it for slower hosts.
LAB_CONNECT_TIMEOUT = float(os.environ.get("VIGIL_SURFACE_CONNECT_TIMEOUT") or 3.0)
DEBUG_HOST = f"api.{ZONE}"  # the host with the planted CORS, redirect, methods and stack-trace problems
TRACEBACK = ("Traceback (most recent call last):\n  File \"/srv/api/app.py\", line 42, in handle\n"
             "    return routes[path]()\nKeyError: '/vigil-probe-not-found'\n")
BANNERS = {
    "ssh": b"SSH-2.0-OpenSSH_7.4\r\n",
    "ftp": b"220 (vsFTPd 2.3.4)\r\n",
    # A MySQL handshake: length, sequence, protocol 10, server version, NUL.
    "mysql": b"\x2e\x00\x00\x00\x0a5.7.33-log\x00" + b"\x00" * 32,
}


@dataclass
class Lab:
    dns_port: int = 0
    http_port: int = 0
    https_port: int = 0
    legacy_tls_port: int = 0  # RSA-1024 certificate, TLS 1.0/1.1 accepted; not in `ports`
    ct_url: str = ""
    nvd_url: str = ""
    banner_ports: dict[str, int] = field(default_factory=dict)
    closed_port: int = 0
    txt: dict[str, list[str]] = field(default_factory=dict)  # extra TXT records a test sets
    well_known: dict[str, str] = field(default_factory=dict)  # host -> verification file body
    http_requests: list[tuple[str, str, str, str]] = field(default_factory=list)  # (server, host, method, path)
    tcp_connections: list[tuple[str, int]] = field(default_factory=list)  # (service, port)
    fixed_paths: set[str] = field(default_factory=set)  # planted problems a test has "fixed" (404 now)
    nvd_requests: list[str] = field(default_factory=list)
    nvd_headers: list[dict[str, str]] = field(default_factory=list)
    ct_requests: list[str] = field(default_factory=list)
    kev_url: str = ""
    kev_requests: list[str] = field(default_factory=list)
    cert_not_after: dt.datetime | None = None

    @property
    def dns_servers(self) -> str:
        return f"127.0.0.1:{self.dns_port}"

    @property
    def ports(self) -> list[int]:
        return [self.http_port, self.https_port, *self.banner_ports.values(), self.closed_port]

    def probes_of(self, host_suffix: str) -> list[tuple[str, str, str, str]]:
        """HTTP requests whose Host header names `host_suffix` or a name under it."""
        out = []
        for item in self.http_requests:
            host = item[1].split(":")[0]
            if host == host_suffix or host.endswith("." + host_suffix):
                out.append(item)
        return out

    def reset(self) -> None:
        self.txt.clear()
        self.well_known.clear()
        self.http_requests.clear()
        self.tcp_connections.clear()
        self.nvd_requests.clear()
        self.nvd_headers.clear()
        self.ct_requests.clear()
        self.kev_requests.clear()
        self.fixed_paths.clear()


# ---------------------------------------------------------------- DNS

def zone_records() -> dict[str, list[tuple[str, object]]]:
    z = ZONE
    return {
        z: [("SOA", SOA(f"ns1.{z}", f"hostmaster.{z}", (2026120701, 3600, 600, 86400, 300))),
            ("NS", NS(f"ns1.{z}")), ("A", A("127.0.0.1")), ("MX", MX(f"mail.{z}", 10)),
            ("TXT", TXT("v=spf1 mx -all")), ("CAA", CAA(0, "issue", "letsencrypt.org"))],
        f"ns1.{z}": [("A", A("127.0.0.1"))],
        f"www.{z}": [("A", A("127.0.0.1"))],
        f"api.{z}": [("A", A("127.0.0.1"))],
        f"vpn.{z}": [("A", A("127.0.0.1"))],
        f"mail.{z}": [("A", A("127.0.0.2"))],
        f"dev.{z}": [("CNAME", CNAME("lab-assets.s3.amazonaws.com"))],
        f"cdn.{z}": [("CNAME", CNAME("d111abc.cloudfront.net"))],
        "d111abc.cloudfront.net": [("A", A("127.0.0.3"))],
        f"default._domainkey.{z}": [("TXT", TXT("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"))],
        "bad-ip.test": [("A", A("127.0.0.66"))],
    }


class LabResolver(BaseResolver):
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.records = zone_records()

    def rrs(self, name: str) -> list[tuple[str, object]]:
        items = list(self.records.get(name, []))
        items += [("TXT", TXT(v)) for v in self.lab.txt.get(name, [])]
        if name.endswith("." + WILD_ZONE) or name == WILD_ZONE:
            items.append(("A", A("127.0.0.9")))
        return items

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        if qtype == "AXFR":
            if qname != ZONE:
                reply.header.rcode = RCODE.REFUSED
                return reply
            soa = self.records[ZONE][0]
            reply.add_answer(RR(ZONE, QTYPE.SOA, rdata=soa[1], ttl=300))
            for name in self.records:
                if name == ZONE or name.endswith("." + ZONE):
                    for rtype, rdata in self.rrs(name):
                        if rtype != "SOA":
                            reply.add_answer(RR(name, getattr(QTYPE, rtype), rdata=rdata, ttl=300))
            reply.add_answer(RR(ZONE, QTYPE.SOA, rdata=soa[1], ttl=300))
            return reply
        name, seen = qname, 0
        while seen < 8:
            seen += 1
            items = self.rrs(name)
            if not items:
                reply.header.rcode = RCODE.NXDOMAIN
                return reply
            cname = [r for t, r in items if t == "CNAME"]
            if cname and qtype != "CNAME":
                reply.add_answer(RR(name, QTYPE.CNAME, rdata=cname[0], ttl=300))
                name = str(cname[0].label).rstrip(".").lower()
                continue
            for rtype, rdata in items:
                if rtype == qtype:
                    reply.add_answer(RR(name, getattr(QTYPE, rtype), rdata=rdata, ttl=300))
            return reply
        return reply


def start_dns(lab: Lab) -> list[DNSServer]:
    resolver = LabResolver(lab)
    logger = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", logf=lambda *_: None)
    # The UDP port is picked free by the kernel; the same number may be taken for TCP. Then
    # close the UDP server (an unclosed socket is an error under the suite's warning filter)
    # and try another pair.
    for attempt in range(20):
        udp = DNSServer(resolver, port=0, address="127.0.0.1", logger=logger)
        lab.dns_port = udp.server.server_address[1]
        try:
            tcp = DNSServer(resolver, port=lab.dns_port, address="127.0.0.1", tcp=True,
                            logger=logger)
            break
        except OSError:
            udp.server.server_close()
            if attempt == 19:
                raise
    for server in (udp, tcp):
        server.start_thread()
    return [udp, tcp]


# ---------------------------------------------------------------- HTTP(S)

def self_signed(days: int = 10) -> tuple[bytes, bytes, dt.datetime]:
    # EC P-256: handshakes an order of magnitude cheaper than RSA, and the suite makes hundreds.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ZONE)])
    now = dt.datetime.now(dt.UTC)
    not_after = now + dt.timedelta(days=days)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(ZONE), x509.DNSName(f"www.{ZONE}")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem, not_after


def weak_rsa_certificate() -> tuple[bytes, bytes]:
    """A self-signed certificate on a 1024-bit RSA key (the weak-key planted problem)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"legacy.{ZONE}")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"legacy.{ZONE}")]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def make_handler(lab: Lab, server_name: str):
    class Handler(BaseHTTPRequestHandler):
        # One write per response and no Nagle: otherwise every request waits out a delayed ACK.
        wbufsize = 65536
        disable_nagle_algorithm = True

        def version_string(self) -> str:
            return APACHE_BANNER

        def log_message(self, *args) -> None:
            pass

        def reply(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            lab.http_requests.append((server_name, host, self.command, self.path))
            path, _, query = self.path.partition("?")
            debug = host == DEBUG_HOST and path not in lab.fixed_paths
            origin = self.headers.get("Origin")
            if debug and self.command == "OPTIONS":
                self.reply(200, "", {"Allow": "GET, HEAD, POST, PUT, DELETE, TRACE, OPTIONS"})
            elif debug and origin and path == "/":
                self.reply(200, "{}", {"Access-Control-Allow-Origin": origin,
                                       "Access-Control-Allow-Credentials": "true"})
            elif debug and path == "/" and parse_qs(query).get("next"):
                self.reply(302, "", {"Location": parse_qs(query)["next"][0]})
            elif debug and path == "/vigil-probe-not-found":
                self.reply(500, f"<html><body><pre>{TRACEBACK}</pre></body></html>")
            elif path in lab.fixed_paths:
                self.reply(404, "<html><body>Not Found</body></html>")
            elif path == "/.well-known/vigil-verification.txt" and host in lab.well_known:
                self.reply(200, lab.well_known[host])
            elif path == "/" and host == f"vpn.{ZONE}":
                self.reply(200, "<html><head><title>Apache2 Debian Default Page: It works</title></head>"
                                "<body>Apache2 Debian Default Page</body></html>")
            elif path == "/":
                self.reply(200, "<html><head><title>Lab Portal</title></head><body>Welcome</body></html>",
                           {"X-Powered-By": "PHP/7.4.3", "Set-Cookie": "session=lab1; Path=/"})
            elif path == "/.git/HEAD":
                self.reply(200, "ref: refs/heads/main\n")
            elif path == "/backup/":
                self.reply(200, "<html><head><title>Index of /backup</title></head><body><h1>Index of /backup"
                                "</h1><a href=\"db.sql\">db.sql</a></body></html>")
            else:
                self.reply(404, "<html><body>Not Found</body></html>")

        do_HEAD = do_OPTIONS = do_POST = do_PUT = do_DELETE = do_GET  # noqa: N815 - every request is recorded

    return Handler


def start_http(lab: Lab, tmp: Path) -> list[ThreadingHTTPServer]:
    plain = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(lab, "http"))
    lab.http_port = plain.server_address[1]
    secure = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(lab, "https"))
    cert, key, lab.cert_not_after = self_signed()
    (tmp / "cert.pem").write_bytes(cert)
    (tmp / "key.pem").write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    lab.https_port = secure.server_address[1]
    legacy = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(lab, "legacy-tls"))
    rsa_cert, rsa_key = weak_rsa_certificate()
    (tmp / "legacy-cert.pem").write_bytes(rsa_cert)
    (tmp / "legacy-key.pem").write_bytes(rsa_key)
    old_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # offering TLS 1.0 is the planted problem
        old_context.minimum_version = ssl.TLSVersion.TLSv1
    # Security level 0: OpenSSL 3 otherwise refuses both a 1024-bit key and TLS 1.0/1.1.
    old_context.set_ciphers("ALL:@SECLEVEL=0")
    old_context.load_cert_chain(tmp / "legacy-cert.pem", tmp / "legacy-key.pem")
    legacy.socket = old_context.wrap_socket(legacy.socket, server_side=True)
    lab.legacy_tls_port = legacy.server_address[1]
    servers = [plain, secure, legacy]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return servers


# ---------------------------------------------------------------- TCP banners

def start_banners(lab: Lab) -> list[socketserver.ThreadingTCPServer]:
    servers = []
    for service, banner in BANNERS.items():
        class Handler(socketserver.BaseRequestHandler):
            greeting, name = banner, service

            def handle(self) -> None:
                lab.tcp_connections.append((self.name, self.server.server_address[1]))
                try:
                    self.request.sendall(self.greeting)
                except OSError:
                    pass

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        lab.banner_ports[service] = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        lab.closed_port = sock.getsockname()[1]
    return servers


# ---------------------------------------------------------------- fake providers

# (id, CVSS, severity, summary, reference tags): NVD tags a reference to a public exploit "Exploit".
NVD_ANSWERS = {
    "cpe:2.3:a:apache:http_server:2.4.49": [
        ("CVE-2021-41773", 7.5, "HIGH", "Path traversal and file disclosure in Apache HTTP Server 2.4.49",
         ["Vendor Advisory"]),
        ("CVE-2021-42013", 9.8, "CRITICAL", "Path traversal and remote code execution in Apache HTTP Server 2.4.49",
         ["Exploit", "Third Party Advisory"]),
    ],
    "cpe:2.3:a:vsftpd_project:vsftpd:2.3.4": [
        ("CVE-2011-2523", 9.8, "CRITICAL", "vsftpd 2.3.4 downloadable source contained a backdoor",
         ["Exploit", "Third Party Advisory", "VDB Entry"]),
    ],
}


def nvd_body(cpe: str) -> dict:
    key = ":".join(cpe.split(":")[:6])
    vulns = []
    for cve_id, score, severity, text, tags in NVD_ANSWERS.get(key, []):
        vulns.append({"cve": {"id": cve_id, "descriptions": [{"lang": "en", "value": text}],
                              "references": [{"url": f"https://advisories.invalid/{cve_id}", "source": "lab",
                                              "tags": tags}],
                              "metrics": {"cvssMetricV31": [{"cvssData": {"baseScore": score,
                                                                          "baseSeverity": severity}}]}}})
    return {"resultsPerPage": len(vulns), "totalResults": len(vulns), "vulnerabilities": vulns}


def kev_entry(cve_id: str, vendor: str, product: str, name: str, added: str, ransomware: str = "Unknown") -> dict:
    """One entry with every field of CISA's feed (known_exploited_vulnerabilities_schema.json)."""
    return {"cveID": cve_id, "vendorProject": vendor, "product": product, "vulnerabilityName": name,
            "dateAdded": added, "shortDescription": f"{vendor} {product} has a vulnerability ({cve_id}).",
            "requiredAction": "Apply mitigations per vendor instructions or discontinue use of the product if "
                              "mitigations are unavailable.",
            "dueDate": added, "knownRansomwareCampaignUse": ransomware, "notes": f"https://nvd.nist.gov/vuln/detail/{cve_id}",
            "cwes": ["CWE-22"]}


# The fake KEV feed: the shape of CISA's known_exploited_vulnerabilities.json (title, catalogVersion,
# dateReleased, count, vulnerabilities with every field), with made-up contents.
KEV_FEED = {
    "title": "CISA Catalog of Known Exploited Vulnerabilities",
    "catalogVersion": "2026.12.01",
    "dateReleased": "2026-12-01T17:00:00.000Z",
    "count": 3,
    "vulnerabilities": [
        kev_entry("CVE-2021-42013", "Apache", "HTTP Server", "Apache HTTP Server Path Traversal", "2021-11-03",
                  "Known"),
        kev_entry("CVE-2011-2523", "vsftpd", "vsftpd", "vsftpd Backdoor Command Execution", "2026-11-30"),
        kev_entry("CVE-2099-0001", "Lab", "Lab Portal", "Lab Portal Made-up Vulnerability", "2026-12-01"),
    ],
}


def ct_body(query: str) -> list[dict]:
    if query.lstrip("%.") != ZONE:
        return []
    return [{"name_value": f"{ZONE}\nwww.{ZONE}"}, {"name_value": f"api.{ZONE}"},
            {"name_value": f"*.{ZONE}"}, {"name_value": f"old.{ZONE}"}, {"name_value": "unrelated.example"}]


def start_providers(lab: Lab) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if url.path.startswith("/kev"):
                lab.kev_requests.append(self.path)
                body = KEV_FEED
            elif url.path.startswith("/nvd"):
                cpe = query.get("cpeName", [""])[0]
                lab.nvd_requests.append(cpe)
                lab.nvd_headers.append(dict(self.headers.items()))
                body = nvd_body(cpe)
            else:
                lab.ct_requests.append(query.get("q", [""])[0])
                body = ct_body(query.get("q", [""])[0])
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    lab.ct_url = f"http://127.0.0.1:{port}/ct"
    lab.nvd_url = f"http://127.0.0.1:{port}/nvd"
    lab.kev_url = f"http://127.0.0.1:{port}/kev/known_exploited_vulnerabilities.json"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def lab_config(lab: Lab) -> dict:
    return {
        "SURFACE_DNS_SERVERS": lab.dns_servers,
        "SURFACE_SCAN_PRIVATE_TARGETS": True,
        "SURFACE_CT_URL": lab.ct_url,
        "SURFACE_NVD_URL": lab.nvd_url,
        "SURFACE_PORTS": ",".join(str(p) for p in lab.ports),
        "SURFACE_HTTP_PORT": lab.http_port,
        "SURFACE_HTTPS_PORT": lab.https_port,
        "SURFACE_CONNECT_TIMEOUT": LAB_CONNECT_TIMEOUT,
        "SURFACE_WORDLIST_MAX": 60,
        "SURFACE_HTTP_RATE": 0.0,  # the pacing itself is tested with a fake clock
    }


@pytest.fixture(scope="session")
def surface_lab(app):
    """The lab, started once per test session; the app's surface settings point at it."""
    lab = Lab()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-surface-lab-"))
    dns_servers = start_dns(lab)
    http_servers = start_http(lab, tmp) + [start_providers(lab)]
    tcp_servers = start_banners(lab)
    saved = {k: app.config[k] for k in lab_config(lab) if k in app.config}
    app.config.update(lab_config(lab))
    yield lab
    for key in lab_config(lab):
        app.config.pop(key, None)
    app.config.update(saved)
    for server in dns_servers:
        server.stop()
        server.server.server_close()  # dnslib's stop() leaves the socket open
    for server in [*http_servers, *tcp_servers]:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def lab(surface_lab):
    """The session's lab with its records of requests and per-test DNS/file state cleared."""
    surface_lab.reset()
    yield surface_lab
    surface_lab.reset()
