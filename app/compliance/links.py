"""Compliance controls as linkable objects, so an incident (or any linker) can point at one."""

from __future__ import annotations

import sqlalchemy as sa

from app.core import linkable
from app.models import ComplianceControl, db
from app.notifications.services import app_path


def load_control(org_id: int, object_id: str) -> ComplianceControl | None:
    return db.session.scalar(sa.select(ComplianceControl).where(
        ComplianceControl.org_id == org_id, ComplianceControl.id == int(object_id),
        ComplianceControl.deleted_at.is_(None)))


def control_events(control: ComplianceControl) -> list[tuple]:
    """When a scan flagged the control and when a rescan verified it."""
    events = []
    if control.scan_flagged_at:
        events.append((control.scan_flagged_at, f"{control.control_id} flagged by {control.scan_finding_type}"))
    if control.scan_verified_at:
        events.append((control.scan_verified_at, f"{control.control_id}: finding no longer found"))
    return events


linkable.register(linkable.LinkableType(
    "compliance_control", "Compliance control", load_control,
    lambda c: f"{c.assessment.framework} {c.control_id} {c.control_name}",
    lambda c: app_path("compliance.control_detail", control_id=c.id), control_events))
