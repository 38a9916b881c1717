"""A helper every domain reuses to prove org A cannot read or change org B's rows by id."""

from __future__ import annotations

from collections.abc import Iterable


def assert_other_org_cannot_reach(client, urls: Iterable[tuple[str, str]], data: dict | None = None) -> None:
    """Each (method, url) names a row of ANOTHER organization: every one must be a 404.

    A 404 (not 403) so the other tenant's ids are not even confirmed to exist.
    """
    for method, url in urls:
        response = client.open(url, method=method, data=data or {})
        assert response.status_code == 404, f"{method} {url} answered {response.status_code}, expected 404"
