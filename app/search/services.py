"""Running a search across the registered providers for the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.permissions import can
from app.search.registry import Hit, Provider, providers

PER_TYPE_PAGE = 10
PER_TYPE_DROPDOWN = 4


@dataclass
class Group:
    provider: Provider
    hits: list[Hit] = field(default_factory=list)


def search(org_id: int, term: str, user, limit: int = PER_TYPE_PAGE) -> list[Group]:
    """Every provider `user` may use, with its hits for `term` in the organization; empty
    groups are dropped. The caller passes a cleaned term (app.search.text.clean)."""
    groups = []
    for provider in providers():
        if not can(provider.permission, user):
            continue
        hits = provider.search_fn(org_id, term, limit)
        if hits:
            groups.append(Group(provider, hits[:limit]))
    return groups
