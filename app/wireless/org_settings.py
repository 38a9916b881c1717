"""Per-organization wireless settings (scoring weights, model blend), kept in the
organization's policy JSON under "wireless" and read through these two functions."""

from __future__ import annotations

from typing import Any

from app.models import Organization, db

DEFAULT_ML_WEIGHT = 0.3


def wireless_policy(org_id: int) -> dict[str, Any]:
    org = db.session.get(Organization, org_id)
    return dict((org.policy or {}).get("wireless") or {}) if org else {}


def update_wireless_policy(org_id: int, **values: Any) -> dict[str, Any]:
    """Store `values` (a new dict is assigned so the JSON column is seen as changed)."""
    org = db.session.get(Organization, org_id)
    policy = dict(org.policy or {})
    section = dict(policy.get("wireless") or {})
    old = dict(section)
    section.update(values)
    policy["wireless"] = section
    org.policy = policy
    return old


def ml_weight(org_id: int) -> float:
    return float(wireless_policy(org_id).get("ml_weight", DEFAULT_ML_WEIGHT))
