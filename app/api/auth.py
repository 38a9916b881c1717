"""Authenticating API requests (called by the sign-in guard for every non-public API route)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from app.api.tokens import (
    TokenError,
    device_principal,
    principal_from_access_token,
    principal_from_api_key,
)
from app.apiregistry.auth import api_error, principal
from app.auth.api_keys import KEY_PREFIX


def credential() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("X-API-Key") or None


# Endpoints that take a device key from the per-process cache and confirm it themselves
# with tokens.claim_device() in the statement that locks the device (the agent's hot path).
CACHED_DEVICE_KEY_ENDPOINTS = frozenset({"api.agent_heartbeat"})


def authenticate():
    """Load g.api_principal from the request's key or token; a 401 response if that fails."""
    token = credential()
    if token is None:
        return api_error(401, "unauthenticated", "Send an API key or access token as 'Authorization: Bearer ...'.")
    try:
        if token.startswith(KEY_PREFIX + "_") and request.endpoint in CACHED_DEVICE_KEY_ENDPOINTS:
            g.api_principal = device_principal(token, request.remote_addr)
        elif token.startswith(KEY_PREFIX + "_"):
            g.api_principal = principal_from_api_key(token, request.remote_addr)
        else:
            g.api_principal = principal_from_access_token(token)
    except TokenError as exc:
        return api_error(401, exc.code, str(exc))
    return None


def require_scope(scope: str) -> Callable:
    """403 unless the key or token carries `scope`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if scope not in principal().scopes:
                return api_error(403, "insufficient_scope", f"This credential lacks the scope {scope!r}.")
            return view(*args, **kwargs)

        wrapped.required_scope = scope  # type: ignore[attr-defined]
        return wrapped

    return decorator
