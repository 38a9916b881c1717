"""The route sweep with hostile values (issue 11.3): every GET and POST route, as a signed-in
organization admin over the demo data, gets one request per hostile class with every query
parameter and form field it is known to read set to that value. No answer may be a 5xx.

Field names come from the pages themselves (links, forms and htmx attributes found by
crawling every page once) and from the source (`request.args.get("...")`), so a new field
or route is swept without editing this file.
"""

from __future__ import annotations

import re
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from app.demo import DEMO_PASSWORD, seed_demo
from app.models import db
from tests.test_routes import concrete_url

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = {
    "nul": "a\x00b",
    "surrogate": "a\ud800b",
    "huge_int": "9" * 30,
    "negative": "-99999999999",
    "long": "x" * 5_000,  # ten times the longest VARCHAR column (500)
}
# Would end the sweep's own session or remove its signed-in admin.
SKIP = frozenset({"auth.logout", "auth.sessions_revoke_others", "auth.session_revoke", "admin.user_deactivate",
                  "admin.user_revoke_sessions", "admin.org_delete", "auth.mfa_disable", "static"})
ADMIN = "admin@northwind.example"


class PageParser(HTMLParser):
    """Links, and forms with their field names, of one HTML page (htmx attributes included)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[tuple[str, str, list[str]]] = []  # (method, action, fields)
        self._form: tuple[str, str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for attr in ("href", "hx-get", "src"):
            if a.get(attr, "").startswith("/"):
                self.links.append(a[attr])
        if tag == "form":
            method = "post" if (a.get("method", "").lower() == "post" or "hx-post" in a) else "get"
            self._form = (method, a.get("hx-post") or a.get("action") or "", [])
            self.forms.append(self._form)
        elif "hx-post" in a and tag != "form":
            self.forms.append(("post", a["hx-post"], [a["name"]] if a.get("name") else []))
        if tag in ("input", "select", "textarea", "button") and a.get("name") and self._form is not None:
            self._form[2].append(a["name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def source_query_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        names.update(re.findall(r'request\.args\.(?:get|getlist)\("(\w+)"', path.read_text()))
    return names


def endpoint_of(app, url: str, method: str) -> str | None:
    adapter = app.url_map.bind("localhost")
    try:
        return adapter.match(urlsplit(url).path, method=method)[0]
    except (NotFound, MethodNotAllowed, RequestRedirect):
        return None


def crawl(app, client) -> tuple[dict, dict, dict]:
    """One visit of every page reachable from the parameterless GET routes: a concrete URL
    per endpoint, the query names each reads, and the fields of each form posted to it."""
    urls: dict[tuple[str, str], str] = {}
    query: dict[str, set[str]] = defaultdict(set)
    fields: dict[str, set[str]] = defaultdict(set)
    queue = [r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments
             and r.endpoint not in SKIP]
    seen: set[str] = set()
    while queue:
        url = queue.pop()
        endpoint = endpoint_of(app, url, "GET")
        if endpoint is None or endpoint in SKIP or ("GET", endpoint) in urls and url in seen:
            continue
        seen.add(url)
        urls.setdefault(("GET", endpoint), urlsplit(url).path)
        query[endpoint].update(k for k, _ in parse_qsl(urlsplit(url).query))
        response = client.get(url, buffered=True)
        if "text/html" not in response.content_type or response.status_code != 200:
            continue
        page = PageParser()
        page.feed(response.get_data(as_text=True))
        for link in page.links:
            target = endpoint_of(app, link, "GET")
            if target is not None and ("GET", target) not in urls and link not in seen:
                queue.append(link)
            elif target is not None:
                query[target].update(k for k, _ in parse_qsl(urlsplit(link).query))
        for method, action, names in page.forms:
            action = action or url
            target = endpoint_of(app, action, method.upper())
            if target is None:
                continue
            urls.setdefault((method.upper(), target), urlsplit(action).path)
            (fields if method == "post" else query)[target].update(n for n in names if n != "csrf_token")
    return urls, query, fields


def encode(pairs: dict[str, str]) -> str:
    """A query string or form body; lone surrogates go as the bytes a hostile client sends."""
    return "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in pairs.items())


def test_no_route_answers_hostile_values_with_a_5xx(app, client):
    assert seed_demo() is True
    db.session.commit()
    assert client.login(ADMIN, DEMO_PASSWORD).status_code == 303
    urls, query, fields = crawl(app, client)
    all_query = source_query_names() | set().union(*query.values())
    all_fields = set().union(*fields.values())
    failures, sent = [], 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            path = urls.get((method, rule.endpoint)) or concrete_url(rule)
            for kind, value in HOSTILE.items():
                if method == "GET":
                    names = query.get(rule.endpoint) or set()
                    response = client.get(f"{path}?{encode(dict.fromkeys(names | all_query, value))}", buffered=True)
                else:
                    names = fields.get(rule.endpoint) or all_fields
                    response = client.post(path, data=encode(dict.fromkeys(names, value)), buffered=True,
                                           content_type="application/x-www-form-urlencoded")
                sent += 1
                if response.status_code >= 500:
                    failures.append(f"{method} {path} [{kind}] -> {response.status_code}")
                # Sent to the sign-in page (not just /login, which always redirects there) and
                # really signed out: sign in again so the sweep goes on.
                if (response.status_code == 302 and "/auth/login" in response.headers.get("Location", "")
                        and client.get("/auth/login").status_code == 200):
                    assert client.login(ADMIN, DEMO_PASSWORD).status_code == 303, f"{method} {path} ended the sign-in"
    assert sent > 5 * 150  # the sweep really walked the map
    assert len(urls) > 100  # ...and the crawl found real objects' pages
    assert not failures, "\n".join(failures)
