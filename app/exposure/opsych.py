"""Username search across sites (OPSYCH), on the site definitions of the Sherlock Project.

The site list is `data/exposure/sherlock-data.json`, the `sherlock_project/resources/data.json`
shipped in the sherlock-project 0.16.2 package on PyPI (MIT licence, data/exposure/README.md);
it is copied rather than installed because the package pulls pandas and Tor libraries Vigil
does not need. Each site says how a missing account shows: `status_code` (not 2xx),
`message` (one of `errorMsg` in the body) or `response_url` (redirected to `errorUrl`).
Real HTTP checks, each through the outbound address guard, with a timeout and bounded
concurrency (EXPOSURE_SITE_WORKERS); sites whose `regexCheck` the username fails, and the
few that need a POST body, are skipped.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.models import db, utcnow
from app.models.exposure import OpsychSearchResult, Profile, SocialMedia
from app.outbound import OutboundRefused, check_host
from app.outbound.http import option

DEFAULT_SITES = Path(__file__).resolve().parents[2] / "data" / "exposure" / "sherlock-data.json"
MAX_BODY = 512 * 1024
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0"


@dataclass(frozen=True)
class Check:
    site: str
    url: str
    found: bool | None  # None: could not tell (timeout, refused, error)
    note: str = ""


@lru_cache(maxsize=4)
def load_sites(path: str) -> dict[str, dict[str, Any]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {name: site for name, site in data.items() if isinstance(site, dict) and "url" in site}


def sites() -> dict[str, dict[str, Any]]:
    return load_sites(str(option("EXPOSURE_SITE_LIST", str(DEFAULT_SITES))))


def applicable(site: dict[str, Any], username: str) -> bool:
    if "{}" not in (site.get("urlProbe") or site["url"]) or site.get("request_payload") or (site.get("request_method") or "GET").upper() not in ("GET", "HEAD"):
        return False
    pattern = site.get("regexCheck")
    return not pattern or re.search(pattern, username) is not None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def check(name: str, site: dict[str, Any], username: str, timeout: float) -> Check:
    """One real HTTP request deciding whether `username` has an account on the site."""
    profile_url = site["url"].replace("{}", username)
    probe = (site.get("urlProbe") or site["url"]).replace("{}", urllib.parse.quote(username, safe=""))
    parts = urllib.parse.urlsplit(probe)
    try:
        check_host(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    except OutboundRefused as exc:
        return Check(name, profile_url, None, str(exc)[:200])
    headers = {"User-Agent": USER_AGENT, **(site.get("headers") or {})}
    kind = site.get("errorType")
    # response_url: the site redirects a missing user; do not follow, a redirect means "missing".
    opener = urllib.request.build_opener(_NoRedirects) if kind == "response_url" else urllib.request.build_opener()
    request = urllib.request.Request(probe, headers=headers, method="GET")
    try:
        with opener.open(request, timeout=timeout) as resp:
            status, body = resp.status, resp.read(MAX_BODY).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status, body = exc.code, (exc.read(MAX_BODY) if exc.fp else b"").decode("utf-8", "replace")
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        return Check(name, profile_url, None, f"{type(exc).__name__}")
    if kind == "message":
        messages = site.get("errorMsg") or []
        messages = [messages] if isinstance(messages, str) else messages
        return Check(name, profile_url, 200 <= status < 300 and not any(m in body for m in messages))
    if kind == "response_url":
        return Check(name, profile_url, 200 <= status < 300)
    return Check(name, profile_url, 200 <= status < 300)


def search_username(username: str) -> list[Check]:
    """Every applicable site, checked with bounded concurrency."""
    timeout = float(option("EXPOSURE_SITE_TIMEOUT", 8.0))
    workers = int(option("EXPOSURE_SITE_WORKERS", 8))
    chosen = [(n, s) for n, s in sites().items() if applicable(s, username)]
    app = current_app._get_current_object()

    def one(item: tuple[str, dict[str, Any]]) -> Check:
        with app.app_context():  # the outbound guard reads the allowed networks from config
            return check(item[0], item[1], username, timeout)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, chosen))


def store(profile: Profile, checks: list[Check]) -> int:
    """Accounts found become opsych_search_results rows (one search id) and social_media rows."""
    search_id = str(uuid.uuid4())
    known = {(s.platform, s.username) for s in db.session.scalars(
        sa.select(SocialMedia).where(SocialMedia.profile_id == profile.id))}
    found = [c for c in checks if c.found]
    now = utcnow()
    for c in found:
        db.session.add(OpsychSearchResult(
            org_id=profile.org_id, profile_id=profile.id, search_id=search_id, query_input=profile.username,
            query_type="username", platform=c.site, username=profile.username, url=c.url[:500],
            source="sherlock-project 0.16.2 site list", discovered_at=now))
        if (c.site, profile.username) not in known:
            db.session.add(SocialMedia(org_id=profile.org_id, profile_id=profile.id, platform=c.site,
                                       username=profile.username, url=c.url[:500], discovered_at=now))
    profile.social_media_json = [{"platform": c.site, "url": c.url} for c in found]
    db.session.flush()
    return len(found)
