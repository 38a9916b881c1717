"""What identity tells compliance (issue 21: compliance reads it through app/core registries,
never by importing identity): the organization's password and MFA policy, as an automatic
evidence source."""

from __future__ import annotations

from typing import Any

from app.auth.policy import SecurityPolicy
from app.core.evidence_sources import register_evidence_source
from app.models import Organization, db


def password_policy(org_id: int) -> dict[str, Any]:
    """The organization's effective password and MFA rules (defaults where it set none)."""
    org = db.session.get(Organization, org_id)
    policy = SecurityPolicy.from_dict(org.policy if org else None)
    return {"password_min_length": policy.password_min_length, "password_history": policy.password_history,
            "password_expiry_days": policy.password_expiry_days, "mfa_required": policy.mfa_required,
            "mfa_required_roles": list(policy.mfa_required_roles)}


register_evidence_source("password_policy", password_policy)
