"""Evidence sources: a registry of facts a domain can state about an organization for
compliance's automatic evidence (app/compliance/autoevidence.py), so compliance snapshots
them without importing the domain that knows them (issue 21).

A source is `fn(org_id) -> dict` of JSON-friendly values, frozen into a snapshot as it is.
Identity registers its security policy (`password_policy`, app/auth/compliance_sources.py)
and fleet its scanner coverage (`scanners`, app/fleet/compliance_sources.py); numbers that
are live metrics are read from app/core/live_values.py instead. Which controls a fact proves
stays compliance's business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EvidenceSource = Callable[[int], dict[str, Any]]
EVIDENCE_SOURCES: dict[str, EvidenceSource] = {}


def register_evidence_source(name: str, fn: EvidenceSource) -> EvidenceSource:
    """Add (or replace) the evidence source `name`."""
    EVIDENCE_SOURCES[name] = fn
    return fn


def evidence(name: str, org_id: int) -> dict[str, Any]:
    """What the source `name` states about an organization now."""
    return EVIDENCE_SOURCES[name](org_id)
