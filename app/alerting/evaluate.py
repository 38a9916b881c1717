"""Evaluating an organization's rules of one domain: the shared path for every domain
whose targets are not devices (wireless networks, users, indicators, scores).

`run(org_id, domain, data, now)` takes the domain's enabled rules (organization rules
win over global ones of the same type), asks each rule type's `evaluate(data, rule)` for
observations, loads the states of exactly those targets in one query and steps each
through `service.observe`. An organization gets its domain's default rules the first time
the domain has something to evaluate, as the fleet's do with the first device.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app import audit
from app.alerting import registry
from app.alerting.service import Observation, load_states, observe, thresholds
from app.models import Alert, AlertRule, db, utcnow


def default_rules(org_id: int | None, domain: str) -> list[AlertRule]:
    """One rule per seeded rule type of the domain, with the type's thresholds."""
    return [AlertRule(org_id=org_id, domain=t.domain, rule_type=t.name, name=t.label, description=t.description,
                      threshold_value=t.threshold, recovery_value=t.recovery if t.recovery is not None else t.threshold,
                      threshold_duration_seconds=t.for_seconds, cooldown_seconds=t.cooldown_seconds,
                      direction=t.direction, severity=t.severity, enabled=True, notify=True, params={})
            for t in registry.of_domain(domain).values() if t.seed]


def ensure_defaults(org_id: int, domain: str, actor: Any = None) -> int:
    """Give an organization without any rule of the domain its defaults (audited); returns how many.

    Any rule of the domain, enabled or not, counts: an organization that switched its
    rules off keeps them off (deleting every rule brings the defaults back).
    """
    if db.session.scalar(sa.select(AlertRule.id).where(AlertRule.org_id == org_id, AlertRule.domain == domain)
                         .limit(1)) is not None:
        return 0
    rules = default_rules(org_id, domain)
    if not rules:
        return 0
    db.session.add_all(rules)
    db.session.flush()
    audit.record("alert_rule.defaults_created", resource_type="organization", resource_id=org_id, org_id=org_id,
                 actor=actor, actor_type=None if actor else "system", actor_label=None if actor else "alerting",
                 details={"domain": domain, "rules": [r.rule_type for r in rules]})
    return len(rules)


def rules_of(org_id: int, names: list[str]) -> list[AlertRule]:
    """Enabled rules of these types for the organization; per type, organization rules beat global ones."""
    if not names:
        return []
    rules = db.session.scalars(sa.select(AlertRule).where(
        AlertRule.enabled.is_(True), AlertRule.rule_type.in_(names), AlertRule.device_id.is_(None),
        sa.or_(AlertRule.org_id == org_id, AlertRule.org_id.is_(None))).order_by(AlertRule.id)).all()
    own = {r.rule_type for r in rules if r.org_id == org_id}
    return [r for r in rules if r.org_id == org_id or r.rule_type not in own]


def has_rules(org_id: int, domain: str) -> bool:
    """Whether the organization has (or inherits global) rules of the domain, enabled or not."""
    return db.session.scalar(sa.select(AlertRule.id).where(
        sa.or_(AlertRule.org_id == org_id, AlertRule.org_id.is_(None)), AlertRule.domain == domain)
        .limit(1)) is not None


def would_fire(org_id: int, domain: str, data: dict[str, Any], kind: str | None) -> bool:
    """Whether the domain's default rules would see a breach in `data` (rules not stored)."""
    types = registry.of_domain(domain, kind)
    for rule in default_rules(org_id, domain):
        if rule.rule_type in types and any(thresholds(rule).breached(o.value)
                                           for o in types[rule.rule_type].evaluate(data, rule)):
            return True
    return False


def run(org_id: int, domain: str, data: dict[str, Any], now: datetime | None = None,
        kind: str | None = None) -> int:
    """Evaluate the domain's rules (of one kind, or all) on `data`; returns the decisions taken.

    An organization without rules of the domain gets its defaults the first time they
    would fire, so quiet organizations carry no rows they never needed.
    """
    types = registry.of_domain(domain, kind)
    if not types:
        return 0
    if not has_rules(org_id, domain) and would_fire(org_id, domain, data, kind):
        ensure_defaults(org_id, domain)
    now = now or utcnow()
    pairs: list[tuple[AlertRule, Observation]] = []
    for rule in rules_of(org_id, list(types)):
        pairs.extend((rule, obs) for obs in types[rule.rule_type].evaluate(data, rule))
    if not pairs:
        return 0
    states = load_states(sorted({r.id for r, _ in pairs}), target_keys=sorted({o.target.key for _, o in pairs}))
    # Their open alerts in one query, held while the loop runs: observe() then finds each in
    # the session by primary key instead of one SELECT per firing target.
    alert_ids = sorted({s.alert_id for s in states.values() if s.alert_id})
    _held = db.session.scalars(sa.select(Alert).where(Alert.id.in_(alert_ids))).all() if alert_ids else []
    return sum(len(observe(rule, obs, now, states)) for rule, obs in pairs)
