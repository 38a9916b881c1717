"""Every paginated list bounds its `page` with the one helper (app/pagination.py): a huge,
negative or non-numeric page is a 422 that says what a page may be, on PostgreSQL and SQLite
alike (before the helper, SQLite raised OverflowError: a 500)."""

from __future__ import annotations

import pytest
from flask import url_for

from app.pagination import MAX_PAGE, parse_page

PAGINATED = ("admin.sites", "admin.audit", "admin.orgs", "admin.users", "jobs.index", "notifications.index",
             "notifications.deliveries", "alerts.index", "fleet.index", "fleet.alerts", "threats.incident_list",
             "threats.events", "threats.intel", "threats.threats")


@pytest.mark.parametrize("value", ["9" * 25, "-99999999999", "0", "two", str(MAX_PAGE + 1)])
def test_every_paginated_list_answers_an_out_of_bounds_page_with_a_clear_422(app, client, orgs, value):
    client.login(orgs.super_admin.email)
    with app.test_request_context():
        urls = [url_for(endpoint) for endpoint in PAGINATED]
    for url in urls:
        response = client.get(f"{url}?page={value}")
        assert response.status_code == 422, (url, response.status_code)
        assert "page must be a whole number from 1 to 1,000,000" in response.get_data(as_text=True), url


def test_a_page_in_bounds_or_missing_is_served(app, client, orgs):
    client.login(orgs.super_admin.email)
    for url in ("/admin/sites", "/admin/sites?page=", f"/threats/events?page={MAX_PAGE}", "/jobs/?page=2"):
        assert client.get(url).status_code == 200, url


def test_parse_page_bounds():
    assert parse_page(None) == 1 and parse_page(" ") == 1 and parse_page("7") == 7
    assert parse_page(str(MAX_PAGE)) == MAX_PAGE
    for raw in ("0", "-1", "1.5", "\u00b2", "9" * 25, str(MAX_PAGE + 1)):
        assert parse_page(raw) is None, raw
