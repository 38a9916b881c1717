"""Rules of the metrics domain: framework loading, metric changes, values and snapshots.

Views, jobs and the CLI all call these; none of them commits (the caller does).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app import audit
from app.alerting.events import publish
from app.core.settings_registry import rating_thresholds
from app.core.templating import localtime, wall_clock_ms
from app.metrics import scoring
from app.metrics.history import record_history
from app.metrics.live import LIVE_QUERIES
from app.models import (
    Framework,
    FrameworkCategory,
    FrameworkFunction,
    FrameworkScore,
    FrameworkSubcategory,
    FunctionScore,
    JobRun,
    Metric,
    MetricHistory,
    db,
    utcnow,
)
from app.models.base import as_dict

CSF_FILE = Path(__file__).resolve().parent.parent.parent / "data" / "nist-csf-2.0.json"
CSF_NAME, CSF_VERSION = "NIST CSF", "2.0"
AUDITED_FIELDS = ["metric_number", "name", "description", "current_value", "target_value", "target_lower",
                  "target_upper", "unit", "direction", "function_id", "category_id", "priority", "weight",
                  "owner_id", "is_locked", "live_source", "catalog_id", "deleted_at"]


def with_live_value(values: dict[str, Any]) -> dict[str, Any]:
    """A live metric's value comes from its query, whatever the form said."""
    query = LIVE_QUERIES.get(values.get("live_source") or "")
    return values if query is None else {**values, "current_value": query.func(values["org_id"])}


class MetricLocked(Exception):
    """A locked metric refuses changes until it is unlocked."""


def load_framework(path: Path = CSF_FILE, name: str = CSF_NAME, version: str = CSF_VERSION) -> dict[str, int]:
    """Insert or update a framework from its JSON file; running it twice changes nothing."""
    data = json.loads(Path(path).read_text())
    framework = db.session.scalar(sa.select(Framework).where(Framework.name == name, Framework.version == version))
    if framework is None:
        framework = Framework(name=name, version=version)
        db.session.add(framework)
    framework.description = data.get("source", {}).get("title")
    framework.source = data.get("source")
    db.session.flush()
    counts = {"functions": 0, "categories": 0, "subcategories": 0, "implementation_examples": 0}

    def upsert(model, parent_col: str, parent_id: int, code: str, **values: Any):
        row = db.session.scalar(sa.select(model).where(getattr(model, parent_col) == parent_id, model.code == code))
        if row is None:
            row = model(code=code, **{parent_col: parent_id})
            db.session.add(row)
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
        db.session.flush()
        return row

    for f_order, fn in enumerate(data["functions"]):
        function = upsert(FrameworkFunction, "framework_id", framework.id, fn["code"], name=fn["name"],
                          description=fn.get("description"), sort_order=f_order)
        counts["functions"] += 1
        for c_order, cat in enumerate(fn["categories"]):
            category = upsert(FrameworkCategory, "function_id", function.id, cat["code"], name=cat["name"],
                              description=cat.get("description"), sort_order=c_order)
            counts["categories"] += 1
            for s_order, sub in enumerate(cat["subcategories"]):
                examples = sub.get("implementation_examples") or []
                upsert(FrameworkSubcategory, "category_id", category.id, sub["code"], description=sub["description"],
                       implementation_examples=examples, risk_scope_tags=sub.get("risk_scope_tags") or [],
                       sort_order=s_order)
                counts["subcategories"] += 1
                counts["implementation_examples"] += len(examples)
    return counts


def current_framework() -> Framework | None:
    """The framework metrics are mapped to: NIST CSF 2.0 when loaded, else the first active one."""
    return db.session.scalar(sa.select(Framework).where(Framework.is_active.is_(True))
                             .order_by((Framework.name == CSF_NAME).desc(), Framework.id).limit(1))


def functions_of(framework: Framework | None) -> list[FrameworkFunction]:
    if framework is None:
        return []
    return db.session.scalars(sa.select(FrameworkFunction).where(FrameworkFunction.framework_id == framework.id)
                              .order_by(FrameworkFunction.sort_order)).all()


def categories_of(framework: Framework | None) -> list[FrameworkCategory]:
    if framework is None:
        return []
    return db.session.scalars(
        sa.select(FrameworkCategory).join(FrameworkFunction)
        .where(FrameworkFunction.framework_id == framework.id)
        .order_by(FrameworkFunction.sort_order, FrameworkCategory.sort_order)).all()


