"""The home page as registries: each domain registers, from its own package, its posture
(one number, its trend, its worst item), what needs attention now, and its recent activity.

Every registered function takes the organization id and must run a fixed number of
queries whatever the amount of data (aggregates and LIMITs): the home page's query count
is tested not to grow with data size. A new domain adds its registrations; nothing here
or in the page changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.permissions import PERMISSIONS

# Ranking across domains: severity first, then the newest.
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "warning": 2, "low": 1, "info": 0}


@dataclass(frozen=True)
class Worst:
    label: str
    url: str


@dataclass(frozen=True)
class PostureState:
    value: str  # the one number, formatted ("72.5", "3 / 40")
    caption: str  # what the number is ("CSF score", "networks at HIGH or CRITICAL")
    url: str  # the domain's own page
    trend: float | None = None  # change over the trend window (positive: the number went up)
    trend_window: str = "7 days"
    higher_is_better: bool = True
    worst: Worst | None = None
    status: str = "ok"  # ok, warn, bad: the tile's colour


@dataclass(frozen=True)
class AttentionItem:
    severity: str
    title: str
    url: str
    when: datetime | None = None
    detail: str = ""
    domain: str = ""

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)


@dataclass(frozen=True)
class TimelineItem:
    when: datetime
    title: str
    url: str | None = None
    detail: str = ""
    domain: str = ""


@dataclass(frozen=True)
class Registration:
    name: str
    label: str
    permission: str
    func: Callable
    order: int = 100


POSTURE: dict[str, Registration] = {}
ATTENTION: dict[str, Registration] = {}
TIMELINE: dict[str, Registration] = {}
ORG_COLUMNS: dict[str, Registration] = {}


def _register(table: dict[str, Registration], name: str, label: str, permission: str, func: Callable,
              order: int) -> Registration:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    table[name] = Registration(name, label, permission, func, order)
    return table[name]


def register_posture(name: str, label: str, permission: str, func: Callable[[int], PostureState | None],
                     order: int = 100) -> Registration:
    """A domain's posture tile: `func(org_id)` -> PostureState, or None when it has nothing to show."""
    return _register(POSTURE, name, label, permission, func, order)


def register_attention(name: str, label: str, permission: str, func: Callable[[int, int], list[AttentionItem]],
                       order: int = 100) -> Registration:
    """What needs attention now: `func(org_id, limit)` -> at most `limit` items, most urgent first."""
    return _register(ATTENTION, name, label, permission, func, order)


def register_timeline(name: str, label: str, permission: str, func: Callable[[int, int], list[TimelineItem]],
                      order: int = 100) -> Registration:
    """Recent activity: `func(org_id, limit)` -> at most `limit` items, newest first."""
    return _register(TIMELINE, name, label, permission, func, order)


def ordered(table: dict[str, Registration]) -> list[Registration]:
    return sorted(table.values(), key=lambda r: (r.order, r.name))


def register_org_column(name: str, label: str, func: Callable[[], dict[int, Any]], order: int = 100) -> Registration:
    """A column of the super admin's per-organization table: `func()` -> {org_id: value},
    one grouped query over every organization."""
    return _register(ORG_COLUMNS, name, label, "org.switch", func, order)
