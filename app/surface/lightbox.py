"""Lightbox: the active web tests, run only on in-scope hosts of verified domains.

Each test asks for something any browser could ask for and records passed or failed with
evidence (the request line, the status and at most 2 KB of the response) and a
remediation. No exploitation payloads: no injection strings, no credential guessing, and
the open-redirect test only ever names a harmless canary host.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable
from dataclasses import dataclass

from app.surface import httpclient
from app.surface.httpclient import HttpResponse
from app.surface.portscan import printable

EVIDENCE_LIMIT = 2048
CANARY_HOST = "vigil-canary.invalid"
SECURITY_HEADERS = (
    ("strict-transport-security", "missing_hsts", "HSTS",
     "Send Strict-Transport-Security: max-age=31536000; includeSubDomains on HTTPS responses."),
    ("content-security-policy", "missing_csp", "Content-Security-Policy",
     "Send a Content-Security-Policy that limits script sources."),
    ("x-content-type-options", "missing_nosniff", "X-Content-Type-Options",
     "Send X-Content-Type-Options: nosniff."),
    ("referrer-policy", "missing_referrer_policy", "Referrer-Policy",
     "Send Referrer-Policy: strict-origin-when-cross-origin (or stricter)."),
)
EXPOSED_FILES = (
    ("/.git/HEAD", re.compile(r"^ref: refs/|^[0-9a-f]{40}\s*$"), "exposed_git", "high",
     "Block /.git on the web server and remove the repository from the web root."),
    ("/.env", re.compile(r"^[A-Z_][A-Z0-9_]*=", re.M), "exposed_env", "critical",
     "Remove .env from the web root and rotate every secret it held."),
    ("/.DS_Store", re.compile(r"Bud1"), "exposed_ds_store", "low", "Remove .DS_Store files from the web root."),
    ("/backup.zip", re.compile(r"^PK"), "exposed_backup", "high", "Remove backups from the web root."),
    ("/server-status", re.compile(r"Apache Server Status", re.I), "exposed_server_status", "medium",
     "Restrict mod_status to local addresses."),
)
LISTING_PATHS = ("/backup/", "/uploads/", "/files/")
LISTING_RE = re.compile(r"<title>Index of /|Directory listing for /", re.I)
ADMIN_PATHS = (("/wp-admin/", "WordPress"), ("/phpmyadmin/", "phpMyAdmin"), ("/admin/", "admin"))
DEFAULT_PAGE_RE = re.compile(r"Apache2 (?:Debian|Ubuntu) Default Page|<h1>It works!</h1>|Welcome to nginx!|"
                             r"IIS Windows Server|Test Page for the (?:Apache|Nginx) HTTP Server", re.I)
STACK_RE = re.compile(r"Traceback \(most recent call last\)|at [\w$.]+\([\w]+\.java:\d+\)|"
                      r"Stack trace:|Fatal error</b>:|Warning</b>:.* on line", re.I)


@dataclass(frozen=True)
class Site:
    scheme: str
    address: str
    port: int
    host: str

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass
class TestResult:
    test: str
    passed: bool
    finding_type: str | None = None
    severity: str = "info"
    title: str = ""
    evidence: str = ""
    remediation: str = ""
    url: str = ""
    status_code: int | None = None


def evidence(response: HttpResponse, note: str = "") -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers)
    text = f"{response.request_line}\n{response.status} {response.reason}\n{headers}\n\n{response.text}"
    if note:
        text = f"{note}\n{text}"
    return printable(text).encode("utf-8")[:EVIDENCE_LIMIT].decode("utf-8", "ignore")


def fetch(site: Site, path: str, **kwargs) -> HttpResponse | None:
    try:
        return httpclient.request(site.scheme, site.address, site.port, site.host, path, **kwargs)
    except (OSError, http.client.HTTPException):
        return None


def result(test: str, response: HttpResponse | None, failed: bool, finding_type: str, severity: str,
           title: str, remediation: str, note: str = "") -> TestResult:
    return TestResult(test, not failed, finding_type if failed else None, severity if failed else "info", title,
                      evidence(response, note) if response is not None else note, remediation,
                      response.request_line.split(" ", 1)[1] if response is not None else "",
                      response.status if response is not None else None)


def test_exposed_files(site: Site, home: HttpResponse) -> list[TestResult]:
    out = []
    for path, signature, finding, severity, fix in EXPOSED_FILES:
        response = fetch(site, path, limit=4096)
        failed = response is not None and response.status == 200 and bool(signature.search(response.text))
        out.append(result(f"exposed file {path}", response, failed, finding, severity,
                          f"{path} is readable on {site.host}", fix))
    return out


def test_directory_listing(site: Site, home: HttpResponse) -> list[TestResult]:
    out = []
    for path in LISTING_PATHS:
        response = fetch(site, path, limit=4096)
        failed = response is not None and response.status == 200 and bool(LISTING_RE.search(response.text))
        out.append(result(f"directory listing {path}", response, failed, "directory_listing", "medium",
                          f"Directory listing at {path} on {site.host}",
                          "Turn off automatic directory indexes (Options -Indexes / autoindex off)."))
    return out


def test_admin_panels(site: Site, home: HttpResponse) -> list[TestResult]:
    out = []
    for path, label in ADMIN_PATHS:
        response = fetch(site, path, limit=4096)
        failed = response is not None and response.status in (200, 401)
        out.append(result(f"admin panel {path}", response, failed, "exposed_admin_panel", "medium",
                          f"{label} panel reachable at {path} on {site.host}",
                          "Put administration interfaces behind a VPN or an IP allowlist."))
    return out


def test_default_page(site: Site, home: HttpResponse) -> list[TestResult]:
    return [result("default page", home, bool(DEFAULT_PAGE_RE.search(home.text)), "default_page", "low",
                   f"{site.host} serves a web server's default page",
                   "Replace the default page, or stop serving this virtual host if it is unused.")]


def test_security_headers(site: Site, home: HttpResponse) -> list[TestResult]:
    out = []
    for header, finding, label, fix in SECURITY_HEADERS:
        if header == "strict-transport-security" and site.scheme != "https":
            continue
        out.append(result(f"header {label}", home, home.header(header) is None, finding, "low",
                          f"{label} missing on {site.host}", fix))
    frame_ok = home.header("x-frame-options") is not None or "frame-ancestors" in (
        home.header("content-security-policy") or "")
    out.append(result("header X-Frame-Options / frame-ancestors", home, not frame_ok, "missing_frame_options",
                      "low", f"No clickjacking protection on {site.host}",
                      "Send X-Frame-Options: DENY or CSP frame-ancestors 'none'."))
    return out


def test_cookies(site: Site, home: HttpResponse) -> list[TestResult]:
    weak = []
    for cookie in home.header_all("set-cookie"):
        flags = cookie.lower()
        missing = [f for f in ("httponly", "samesite") if f not in flags]
        if site.scheme == "https" and "secure" not in flags:
            missing.append("secure")
        if missing:
            weak.append(f"{cookie.split('=', 1)[0]} lacks {', '.join(missing)}")
    return [result("cookie flags", home, bool(weak), "weak_cookie_flags", "low",
                   f"Cookies without protective flags on {site.host}",
                   "Set Secure, HttpOnly and SameSite on session cookies.", "; ".join(weak))]


def test_cors(site: Site, home: HttpResponse) -> list[TestResult]:
    origin = f"https://{CANARY_HOST}"
    response = fetch(site, "/", headers={"Origin": origin}, limit=2048)
    failed = (response is not None and response.header("access-control-allow-origin") == origin
              and (response.header("access-control-allow-credentials") or "").lower() == "true")
    return [result("CORS origin reflection", response, failed, "cors_reflects_origin", "high",
                   f"{site.host} reflects any Origin with credentials",
                   "Allow only known origins; never reflect Origin together with credentials.")]


def test_open_redirect(site: Site, home: HttpResponse) -> list[TestResult]:
    out = []
    for param in ("next", "url", "redirect"):
        response = fetch(site, f"/?{param}=https://{CANARY_HOST}/", limit=1024)
        failed = (response is not None and response.status in (301, 302, 303, 307, 308)
                  and CANARY_HOST in (response.header("location") or ""))
        out.append(result(f"open redirect ?{param}=", response, failed, "open_redirect", "medium",
                          f"{site.host} redirects to any host given in ?{param}=",
                          "Redirect only to relative paths or an allowlist of hosts."))
    return out


def test_methods(site: Site, home: HttpResponse) -> list[TestResult]:
    response = fetch(site, "/", method="OPTIONS", limit=1024)
    allow = ((response.header("allow") or "") if response is not None else "").upper()
    risky = [m for m in ("PUT", "DELETE", "TRACE", "CONNECT") if m in allow]
    return [result("HTTP methods", response, bool(risky), "dangerous_http_methods", "medium",
                   f"{site.host} allows {', '.join(risky)}", "Allow only the methods the site needs.")]


def test_disclosure(site: Site, home: HttpResponse) -> list[TestResult]:
    versions = [f"{h}: {home.header(h)}" for h in ("server", "x-powered-by", "x-aspnet-version")
                if re.search(r"\d+\.\d+", home.header(h) or "")]
    out = [result("version disclosure", home, bool(versions), "version_disclosure", "low",
                  f"{site.host} discloses software versions", "Hide version numbers in Server and X-Powered-By.",
                  "; ".join(versions))]
    missing = fetch(site, "/vigil-probe-not-found", limit=8192)
    failed = missing is not None and bool(STACK_RE.search(missing.text))
    out.append(result("stack trace disclosure", missing, failed, "stack_trace_disclosure", "medium",
                      f"{site.host} shows stack traces on errors", "Turn off debug error pages in production."))
    return out


TESTS: tuple[Callable[[Site, HttpResponse], list[TestResult]], ...] = (
    test_exposed_files, test_directory_listing, test_default_page, test_admin_panels, test_security_headers,
    test_cookies,
    test_cors, test_open_redirect, test_methods, test_disclosure,
)


def run(site: Site) -> list[TestResult]:
    """Every test against one site (nothing if its home page does not answer)."""
    home = fetch(site, "/", limit=16384)
    if home is None:
        return []
    results: list[TestResult] = []
    for test in TESTS:
        results.extend(test(site, home))
    return results
