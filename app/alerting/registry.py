"""The rule-type registry every domain plugs its alerts into.

A domain registers its rule types from its own package (app/<domain>/alert_rules.py,
imported by the package's __init__): a name, the domain, how it is evaluated, the target
type and a function giving a target's page. The engine, the Alerts page and the routing
never name a domain; they read this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

VALUE, ABSENCE, EVENT = "value", "absence", "event"


@dataclass(frozen=True)
class RuleType:
    name: str
    label: str
    kind: str  # value (where the data arrives), absence (scheduled job), event (reported by a service)
    unit: str
    description: str
    threshold: float = 1.0
    recovery: float | None = None
    for_seconds: int = 0
    severity: str = "warning"
    cooldown_seconds: int = 3600
    fixed: bool = False  # a yes/no condition: the threshold is always 1 (down) against 0 (up)
    # The domain's evaluation entry: (context..., rule) -> observations; None: a slot not wired yet.
    evaluate: Callable[..., list[Any]] | None = None
    seed: bool = True  # part of every organization's default rules of its domain
    domain: str = ""
    target_type: str = ""  # what a target key names ("device", "network", "user", ...)
    # target key -> the target's page (a site path); None: the alert's own stored link.
    target_url: Callable[[str], str | None] | None = None
    direction: str = "above"

    @property
    def available(self) -> bool:
        return self.evaluate is not None


RULE_TYPES: dict[str, RuleType] = {}
DOMAIN_LABELS: dict[str, str] = {}
# The permission needed to see a domain's alerts (none: whoever may read data).
DOMAIN_PERMISSIONS: dict[str, str] = {}


def register(rule_type: RuleType) -> RuleType:
    """Add (or replace) a rule type; its domain must be named."""
    if not rule_type.domain:
        raise ValueError(f"rule type {rule_type.name!r} names no domain")
    RULE_TYPES[rule_type.name] = rule_type
    DOMAIN_LABELS.setdefault(rule_type.domain, rule_type.domain.title())
    return rule_type


def register_domain(domain: str, label: str, permission: str | None = None) -> None:
    """The domain's name as pages show it (defaults to the key, title-cased), and the
    permission its pages need, which its alerts then need too."""
    DOMAIN_LABELS[domain] = label
    if permission:
        DOMAIN_PERMISSIONS[domain] = permission


def visible_domains(allowed: Callable[[str], bool]) -> list[str]:
    """The domains whose alerts someone may see, given their permission check."""
    return [d for d in domains() if d not in DOMAIN_PERMISSIONS or allowed(DOMAIN_PERMISSIONS[d])]


def of_domain(domain: str, kind: str | None = None) -> dict[str, RuleType]:
    return {n: t for n, t in RULE_TYPES.items() if t.domain == domain and t.available
            and (kind is None or t.kind == kind)}


def domains() -> list[str]:
    return sorted(DOMAIN_LABELS)


def target_url(rule_type: str, target_key: str) -> str | None:
    """The page of an alert's target, when its rule type can say (else None)."""
    t = RULE_TYPES.get(rule_type)
    if t is None or t.target_url is None:
        return None
    try:
        return t.target_url(target_key)
    except (ValueError, LookupError):
        return None  # an old key of another shape, or an endpoint that is gone
