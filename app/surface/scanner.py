"""One attack-surface scan of one domain, in stages, as plain data (no database here).

The service layer (`scans.py`) builds a `ScanPlan` (who may be probed, how to report
progress, how to look up threat intelligence) and stores what `run()` returns. Passive
stages always run; active stages (ports, TLS, HTTP, Lightbox, CVEs) only touch hosts the
plan's `in_scope` allows, and only addresses the private-target rule allows.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from app.models import utcnow
from app.surface import discovery, lightbox, portscan, risk, tlscheck
from app.surface.providers import CtProvider, NvdProvider, ProviderError
from app.surface.resolver import Resolver, probe_addresses
from app.surface.settings import read_list, scan_ports, setting

DB_SERVICES = {"mysql", "postgresql", "redis", "mongodb", "ms-sql-s", "oracle", "elasticsearch", "memcached",
               "couchdb"}
REMOTE_ADMIN = {"ssh", "telnet", "ms-wbt-server", "rdp", "vnc"}
RDP_SERVICES = {"ms-wbt-server", "rdp"}
ADMIN_PORTS = {8080, 8443, 9090}
CLEARTEXT = {"ftp", "telnet", "pop3", "imap", "http"}
EXPOSURE_TYPES = {"exposed_git", "exposed_env", "exposed_ds_store", "exposed_backup", "exposed_server_status",
                  "directory_listing", "cors_reflects_origin", "open_redirect",
                  "dangerous_http_methods", "stack_trace_disclosure"}
HEADER_TYPES = {"missing_hsts", "missing_csp", "missing_nosniff", "missing_referrer_policy", "missing_frame_options",
                "weak_cookie_flags"}
MAIL_TYPES = {"spf_missing", "spf_permissive", "spf_multiple", "dmarc_missing", "dmarc_policy_none"}
HOSTNAMES_PER_SERVICE = 5
TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


@dataclass
class ScanPlan:
    domain: str
    active: bool = False
    in_scope: Callable[[str], bool] = lambda host: False
    progress: Callable[[int, str], None] = lambda pct, msg: None
    intel_lookup: Callable[[str], dict | None] = lambda ip: None
    resolver: Resolver = field(default_factory=Resolver)
    ct: CtProvider = field(default_factory=CtProvider)
    nvd: NvdProvider = field(default_factory=NvdProvider)


class Findings:
    """Findings of one scan, one per (type, asset)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict] = {}

    def add(self, finding_type: str, severity: str, asset: str, evidence: str, *, title: str = "",
            remediation: str = "", source: str = "xasm", url: str = "", status_code: int | None = None) -> None:
        key = (finding_type, asset)
        if key not in self.items:
            self.items[key] = {"type": finding_type, "severity": severity, "asset": asset, "title": title or evidence[:200],
                               "evidence": portscan.printable(evidence)[: lightbox.EVIDENCE_LIMIT], "remediation": remediation,
                               "source": source, "url": url, "status_code": status_code}

    def of(self, types: set[str]) -> list[dict]:
        return [f for f in self.items.values() if f["type"] in types]


