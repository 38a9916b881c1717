"""The metrics resources of the JSON API: the live scores (framework and functions), metrics
with their scores, a metric's recorded values, and recording a value (the page's rules:
locked and live metrics refuse, implausible values need `confirm_large`; audited, and the
scores are snapshotted again by the metrics.recompute job)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from app.apiregistry.auth import principal
from app.apiregistry.pagination import PAGE_PARAMS, page_schema, paginate
from app.apiregistry.registry import (
    actor,
    owned,
    problem,
    register_schema,
    register_scope,
    resource,
)
from app.apiregistry.validation import invalid
from app.jobs import enqueue
from app.metrics import scoring, services
from app.metrics.forms import value_problem
from app.models import Metric, MetricHistory

register_scope("metrics:read", "data.read")
register_scope("metrics:write", "data.write")

NUM, NULL_NUM, NULL_STR = {"type": "number"}, {"type": ["number", "null"]}, {"type": ["string", "null"]}
GROUP = {"type": "object", "properties": {
    "code": {"type": "string"}, "score": NULL_NUM, "rating": NULL_STR, "metric_count": {"type": "integer"},
    "scored_count": {"type": "integer"}, "below_target_count": {"type": "integer"}}}
SCORES = {"type": "object", "properties": {
    "overall": NULL_NUM, "rating": NULL_STR, "scored_count": {"type": "integer"},
    "below_target_count": {"type": "integer"}, "functions": {"type": "array", "items": GROUP}}}
METRIC = register_schema("Metric", {"type": "object", "properties": {
    "id": {"type": "integer"}, "number": {"type": "string"}, "name": {"type": "string"},
    "function": {"type": "string"}, "current_value": NULL_NUM, "target_value": NULL_NUM,
    "target_lower": NULL_NUM, "target_upper": NULL_NUM, "unit": NULL_STR, "direction": {"type": "string"},
    "priority": {"type": "string"}, "locked": {"type": "boolean"}, "live_source": NULL_STR,
    "score": NULL_NUM, "below_target": {"type": "boolean"},
    "value_updated_at": {"type": ["string", "null"], "format": "date-time"}}})
VALUE = register_schema("MetricValue", {"type": "object", "properties": {
    "id": {"type": "integer"}, "value": NUM, "note": NULL_STR, "recorded_by_id": {"type": ["integer", "null"]},
    "recorded_at": {"type": "string", "format": "date-time"}}})


def num(value: Any) -> float | None:
    return float(value) if value is not None else None


def group_json(g: scoring.GroupResult) -> dict[str, Any]:
    return {"code": g.code, "score": g.score, "rating": g.rating, "metric_count": g.metric_count,
            "scored_count": g.scored_count, "below_target_count": g.below_target_count}


def metric_json(m: Metric) -> dict[str, Any]:
    result = scoring.score_metric(services.as_input(m))
    return {"id": m.id, "number": m.metric_number, "name": m.name, "function": m.function.code,
            "current_value": num(m.current_value), "target_value": num(m.target_value),
            "target_lower": num(m.target_lower), "target_upper": num(m.target_upper), "unit": m.unit,
            "direction": m.direction, "priority": m.priority, "locked": m.is_locked, "live_source": m.live_source,
            "score": result.score, "below_target": result.below_target,
            "value_updated_at": m.value_updated_at.isoformat() if m.value_updated_at else None}


@resource("/metrics/scores", "GET", "metrics:read", "The framework score and each function's", SCORES,
          tag="metrics")
def scores(q: dict[str, Any], data: None) -> dict[str, Any]:
    """The live scorecard: overall score and rating, and each function's score over its metrics."""
    card = services.scorecard(principal().org_id)
    return {"overall": card.overall, "rating": card.overall_rating, "scored_count": card.scored_count,
            "below_target_count": card.below_target_count,
            "functions": [group_json(g) for g in card.functions.values()]}


@resource("/metrics", "GET", "metrics:read", "Metrics with their scores", page_schema(METRIC), tag="metrics",
          query=PAGE_PARAMS)
def metric_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """The organization's metrics, newest first, each with its score against its target."""
    stmt = sa.select(Metric).where(Metric.org_id == principal().org_id, Metric.deleted_at.is_(None))
    return paginate(stmt, Metric.id, q, metric_json)


@resource("/metrics/{metric_id}", "GET", "metrics:read", "One metric", METRIC, tag="metrics")
def metric_detail(q: dict[str, Any], data: None, metric_id: int) -> dict[str, Any]:
    """One metric with its score."""
    return metric_json(owned(Metric, metric_id, "metric"))


@resource("/metrics/{metric_id}/values", "GET", "metrics:read", "A metric's recorded values",
          page_schema(VALUE), tag="metrics", query=PAGE_PARAMS)
def value_list(q: dict[str, Any], data: None, metric_id: int) -> dict[str, Any]:
    """Every value recorded for the metric, newest first."""
    metric = owned(Metric, metric_id, "metric")
    stmt = sa.select(MetricHistory).where(MetricHistory.org_id == metric.org_id, MetricHistory.metric_id == metric.id)
    return paginate(stmt, MetricHistory.id, q, value_json)


def value_json(h: MetricHistory) -> dict[str, Any]:
    return {"id": h.id, "value": float(h.value), "note": h.note, "recorded_by_id": h.recorded_by_id,
            "recorded_at": h.recorded_at.isoformat()}


RECORD = {"type": "object", "required": ["value"], "additionalProperties": False, "properties": {
    "value": {"type": "number", "minimum": 0, "maximum": 99_999_999_999},
    "note": {"type": ["string", "null"], "maxLength": 1000},
    "confirm_large": {"type": "boolean", "description": "the value is over 10 times the target and right"}}}


@resource("/metrics/{metric_id}/values", "POST", "metrics:write", "Record a metric's value", VALUE,
          tag="metrics", body=RECORD, status=201, errors=(409,),
          description="Record a new current value (audited); scores are recomputed by a job. A locked metric "
                      "or one fed by a live query is a 409; a percentage over 150, or a value over 10 times "
                      "the target without `confirm_large`, is a 422.")
def value_record(q: dict[str, Any], data: dict[str, Any], metric_id: int) -> dict[str, Any]:
    """Record a value the way the metric's page does."""
    metric = owned(Metric, metric_id, "metric")
    if metric.is_locked or metric.live_source:
        problem(409, "not_recordable", "This metric is locked or fed by a live query: values are not entered.")
    try:
        value = Decimal(str(data["value"])).quantize(Decimal("0.0001"))
    except InvalidOperation:
        invalid("value", "must be a number")
    target = metric.target_value if metric.target_value is not None else metric.target_upper
    refused = value_problem(value, metric.unit, target, bool(data.get("confirm_large")))
    if refused:
        invalid("value", refused)
    row = services.record_value(metric, actor(), value, (data.get("note") or "").strip() or None)
    enqueue("metrics.recompute", org_id=metric.org_id, requested_by_id=actor().id)
    return value_json(row)
