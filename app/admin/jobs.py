"""Audit-chain verification as a background job."""

from __future__ import annotations

from app import audit_anchor
from app.jobs import job


@job("audit.verify", title="Verify the audit chain", queue="low", timeout=3600)
def verify_audit_chain(ctx, **_params) -> dict:
    """Walk the audit log's hash chain and its anchored tail; report the first break, if any."""
    ctx.progress(0, "Reading the audit log")
    report = audit_anchor.verify_with_tail(progress=ctx.progress)
    if report.ok:
        message = f"Chain intact: {report.checked} rows verified"
    else:
        message = f"Chain BROKEN at row {report.first_broken_id}: {report.reason}"
    return {"message": message, **report.as_dict()}


@job("audit.checkpoint", title="Checkpoint the audit chain's head", queue="low", timeout=300)
def checkpoint_audit_chain(ctx, **_params) -> dict:
    """Sign the newest audit row's id and hash into instance/ (and the webhook, if set)."""
    checkpoint = audit_anchor.write_checkpoint()
    if checkpoint is None:
        return {"message": "The audit log is empty; nothing to anchor"}
    failed = audit_anchor.post_checkpoint(checkpoint)
    message = f"Head row {checkpoint['row_id']} anchored" + (f"; webhook failed: {failed}" if failed else "")
    return {"message": message, "row_id": checkpoint["row_id"], "webhook_error": failed}
