"""Wireless alert rule types, evaluated when rescoring stores scores.

`rescore.score_batch` publishes `wireless.networks_scored` with the batch's networks (still
holding their previous level, factors and scoring time) and the new values; the rules
compare the two:

- network_high: the network's level reaches HIGH or CRITICAL (value: the level's rank,
  NONE 0 .. CRITICAL 4); it resolves once the level falls below the recovery rank.
- follower_new: the scorer found the network following (its follow_legs or same_day factor
  scores) and it is at least MEDIUM;
  the engine opens on the change, so a network that keeps following alerts once.
- threat_seen_again: a network tagged THREAT has sightings newer than its last scoring.
  An event: it stays open until someone resolves it.

A network marked not a threat (an active FALSE_POSITIVE or LEGIT tag, issue 20.4) is never
firing for any of them, so its open alerts resolve and nothing new opens; removing the tag
rescores it and the rules see it again. Imports rescore what they touched at the end of the
import job, so a follower in a file uploaded now alerts within that job (issue 20.5); the
follower and level rules wait `REPEAT_GAP_SECONDS` (8 h, AirGuard's gap) before notifying
again for the same radio.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from app.alerting import evaluate, events, registry
from app.alerting.registry import EVENT, VALUE, RuleType
from app.alerting.service import Observation, Target
from app.core import linkable
from app.models import AlertRule, db, utcnow
from app.models.wireless import Network, NetworkTag, NetworkThreatScore
from app.notifications.services import app_path
from app.wireless.scoring import DISMISS_TAGS, LEVELS

DOMAIN = "wireless"
RANK = {level: i for i, level in enumerate(LEVELS)}  # NONE 0 .. CRITICAL 4
REPEAT_GAP_SECONDS = 8 * 3600  # AirGuard: at least 8 h between notifications for one device
FOLLOW_FACTORS = ("follow_legs", "same_day")  # the scorer's evidence of moving with the person


def not_a_threat(tags: list[str]) -> bool:
    """Marked not a threat by an analyst (an active FALSE_POSITIVE or LEGIT tag)."""
    return bool({str(t).upper() for t in tags} & DISMISS_TAGS)


def network_url(target_key: str) -> str | None:
    return app_path("wireless.network_detail", network_id=int(target_key.split(":")[1]))


def target(network: Any) -> Target:
    label = f"{network.ssid} ({network.bssid})" if network.ssid else network.bssid
    return Target(f"network:{network.id}", label, network.org_id, link=network_url(f"network:{network.id}"))


def _target_of(data: dict[str, Any], network: Any) -> Target:
    """The network's target, built once per batch (its link is a URL build) for every rule."""
    cache = data.setdefault("targets", {})
    found = cache.get(network.id)
    if found is None:
        found = cache[network.id] = target(network)
    return found


def _high(data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    return [Observation(_target_of(data, n), 0.0 if not_a_threat(tags) else float(RANK[new["threat_level"]]),
                        f"{_target_of(data, n).label} is {new['threat_level']} (score {new['threat_score_v2']:g})"
                        + (", marked not a threat" if not_a_threat(tags) else ""),
                        metric_name="threat_level", details={"level": new["threat_level"],
                                                            "score": float(new["threat_score_v2"])})
            for n, new, tags in data["scored"]]


def follow_points(factors: dict[str, Any] | None) -> float:
    """Points of the scorer's following factors (legs and same-day following)."""
    return sum(float(f.get("points") or 0) for f in (factors or {}).get("factors") or []
               if f.get("code") in FOLLOW_FACTORS)


def _follower(data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    out = []
    for n, new, tags in data["scored"]:
        # Following evidence counts once the network is at least MEDIUM: the own-device
        # discount keeps the person's gadgets (which go everywhere) below it, and a single
        # leg of a roadside radio is no follower.
        following = RANK[new["threat_level"]] >= RANK["MEDIUM"] and not not_a_threat(tags)
        points = follow_points(new["threat_factors"]) if following else 0.0
        gone = "is marked not a threat" if not_a_threat(tags) else "no longer follows"
        out.append(Observation(_target_of(data, n), 1.0 if points > 0 else 0.0,
                               f"{_target_of(data, n).label} follows you ({points:g} points)" if points
                               else f"{_target_of(data, n).label} {gone}", metric_name="follow_legs"))
    return out


def _threat_again(data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    out = []
    for n, _new, tags in data["scored"]:
        last = n.threat_updated_at
        if "THREAT" in tags and not not_a_threat(tags) and last is not None and n.lasttime_ms > int(last.timestamp() * 1000):
            seen = datetime.fromtimestamp(n.lasttime_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
            found = _target_of(data, n)
            out.append(Observation(found, 1.0, f"Tagged threat {found.label} seen again ({seen} UTC)",
                                   metric_name="seen_again", details={"lasttime_ms": n.lasttime_ms}))
    return out


def on_scored(org_id: int, scored: list[tuple[Any, dict[str, Any], list[str]]]) -> int:
    """Evaluate the wireless rules on one stored batch of scores."""
    return evaluate.run(org_id, DOMAIN, {"scored": scored}, utcnow()) if scored else 0


registry.register_domain(DOMAIN, "Wireless")
for _rule in (
    RuleType("network_high", "Network HIGH or CRITICAL", VALUE, "level",
             "A network's threat level reaches the threshold (3 HIGH, 4 CRITICAL); resolves below the "
             "recovery level.", 3, 2, 0, "critical", REPEAT_GAP_SECONDS, evaluate=_high),
    RuleType("follower_new", "New follower", VALUE, "", "The scorer finds a network following you (over days, or "
             "AirGuard's same-day test); at least 8 h between notifications for one radio.",
             severity="critical", cooldown_seconds=REPEAT_GAP_SECONDS, fixed=True, evaluate=_follower),
    RuleType("threat_seen_again", "Tagged threat seen again", EVENT, "",
             "A network tagged THREAT has new sightings.", severity="critical", cooldown_seconds=0, fixed=True,
             evaluate=_threat_again),
):
    registry.register(replace(_rule, domain=DOMAIN, target_type="network", target_url=network_url))
events.subscribe("wireless.networks_scored", on_scored)


def _network(org_id: int, object_id: str) -> Any:
    return db.session.scalar(sa.select(Network).where(Network.org_id == org_id, Network.id == int(object_id)))


def _network_events(network: Any) -> list[tuple[Any, str]]:
    """Its tags and its level changes, as the network page tells them."""
    label = target(network).label
    out = [(t.tagged_at, f"{label} tagged {t.tag}") for t in db.session.scalars(
        sa.select(NetworkTag).where(NetworkTag.network_id == network.id).order_by(NetworkTag.id))]
    previous = None
    for when, level in db.session.execute(sa.select(NetworkThreatScore.calculated_at, NetworkThreatScore.threat_level)
                                          .where(NetworkThreatScore.network_id == network.id)
                                          .order_by(NetworkThreatScore.id)):
        if level != previous:
            out.append((when, f"{label} scored {level}"))
            previous = level
    return sorted(out, key=lambda e: e[0])


linkable.register(linkable.LinkableType("network", "Wireless network", _network, lambda n: target(n).label,
                                        lambda n: network_url(f"network:{n.id}"), _network_events))
