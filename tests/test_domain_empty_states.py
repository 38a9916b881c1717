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
