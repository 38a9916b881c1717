"""The scorecard as one CSV for a board pack: overall, functions, categories, metrics.

Computed by the one scorer (services.scorecard) at download time, with the rating floors in
effect; every row says what it is (`level`) so a spreadsheet can filter it.
"""

from __future__ import annotations

from typing import Any

from app.metrics import services
from app.metrics.catalog_files import to_csv
from app.models import utcnow

COLUMNS = ("level", "code", "name", "score", "rating", "scored_metrics", "below_target", "current", "target",
           "target_lower", "target_upper", "unit", "direction", "priority", "weight", "gap", "value_updated_at",
           "value_source", "computed_at")


def _pct(score: float | None) -> str:
    return "" if score is None else f"{score * 100:.1f}"


def scorecard_rows(org_id: int) -> list[dict[str, Any]]:
    """One row for the overall score, one per function and category, one per metric."""
    framework = services.current_framework()
    card = services.scorecard(org_id, framework)
    metrics = {m.id: m for m in services.org_metrics(org_id)}
    now = utcnow().strftime("%Y-%m-%d %H:%M UTC")
    rows: list[dict[str, Any]] = [{
        "level": "overall", "code": f"{framework.name} {framework.version}" if framework else "", "name": "Overall",
        "score": "" if card.overall is None else f"{card.overall:.1f}", "rating": card.overall_rating or "",
        "scored_metrics": card.scored_count, "below_target": card.below_target_count, "computed_at": now}]

    def group(level: str, code: str, name: str) -> None:
        g = (card.functions if level == "function" else card.categories).get(code)
        rows.append({"level": level, "code": code, "name": name,
                     "score": "" if g is None or g.score is None else f"{g.score:.1f}",
                     "rating": (g.rating if g else None) or "", "scored_metrics": g.scored_count if g else 0,
                     "below_target": g.below_target_count if g else 0, "computed_at": now})

    for function in services.functions_of(framework):
        group("function", function.code, function.name)
        for category in function.categories:
            group("category", category.code, category.name)
    for result in card.metrics:
        m = metrics[result.metric.key]
        rows.append({
            "level": "metric", "code": m.metric_number, "name": m.name, "score": _pct(result.score),
            "below_target": "yes" if result.below_target else "", "current": m.current_value,
            "target": m.target_value, "target_lower": m.target_lower, "target_upper": m.target_upper, "unit": m.unit,
            "direction": m.direction, "priority": m.priority, "weight": f"{result.weight:g}",
            "gap": "" if result.gap is None else f"{result.gap:g}",
            "value_updated_at": m.value_updated_at.strftime("%Y-%m-%d %H:%M") if m.value_updated_at else "",
            "value_source": f"live: {m.live_source}" if m.live_source else "manual", "computed_at": now})
    return rows


def scorecard_csv(org_id: int) -> str:
    return to_csv(scorecard_rows(org_id), COLUMNS)
