"""Fleet jobs."""

from __future__ import annotations

from app.fleet import offline
from app.jobs import job


@job("fleet.mark_offline", title="Mark silent devices offline", queue="high", timeout=120)
def mark_offline(ctx, **_params) -> dict:
    """Mark devices without a recent heartbeat offline and raise a device_offline notification."""
    count = offline.mark_offline()
    return {"message": f"{count} device(s) went offline", "offline": count}
