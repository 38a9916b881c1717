"""THE attack-surface risk score: one pure function, five categories of 20 points, one level table.

The five categories are the seed's (NERVE XASM): open ports, service exposure, attack
surface, configuration, CVEs. Inside a category each rule adds `min(per_item * n, cap)`
points and the category is capped at 20, so the score is 0-100. The rules the issue quotes
from the seed's upstream are kept exactly (DB ports min(8n, 12), critical CVEs min(4n, 10),
KEV CVEs min(5n, 8)); the other rules are Vigil's and are listed in RULES below, which the
domain page prints line by line with the count that triggered each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CATEGORY_MAX = 20
# (minimum score, level), highest first: the ONE level table.
LEVELS = ((76, "critical"), (51, "high"), (26, "medium"), (0, "low"))


@dataclass(frozen=True)
class Rule:
    key: str  # the RiskInputs field counted
    category: str
    per_item: int
    cap: int
    label: str


CATEGORIES = ("Open ports", "Service exposure", "Attack surface", "Configuration", "CVEs")
RULES: tuple[Rule, ...] = (
    Rule("open_ports", "Open ports", 2, 10, "open TCP ports"),
    Rule("db_services", "Open ports", 8, 12, "database ports reachable"),
    Rule("remote_admin_services", "Service exposure", 5, 10, "remote administration services (SSH, RDP, VNC, Telnet)"),
    Rule("cleartext_services", "Service exposure", 3, 6, "clear-text services (FTP, Telnet, POP3, IMAP, plain HTTP)"),
    Rule("versions_disclosed", "Service exposure", 2, 4, "services disclosing their version"),
    Rule("subdomains", "Attack surface", 1, 6, "subdomains found"),
    Rule("takeover_candidates", "Attack surface", 8, 12, "dangling CNAMEs (takeover candidates)"),
    Rule("axfr_allowed", "Attack surface", 8, 8, "name servers allowing zone transfer"),
    Rule("intel_matches", "Attack surface", 10, 10, "addresses listed in threat intelligence"),
    Rule("tls_problems", "Configuration", 3, 6, "TLS certificate or protocol problems"),
    Rule("mail_problems", "Configuration", 3, 6, "mail security gaps (SPF, DMARC)"),
    Rule("header_problems", "Configuration", 1, 4, "missing security headers or weak cookie flags"),
    Rule("exposure_findings", "Configuration", 5, 10, "exposed files, listings, panels, CORS, redirects or methods"),
    Rule("critical_cves", "CVEs", 4, 10, "critical CVEs"),
    Rule("high_cves", "CVEs", 2, 6, "high CVEs"),
    Rule("kev_cves", "CVEs", 5, 8, "CVEs in CISA's Known Exploited Vulnerabilities"),
)
INPUTS = tuple(rule.key for rule in RULES)


@dataclass
class Line:
    rule: Rule
    count: int
    points: int

    def why(self) -> str:
        return (f"{self.count} {self.rule.label}: min({self.rule.per_item} x {self.count}, {self.rule.cap})"
                f" = {self.points}")


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
        if count:
            points = min(rule.per_item * count, rule.cap)
            categories[rule.category].lines.append(Line(rule, count, points))
    for category in categories.values():
        raw = sum(line.points for line in category.lines)
        category.points = min(raw, CATEGORY_MAX)
        category.capped = raw > CATEGORY_MAX
    total = sum(c.points for c in categories.values())
    return Risk(total, level_for(total), list(categories.values()))
