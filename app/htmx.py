"""The one place that reads htmx request headers and writes htmx response headers.

Pinned to htmx 2.0.11 (static/vendor): every version-specific rule lives here.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """A fragment is wanted for htmx requests that are not boosted and not history restores."""
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def hx_target() -> str | None:
    return request.headers.get("HX-Target")


def hx_trigger(response: Response, event: str, detail: Any = None) -> Response:
    """Add an event to HX-Trigger, merging with any already set."""
    raw = response.headers.get("HX-Trigger")
    events: dict[str, Any] = {}
    if raw:
        try:
            events = json.loads(raw)
        except ValueError:
            events = {name.strip(): None for name in raw.split(",")}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def hx_redirect(response: Response, url: str) -> Response:
    response.headers["HX-Redirect"] = url
    return response


def hx_refresh(response: Response) -> Response:
    response.headers["HX-Refresh"] = "true"
    return response


def hx_retarget(response: Response, selector: str, swap: str | None = None) -> Response:
    response.headers["HX-Retarget"] = selector
    if swap:
        response.headers["HX-Reswap"] = swap
    return response


def hx_push_url(response: Response, url: str) -> Response:
    response.headers["HX-Push-Url"] = url
    return response


def add_vary(response: Response) -> Response:
    """Responses differ for htmx requests: caches must key on the header."""
    response.vary.add("HX-Request")
    return response
