"""Every route is behind sign-in except the explicit public allowlist.

Walks app.url_map, so a new route that forgets protection fails here.
"""

from __future__ import annotations

import re

from app.core.guard import PUBLIC_ENDPOINTS


def concrete_url(rule) -> str:
    """Fill every converter of a rule with a plausible value."""
    def value(match: re.Match) -> str:
        converter = match.group(1) or "string"
        return "1" if converter in ("int", "float") else "x"
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", value, rule.rule)


def all_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def test_public_allowlist_names_real_endpoints(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert PUBLIC_ENDPOINTS <= endpoints


def test_every_non_public_route_refuses_anonymous_users(app, client):
    checked = 0
    for rule in all_rules(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = concrete_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 401), f"{method} {url} answered {response.status_code}"
            if response.status_code == 302:
                assert "/auth/login" in response.headers["Location"], f"{method} {url}"
            checked += 1
    assert checked >= 15  # the sweep really walked the map


def test_htmx_requests_from_anonymous_users_get_a_redirect_header(client):
    response = client.get("/jobs/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "/auth/login" in response.headers["HX-Redirect"]


def test_json_clients_get_401_json(client):
    response = client.get("/jobs/", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthenticated"
