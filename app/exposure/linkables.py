"""Exposure's linkable objects: a person's profile, a monitored e-mail and a breach upload,
so an incident can point at them; their own events go on the incident's timeline."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.core import linkable
from app.models import (
    Breach,
    MonitoredEmail,
    MonitoredEmailFinding,
    Profile,
    UploadedBreachFile,
    db,
)
from app.notifications.services import app_path

RECENT = 20


def _load(model: Any, key: Any = int) -> Any:
    def load(org_id: int, object_id: str) -> Any:
        return db.session.scalar(sa.select(model).where(model.org_id == org_id, model.id == key(object_id),
                                                        model.deleted_at.is_(None)))
    return load


def _profile_events(profile: Profile) -> list[tuple[Any, str]]:
    rows = db.session.scalars(sa.select(Breach).where(Breach.profile_id == profile.id, Breach.deleted_at.is_(None))
                              .order_by(Breach.id.desc()).limit(RECENT)).all()
    return sorted([(b.discovered_at, f"{profile.name} found in {b.breach_name or 'a breach'} ({b.severity})")
                   for b in rows], key=lambda e: e[0])


def _monitored_events(row: MonitoredEmail) -> list[tuple[Any, str]]:
    rows = db.session.scalars(sa.select(MonitoredEmailFinding).where(
        MonitoredEmailFinding.monitored_email_id == row.id, MonitoredEmailFinding.deleted_at.is_(None))
        .order_by(MonitoredEmailFinding.id.desc()).limit(RECENT)).all()
    out = [(row.created_at, f"Monitoring of {row.email_address} started")]
    out += [(f.found_at, f"{row.email_address} in {f.breach_name or f.finding_type} ({f.source}, {f.severity})")
            for f in reversed(rows)]
    return out


def _upload_events(row: UploadedBreachFile) -> list[tuple[Any, str]]:
    out = [(row.uploaded_at, f"Breach file {row.filename} uploaded")]
    if row.processing_status in ("completed", "failed"):
        out.append((row.updated_at, f"Import {row.processing_status}: {row.records_count} credential(s), "
                                    f"{row.matched_count} the organization's"))
    return out


linkable.register(linkable.LinkableType(
    "exposure_profile", "Person (exposure profile)", _load(Profile, str), lambda p: p.name,
    lambda p: app_path("exposure.profile_detail", profile_id=p.id), _profile_events))
linkable.register(linkable.LinkableType(
    "monitored_email", "Monitored e-mail", _load(MonitoredEmail), lambda m: m.email_address,
    lambda m: app_path("exposure.monitored_list"), _monitored_events))
linkable.register(linkable.LinkableType(
    "breach_upload", "Breach file", _load(UploadedBreachFile), lambda u: u.filename,
    lambda u: app_path("exposure.upload_detail", upload_id=u.id), _upload_events))
