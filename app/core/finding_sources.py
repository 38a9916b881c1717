"""Finding sources: a registry of the security findings each domain knows about, so the
compliance domain (controls flagged by findings) and the roadmap (tasks from findings) read
them without importing the domain that found them.

A source is `fn(org_id) -> iterable of {"type", "severity", "asset", "domain"}` (extra keys
allowed, e.g. "count" or "id"); `type` is the source's own finding type. The attack surface
registers its open findings here (app/surface/finding_source.py); compliance registers the
fleet, exposure and wireless ones (app/compliance/findings.py) and translates each type into
the shipped finding-to-control map's vocabulary (data/compliance/finding-map.json "aliases").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Finding = dict[str, Any]
FindingSource = Callable[[int], Iterable[Finding]]
FINDING_SOURCES: dict[str, FindingSource] = {}


def register_finding_source(name: str, fn: FindingSource) -> None:
    """Add (or replace) a named finding source."""
    FINDING_SOURCES[name] = fn


def unregister_finding_source(name: str) -> None:
    FINDING_SOURCES.pop(name, None)


def collect(org_id: int) -> list[tuple[str, Finding]]:
    """Every current finding of every source, as (source name, finding), sources in name order."""
    out = []
    for name, fn in sorted(FINDING_SOURCES.items()):
        out.extend((name, dict(f)) for f in fn(org_id))
    return out