def next_number(org_id: int, function: FrameworkFunction) -> str:
    """PR-001, PR-002, ...: one more than the highest number of this function in the org (deleted included)."""
    prefix = f"{function.code}-"
    numbers = db.session.scalars(sa.select(Metric.metric_number).where(
        Metric.org_id == org_id, Metric.metric_number.like(prefix + "%"))).all()
    highest = max((int(n[len(prefix):]) for n in numbers if n[len(prefix):].isdigit()), default=0)
    return f"{prefix}{highest + 1:03d}"


def snapshot_values(metric: Metric) -> dict[str, Any]:
    return as_dict(metric, AUDITED_FIELDS)


def create_metric(org_id: int, user: Any, **values: Any) -> Metric:
    """A new metric with the next number of its function; its first value goes to history."""
    function = db.session.get(FrameworkFunction, values["function_id"])
    metric = Metric(org_id=org_id, metric_number=next_number(org_id, function), **values)
    db.session.add(metric)
    db.session.flush()
    if metric.current_value is not None:
        record_history(metric, metric.current_value, "initial value", user)
    audit.record("metric.created", resource_type="metric", resource_id=metric.id, new=snapshot_values(metric))
    return metric


def update_metric(metric: Metric, user: Any, **values: Any) -> bool:
    """Change a metric's definition (and value); False when nothing changed."""
    if metric.is_locked:
        raise MetricLocked("This metric is locked: unlock it before changing it.")
    before = snapshot_values(metric)
    value_before = metric.current_value
    for key, value in values.items():
        setattr(metric, key, value)
    db.session.flush()
    old, new = audit.changes(before, snapshot_values(metric))
    if not new:
        return False
    if metric.current_value != value_before and metric.current_value is not None:
        record_history(metric, metric.current_value, "changed in the metric's form", user)
    audit.record("metric.updated", resource_type="metric", resource_id=metric.id, old=old, new=new)
    return True


def record_value(metric: Metric, user: Any, value: Decimal, note: str | None) -> MetricHistory:
    """A new current value: one history row (with note and user) and one audit row."""
    if metric.is_locked:
        raise MetricLocked("This metric is locked: unlock it before recording a value.")
    old = metric.current_value
    row = record_history(metric, value, note, user)
    audit.record("metric.value_recorded", resource_type="metric", resource_id=metric.id,
                 old={"current_value": old}, new={"current_value": metric.current_value}, details={"note": note})
    return row


def set_locked(metric: Metric, locked: bool) -> None:
    if metric.is_locked == locked:
        return
    metric.is_locked = locked
    audit.record("metric.locked" if locked else "metric.unlocked", resource_type="metric", resource_id=metric.id,
                 old={"is_locked": not locked}, new={"is_locked": locked})


def delete_metric(metric: Metric) -> None:
    if metric.is_locked:
        raise MetricLocked("This metric is locked: unlock it before deleting it.")
    before = snapshot_values(metric)
    metric.soft_delete()
    audit.record("metric.deleted", resource_type="metric", resource_id=metric.id,
                 old={"deleted_at": before["deleted_at"]}, new={"deleted_at": metric.deleted_at})


def org_metrics(org_id: int) -> list[Metric]:
    return db.session.scalars(sa.select(Metric).where(Metric.org_id == org_id, Metric.deleted_at.is_(None))
                              .order_by(Metric.metric_number)).all()


def as_input(metric: Metric) -> scoring.MetricInput:
    return scoring.MetricInput(
        direction=metric.direction, current=metric.current_value, target=metric.target_value,
        lower=metric.target_lower, upper=metric.target_upper, priority=metric.priority, weight=metric.weight,
        function=metric.function.code, category=metric.category.code if metric.category else None, key=metric.id)


def current_ratings() -> scoring.Ratings:
    """The rating floors in effect: the settings registry's metrics.rating_* values."""
    return scoring.ratings_from(rating_thresholds())


def scorecard(org_id: int, framework: Framework | None = None) -> scoring.Scorecard:
    """Live scores of an organization's metrics (the one scoring implementation)."""
    framework = framework or current_framework()
    codes = [f.code for f in functions_of(framework)]
    return scoring.scorecard([as_input(m) for m in org_metrics(org_id)], codes, current_ratings())


def snapshot(org_id: int) -> FrameworkScore | None:
    """Write function_scores and one framework_scores row for the org (None: nothing scored yet)."""
    framework = current_framework()
    if framework is None:
        return None
    card = scorecard(org_id, framework)
    if card.overall is None:
        return None
    now = utcnow()
    for function in functions_of(framework):
        group = card.functions.get(function.code)
        if group is None or group.score is None:
            continue
        db.session.add(FunctionScore(
            org_id=org_id, framework_id=framework.id, function_id=function.id, function_code=function.code,
            score=Decimal(str(group.score)), rating=group.rating, metric_count=group.metric_count,
            scored_count=group.scored_count, below_target_count=group.below_target_count, calculated_at=now))
    row = FrameworkScore(
        org_id=org_id, framework_id=framework.id, overall_score=Decimal(str(card.overall)),
        overall_rating=card.overall_rating, calculated_at=now,
        function_scores={code: g.score for code, g in card.functions.items() if g.score is not None},
        metric_count=len(card.metrics), scored_count=card.scored_count, below_target_count=card.below_target_count)
    db.session.add(row)
    db.session.flush()
    publish("metrics.scored", org_id=org_id, card=card, row=row)  # the metrics alert rules
    return row


