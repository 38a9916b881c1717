"""Outside data the scanner reads: certificate transparency (a crt.sh-style JSON API), CVEs
by product and version (the NVD 2.0 API), and the shipped CISA KEV copy.

Each provider is a small class with one method, reached over HTTP(S) through the outbound
address guard (app/outbound.py) with a timeout and a size cap; tests run them against
fakes on loopback (tests/surface_lab.py).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import lru_cache

from app.outbound import OutboundRefused, check_host
from app.surface.settings import DATA_DIR, USER_AGENT, setting

RESPONSE_LIMIT = 5 * 1024 * 1024

# product (as the service guess names it) -> NVD CPE vendor:product
CPE_PRODUCTS = {
    "apache": "apache:http_server",
    "nginx": "f5:nginx",
    "openssh": "openbsd:openssh",
    "vsftpd": "vsftpd_project:vsftpd",
    "proftpd": "proftpd:proftpd",
    "php": "php:php",
    "mysql": "oracle:mysql",
    "iis": "microsoft:internet_information_services",
    "exim": "exim:exim",
    "postfix": "postfix:postfix",
    "openssl": "openssl:openssl",
    "lighttpd": "lighttpd:lighttpd",
    "tomcat": "apache:tomcat",
}


class ProviderError(Exception):
    """A provider could not be asked or answered nonsense; the scan notes it and goes on."""


def get_json(url: str, timeout: float = 15.0, headers: dict[str, str] | None = None):
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ProviderError(f"not an http(s) URL: {url}")
    try:
        check_host(parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80))
    except OutboundRefused as exc:
        raise ProviderError(str(exc)) from exc
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json",
                                               **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            data = response.read(RESPONSE_LIMIT + 1)
    except (OSError, ValueError) as exc:
        raise ProviderError(f"{parsed.hostname}: {exc}") from exc
    if len(data) > RESPONSE_LIMIT:
        raise ProviderError(f"{parsed.hostname}: answer larger than {RESPONSE_LIMIT} bytes")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ProviderError(f"{parsed.hostname}: not JSON") from exc


class CtProvider:
    """Names seen in certificates issued for a domain (crt.sh's `?q=%.DOMAIN&output=json`)."""

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = (base_url if base_url is not None else setting("SURFACE_CT_URL")).rstrip("/")

    def names(self, domain: str) -> list[str]:
        if not self.base_url:
            return []
        query = urllib.parse.urlencode({"q": f"%.{domain}", "output": "json"})
        rows = get_json(f"{self.base_url}/?{query}")
        if not isinstance(rows, list):
            raise ProviderError("certificate transparency: expected a JSON list")
        names: set[str] = set()
        for row in rows:
            for name in str((row or {}).get("name_value", "")).splitlines():
                name = name.strip().lower().rstrip(".")
                if name.startswith("*."):
                    name = name[2:]
                if name == domain or name.endswith("." + domain):
                    names.add(name)
        return sorted(names)


@dataclass(frozen=True)
class Cve:
    cve_id: str
    cvss: float | None
    severity: str  # critical, high, medium, low
    summary: str
    kev: bool = False


class NvdProvider:
    """CVEs of one product version, asked by CPE name (NVD API 2.0 `cpeName=`)."""

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = (base_url if base_url is not None else setting("SURFACE_NVD_URL")).rstrip("/")
        self.cache: dict[tuple[str, str], list[Cve]] = {}

    def cves(self, product: str, version: str) -> list[Cve]:
        cpe_product = CPE_PRODUCTS.get(product.lower())
        if not self.base_url or not cpe_product or not version:
            return []
        key = (product.lower(), version)
        if key not in self.cache:
            cpe = f"cpe:2.3:a:{cpe_product}:{version}:*:*:*:*:*:*:*"
            # NVD allows 5 requests in 30 s without a key and 50 with one (VIGIL_SURFACE_NVD_API_KEY).
            key = setting("SURFACE_NVD_API_KEY")
            body = get_json(f"{self.base_url}?{urllib.parse.urlencode({'cpeName': cpe})}",
                            headers={"apiKey": key} if key else None)
            kev = kev_ids()
            self.cache[key] = [parse_cve(item.get("cve") or {}, kev) for item in body.get("vulnerabilities", [])]
        return self.cache[key]


def parse_cve(cve: dict, kev: frozenset[str]) -> Cve:
    metrics = cve.get("metrics") or {}
    score, severity = None, "medium"
    for name in ("cvssMetricV31", "cvssMetricV30", "cvssMetricV2"):
        if metrics.get(name):
            data = metrics[name][0].get("cvssData", {})
            score = data.get("baseScore")
            severity = (data.get("baseSeverity") or metrics[name][0].get("baseSeverity") or "medium").lower()
            break
    summary = next((d.get("value", "") for d in cve.get("descriptions", []) if d.get("lang") == "en"), "")
    cve_id = str(cve.get("id", ""))
    return Cve(cve_id, score, severity if severity in ("critical", "high", "medium", "low") else "medium",
               summary[:500], cve_id in kev)


@lru_cache(maxsize=1)
def kev_catalogue() -> dict:
    return json.loads((DATA_DIR / "kev.json").read_text(encoding="utf-8"))


def kev_ids() -> frozenset[str]:
    return frozenset(item["cveID"] for item in kev_catalogue().get("vulnerabilities", []))


def import_kev(source: dict) -> int:
    """Rewrite the shipped KEV copy from CISA's catalogue JSON; returns the entry count."""
    items = [{k: item.get(k) for k in ("cveID", "vendorProject", "product", "vulnerabilityName")}
             for item in source.get("vulnerabilities", []) if str(item.get("cveID", "")).startswith("CVE-")]
    if not items:
        raise ProviderError("no KEV entries in that file")
    doc = {"title": source.get("title", "CISA Known Exploited Vulnerabilities Catalog"),
           "catalogVersion": source.get("catalogVersion"), "count": len(items), "vulnerabilities": items}
    (DATA_DIR / "kev.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    kev_catalogue.cache_clear()
    return len(items)
