"""Global search as a registry: each domain registers what it can find, from its own package.

A provider is a function `search_fn(org_id, term, limit) -> list[Hit]` that returns at most
`limit` of the organization's rows matching `term`, each with its page's URL. The search
page calls every provider the signed-in user's role may use (`permission`), in `order`.
A new domain adds one `register_provider(...)` call; nothing here changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.permissions import PERMISSIONS


@dataclass(frozen=True)
class Hit:
    title: str
    url: str
    detail: str = ""


SearchFn = Callable[[int, str, int], list[Hit]]


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    permission: str
    search_fn: SearchFn
    order: int = 100


PROVIDERS: dict[str, Provider] = {}


def register_provider(name: str, label: str, permission: str, search_fn: SearchFn, order: int = 100) -> Provider:
    """Register (or replace, on re-import) the provider `name`; `permission` gates who sees its results."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    provider = PROVIDERS[name] = Provider(name, label, permission, search_fn, order)
    return provider


def providers() -> list[Provider]:
    """Registered providers, lowest `order` first."""
    return sorted(PROVIDERS.values(), key=lambda p: (p.order, p.name))
