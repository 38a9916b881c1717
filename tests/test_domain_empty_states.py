"""A new organization's first look at the attack surface, canary tokens and breach files: each
empty list says what to do next, not only that it is empty."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("path", "guidance"), [
    ("/surface/", "prove you own it"),
    ("/bait/", "pick the kind that fits where you will plant it"),
    ("/exposure/uploads", "Import a combolist or breach dump above"),
])
def test_empty_lists_tell_a_new_user_what_to_do(client, orgs, path, guidance):
    client.login(orgs.a.users["admin"].email)
    page = client.get(path)
    assert page.status_code == 200
    assert guidance in page.get_data(as_text=True)


def test_a_search_made_through_htmx_appears_under_recent_searches_at_once(client, orgs):
    client.login(orgs.a.users["admin"].email)
    response = client.post("/exposure/search", data={"query_type": "email", "value": "nobody@example.com",
                                                     "sources": "local"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="recent-searches"' in html and "email: nobody@example.com" in html
