"""Audit-chain verification as a background job."""

from __future__ import annotations

from app import audit
from app.jobs import job


@job("audit.verify", title="Verify the audit chain", queue="low", timeout=3600)
def verify_audit_chain(ctx, **_params) -> dict:
    """Walk the audit log's hash chain and report the first broken link, if any."""
    ctx.progress(0, "Reading the audit log")
    report = audit.verify_chain(progress=ctx.progress)
    if report.ok:
        message = f"Chain intact: {report.checked} rows verified"
    else:
        message = f"Chain BROKEN at row {report.first_broken_id}: {report.reason}"
    return {"message": message, **report.as_dict()}
