"""A tiny publish/subscribe seam: a domain's service publishes what happened, the
domain's alert rules (or anyone else) subscribe. The publisher imports only this module,
so a service never depends on the alerting code that reacts to it (no import cycle).

Subscribers run synchronously inside the publisher's transaction and must not commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SUBSCRIBERS: dict[str, list[Callable[..., Any]]] = {}


def subscribe(event: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    """Call `handler(**data)` whenever `event` is published (registering twice is a no-op)."""
    handlers = SUBSCRIBERS.setdefault(event, [])
    if handler not in handlers:
        handlers.append(handler)
    return handler


def publish(name: str, /, **data: Any) -> int:
    """Tell every subscriber of `name`; returns how many there were."""
    handlers = SUBSCRIBERS.get(name, ())
    for handler in handlers:
        handler(**data)
    return len(handlers)
