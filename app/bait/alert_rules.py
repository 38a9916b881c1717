"""Canary token alerts through the shared engine, without floods.

One rule type, `bait_triggered` (an event): its target is a token and a source address, so
the first hit from an address opens an alert and notifies once; later hits from the same
address are counted into that alert's message while it is open, never re-sent. A new
address or another token is another target and may notify. The throttle window is the
rule's cooldown (Alerts > Rules, default one hour): an alert resolved and hit again within
it reopens quietly. Acknowledge and resolve on the alert's page, as for every alert.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.alerting import evaluate, events, registry
from app.alerting.registry import EVENT, RuleType
from app.alerting.service import Observation, Target
from app.models import AlertRule, BaitAccess, db, utcnow
from app.notifications.services import app_path

DOMAIN = "bait"
THROTTLE_SECONDS = 3600


def token_url(target_key: str) -> str | None:
    return app_path("bait.detail", token_id=int(target_key.split(":")[1]))


def observation(token: Any, access: Any) -> Observation:
    ip = access.source_ip or "unknown"
    key = f"token:{token.id}:{ip}"
    hits = db.session.scalar(sa.select(sa.func.count(BaitAccess.id)).where(
        BaitAccess.bait_id == token.id, BaitAccess.source_ip == access.source_ip)) or 1
    return Observation(Target(key, f"Canary token '{token.name}' from {ip}", token.org_id, link=token_url(key)),
                       1.0, f"Canary token '{token.name}' ({token.bait_type}) touched from {ip}: {hits} hit"
                       f"{'s' if hits != 1 else ''}, {access.attribution_type}, threat {access.threat_level}",
                       metric_name="hits", details={"access_id": access.id, "source_ip": access.source_ip,
                                                    "token_id": token.id})


def _triggered(data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    return data.get("bait_triggered") or []


def on_hit(token: Any, access: Any) -> int:
    """One recorded hit: run the organization's bait rules on it."""
    return evaluate.run(token.org_id, DOMAIN, {"bait_triggered": [observation(token, access)]}, utcnow())


registry.register_domain(DOMAIN, "Canary tokens")
registry.register(RuleType(
    "bait_triggered", "Canary token touched", EVENT, "hits",
    "A canary token was touched. One alert per token and source address: further hits are counted into it "
    "and not re-sent; within the cooldown (the throttle window) a reopened alert stays quiet.",
    severity="critical", cooldown_seconds=THROTTLE_SECONDS, fixed=True, evaluate=_triggered, domain=DOMAIN,
    target_type="bait_token", target_url=token_url))
events.subscribe("bait.token_hit", on_hit)
