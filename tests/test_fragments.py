"""htmx fragments: every block a view may render alone works without its page around it."""

from __future__ import annotations

import pytest

HX = {"HX-Request": "true"}


@pytest.mark.parametrize("url", [
    "/", "/jobs/", "/jobs/?status=failed", "/admin/audit", "/admin/audit?action=auth.",
    "/threats/", "/threats/?status=resolved", "/threats/events", "/threats/incidents", "/notifications/",
    "/auth/security",
    "/wireless/networks", "/wireless/networks?sort=ssid&level=HIGH",
])
def test_fragment_requests_render_only_their_block(client, orgs, url):
    client.login(orgs.a.users["admin"].email)
    response = client.get(url, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    assert "<html" not in html and "<nav class=\"navbar" not in html
    full = client.get(url)
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)


def test_an_invalid_htmx_form_comes_back_with_its_errors(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/account", data={"timezone": "Mars/Olympus", "theme": "dark"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Unknown time zone" in html and "<html" not in html
    assert 'aria-invalid="true"' in html and 'aria-describedby="timezone-errors"' in html
    assert 'aria-describedby="None"' not in html


def test_a_filter_named_status_never_becomes_the_http_status(client, orgs):
    client.login(orgs.a.users["admin"].email)
    assert client.get("/jobs/?status=failed").status_code == 200
    assert client.get("/jobs/?status=bogus").status_code == 400
