"""Passive discovery: what DNS and certificate transparency say about a domain.

Nothing here connects to the domain's own hosts: only the configured resolvers (and the
domain's name servers for the AXFR attempt, which is a DNS question) and the CT provider.
"""

from __future__ import annotations

import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from app.surface.resolver import Resolver

DKIM_SELECTORS = ("default", "google", "selector1", "selector2", "k1", "mail", "dkim", "s1", "s2", "smtp")
# (provider, pattern of the CNAME target)
CLOUD_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS S3", re.compile(r"\.s3[.-]([a-z0-9-]+\.)?amazonaws\.com$")),
    ("AWS CloudFront", re.compile(r"\.cloudfront\.net$")),
    ("Azure Blob Storage", re.compile(r"\.blob\.core\.windows\.net$")),
    ("Azure App Service", re.compile(r"\.azurewebsites\.net$")),
    ("Google Cloud Storage", re.compile(r"(^|\.)storage\.googleapis\.com$|\.c\.storage\.googleapis\.com$")),
    ("GitHub Pages", re.compile(r"\.github\.io$")),
    ("Heroku", re.compile(r"\.herokuapp\.com$|\.herokudns\.com$")),
)


@dataclass
class Host:
    name: str
    addresses: list[str] = field(default_factory=list)
    cname: str | None = None
    sources: list[str] = field(default_factory=list)

    @property
    def resolves(self) -> bool:
        return bool(self.addresses)

    def as_dict(self) -> dict:
        return {"name": self.name, "addresses": self.addresses, "cname": self.cname, "sources": sorted(self.sources),
                "resolves": self.resolves}


def cloud_provider(target: str | None) -> str | None:
    if not target:
        return None
    return next((name for name, pattern in CLOUD_PATTERNS if pattern.search(target.lower())), None)


def wildcard_addresses(resolver: Resolver, domain: str) -> set[str]:
    """Addresses a random name under the domain resolves to (empty: no wildcard)."""
    found: set[str] = set()
    for _ in range(2):
        found |= set(resolver.addresses(f"vigil-{secrets.token_hex(6)}.{domain}"))
    return found


def wordlist_hits(resolver: Resolver, domain: str, words: list[str], wildcard: set[str],
                  workers: int = 10) -> list[str]:
    """Names from the wordlist that resolve to something other than the wildcard's answer."""
    def try_name(word: str) -> str | None:
        host = f"{word}.{domain}"
        addresses = set(resolver.addresses(host))
        if addresses and not addresses <= wildcard:
            return host
        if not addresses and resolver.cname(host):  # a CNAME to nowhere is worth reporting
            return host
        return None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sorted(h for h in pool.map(try_name, words) if h)


def resolve_hosts(resolver: Resolver, names: dict[str, set[str]]) -> list[Host]:
    def one(item: tuple[str, set[str]]) -> Host:
        name, sources = item
        return Host(name, resolver.addresses(name), resolver.cname(name), sorted(sources))

    with ThreadPoolExecutor(max_workers=10) as pool:
        return sorted(pool.map(one, names.items()), key=lambda h: (h.name.count("."), h.name))


def apex_records(resolver: Resolver, domain: str) -> dict[str, list[str]]:
    return {rtype: resolver.lookup(domain, rtype).values for rtype in ("A", "AAAA", "MX", "NS", "TXT", "CAA")}


def mail_security(resolver: Resolver, domain: str, txt: list[str]) -> dict:
    """SPF, DMARC and the DKIM selectors found, plus the findings about them."""
    spf = [t for t in txt if t.lower().startswith("v=spf1")]
    dmarc = [t for t in resolver.lookup(f"_dmarc.{domain}", "TXT").values if t.lower().startswith("v=dmarc1")]
    policy = None
    if dmarc:
        match = re.search(r"\bp\s*=\s*(\w+)", dmarc[0], re.I)
        policy = match.group(1).lower() if match else None
    selectors = [s for s in DKIM_SELECTORS
                 if any("v=dkim1" in t.lower() or "p=" in t for t in resolver.lookup(f"{s}._domainkey.{domain}",
                                                                                      "TXT").values)]
    findings = []
    if not spf:
        findings.append(("spf_missing", "medium", f"no SPF record at {domain}",
                         "Publish an SPF record ending in -all that lists your mail senders."))
    elif re.search(r"[+]all\b", spf[0]) or spf[0].strip().endswith(" all"):
        findings.append(("spf_permissive", "high", f"SPF allows anyone: {spf[0]}", "End the SPF record with -all."))
    if len(spf) > 1:
        findings.append(("spf_multiple", "medium", f"{len(spf)} SPF records (receivers reject them all)",
                         "Merge into one SPF record."))
    if not dmarc:
        findings.append(("dmarc_missing", "medium", f"no DMARC record at _dmarc.{domain}",
                         "Publish v=DMARC1; p=quarantine (or reject) with a rua address."))
    elif policy in (None, "none"):
        findings.append(("dmarc_policy_none", "low", f"DMARC policy is {policy or 'missing'}: {dmarc[0]}",
                         "Move the DMARC policy to quarantine, then reject."))
    if not selectors:
        findings.append(("dkim_not_found", "info", f"no DKIM key at common selectors ({', '.join(DKIM_SELECTORS)})",
                         "Sign outgoing mail with DKIM (selectors other than these are not checked)."))
    return {"spf": spf, "dmarc": dmarc, "dmarc_policy": policy, "dkim_selectors": selectors, "findings": findings}


def zone_transfer(resolver: Resolver, domain: str, nameservers: list[str]) -> dict[str, list[str]]:
    """Name servers that handed us the zone, with the names it holds."""
    allowed = {}
    for ns in nameservers:
        names = resolver.axfr(domain, ns)
        if names is not None:
            allowed[ns] = names
    return allowed
