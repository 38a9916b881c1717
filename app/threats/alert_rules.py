"""Threat alert rule types: a threat detected, an indicator sighting, an incident opened,
a user's risk crossing a threshold, an IP block.

The threats services publish what happened (app.alerting.events); each handler here
turns it into observations and runs the organization's threat rules on them:
`threats.security_event_recorded` (signin_hooks.py, every risk-scored event, with the
indicator it matched), `threats.incident_changed` (incidents.create / change_status),
`threats.ip_blocked` (blocks.block_ip / unblock), `threats.threat_detected` (detection.record_finding,
each new or repeated finding) and `threats.threat_changed` (a threat's status set on its page).

A detection's alert is keyed by the finding's dedupe key ("brute_force:user:12"), the thing
watched: a repeated finding, or the same attack found again after its threat was mitigated,
stays one alert with one notification (and the rule's cooldown), routed and muted like any
other alert; resolving the threat resolves it.

Sightings recorded anywhere else (a device's public IP, a scan's assets, a breach file's
e-mails, a retro-hunt) reach the "indicator sighted" rule through matching.on_sighting.
Those arrive inside a flush, where the engine cannot write, so they are kept on the
session and evaluated just before it commits.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session, object_session

from app.alerting import evaluate, events, registry
from app.alerting.registry import EVENT, VALUE, RuleType
from app.alerting.service import Observation, Target
from app.indicators import matching
from app.models import AlertRule, IocSighting, ThreatIntelligence, utcnow
from app.notifications.services import app_path

DOMAIN = "threats"
INCIDENT_OPEN = ("open", "investigating")
SIGHTINGS_KEY = "vigil_sightings_to_alert"
SETTLE_FLUSHES = 5  # a sighting's flush may add sightings of its own: flush until none are left


def _one(kind: str) -> Any:
    """An evaluator that passes on the observations a handler built for rule type `kind`."""
    def evaluate_(data: dict[str, Any], rule: AlertRule) -> list[Observation]:
        return data.get(kind) or []
    return evaluate_


def indicator_url(key: str) -> str:
    return app_path("threats.intel_detail", intel_id=int(key.split(":")[1]))


def incident_url(key: str) -> str:
    return app_path("threats.incident_detail", incident_id=int(key.split(":")[1]))


def on_security_event(event: Any, indicator: Any = None) -> int:
    """A risk-scored security event: the user's risk, and the indicator it matched."""
    if event.org_id is None:
        return 0
    data: dict[str, list[Observation]] = {}
    if event.user_id is not None and event.risk_score is not None:
        who = event.email or f"user {event.user_id}"
        user = Target(f"user:{event.user_id}", who, event.org_id,
                      link=app_path("threats.events", email=event.email or ""))
        data["user_risk_high"] = [Observation(user, float(event.risk_score),
                                              f"Risk of {who} at {event.risk_score} ({event.event_type})",
                                              metric_name="risk_score", details={"event_id": event.id})]
    if indicator is not None:
        ioc = Target(f"indicator:{indicator.id}", f"{indicator.indicator_type} {indicator.indicator_value}",
                     event.org_id, link=indicator_url(f"indicator:{indicator.id}"))
        data["indicator_sighted"] = [Observation(ioc, 1.0, f"Indicator {indicator.indicator_value} sighted "
                                                 f"({event.event_type} from {event.ip_address or 'unknown'})",
                                                 metric_name="sightings", details={"event_id": event.id})]
    return evaluate.run(event.org_id, DOMAIN, data, utcnow()) if data else 0


def indicator_observation(ioc: ThreatIntelligence, org_id: int, message: str, details: dict) -> Observation:
    key = f"indicator:{ioc.id}"
    return Observation(Target(key, f"{ioc.indicator_type} {ioc.indicator_value}", org_id, link=indicator_url(key)),
                       1.0, message, metric_name="sightings", details=details)


def keep_sightings(sightings: list[IocSighting]) -> None:
    """matching.on_sighting subscriber: remember the sightings until the session commits."""
    for session in {object_session(s) for s in sightings} - {None}:
        session.info.setdefault(SIGHTINGS_KEY, []).extend((s.org_id, s.intel_id, s.source, s.object_label,
                                                           s.observed_value) for s in sightings
                                                           if object_session(s) is session)


def on_sightings(session: Session) -> int:
    """Before a commit: one "indicator sighted" observation per indicator seen (repeats stay one alert)."""
    for _ in range(SETTLE_FLUSHES):
        if not (session.new or session.dirty or session.info.get(matching.UNPUBLISHED_KEY)):
            break
        session.flush()
    kept = session.info.pop(SIGHTINGS_KEY, None)
    if not kept:
        return 0
    by_org: dict[int, dict[int, Observation]] = {}
    for org_id, intel_id, source, label, value in kept:
        ioc = session.get(ThreatIntelligence, intel_id)
        if ioc is None or org_id is None or intel_id in by_org.get(org_id, {}):
            continue
        place = matching.PLACES.get(source)
        by_org.setdefault(org_id, {})[intel_id] = indicator_observation(
            ioc, org_id, f"Indicator {ioc.indicator_value} sighted in {place.label if place else source} ({label})",
            {"source": source, "value": value})
    return sum(evaluate.run(org_id, DOMAIN, {"indicator_sighted": list(obs.values())}, utcnow())
               for org_id, obs in by_org.items())


