"""Threat detection as a scheduled job."""

from __future__ import annotations

from app.jobs import job
from app.threats import detection


@job("threats.detect", title="Detect threats", queue="high", timeout=300)
def detect_threats(ctx, **_params) -> dict:
    """Run every detection rule for every organization with recent failures."""
    orgs = detection.orgs_with_recent_activity()
    totals = {"created": 0, "updated": 0}
    from app.models import db

    for i, org_id in enumerate(orgs, 1):
        result = detection.detect(org_id)
        # Each organization is its own unit of work: commit it, releasing the audit
        # chain's lock, so sign-ins elsewhere are not held up by a long run.
        db.session.commit()
        totals["created"] += result["created"]
        totals["updated"] += result["updated"]
        ctx.progress(int(i * 100 / len(orgs)), f"{i} of {len(orgs)} organizations checked")
    return {"message": f"{totals['created']} new threat(s), {totals['updated']} updated", "orgs": len(orgs), **totals}
