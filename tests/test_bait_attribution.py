"""Attribution of a canary-token hit: one pure function, each of issue 22's rules a case."""

from __future__ import annotations

import pytest

from app.bait.attribution import attribute, evidence, fingerprint, threat_level

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
FETCH = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none", "Sec-Fetch-Dest": "document"}
LANG = {"Accept-Language": "en-GB,en;q=0.9"}
REF = {"Referer": "https://wiki.example.com/ops"}


@pytest.mark.parametrize("ua, headers, kind, confidence, strength", [
    # tool user agents -> tool 50 (+ bonuses), evidence moderate
    ("curl/8.5.0", {}, "tool", 50, "moderate"),
    ("Wget/1.21.4", {}, "tool", 50, "moderate"),
    ("python-requests/2.32.3", {}, "tool", 50, "moderate"),
    ("Boto3/1.44.18 md/Botocore#1.44.18 ua/2.1 os/linux", {}, "tool", 50, "moderate"),
    ("aws-cli/2.17.0 Python/3.11.9", {}, "tool", 50, "moderate"),
    ("Go-http-client/1.1", {}, "tool", 50, "moderate"),
    ("PostmanRuntime/7.39.0", {}, "tool", 50, "moderate"),
    ("curl/8.5.0", LANG, "tool", 60, "moderate"),
    # browser UA with Sec-Fetch -> human 85 (+15 Sec-Fetch, capped at 100), court-ready
    (CHROME, FETCH, "human", 100, "court_ready"),
    # browser UA with Accept-Language only -> human 60 (+10) = 70, moderate
    (CHROME, LANG, "human", 70, "moderate"),
    # ... and with a Referer too: 75, still below court-ready
    (CHROME, {**LANG, **REF}, "human", 75, "moderate"),
    # browser UA with neither -> spoofed 30, weak; a Referer adds 5
    (CHROME, {}, "spoofed", 30, "weak"),
    (CHROME, REF, "spoofed", 35, "weak"),
    # bots, crawlers, scanners -> bot 40, moderate (crawlers say "Mozilla ... compatible")
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", {}, "bot", 40, "moderate"),
    ("Mozilla/5.0 zgrab/0.x", {}, "bot", 40, "moderate"),
    ("Expanse, a Palo Alto Networks company, searches across the global IPv4 space (scanner)", {}, "bot", 40,
     "moderate"),
    ("AhrefsBot/7.0", LANG, "bot", 50, "moderate"),
    # no user agent at all: a script -> tool
    (None, {}, "tool", 50, "moderate"),
    ("", {}, "tool", 50, "moderate"),
])
def test_attribution_rules(ua, headers, kind, confidence, strength):
    result = attribute(ua, headers)
    assert (result.type, result.confidence, result.evidence) == (kind, confidence, strength)


def test_bonuses_are_additive_and_header_names_case_insensitive():
    tool = attribute("curl/8", {"accept-language": "de", "referer": "x", "sec-fetch-mode": "cors"})
    assert tool.confidence == 50 + 10 + 5 + 15
    assert "Sec-Fetch +15" in tool.reasons and "Referer +5" in tool.reasons


def test_empty_headers_do_not_count():
    assert attribute(CHROME, {"Accept-Language": "  ", "Sec-Fetch-Mode": ""}).type == "spoofed"


@pytest.mark.parametrize("kind, confidence, strength", [
    ("human", 80, "court_ready"), ("human", 79, "moderate"), ("human", 60, "moderate"), ("human", 59, "weak"),
    ("tool", 10, "moderate"), ("bot", 40, "moderate"), ("spoofed", 100, "weak"),
])
def test_evidence_thresholds(kind, confidence, strength):
    assert evidence(kind, confidence) == strength


@pytest.mark.parametrize("kind, hits, tokens, level", [
    ("human", 1, 1, "medium"),
    ("spoofed", 4, 1, "medium"),
    ("tool", 1, 1, "high"),
    ("bot", 1, 1, "high"),
    ("human", 5, 1, "critical"),
    ("tool", 9, 1, "critical"),
    ("human", 2, 2, "high"),  # several tokens from one address raise it a step
    ("tool", 2, 3, "critical"),
    ("human", 6, 2, "critical"),  # already at the top
])
def test_threat_level(kind, hits, tokens, level):
    assert threat_level(kind, hits, tokens) == level


def test_fingerprint_is_stable_for_the_same_client_and_differs_for_another():
    assert fingerprint("curl/8", {"Host": "a", "Accept": "*/*"}) == fingerprint("curl/8", {"Host": "a", "Accept": "*/*"})
    assert fingerprint("curl/8", {"Host": "a"}) != fingerprint("Wget/1", {"Host": "a"})
