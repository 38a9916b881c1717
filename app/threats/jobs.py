"""Threat detection as a scheduled job; the indicator retro-hunt."""

from __future__ import annotations

from datetime import datetime

from app.indicators import matching
from app.jobs import job
from app.models import db
from app.threats import detection


@job("threats.detect", title="Detect threats", queue="high", timeout=300)
def detect_threats(ctx, **_params) -> dict:
    """Run every detection rule for every organization with recent failures."""
    orgs = detection.orgs_with_recent_activity()
    totals = {"created": 0, "updated": 0}
    for i, org_id in enumerate(orgs, 1):
        result = detection.detect(org_id)
        # Each organization is its own unit of work: commit it, releasing the audit
        # chain's lock, so sign-ins elsewhere are not held up by a long run.
        db.session.commit()
        totals["created"] += result["created"]
        totals["updated"] += result["updated"]
        ctx.progress(int(i * 100 / len(orgs)), f"{i} of {len(orgs)} organizations checked")
    return {"message": f"{totals['created']} new threat(s), {totals['updated']} updated", "orgs": len(orgs), **totals}


@job("threats.retro_hunt", title="Retro-hunt new indicators", queue="default", timeout=1800)
def retro_hunt(ctx, intel_id: int | None = None, created_since: str | None = None, **_params) -> dict:
    """Look for a new indicator (or every indicator created since an import began) in the
    last 30 days of everything Vigil stores, and record what it finds as sightings."""
    if intel_id is not None:
        found = matching.retro_hunt(intel_id)
    elif ctx.org_id is not None and created_since:
        found = matching.retro_hunt_new(ctx.org_id, datetime.fromisoformat(created_since))
    else:
        return {"message": "nothing to hunt", "sightings": 0}
    return {"message": f"{found} new sighting(s) in the last {matching.RETRO_HUNT_DAYS} days", "sightings": found}
