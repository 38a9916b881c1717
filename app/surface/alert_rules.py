"""Attack-surface alert rule types on the shared engine (app/alerting): a new critical or
high finding (one alert per finding, resolved when a scan or a re-check finds it fixed) and
a domain losing its proof of ownership (resolved when it is verified again).

The surface services publish what happened (app.alerting.events): `surface.findings_changed`
from scans.track_findings and recheck.recheck, `surface.domain_verification_changed` from
domains.verify. Each handler turns it into observations for `evaluate.run`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.alerting import evaluate, events, registry
from app.alerting.registry import EVENT, RuleType
from app.alerting.service import Observation, Target
from app.models import utcnow
from app.notifications.services import app_path

DOMAIN = "surface"
FINDING_RULES = {"critical": "surface.finding_critical", "high": "surface.finding_high"}


def _passed_on(kind: str) -> Any:
    def evaluate_(data: dict[str, Any], rule: Any) -> list[Observation]:
        return data.get(kind) or []
    return evaluate_


def domain_url(key: str) -> str:
    return app_path("surface.domain", domain_id=int(key.split(":")[1]))


def finding_observation(finding: Any, domain: str, is_open: bool) -> Observation:
    """One finding as its rule sees it: 1 while open, 0 once fixed (which resolves the alert)."""
    what = f"{finding.title or finding.finding_type} ({finding.asset})"
    target = Target(f"finding:{finding.id}", f"{domain}: {finding.finding_type}", finding.org_id,
                    link=app_path("surface.findings_list", domain_id=finding.domain_id))
    message = (f"New {finding.severity} finding on {domain}: {what}" if is_open
               else f"Fixed on {domain}: {what}")
    return Observation(target, 1.0 if is_open else 0.0, message[:250], metric_name="finding",
                       details={"finding_id": finding.id, "fingerprint": finding.fingerprint})


def on_findings_changed(org_id: int, domain: str, opened: list[Any] = (), fixed: list[Any] = ()) -> int:
    """New open findings fire their rule; fixed ones resolve theirs. Other severities are ignored."""
    data: dict[str, list[Observation]] = {}
    for findings, is_open in ((opened, True), (fixed, False)):
        for finding in findings:
            rule = FINDING_RULES.get(finding.severity)
            if rule is not None:
                data.setdefault(rule, []).append(finding_observation(finding, domain, is_open))
    return evaluate.run(org_id, DOMAIN, data, utcnow()) if data else 0


def on_verification_changed(row: Any, old_state: str) -> int:
    """A verified domain whose proof is gone fires; verified again resolves."""
    lost = row.state == "failed"
    if not lost and row.state != "verified":
        return 0
    key = f"domain:{row.id}"
    message = (f"{row.domain} lost its proof of ownership" if lost else f"{row.domain} is verified again")
    obs = Observation(Target(key, row.domain, row.org_id, link=domain_url(key)), 1.0 if lost else 0.0, message,
                      metric_name="verification", details={"error": (row.last_check_error or "")[:300]})
    return evaluate.run(row.org_id, DOMAIN, {"surface.domain_unverified": [obs]}, utcnow())


registry.register_domain(DOMAIN, "Attack surface", permission="data.read")
for _rule, _target, _url in (
    (RuleType("surface.finding_critical", "New critical finding", EVENT, "", "A scan found a new critical "
              "finding; one alert per finding, resolved when a scan or re-check finds it fixed.",
              severity="critical", cooldown_seconds=0, fixed=True,
              evaluate=_passed_on("surface.finding_critical")), "finding", None),
    (RuleType("surface.finding_high", "New high finding", EVENT, "", "A scan found a new high-severity "
              "finding; one alert per finding, resolved when it is fixed.", severity="warning",
              cooldown_seconds=0, fixed=True, evaluate=_passed_on("surface.finding_high")), "finding", None),
    (RuleType("surface.domain_unverified", "Domain verification lost", EVENT, "", "A verified domain lost its "
              "proof of ownership, so active scans stop; resolved when it is verified again.",
              severity="warning", cooldown_seconds=0, fixed=True,
              evaluate=_passed_on("surface.domain_unverified")), "surface_domain", domain_url),
):
    registry.register(replace(_rule, domain=DOMAIN, target_type=_target, target_url=_url))
events.subscribe("surface.findings_changed", on_findings_changed)
events.subscribe("surface.domain_verification_changed", on_verification_changed)