def on_incident(incident: Any) -> int:
    """An incident opened (1) or moved on (closed or resolved: 0, which resolves its alert)."""
    key = f"incident:{incident.id}"
    active = incident.status in INCIDENT_OPEN
    obs = Observation(Target(key, f"Incident #{incident.id}", incident.org_id, link=incident_url(key)),
                      1.0 if active else 0.0, f"Incident #{incident.id} ({incident.severity}): {incident.title}"
                      if active else f"Incident #{incident.id} is {incident.status}", metric_name="incident")
    return evaluate.run(incident.org_id, DOMAIN, {"incident_opened": [obs]}, utcnow())


# A detection's severity (critical, high, medium, low) as an alert's.
THREAT_SEVERITY = {"critical": "critical", "high": "warning", "medium": "warning", "low": "info"}


def threat_observation(threat: Any) -> Observation:
    """A threat still to be dealt with (1: detected, investigating or mitigated) or resolved (0)."""
    kind = threat.threat_type.replace("_", " ").capitalize()
    active = threat.status != "resolved"
    response = (threat.response_action or "").replace("_", " ")
    message = (f"{kind}: {threat.description}" + (f" (response: {response}, {threat.response_status})"
                                                  if response else "")
               if active else f"{kind} threat #{threat.id} resolved")
    return Observation(Target(f"threat:{threat.dedupe_key or threat.id}", f"{kind} (threat #{threat.id})",
                              threat.org_id, link=app_path("threats.threat_detail", threat_id=threat.id)),
                       1.0 if active else 0.0, message[:500], metric_name="threat",
                       details={"threat_id": threat.id, "confidence": float(threat.confidence or 0)},
                       severity=THREAT_SEVERITY.get(threat.severity, "warning"))


def on_threat(threat: Any, **_: Any) -> int:
    """A threat detected (new or repeated) or its status changed: the "threat detected" rule."""
    if threat.org_id is None:
        return 0
    return evaluate.run(threat.org_id, DOMAIN, {"threat_detected": [threat_observation(threat)]}, utcnow())


def on_block(entry: Any, blocked: bool = True) -> int:
    """An address blocked (1) or unblocked (0) for an organization (global blocks have none)."""
    if entry.org_id is None:
        return 0
    obs = Observation(Target(f"ip:{entry.ip_address}", entry.ip_address, entry.org_id,
                             link=app_path("threats.blocks")), 1.0 if blocked else 0.0,
                      f"{entry.ip_address} blocked: {entry.reason}" if blocked else f"{entry.ip_address} unblocked",
                      metric_name="blocked")
    return evaluate.run(entry.org_id, DOMAIN, {"ip_blocked": [obs]}, utcnow())


registry.register_domain(DOMAIN, "Threats", permission="threats.view")
for _rule, _target, _url in (
    (RuleType("threat_detected", "Threat detected", EVENT, "", "Threat detection found an attack (brute force, "
              "password spraying, credential stuffing, token reuse, an access-denied burst) and ran its response; "
              "one alert per attack and target until its threat is resolved. A critical detection is a critical "
              "alert whatever the rule's severity.", severity="warning", cooldown_seconds=3600, fixed=True,
              evaluate=_one("threat_detected")), "threat", None),
    (RuleType("indicator_sighted", "Indicator sighted", EVENT, "", "A threat-intelligence indicator matched "
              "something in Vigil; repeated sightings stay one alert until it is resolved.", severity="critical",
              cooldown_seconds=0, fixed=True, evaluate=_one("indicator_sighted")), "indicator", indicator_url),
    (RuleType("incident_opened", "Incident opened", EVENT, "", "A security incident was opened; resolves when "
              "it is resolved or closed.", cooldown_seconds=0, fixed=True, evaluate=_one("incident_opened")),
     "incident", incident_url),
    (RuleType("user_risk_high", "User risk high", VALUE, "points", "A user's sign-in or event risk reaches the "
              "threshold; resolves when a later event scores below the recovery value.", 70, 40, 0, "warning",
              evaluate=_one("user_risk_high")), "user", None),
    (RuleType("ip_blocked", "Address blocked", EVENT, "", "An address was blocked by a threat response; "
              "resolves when it is unblocked.", severity="info", cooldown_seconds=0, fixed=True,
              evaluate=_one("ip_blocked")), "ip", None),
):
    registry.register(replace(_rule, domain=DOMAIN, target_type=_target, target_url=_url))
events.subscribe("threats.security_event_recorded", on_security_event)
events.subscribe("threats.incident_changed", on_incident)
events.subscribe("threats.ip_blocked", on_block)
events.subscribe("threats.threat_detected", on_threat)
events.subscribe("threats.threat_changed", on_threat)
matching.on_sighting(keep_sightings)
orm_event.listen(Session, "before_commit", on_sightings)
orm_event.listen(Session, "after_rollback", lambda session: session.info.pop(SIGHTINGS_KEY, None))
