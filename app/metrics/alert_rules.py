"""Metrics alert rule types, evaluated when scores are recomputed.

`services.snapshot` publishes `metrics.scored` with the new scorecard; the rules watch
each function's score and the framework score against a target (direction below: a
score at or under the threshold fires, and it resolves only above the recovery value),
and the overall rating against the best rating of the week before.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.alerting import evaluate, events, registry
from app.alerting.registry import VALUE, RuleType
from app.alerting.service import Observation, Target
from app.core import linkable
from app.metrics.scoring import LOWEST_RATING, RATINGS
from app.models import AlertRule, FrameworkScore, Metric, MetricHistory, db, utcnow
from app.notifications.services import app_path

DOMAIN = "metrics"
# Best first: "very low risk" 0 .. "very high risk" 4.
RATING_RANK = {label: i for i, label in enumerate([label for _, label in RATINGS] + [LOWEST_RATING])}
DROP_WINDOW = timedelta(days=7)


def score_url(key: str) -> str:
    kind, _, code = key.partition(":")
    return app_path("metrics.function_detail", code=code) if kind == "function" else app_path("metrics.index")


def _functions(data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    org_id = data["org_id"]
    return [Observation(Target(f"function:{code}", f"{code} function score", org_id,
                               link=score_url(f"function:{code}")),
                        float(group.score),
                        f"{code} function score {group.score:.1f} (target {rule.threshold_value:g})",
                        metric_name="function_score", details={"function": code})
            for code, group in sorted(data["card"].functions.items()) if group.score is not None]


def _framework(data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    card = data["card"]
    if card.overall is None:
        return []
    return [Observation(Target("framework", "Framework score", data["org_id"], link=score_url("framework")),
                        float(card.overall), f"Framework score {card.overall:.1f} (target {rule.threshold_value:g})",
                        metric_name="framework_score")]


def _rating(data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    card, best = data["card"], data.get("best_rating")
    if card.overall_rating is None or best is None:
        return []
    steps = RATING_RANK.get(card.overall_rating, 0) - RATING_RANK.get(best, 0)
    return [Observation(Target("rating", "Overall rating", data["org_id"], link=score_url("rating")),
                        float(max(steps, 0)), f"Overall rating dropped to {card.overall_rating} (best this week: "
                        f"{best})" if steps > 0 else f"Overall rating {card.overall_rating}", metric_name="rating_drop",
                        details={"rating": card.overall_rating, "best": best})]


def best_recent_rating(org_id: int, before_id: int | None) -> str | None:
    """The best overall rating of the organization's snapshots of the last week (before this one)."""
    rows = db.session.scalars(sa.select(FrameworkScore.overall_rating).where(
        FrameworkScore.org_id == org_id, FrameworkScore.calculated_at >= utcnow() - DROP_WINDOW,
        FrameworkScore.id != (before_id or -1))).all()
    return min(rows, key=lambda r: RATING_RANK.get(r, 99), default=None)


def on_scored(org_id: int, card: Any, row: Any = None) -> int:
    """Evaluate the metrics rules on a fresh scorecard (a recompute or a snapshot)."""
    data = {"org_id": org_id, "card": card, "best_rating": best_recent_rating(org_id, getattr(row, "id", None))}
    return evaluate.run(org_id, DOMAIN, data, utcnow())


registry.register_domain(DOMAIN, "Metrics")
for _rule, _target in (
    (RuleType("function_score_low", "Function score below target", VALUE, "score", "A NIST CSF function's score "
              "falls to or below the target; resolves above the recovery value.", 75, 80, 0, "warning",
              86400, evaluate=_functions, direction="below"), "function"),
    (RuleType("framework_score_low", "Framework score below target", VALUE, "score", "The overall score falls "
              "to or below the target; resolves above the recovery value.", 75, 80, 0, "warning", 86400,
              evaluate=_framework, direction="below"), "framework"),
    (RuleType("rating_dropped", "Rating dropped", VALUE, "steps", "The overall rating is this many steps worse "
              "than the best rating of the last 7 days.", 1, 1, 0, "warning", 86400, evaluate=_rating), "rating"),
):
    registry.register(replace(_rule, domain=DOMAIN, target_type=_target, target_url=score_url))
events.subscribe("metrics.scored", on_scored)


def _metric(org_id: int, object_id: str) -> Metric | None:
    return db.session.scalar(sa.select(Metric).where(Metric.org_id == org_id, Metric.id == int(object_id),
                                                     Metric.deleted_at.is_(None)))


def _metric_events(metric: Metric) -> list[tuple[Any, str]]:
    """The metric's latest recorded values."""
    rows = db.session.scalars(sa.select(MetricHistory).where(MetricHistory.metric_id == metric.id)
                              .order_by(MetricHistory.id.desc()).limit(20)).all()
    return [(h.recorded_at, f"{metric.name}: value {h.value:g}" + (f" ({h.note})" if h.note else ""))
            for h in reversed(rows)]


linkable.register(linkable.LinkableType("metric", "Metric", _metric, lambda m: f"{m.metric_number} {m.name}",
                                        lambda m: app_path("metrics.metric_detail", metric_id=m.id), _metric_events))