def orgs_with_metrics() -> list[int]:
    return db.session.scalars(sa.select(Metric.org_id).where(Metric.deleted_at.is_(None)).distinct()
                              .order_by(Metric.org_id)).all()


def has_metrics() -> bool:
    """Cheap check for the scheduler: skip the nightly snapshot when no organization has metrics."""
    return db.session.scalar(sa.select(Metric.id).where(Metric.deleted_at.is_(None)).limit(1)) is not None


SCORE_JOBS = ("metrics.recompute", "metrics.refresh_live", "metrics.snapshot_all")


def scores_pending(org_id: int) -> bool:
    """A job that will write new score snapshots for this organization is queued or running.

    Only runs of the last 10 minutes: a run stuck without a worker must not keep the page polling.
    """
    from datetime import timedelta


    return db.session.scalar(sa.select(JobRun.id).where(
        JobRun.kind.in_(SCORE_JOBS), JobRun.status.in_(("queued", "running")),
        JobRun.created_at >= utcnow() - timedelta(minutes=10),
        sa.or_(JobRun.org_id == org_id, JobRun.org_id.is_(None))).limit(1)) is not None


def latest_snapshots(org_id: int) -> tuple[FrameworkScore | None, dict[str, FunctionScore]]:
    """The newest overall snapshot and the function snapshots written with it.

    Only those of the same run: a function whose metrics were all deleted or lost their values
    has no row in the newest run, and must not show the score it had before.
    """
    overall = db.session.scalar(sa.select(FrameworkScore).where(FrameworkScore.org_id == org_id)
                                .order_by(FrameworkScore.calculated_at.desc(), FrameworkScore.id.desc()).limit(1))
    if overall is None:
        return None, {}
    rows = db.session.scalars(sa.select(FunctionScore).where(
        FunctionScore.org_id == org_id, FunctionScore.calculated_at == overall.calculated_at)
        .order_by(FunctionScore.id)).all()
    return overall, {r.function_code: r for r in rows}


def history_chart(metric: Metric, limit: int = 200) -> dict[str, Any]:
    """A metric's recorded values over time (oldest first), with its target as a second line.

    The names all start with "Value" because `tojson` sorts keys and the first series is the
    one drawn bold.
    """
    rows = db.session.scalars(sa.select(MetricHistory).where(MetricHistory.metric_id == metric.id)
                              .order_by(MetricHistory.recorded_at.desc(), MetricHistory.id.desc())
                              .limit(limit)).all()[::-1]
    series: dict[str, list[Any]] = {"Value": [float(r.value) for r in rows]}
    if metric.direction == "target_range" and metric.target_lower is not None and metric.target_upper is not None:
        series["Value: range lower"] = [float(metric.target_lower)] * len(rows)
        series["Value: range upper"] = [float(metric.target_upper)] * len(rows)
    elif metric.target_value is not None:
        series["Value: target"] = [float(metric.target_value)] * len(rows)
    return {"labels": [localtime(r.recorded_at) for r in rows], "times": [wall_clock_ms(r.recorded_at) for r in rows],
            "series": series}


def trend(org_id: int, limit: int = 90) -> dict[str, Any]:
    """Chart data from the snapshot rows only: overall and per-function scores over time."""
    rows = db.session.scalars(sa.select(FrameworkScore).where(FrameworkScore.org_id == org_id)
                              .order_by(FrameworkScore.calculated_at.desc(), FrameworkScore.id.desc())
                              .limit(limit)).all()[::-1]
    codes = sorted({code for r in rows for code in r.function_scores})
    series: dict[str, list[Any]] = {"Overall": [float(r.overall_score) for r in rows]}
    for code in codes:
        series[code] = [r.function_scores.get(code) for r in rows]
    # "times" puts each snapshot where it happened on the axis (14:04, 14:05 and 14:28 are not
    # evenly spaced); labels stay for anything that reads the data as a table.
    return {"labels": [localtime(r.calculated_at) for r in rows],
            "times": [wall_clock_ms(r.calculated_at) for r in rows], "series": series}
