"""Job entry points of the canary tokens."""

from __future__ import annotations

from app import audit
from app.bait import reputation as reputation_mod
from app.bait import services
from app.jobs import job
from app.models import BaitAccess, db


@job("bait.expire_tokens", title="Expire canary tokens past their expiry", queue="low", timeout=300)
def expire_tokens(ctx, **_params) -> dict:
    """Mark tokens whose expiry has passed as expired, so they stop firing and say so."""
    count = services.expire_due(ctx.kind)
    db.session.commit()
    return {"message": f"{count} token(s) expired", "expired": count}


@job("bait.reputation", title="Look up the reputation of a canary token hit's address", queue="default",
     timeout=60)
def reputation(ctx, access_id: int, **_params) -> dict:
    """Add the IP-reputation provider's verdict on the hit's address to the access's notes."""
    access = db.session.get(BaitAccess, access_id)
    if access is None or not reputation_mod.lookable(access.source_ip):
        return {"message": "nothing to look up"}
    org_id, ip = access.org_id, access.source_ip
    db.session.commit()  # no transaction held open over the network call
    try:
        result = reputation_mod.check(org_id, ip)
    except reputation_mod.ReputationError as exc:
        return {"message": f"lookup failed: {exc}"}
    if result is None:
        return {"message": "no provider configured"}
    access = db.session.get(BaitAccess, access_id)
    note = reputation_mod.describe(result)
    access.notes = f"{access.notes}; {note}" if access.notes else note
    audit.record("bait.access_enriched", resource_type="bait_access", resource_id=access.id, org_id=org_id,
                 actor_type="job", actor_label=ctx.kind, details={"source_ip": ip, **result})
    db.session.commit()
    return {"message": note, **result}
