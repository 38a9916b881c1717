"""Finding sources: a registry of the security findings each domain knows about, so the
compliance domain (controls flagged by findings) and the roadmap (tasks from findings) read
them without importing the domain that found them.

A source is `fn(org_id) -> iterable of {"type", "severity", "asset", "domain"}` (extra keys
allowed, e.g. "count" or "id"); `type` is the source's own finding type. The attack surface
registers its open findings here (app/surface/finding_source.py), fleet its scanners' CVEs
(app/fleet/compliance_sources.py), exposure its leaked credentials in use
(app/exposure/finding_source.py) and compliance the wireless threats (app/compliance/findings.py).

`collect_typed` also translates each source's own type into the shared vocabulary of the
finding-to-control map (data/compliance/finding-map.json "aliases"), which compliance ships
and registers with `register_type_aliases`; the roadmap reads findings typed that way too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Finding = dict[str, Any]
FindingSource = Callable[[int], Iterable[Finding]]
FINDING_SOURCES: dict[str, FindingSource] = {}
# () -> {a source's own type: the shared vocabulary's type}; one, registered by compliance
TYPE_ALIASES: list[Callable[[], dict[str, str]]] = []


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


def register_type_aliases(aliases: Callable[[], dict[str, str]]) -> None:
    """Make `aliases()` the translation of sources' own types into the shared vocabulary."""
    TYPE_ALIASES[:] = [aliases]


def collect_typed(org_id: int) -> list[tuple[str, Finding]]:
    """Every current finding (as `collect`), each typed in the shared vocabulary (`type`) with
    the source's own type kept as `source_type`; untranslated types stay as they are."""
    aliases = TYPE_ALIASES[0]() if TYPE_ALIASES else {}
    out = []
    for name, finding in collect(org_id):
        raw = finding.get("type") or ""
        out.append((name, {**finding, "type": aliases.get(raw, raw), "source_type": raw}))
    return out
