"""Optional IP reputation of a hit's address (an AbuseIPDB-style provider), off by default.

Configured per organization on the Publishing page (key sealed, base URL settable so tests
use a local fake). A hit never waits for it: `record_hit` queues `bait.reputation` when the
organization has a key, and the job adds the verdict to the access's notes. Private and
reserved addresses are never looked up.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from app.bait import seeding
from app.outbound import OutboundRefused, check_host

PROVIDER = "abuseipdb"
TIMEOUT = 10


class ReputationError(Exception):
    pass


def configured(org_id: int) -> bool:
    return seeding.stored(org_id, PROVIDER) is not None


def lookable(ip: str | None) -> bool:
    try:
        return ipaddress.ip_address(ip or "").is_global
    except ValueError:
        return False


def check(org_id: int, ip: str) -> dict[str, Any] | None:
    """{"score", "reports", "isp", "usage"} from the provider, None when not configured."""
    found = seeding.sealed_key(org_id, PROVIDER)
    if found is None:
        return None
    base, key = found
    url = f"{base}/api/v2/check?" + urllib.parse.urlencode({"ipAddress": ip, "maxAgeInDays": 90})
    parts = urllib.parse.urlsplit(url)
    try:
        check_host(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        request = urllib.request.Request(url, headers={"Key": key, "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            data = json.loads(response.read(100_000))["data"]
    except (OutboundRefused, urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
        raise ReputationError(str(exc)) from exc
    return {"score": int(data.get("abuseConfidenceScore") or 0), "reports": int(data.get("totalReports") or 0),
            "isp": data.get("isp"), "usage": data.get("usageType")}


def describe(result: dict[str, Any]) -> str:
    extra = ", ".join(x for x in (result.get("isp"), result.get("usage")) if x)
    return f"AbuseIPDB: confidence {result['score']}/100, {result['reports']} report(s)" + (f" ({extra})" if extra else "")
