"""Demo attack surface (registered with app.core.demo_data): each demo organization
lists its primary domain with one stored passive scan, so the pages have something to show.

The scan is built from the same pieces a real one uses (findings, `scanner.risk_counts`,
`risk.score`) and stored through `scans.store`; nothing is resolved or contacted. The
domain stays unverified: the demo cannot prove ownership of a `.example` name.
"""

from __future__ import annotations

from app.core.demo_data import register_demo
from app.models import Organization, utcnow
from app.surface import domains, risk, scanner, scans


def demo_result(domain: str) -> dict:
    now = utcnow()
    findings = scanner.Findings()
    findings.add("dmarc_missing", "medium", domain, f"no DMARC record at _dmarc.{domain}",
                 remediation="Publish v=DMARC1; p=quarantine (or reject) with a rua address.")
    findings.add("dangling_cname", "high", f"assets.{domain}",
                 f"assets.{domain} CNAME {domain.split('.')[0]}-assets.s3.amazonaws.com, which does not resolve "
                 "(AWS S3: claimable by anyone)", title=f"Subdomain takeover candidate: assets.{domain}",
                 remediation="Remove the CNAME or claim the resource it points to.")
    hosts = [{"name": domain, "addresses": ["203.0.113.10"], "cname": None, "sources": ["apex"], "resolves": True},
             {"name": f"www.{domain}", "addresses": ["203.0.113.10"], "cname": None, "sources": ["ct", "wordlist"],
              "resolves": True},
             {"name": f"mail.{domain}", "addresses": ["203.0.113.25"], "cname": None, "sources": ["wordlist"],
              "resolves": True},
             {"name": f"assets.{domain}", "addresses": [], "cname": f"{domain.split('.')[0]}-assets.s3.amazonaws.com",
              "sources": ["ct"], "resolves": False}]
    result = {
        "domain": domain, "scan_id": f"demo-{domain}", "started_at": now.isoformat(), "finished_at": now.isoformat(),
        "active": False, "notes": ["demo data: nothing was resolved or contacted"], "wildcard": [],
        "records": {"A": ["203.0.113.10"], "AAAA": [], "MX": [f"10 mail.{domain}"], "NS": [f"ns1.{domain}"],
                    "TXT": ["v=spf1 mx -all"], "CAA": []},
        "axfr": {}, "hosts": hosts, "subdomains": [h["name"] for h in hosts if h["name"] != domain],
        "mail": {"spf": ["v=spf1 mx -all"], "dmarc": [], "dmarc_policy": None, "dkim_selectors": ["default"]},
        "cloud_assets": [{"host": f"assets.{domain}", "cname": hosts[3]["cname"], "provider": "AWS S3",
                          "dangling": True}],
        "addresses": ["203.0.113.10", "203.0.113.25"], "intel": [],
        "open_ports": [], "tls": [], "http": [], "cves": [], "lightbox": [],
    }
    result["risk_inputs"] = scanner.risk_counts(result, [], findings)
    result["risk"] = risk.score(result["risk_inputs"]).as_dict()
    result["findings"] = list(findings.items.values())
    return result


def seed_surface(orgs: dict[str, Organization]) -> None:
    for org in orgs.values():
        if not org.primary_domain or domains.find_domain(org.id, org.primary_domain):
            continue
        row, _ = domains.add_domain(org.id, org.primary_domain, actor_label="seed-demo")
        scans.store(org.id, row.id, demo_result(row.domain))


register_demo(seed_surface)
