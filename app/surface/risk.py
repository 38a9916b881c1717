"""THE attack-surface risk score: one pure function, five categories of 20 points, one level table.

The categories and their point rules are the seed upstream's (NERVE XASM
`calculate_risk_score`), kept exactly:

1. Open ports: stepped on the count (1+: 4, 5+: 8, 10+: 12, 15+: 16, 20+: 20).
2. Service exposure: databases min(8n, 12), SSH/Telnet min(3n, 4), RDP min(6n, 6),
   admin panels min(2n, 4).
3. Attack surface: subdomains stepped (10+: 3, 20+: 6, 50+: 10, 100+: 12), cloud assets
   min(2n, 8).
4. Configuration: malicious (threat-intelligence) addresses min(5n, 10), +2 per default
   installation sign, +1 per clear-text service.
5. CVEs: critical min(4n, 10), high min(1n, 4), CISA KEV min(5n, 8), public exploits
   min(2n, 6). The counts come from the scan's CVE findings (`scanner.cve_counts`): CVSS
   from NVD, the KEV flag from the loaded KEV copy, "public exploit" from an NVD reference
   tagged `Exploit`.

Upstream left the configuration category open ("can be expanded with more specific
checks"); Vigil adds its own checks there, marked `vigil=True` below: TLS problems, mail
security gaps, takeover candidates, allowed zone transfers, exposed files and panels, and
missing security headers. Each category is capped at 20, so the score is 0-100, and the
levels are the upstream's: >= 76 critical, >= 51 high, >= 26 medium, else low. The domain
page prints every rule that scored, with its count and its formula.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CATEGORY_MAX = 20
# (minimum score, level), highest first: the ONE level table.
LEVELS = ((76, "critical"), (51, "high"), (26, "medium"), (0, "low"))


@dataclass(frozen=True)
class Rule:
    key: str  # the counted input
    category: str
    label: str
    per_item: int = 0
    cap: int = CATEGORY_MAX
    steps: tuple[tuple[int, int], ...] = ()  # (at least n, points), highest first; replaces per_item
    vigil: bool = False  # Vigil's addition to the upstream rules

    def points(self, count: int) -> int:
        if self.steps:
            return next((points for minimum, points in self.steps if count >= minimum), 0)
        return min(self.per_item * count, self.cap)

    def formula(self, count: int) -> str:
        if self.steps:
            table = ", ".join(f"{n}+: {p}" for n, p in reversed(self.steps))
            return f"stepped ({table})"
        return f"min({self.per_item} x {count}, {self.cap})"


CATEGORIES = ("Open ports", "Service exposure", "Attack surface", "Configuration", "CVEs")
RULES: tuple[Rule, ...] = (
    Rule("open_ports", "Open ports", "open TCP ports", steps=((20, 20), (15, 16), (10, 12), (5, 8), (1, 4))),
    Rule("db_services", "Service exposure", "database services reachable", 8, 12),
    Rule("ssh_telnet_services", "Service exposure", "SSH or Telnet services", 3, 4),
    Rule("rdp_services", "Service exposure", "RDP services", 6, 6),
    Rule("admin_panels", "Service exposure", "admin panels or admin ports (8080, 8443, 9090)", 2, 4),
    Rule("subdomains", "Attack surface", "subdomains", steps=((100, 12), (50, 10), (20, 6), (10, 3))),
    Rule("cloud_assets", "Attack surface", "cloud assets", 2, 8),
    Rule("intel_matches", "Configuration", "addresses listed in threat intelligence", 5, 10),
    Rule("default_signs", "Configuration", "default installation signs", 2),
    Rule("cleartext_services", "Configuration", "clear-text services (FTP, Telnet, HTTP, POP3, IMAP)", 1),
    Rule("takeover_candidates", "Configuration", "dangling CNAMEs (takeover candidates)", 5, 10, vigil=True),
    Rule("axfr_allowed", "Configuration", "name servers allowing zone transfer", 4, 4, vigil=True),
    Rule("exposure_findings", "Configuration", "exposed files, listings, CORS, redirects or methods", 3, 9,
         vigil=True),
    Rule("tls_problems", "Configuration", "TLS certificate or protocol problems", 2, 6, vigil=True),
    Rule("mail_problems", "Configuration", "mail security gaps (SPF, DMARC)", 2, 4, vigil=True),
    Rule("header_problems", "Configuration", "hosts missing security headers or cookie flags", 1, 3, vigil=True),
    Rule("critical_cves", "CVEs", "critical CVEs (CVSS 9+)", 4, 10),
    Rule("high_cves", "CVEs", "high CVEs (CVSS 7-8.9)", 1, 4),
    Rule("kev_cves", "CVEs", "CVEs in CISA's Known Exploited Vulnerabilities", 5, 8),
    Rule("exploit_cves", "CVEs", "CVEs with a public exploit (NVD reference tagged Exploit)", 2, 6),
)
INPUTS = tuple(rule.key for rule in RULES)


@dataclass
class Line:
    rule: Rule
    count: int
    points: int

    def why(self) -> str:
        source = " [Vigil]" if self.rule.vigil else ""
        return f"{self.count} {self.rule.label}: {self.rule.formula(self.count)} = {self.points}{source}"


@dataclass
class Category:
    name: str
    points: int = 0
    lines: list[Line] = field(default_factory=list)
    capped: bool = False


@dataclass
class Risk:
    score: int
    level: str
    categories: list[Category]

    def as_dict(self) -> dict:
        return {"score": self.score, "level": self.level, "categories": [
            {"name": c.name, "points": c.points, "max": CATEGORY_MAX, "capped": c.capped,
             "lines": [{"rule": ln.rule.key, "count": ln.count, "points": ln.points, "why": ln.why()}
                       for ln in c.lines]} for c in self.categories]}


def level_for(score: int) -> str:
    return next(level for minimum, level in LEVELS if score >= minimum)


def score(counts: dict[str, int]) -> Risk:
    """The risk of a scan from its counts (keys in INPUTS; missing keys count 0)."""
    unknown = set(counts) - set(INPUTS)
    if unknown:
        raise KeyError(f"unknown risk inputs: {sorted(unknown)}")
    categories = {name: Category(name) for name in CATEGORIES}
    for rule in RULES:
        count = max(0, int(counts.get(rule.key, 0)))
        points = rule.points(count)
        if points:
            categories[rule.category].lines.append(Line(rule, count, points))
    for category in categories.values():
        raw = sum(line.points for line in category.lines)
        category.points = min(raw, CATEGORY_MAX)
        category.capped = raw > CATEGORY_MAX
    total = sum(c.points for c in categories.values())
    return Risk(total, level_for(total), list(categories.values()))
