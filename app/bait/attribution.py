"""Who touched a token, from what its client sent: one pure function, and the threat level.

Rules (issue 22, tested case by case in tests/test_bait_attribution.py):

| client                                            | type    | base |
|---------------------------------------------------|---------|------|
| tool user agent (curl, wget, python-requests ...) | tool    | 50   |
| bot, crawler or scanner keyword                   | bot     | 40   |
| browser user agent with Sec-Fetch-* headers       | human   | 85   |
| browser user agent with Accept-Language only      | human   | 60   |
| browser user agent with neither                   | spoofed | 30   |
| no user agent, or one of none of the above        | tool    | 50   |

Then +10 with Accept-Language, +5 with Referer, +15 with Sec-Fetch headers, capped at 100.
Evidence: court_ready for a human at 80 or more; moderate for a human at 60 or more, a tool
or a bot; weak otherwise. Tools are matched before bots (sqlmap is a tool, not a crawler),
and bots before browsers (crawlers send "Mozilla/5.0 (compatible; ...)").

Threat level: 5 or more hits from one address -> critical; a tool or a bot -> high; else
medium; hits on more than one token from the same address raise it one step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

TOOL_MARKERS = ("curl", "wget", "python-requests", "python-urllib", "python-httpx", "aiohttp", "boto",
                "aws-cli", "aws-sdk", "go-http-client", "postman", "httpie", "okhttp", "java/", "libwww-perl",
                "powershell", "insomnia", "axios", "node-fetch", "kubectl", "psql", "sqlmap", "nikto",
                "stripe/", "octokit", "slackclient", "slack-sdk")
BOT_MARKERS = ("bot", "crawler", "spider", "scanner", "scan", "slurp", "nmap", "masscan", "zgrab",
               "censys", "shodan", "headless", "preview")
BROWSER_MARKERS = ("mozilla/", "chrome/", "safari/", "firefox/", "edg/", "opera")
BASE = {"tool": 50, "bot": 40, "spoofed": 30}
LEVELS = ("medium", "high", "critical")


@dataclass(frozen=True)
class Attribution:
    type: str  # human | bot | tool | spoofed
    confidence: int
    evidence: str  # court_ready | moderate | weak
    reasons: tuple[str, ...]


def header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get(name.lower())
    return value.strip() if value and value.strip() else None


def sec_fetch(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower().startswith("sec-fetch-") and v}


def attribute(user_agent: str | None, headers: Mapping[str, str]) -> Attribution:
    """Classify one request's client (pure: the same input always gives the same answer)."""
    ua = (user_agent or "").lower()
    has_language = header(headers, "Accept-Language") is not None
    has_referer = header(headers, "Referer") is not None
    has_fetch = bool(sec_fetch(headers))
    reasons: list[str] = []
    if any(m in ua for m in TOOL_MARKERS):
        kind, base = "tool", BASE["tool"]
        reasons.append("tool user agent")
    elif any(m in ua for m in BOT_MARKERS):
        kind, base = "bot", BASE["bot"]
        reasons.append("bot, crawler or scanner user agent")
    elif any(m in ua for m in BROWSER_MARKERS):
        if has_fetch:
            kind, base = "human", 85
            reasons.append("browser user agent with Sec-Fetch headers")
        elif has_language:
            kind, base = "human", 60
            reasons.append("browser user agent with Accept-Language only")
        else:
            kind, base = "spoofed", BASE["spoofed"]
            reasons.append("browser user agent without any browser header")
    else:
        kind, base = "tool", BASE["tool"]
        reasons.append("no user agent" if not ua else "unrecognised non-browser client")
    bonus = 0
    if has_language:
        bonus += 10
        reasons.append("Accept-Language +10")
    if has_referer:
        bonus += 5
        reasons.append("Referer +5")
    if has_fetch:
        bonus += 15
        reasons.append("Sec-Fetch +15")
    confidence = min(100, base + bonus)
    return Attribution(kind, confidence, evidence(kind, confidence), tuple(reasons))


def evidence(kind: str, confidence: int) -> str:
    if kind == "human" and confidence >= 80:
        return "court_ready"
    if (kind == "human" and confidence >= 60) or kind in ("tool", "bot"):
        return "moderate"
    return "weak"


def threat_level(kind: str, hits_from_address: int, tokens_from_address: int) -> str:
    """critical at 5+ hits from the address, high for a tool or bot, else medium; raised one
    step when the address touched more than one token."""
    if hits_from_address >= 5:
        level = "critical"
    elif kind in ("tool", "bot"):
        level = "high"
    else:
        level = "medium"
    if tokens_from_address > 1:
        level = LEVELS[min(len(LEVELS) - 1, LEVELS.index(level) + 1)]
    return level


def fingerprint(user_agent: str | None, headers: Mapping[str, str]) -> str:
    """A stable hash of the client's header shape (names in order, UA, language): the same
    tool on another address gives the same fingerprint."""
    names = ",".join(k.lower() for k in headers)
    raw = f"{user_agent or ''}|{header(headers, 'Accept-Language') or ''}|{names}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]