def run(plan: ScanPlan) -> dict:
    """The scan; returns the JSON-ready result with findings and the explained risk."""
    started = utcnow()
    domain, resolver, findings, notes = plan.domain, plan.resolver, Findings(), []
    result: dict = {"domain": domain, "scan_id": f"{started:%Y%m%d%H%M%S}-{secrets.token_hex(4)}",
                    "started_at": started.isoformat(), "active": plan.active, "notes": notes}

    plan.progress(5, "Certificate transparency")
    names: dict[str, set[str]] = {domain: {"apex"}}
    try:
        for name in plan.ct.names(domain):
            names.setdefault(name, set()).add("ct")
    except ProviderError as exc:
        notes.append(f"certificate transparency unavailable: {exc}")

    plan.progress(12, "DNS wordlist")
    wildcard = discovery.wildcard_addresses(resolver, domain)
    result["wildcard"] = sorted(wildcard)
    words = read_list("wordlist.txt")[: int(setting("SURFACE_WORDLIST_MAX"))]
    for host in discovery.wordlist_hits(resolver, domain, words, wildcard):
        names.setdefault(host, set()).add("wordlist")

    plan.progress(20, "Zone transfer")
    records = discovery.apex_records(resolver, domain)
    result["records"] = records
    transfers = discovery.zone_transfer(resolver, domain, records["NS"])
    result["axfr"] = transfers
    for ns, zone_names in transfers.items():
        findings.add("axfr_allowed", "high", ns, f"{ns} transferred the zone {domain} ({len(zone_names)} names)",
                     title=f"Zone transfer allowed by {ns}",
                     remediation="Allow AXFR only to your secondary name servers (allow-transfer).")
        for name in zone_names:
            if name.endswith("." + domain) and not name.startswith("_") and "._domainkey." not in name:
                names.setdefault(name, set()).add("axfr")

    plan.progress(30, "Resolving hosts")
    hosts = discovery.resolve_hosts(resolver, names)
    result["hosts"] = [h.as_dict() for h in hosts]
    result["subdomains"] = [h.name for h in hosts if h.name != domain and (h.resolves or h.cname)]

    plan.progress(35, "Mail security")
    mail = discovery.mail_security(resolver, domain, records["TXT"])
    for finding_type, severity, evidence, fix in mail.pop("findings"):
        findings.add(finding_type, severity, domain, evidence, remediation=fix)
    result["mail"] = mail

    plan.progress(40, "Cloud assets")
    cloud = []
    for host in hosts:
        provider = discovery.cloud_provider(host.cname)
        if host.cname and (provider or not host.resolves):
            dangling = not host.resolves
            cloud.append({"host": host.name, "cname": host.cname, "provider": provider, "dangling": dangling})
            if dangling:
                findings.add("dangling_cname", "high", host.name,
                             f"{host.name} CNAME {host.cname}, which does not resolve"
                             + (f" ({provider}: claimable by anyone)" if provider else ""),
                             title=f"Subdomain takeover candidate: {host.name}",
                             remediation="Remove the CNAME or claim the resource it points to.")
    result["cloud_assets"] = cloud

    plan.progress(45, "Threat intelligence")
    addresses = sorted({a for h in hosts for a in h.addresses})
    result["addresses"] = addresses
    intel = []
    for address in addresses:
        match = plan.intel_lookup(address)
        if match:
            intel.append({"address": address, **match})
            findings.add("threat_intel_match", "high", address,
                         f"{address} matches indicator {match.get('indicator')} ({match.get('threat_type') or 'listed'})",
                         remediation="Find out why this address is listed and whether your host is compromised.")
    result["intel"] = intel

    ports: list[portscan.OpenPort] = []
    result.update(open_ports=[], tls=[], http=[], cves=[], lightbox=[])
    if plan.active:
        ports = active_stages(plan, hosts, findings, result)

    plan.progress(95, "Risk score")
    counts = risk_counts(result, ports, findings)
    result["risk_inputs"] = counts
    result["risk"] = risk.score(counts).as_dict()
    result["findings"] = sorted(findings.items.values(), key=lambda f: (severity_rank(f["severity"]), f["type"],
                                                                        f["asset"]))
    result["finished_at"] = utcnow().isoformat()
    plan.progress(100, "Done")
    return result


def severity_rank(severity: str) -> int:
    return ("critical", "high", "medium", "low", "info").index(severity)


