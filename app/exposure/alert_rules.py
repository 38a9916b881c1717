"""Exposure alert rule types on the shared engine (app/alerting): a monitored e-mail with a
new high-severity finding (one alert per address until it is resolved) and an account whose
current password is in a leaked file (one alert per user, resolved when the password is
changed).

The exposure services publish what happened (app.alerting.events):
`exposure.monitored_findings` from monitoring.recheck and `exposure.password_leaked` from
matching.leaked_password_found; a password change is identity's
`auth.security_event_recorded` (app/auth/events.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.alerting import evaluate, events, registry
from app.alerting.registry import EVENT, RuleType
from app.alerting.service import Observation, Target
from app.models import utcnow
from app.notifications.services import app_path

DOMAIN = "exposure"
MONITORED = "exposure.monitored_finding"
LEAKED = "exposure.password_leaked"
PASSWORD_CHANGES = ("password_changed", "password_reset")
ALERT_SEVERITIES = ("high",)  # monitored findings that alert (the findings page lists the rest)


def _passed_on(kind: str) -> Any:
    def evaluate_(data: dict[str, Any], rule: Any) -> list[Observation]:
        return data.get(kind) or []
    return evaluate_


def on_monitored_findings(row: Any, findings: list[Any]) -> int:
    """New findings for a monitored address: the high ones fire the address's alert."""
    urgent = [f for f in findings if f.severity in ALERT_SEVERITIES]
    if not urgent:
        return 0
    names = ", ".join(sorted({f"{f.breach_name} ({f.source})" for f in urgent}))
    obs = Observation(Target(f"monitored_email:{row.id}", row.email_address, row.org_id,
                             link=app_path("exposure.findings")), 1.0,
                      f"{len(urgent)} new exposure finding(s) for {row.email_address}", metric_name="findings",
                      details={"breaches": names[:500]})
    return evaluate.run(row.org_id, DOMAIN, {MONITORED: [obs]}, utcnow())


def password_observation(org_id: int, user_id: int, email: str, in_use: bool,
                         upload_id: int | None = None) -> Observation:
    link = (app_path("exposure.upload_detail", upload_id=upload_id) if upload_id
            else app_path("exposure.credential_list"))
    message = f"Leaked password in use: {email}" if in_use else f"{email} changed the leaked password"
    return Observation(Target(f"user:{user_id}", email, org_id, link=link), 1.0 if in_use else 0.0, message,
                       metric_name="password_leaked", details={"upload_id": upload_id})


def on_password_leaked(org_id: int, user: Any, upload_id: int) -> int:
    return evaluate.run(org_id, DOMAIN, {LEAKED: [password_observation(org_id, user.id, user.email, True,
                                                                               upload_id)]}, utcnow())


def on_security_event(event: Any, **_: Any) -> int:
    """A password change resolves the user's "leaked password in use" alert."""
    if event.event_type not in PASSWORD_CHANGES or event.user_id is None or event.org_id is None:
        return 0
    obs = password_observation(event.org_id, event.user_id, event.email or f"user {event.user_id}", False)
    return evaluate.run(event.org_id, DOMAIN, {LEAKED: [obs]}, utcnow())


registry.register_domain(DOMAIN, "Exposure", permission="exposure.view")
for _rule in (
    RuleType(MONITORED, "Monitored e-mail finding", EVENT, "", "A monitored address appears in a new "
             "high-severity breach or leak; one alert per address until it is resolved.", severity="critical",
             cooldown_seconds=0, fixed=True, evaluate=_passed_on(MONITORED)),
    RuleType(LEAKED, "Leaked password in use", EVENT, "", "An account's current password is in an imported "
             "breach file; resolved when the password is changed.", severity="critical", cooldown_seconds=0,
             fixed=True, evaluate=_passed_on(LEAKED)),
):
    registry.register(replace(_rule, domain=DOMAIN, target_type=_rule.name.split(".")[1]))
events.subscribe("exposure.monitored_findings", on_monitored_findings)
events.subscribe("exposure.password_leaked", on_password_leaked)
events.subscribe("auth.security_event_recorded", on_security_event)
