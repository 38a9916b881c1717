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


@dataclass(frozen=True)
class DetailPanel:
    """A domain's own part of the one alert page (the fleet's device and maintenance window):
    a template included in the page, and the context it needs for one alert (None: nothing to
    show for that alert)."""

    domain: str
    template: str
    context: Callable[[Any], dict[str, Any] | None]


RULE_TYPES: dict[str, RuleType] = {}
DOMAIN_LABELS: dict[str, str] = {}
# The permission needed to see a domain's alerts (none: whoever may read data).
DOMAIN_PERMISSIONS: dict[str, str] = {}
PANELS: list[DetailPanel] = []
# What a rule may be narrowed to besides its organization: the engine knows devices (maintenance
# windows scope by them too); the domain that owns them says which an organization has.
DEVICE_CHOICES: list[Callable[[int], list[tuple[int, str]]]] = []


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


def register_panel(domain: str, template: str, context: Callable[[Any], dict[str, Any] | None]) -> None:
    """Add a domain's panel to the alert page of its alerts (registering twice is a no-op)."""
    panel = DetailPanel(domain, template, context)
    if panel not in PANELS:
        PANELS.append(panel)


def panels_for(alert: Any) -> list[tuple[str, dict[str, Any]]]:
    """(template, context) of each panel of the alert's domain that has something to show."""
    out = []
    for panel in PANELS:
        if panel.domain == alert.domain:
            context = panel.context(alert)
            if context is not None:
                out.append((panel.template, context))
    return out


def register_device_choices(choices: Callable[[int], list[tuple[int, str]]]) -> None:
    """The devices of an organization a rule may be set for, as (id, label)."""
    if choices not in DEVICE_CHOICES:
        DEVICE_CHOICES.append(choices)


def device_choices(org_id: int) -> list[tuple[int, str]]:
    return [choice for choices in DEVICE_CHOICES for choice in choices(org_id)]


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


def link_of(alert: Any) -> str | None:
    """The page of an alert's object: its rule type says, else the link stored when it fired."""
    return target_url(alert.alert_type, alert.target_key) or (alert.details or {}).get("link")
