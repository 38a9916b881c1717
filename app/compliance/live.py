"""Compliance scores as live metrics (registered on the live-value registry, app/core/live_values.py),
so a CSF metric can take its value from an assessment's score, with the score's coverage
("12 of 93 controls not tested") as the query's note, shown beside the value."""

from __future__ import annotations

from decimal import Decimal

from app.compliance import frameworks, services
from app.core.live_values import LiveQuery, register_live_query


def score_of(framework: str):
    def query(org_id: int) -> Decimal | None:
        """The newest assessment's score for the framework (None: none, or nothing tested)."""
        latest = services.latest_by_framework(org_id).get(framework)
        if latest is None or latest.overall_compliance_score is None:
            return None
        return Decimal(latest.overall_compliance_score)
    return query


def coverage_of(framework: str):
    def note(org_id: int) -> str | None:
        """How much of the newest assessment the score rests on (None: no assessment)."""
        latest = services.latest_by_framework(org_id).get(framework)
        return None if latest is None else str(services.coverage(latest))
    return note


for _key, (_label, _version) in frameworks.FRAMEWORKS.items():
    register_live_query(f"compliance_score_{_key.lower()}", LiveQuery(
        f"{_label} compliance score", "%", "higher_is_better", score_of(_key), note=coverage_of(_key)))