def active_stages(plan: ScanPlan, hosts: list[discovery.Host], findings: Findings, result: dict) -> list:
    by_address: dict[str, list[str]] = {}
    in_scope = [h for h in hosts if h.resolves and plan.in_scope(h.name)][: int(setting("SURFACE_MAX_HOSTS"))]
    for host in in_scope:
        for address in probe_addresses(host.addresses):
            by_address.setdefault(address, []).append(host.name)
    refused = sorted({a for h in in_scope for a in h.addresses} - set(by_address))
    if refused:
        result["notes"].append(f"not probed (private or reserved addresses): {', '.join(refused)}")
    result["probed_hosts"] = sorted(h.name for h in in_scope)

    plan.progress(50, f"Port scan of {len(by_address)} addresses")
    ports = portscan.scan(sorted(by_address), scan_ports(), concurrency=int(setting("SURFACE_CONCURRENCY")),
                          timeout=float(setting("SURFACE_CONNECT_TIMEOUT")),
                          hosts={a: sorted(names)[0] for a, names in by_address.items()})
    for port in ports:
        port.hostnames = sorted(by_address.get(port.address, []))
        asset = f"{port.address}:{port.port}"
        if port.service in DB_SERVICES:
            findings.add("database_exposed", "high", asset, f"{port.service} answers on {asset}: {port.banner[:120]!r}",
                         remediation="Keep databases off the internet; reach them through a VPN or private network.",
                         source="probe")
        elif port.service in REMOTE_ADMIN:
            findings.add("remote_admin_exposed", "medium", asset, f"{port.service} on {asset}: {port.banner[:120]!r}",
                         remediation="Restrict remote administration to a VPN or an allowlist.", source="probe")
        if port.service in CLEARTEXT - {"http"}:  # plain HTTP is scored, not a finding of its own
            findings.add("cleartext_service", "medium", asset, f"{port.service} (clear text) on {asset}",
                         remediation="Use the encrypted variant (SFTP, IMAPS, POP3S) and close this port.",
                         source="probe")

    plan.progress(65, "TLS and web")
    timeout = float(setting("SURFACE_CONNECT_TIMEOUT")) * 2
    for port in ports:
        if port.service not in ("http", "https"):
            continue
        scheme = "https" if port.service == "https" else "http"
        for name in port.hostnames[:HOSTNAMES_PER_SERVICE]:
            if scheme == "https":
                report = tlscheck.check(port.address, port.port, name, timeout)
                result["tls"].append(report.as_dict())
                for finding_type, severity, evidence, fix in report.problems():
                    findings.add(finding_type, severity, f"{name}:{port.port}", evidence, remediation=fix,
                                 source="probe")
            web_stage(lightbox.Site(scheme, port.address, port.port, name), port, findings, result)

    plan.progress(85, "CVEs")
    products = [(f"{p.address}:{p.port}", p.product, p.version) for p in ports if p.product and p.version]
    products += [(w["asset"], w["powered_by"][0], w["powered_by"][1]) for w in result["http"] if w.get("powered_by")]
    for asset, product, version in sorted(set(products)):
        try:
            cves = plan.nvd.cves(product, version)
        except ProviderError as exc:
            result["notes"].append(f"CVE lookup for {product} {version} failed: {exc}")
            continue
        for cve in cves:
            result["cves"].append({"asset": asset, "product": product, "version": version, "cve": cve.cve_id,
                                   "cvss": cve.cvss, "severity": cve.severity, "kev": cve.kev,
                                   "exploit": cve.exploit, "summary": cve.summary})
            flags = (" - in CISA KEV" if cve.kev else "") + (" - public exploit" if cve.exploit else "")
            findings.add(f"cve:{cve.cve_id}", cve.severity, asset,
                         f"{product} {version}: {cve.cve_id} (CVSS {cve.cvss}){flags}: "
                         f"{cve.summary}", title=f"{cve.cve_id} in {product} {version}",
                         remediation=f"Upgrade {product} to a fixed release.", source="probe")
    result["open_ports"] = [p.as_dict() for p in ports]
    return ports


