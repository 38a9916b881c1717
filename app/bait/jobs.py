"""Job entry points of the canary tokens."""

from __future__ import annotations

from app.bait import services
from app.jobs import job
from app.models import db


@job("bait.expire_tokens", title="Expire canary tokens past their expiry", queue="low", timeout=300)
def expire_tokens(ctx, **_params) -> dict:
    """Mark tokens whose expiry has passed as expired, so they stop firing and say so."""
    count = services.expire_due(ctx.kind)
    db.session.commit()
    return {"message": f"{count} token(s) expired", "expired": count}
