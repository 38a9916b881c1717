"""Linkable objects: a registry of the object types an incident (or anything else) may
point at, each registered by its own domain.

A type says how to load one of an organization's objects by id (None: not there, or
another organization's), how to name it, where its page is, and which of its own events
belong on a timeline. The incident service validates links against it and renders the
linked objects' events; it never names a domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

TimelineEvent = tuple[datetime, str]  # (when, what happened), newest last


@dataclass(frozen=True)
class LinkableType:
    name: str  # "alert", "network", "indicator", "user", ...
    label: str
    load: Callable[[int, str], Any | None]  # (org_id, object id) -> the object, scoped
    title: Callable[[Any], str]
    url: Callable[[Any], str | None]
    events: Callable[[Any], list[TimelineEvent]] | None = None
    # The severity an incident opened about the object starts with (low .. critical; None: no opinion).
    severity: Callable[[Any], str | None] | None = None


TYPES: dict[str, LinkableType] = {}
# Where "open an incident about this" goes: (endpoint, permission), set by the incidents' domain.
INCIDENT_OPENER: dict[str, str] = {}
# (org_id, object type, object id) -> [(label, url)] of what links to the object (its incidents),
# with the permission needed to see them.
BACKLINKS: list[tuple[Callable[[int, str, str], list[tuple[str, str]]], str]] = []


def register(linkable: LinkableType) -> LinkableType:
    TYPES[linkable.name] = linkable
    return linkable


def register_incident_opener(endpoint: str, permission: str) -> None:
    INCIDENT_OPENER.update(endpoint=endpoint, permission=permission)


def register_backlinks(finder: Callable[[int, str, str], list[tuple[str, str]]], permission: str) -> None:
    if (finder, permission) not in BACKLINKS:
        BACKLINKS.append((finder, permission))


def linked_from(org_id: int, object_type: str, object_id: Any,
                allowed: Callable[[str], bool]) -> list[tuple[str, str]]:
    """What links to this object (e.g. the incidents about it) that the viewer may see, as (label, url)."""
    return [item for finder, permission in BACKLINKS if allowed(permission)
            for item in finder(org_id, object_type, str(object_id))]


def resolve(org_id: int, object_type: str, object_id: str) -> Any | None:
    """The organization's object of a registered type, or None (unknown type, missing, another tenant)."""
    linkable = TYPES.get(object_type)
    if linkable is None or not str(object_id).strip():
        return None
    try:
        return linkable.load(org_id, str(object_id).strip())
    except (ValueError, LookupError):
        return None  # an id of the wrong shape for this type


INCIDENT_SEVERITY_ORDER = ("low", "medium", "high", "critical")


def incident_severity(org_id: int, refs: list[tuple[str, str]]) -> str | None:
    """The severity an incident about these objects starts with: the worst any of them suggests."""
    found = []
    for kind, ident in refs:
        linkable = TYPES.get(kind)
        obj = resolve(org_id, kind, ident) if linkable is not None and linkable.severity is not None else None
        if obj is not None and linkable.severity(obj) in INCIDENT_SEVERITY_ORDER:
            found.append(linkable.severity(obj))
    return max(found, key=INCIDENT_SEVERITY_ORDER.index) if found else None


def timeline(object_type: str, obj: Any) -> list[TimelineEvent]:
    linkable = TYPES.get(object_type)
    return linkable.events(obj) if linkable is not None and linkable.events is not None else []