def web_stage(site: lightbox.Site, port: portscan.OpenPort, findings: Findings, result: dict) -> None:
    tests = lightbox.run(site)
    home = lightbox.fetch(site, "/", limit=16384)
    if home is None:
        return
    title = TITLE_RE.search(home.text)
    product, version = portscan.guess_from_server_header(home.header("server"))
    if product and not port.product:
        port.product, port.version = product, version
    powered = re.match(r"^(PHP|ASP\.NET|Express)/?([\d.]+)?", home.header("x-powered-by") or "", re.I)
    tech = sorted({v for v in (home.header("server"), home.header("x-powered-by"), home.header("x-generator")) if v})
    result["http"].append({"asset": f"{site.host}:{site.port}", "url": f"{site.scheme}://{site.host}:{site.port}/",
                           "status": home.status, "title": title.group(1).strip()[:200] if title else None,
                           "server": home.header("server"), "technologies": tech,
                           "redirects_to_https": site.scheme == "http" and home.status in (301, 302, 307, 308)
                           and (home.header("location") or "").startswith("https://"),
                           "powered_by": [powered.group(1).lower(), powered.group(2)]
                           if powered and powered.group(2) else None})
    for test in tests:
        result["lightbox"].append({"host": site.host, "port": site.port, "test": test.test, "passed": test.passed,
                                   "finding_type": test.finding_type, "severity": test.severity})
        if not test.passed and test.finding_type:
            findings.add(test.finding_type, test.severity, f"{site.host}:{site.port}", test.evidence,
                         title=test.title, remediation=test.remediation, source="lightbox", url=test.url,
                         status_code=test.status_code)


def cve_counts(cve_rows: list[dict]) -> dict[str, int]:
    """The CVE category's inputs from the scan's CVE findings, one per (CVE, asset).

    Critical is CVSS 9+ and high CVSS 7-8.9 (the NVD severity when there is no score);
    KEV counts the CVEs in the loaded CISA KEV copy and exploits those NVD references with
    a public exploit. A CVE can count in several rules, as in the seed.
    """
    rows = list({(c["cve"], c["asset"]): c for c in cve_rows}.values())

    def cvss(row: dict) -> float:
        if row.get("cvss") is not None:
            return float(row["cvss"])
        return {"critical": 9.0, "high": 7.0}.get(row.get("severity", ""), 0.0)

    return {
        "critical_cves": sum(1 for c in rows if cvss(c) >= 9.0),
        "high_cves": sum(1 for c in rows if 7.0 <= cvss(c) < 9.0),
        "kev_cves": sum(1 for c in rows if c.get("kev")),
        "exploit_cves": sum(1 for c in rows if c.get("exploit")),
    }


def risk_counts(result: dict, ports: list, findings: Findings) -> dict[str, int]:
    """The risk inputs of one scan (app/surface/risk.py says what each scores)."""
    return {
        "open_ports": len(ports),
        "db_services": sum(1 for p in ports if p.service in DB_SERVICES),
        "ssh_telnet_services": sum(1 for p in ports if p.service in ("ssh", "telnet")),
        "rdp_services": sum(1 for p in ports if p.service in RDP_SERVICES),
        "admin_panels": sum(1 for p in ports if p.port in ADMIN_PORTS)
        + len(findings.of({"exposed_admin_panel"})),
        "subdomains": len([h for h in result["hosts"] if h["name"] != result["domain"] and h["resolves"]]),
        "cloud_assets": len(result["cloud_assets"]),
        "intel_matches": len(result["intel"]),
        "default_signs": len(findings.of({"default_page"})),
        "cleartext_services": sum(1 for p in ports if p.service in CLEARTEXT),
        "takeover_candidates": len(findings.of({"dangling_cname"})),
        "axfr_allowed": len(result["axfr"]),
        "exposure_findings": len(findings.of(EXPOSURE_TYPES)),
        "tls_problems": len([f for f in findings.items.values() if f["type"].startswith("tls_")]),
        "mail_problems": len(findings.of(MAIL_TYPES)),
        "header_problems": len({f["asset"] for f in findings.of(HEADER_TYPES)}),
        # Only CVEs that are findings of this scan count (a row whose finding was not kept does not).
        **cve_counts([c for c in result["cves"] if (f"cve:{c['cve']}", c["asset"]) in findings.items]),
    }
