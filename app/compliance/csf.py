"""A control's NIST CSF 2.0 subcategories: suggested by the metrics module's offline text
matcher (through the seam app/core/csf_mapping.py), linked only when a person confirms, so one piece of evidence can serve every
framework control mapped to the same subcategory."""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.core.csf_mapping import Suggestion, is_subcategory, suggest_subcategories
from app.models import ComplianceControl, ControlCsfLink, db


def suggestions(control: ComplianceControl, top: int = 3) -> list[Suggestion]:
    """The matcher's best subcategories for the control's name and category (none: CSF not loaded)."""
    linked = {link.subcategory_code for link in links(control.id)}
    text = f"{control.control_name} {control.control_category or ''}"
    return [s for s in suggest_subcategories(control.org_id, text, top + len(linked))
            if s.code not in linked][:top]


def subcategory_exists(code: str) -> bool:
    """Whether `code` is a subcategory of the loaded CSF (a link form's check)."""
    return is_subcategory(code)


def links(control_id: int) -> list[ControlCsfLink]:
    return list(db.session.scalars(sa.select(ControlCsfLink).where(ControlCsfLink.control_id == control_id)
                                   .order_by(ControlCsfLink.subcategory_code)))


def confirm(control: ComplianceControl, code: str, user_id: int | None, confidence: float | None = None) -> bool:
    """Link the subcategory (a person's confirmation); False when it was already linked."""
    if any(link.subcategory_code == code for link in links(control.id)):
        return False
    db.session.add(ControlCsfLink(org_id=control.org_id, control_id=control.id, subcategory_code=code,
                                  confidence=confidence, confirmed_by_user_id=user_id))
    audit.record("compliance.csf_linked", resource_type="compliance_control", resource_id=control.id,
                 org_id=control.org_id, new={"subcategory_code": code})
    return True


def controls_sharing(control: ComplianceControl) -> list[ComplianceControl]:
    """Other controls of the organization linked to one of this control's subcategories."""
    codes = [link.subcategory_code for link in links(control.id)]
    if not codes:
        return []
    return list(db.session.scalars(sa.select(ComplianceControl).join(
        ControlCsfLink, ControlCsfLink.control_id == ComplianceControl.id).where(
        ComplianceControl.org_id == control.org_id, ControlCsfLink.subcategory_code.in_(codes),
        ComplianceControl.id != control.id, ComplianceControl.deleted_at.is_(None)).distinct()))
