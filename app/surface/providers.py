"""Outside data the scanner reads: certificate transparency (a crt.sh-style JSON API), CVEs
by product and version (the NVD 2.0 API), and the CISA KEV catalogue copy.

The KEV copy Vigil ships (data/surface/kev.json) is CISA's complete catalogue as of its newest
entry (data/surface/README.md says which snapshot); `vigil surface kev-import` refreshes it
from a file or a URL (CISA's feed by default), and `kev_status()` says which copy is loaded.
Scans read the copy through a cache keyed by the file's path and mtime, so it is parsed once
per change rather than once per scan.

Each provider is a small class with one method, reached over HTTP(S) through the outbound
address guard (app/outbound.py) with a timeout and a size cap; tests run them against
fakes on loopback (tests/surface_lab.py).
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.outbound import OutboundRefused, check_host
from app.surface.settings import DATA_DIR, USER_AGENT, setting

RESPONSE_LIMIT = 5 * 1024 * 1024
KEV_RESPONSE_LIMIT = 32 * 1024 * 1024  # CISA's catalogue is a few MB and grows
KEV_FIELDS = ("cveID", "vendorProject", "product", "vulnerabilityName", "dateAdded", "knownRansomwareCampaignUse")

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


def get_json(url: str, timeout: float = 15.0, headers: dict[str, str] | None = None,
             limit: int = RESPONSE_LIMIT):
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
            data = response.read(limit + 1)
    except (OSError, ValueError) as exc:
        raise ProviderError(f"{parsed.hostname}: {exc}") from exc
    if len(data) > limit:
        raise ProviderError(f"{parsed.hostname}: answer larger than {limit} bytes")
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
    exploit: bool = False  # NVD lists a reference tagged "Exploit" (a public exploit exists)


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
            api_key = setting("SURFACE_NVD_API_KEY")
            body = get_json(f"{self.base_url}?{urllib.parse.urlencode({'cpeName': cpe})}",
                            headers={"apiKey": api_key} if api_key else None)
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
    exploit = any("Exploit" in ((ref or {}).get("tags") or []) for ref in cve.get("references") or [])
    return Cve(cve_id, score, severity if severity in ("critical", "high", "medium", "low") else "medium",
               summary[:500], cve_id in kev, exploit)


def kev_path() -> Path:
    """Where the KEV copy lives: VIGIL_SURFACE_KEV_FILE, else the shipped data/surface/kev.json."""
    configured = str(setting("SURFACE_KEV_FILE") or "").strip()
    return Path(configured) if configured else DATA_DIR / "kev.json"


@dataclass(frozen=True)
class KevCopy:
    """One parsed KEV file: the document, its entry count, its CVE ids and the newest dateAdded."""

    doc: dict
    count: int
    ids: frozenset[str]
    newest_added: str | None


# Keyed by (path, mtime_ns): the ~1,300-entry catalogue is parsed and indexed once per file
# change, not on every scan or page view; a rewrite (kev-import) changes the mtime.
@lru_cache(maxsize=4)
def read_kev(path: Path, mtime_ns: int) -> KevCopy:
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows = [item for item in doc.get("vulnerabilities", []) if isinstance(item, dict)]
    added = [str(item["dateAdded"]) for item in rows if item.get("dateAdded")]
    return KevCopy(doc, len(rows), frozenset(str(item.get("cveID", "")) for item in rows),
                   max(added) if added else None)


def kev_copy() -> KevCopy:
    """The loaded KEV copy (re-read when the file changes)."""
    path = kev_path()
    return read_kev(path, path.stat().st_mtime_ns)


def kev_catalogue() -> dict:
    """The loaded KEV document."""
    return kev_copy().doc


def kev_ids() -> frozenset[str]:
    """CVE ids in the loaded KEV copy."""
    return kev_copy().ids


def kev_status() -> dict:
    """What the pages and CLI say about the KEV copy: its size, version, newest entry and whether it is partial."""
    copy = kev_copy()
    return {"count": copy.count, "catalog_version": copy.doc.get("catalogVersion"),
            "newest_added": copy.newest_added, "partial": bool(copy.doc.get("partial")),
            "source": copy.doc.get("source")}


def fetch_kev(url: str) -> dict:
    """CISA's catalogue JSON from a URL (the outbound guard, timeout and size cap apply)."""
    body = get_json(url, timeout=60.0, limit=KEV_RESPONSE_LIMIT)
    if not isinstance(body, dict):
        raise ProviderError("KEV: expected a JSON object with a `vulnerabilities` list")
    return body


def import_kev(source: dict, origin: str = "") -> int:
    """Rewrite the KEV copy from CISA's catalogue JSON; returns the entry count."""
    rows = source.get("vulnerabilities") if isinstance(source, dict) else None
    if not isinstance(rows, list):
        raise ProviderError("no `vulnerabilities` list in that document")
    items = [{k: item.get(k) for k in KEV_FIELDS if item.get(k) is not None}
             for item in rows if isinstance(item, dict) and str(item.get("cveID", "")).startswith("CVE-")]
    if not items:
        raise ProviderError("no KEV entries in that document")
    declared = source.get("count")
    doc = {"title": source.get("title", "CISA Known Exploited Vulnerabilities Catalog"),
           "catalogVersion": source.get("catalogVersion"), "dateReleased": source.get("dateReleased"),
           "source": origin or None,
           "licence": "CISA KEV catalogue: U.S. Government work, public domain (CC0 1.0)",
           # A catalogue that says it holds more entries than it lists is a partial copy.
           "partial": isinstance(declared, int) and declared > len(items),
           "count": len(items), "vulnerabilities": items}
    path = kev_path()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return len(items)
