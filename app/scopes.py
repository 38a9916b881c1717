"""API scopes: the built-in ones (app.models.api.API_SCOPES) and those domains register.

Each registered scope names the role permission a user needs to hold it: an API key carries
it only while its user's role still has that permission, and a person's access token gets
the registered scopes their role allows. Kept apart from the resource registry so that
token handling (app/api/tokens.py) can read it without importing the routes."""

from __future__ import annotations

from typing import Any

from app.models.api import API_SCOPES
from app.permissions import PERMISSIONS, can

SCOPES: dict[str, str] = {}  # scope -> the permission the credential's user must also hold


def register_scope(scope: str, permission: str) -> None:
    """A domain's scope and the role permission a user needs to hold it."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    SCOPES[scope] = permission


def all_scopes() -> tuple[str, ...]:
    """Every scope a key may carry: the built-in ones, then the registered domains'."""
    return tuple(API_SCOPES) + tuple(sorted(s for s in SCOPES if s not in API_SCOPES))


def scopes_for(user: Any) -> set[str]:
    """The registered scopes whose permission `user`'s role holds (an access token's share)."""
    return {scope for scope, permission in SCOPES.items() if can(permission, user)}


def holds(scopes: frozenset[str], scope: str, user: Any) -> bool:
    """The credential carries `scope` and, for a registered one, its user's role still allows it."""
    permission = SCOPES.get(scope)
    return scope in scopes and (permission is None or (user is not None and can(permission, user)))
