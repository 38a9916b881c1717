"""The credential an API request acts for, and the JSON error form every API answer uses.

The API's authenticator (app/api/auth.py) sets `g.api_principal` (an app.api.tokens
Principal: user, org_id, scopes, ...) before any resource runs; resources read it here."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify


def api_error(status: int, code: str, message: str, **extra: Any):
    response = jsonify(error={"code": code, "message": message, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="vigil"'
    return response


def principal() -> Any:
    """Who the request acts for (set by the API's authenticator)."""
    return g.api_principal
