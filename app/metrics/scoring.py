"""The ONE scoring implementation of the metrics domain: pure functions, no database.

Per metric, a score from 0 to 1 by direction (None when the metric has no current value
or not the targets its direction needs, so it is "not scored" and left out of every mean):

- higher_is_better: current / target, capped at 1. A target of 0 or less is met by any
  current value at or above it (score 1), else 0.
- lower_is_better: target / current, capped at 1. A current value of 0 (or less) scores 1.
  A target of 0 with a current above 0 scores 0.
- target_range: 1 inside [lower, upper]. Outside, a linear penalty:
  1 - distance / scale, floored at 0, where distance is how far the value is outside the
  range and scale is the range's width (upper - lower); for a zero-width range the scale
  is |target|, else |lower|, else 1. So a value one full range-width outside scores 0.
- binary: 1 when current equals the target (1 when no target is set), else 0.

A metric is "below target" when its score is under 0.9. Its gap is how far it is from its
target in its own unit (0 when met).

A function's score is the weighted mean of its scored metrics' scores x 100, the weight
being the metric's own weight when set, else its priority's (High 1.0, Medium 0.6,
Low 0.3). Category scores are the same mean over a category's metrics. The overall score
is the plain mean of the scores of the functions that have scored metrics. Ratings:
>= 90 very low risk, >= 75 low, >= 50 medium, >= 30 high, else very high; the four
floors are settings (metrics.rating_*), passed in as `ratings`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

PRIORITY_WEIGHTS = {"High": 1.0, "Medium": 0.6, "Low": 0.3}
BELOW_TARGET = 0.9
RATINGS = ((90, "very low risk"), (75, "low risk"), (50, "medium risk"), (30, "high risk"))
LOWEST_RATING = "very high risk"

Number = float | int | Decimal | None


def _f(value: Number) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class MetricInput:
    """What scoring needs to know about one metric."""

    direction: str
    current: Number
    target: Number = None
    lower: Number = None
    upper: Number = None
    priority: str = "Medium"
    weight: Number = None
    function: str = ""
    category: str | None = None
    key: object = None  # the caller's id, handed back in results


def range_scale(lower: float, upper: float, target: float | None) -> float:
    """What a distance outside a range is divided by: its width, or |target|, |lower|, 1."""
    width = upper - lower
    if width > 0:
        return width
    return abs(target or 0) or abs(lower) or 1.0


def metric_score(direction: str, current: Number, target: Number = None, lower: Number = None,
                 upper: Number = None) -> float | None:
    """The 0..1 score of one value (None: not scored)."""
    cur, tgt, lo, hi = _f(current), _f(target), _f(lower), _f(upper)
    if cur is None:
        return None
    if direction == "higher_is_better":
        if tgt is None:
            return None
        if tgt <= 0:
            return 1.0 if cur >= tgt else 0.0
        return min(1.0, max(0.0, cur / tgt))
    if direction == "lower_is_better":
        if tgt is None:
            return None
        if cur <= 0:
            return 1.0
        if tgt <= 0:
            return 0.0
        return min(1.0, tgt / cur)
    if direction == "target_range":
        if lo is None or hi is None or lo > hi:
            return None
        if lo <= cur <= hi:
            return 1.0
        distance = lo - cur if cur < lo else cur - hi
        return max(0.0, 1.0 - distance / range_scale(lo, hi, tgt))
    if direction == "binary":
        return 1.0 if cur == (1.0 if tgt is None else tgt) else 0.0
    raise ValueError(f"unknown direction {direction!r}")


def metric_gap(direction: str, current: Number, target: Number = None, lower: Number = None,
               upper: Number = None) -> float | None:
    """How far the value is from its target, in the metric's unit (0 when met; None: unknown)."""
    cur, tgt, lo, hi = _f(current), _f(target), _f(lower), _f(upper)
    if cur is None:
        return None
    if direction == "higher_is_better":
        return None if tgt is None else max(0.0, tgt - cur)
    if direction == "lower_is_better":
        return None if tgt is None else max(0.0, cur - tgt)
    if direction == "target_range":
        if lo is None or hi is None:
            return None
        return lo - cur if cur < lo else cur - hi if cur > hi else 0.0
    if direction == "binary":
        return abs((1.0 if tgt is None else tgt) - cur)
    raise ValueError(f"unknown direction {direction!r}")


def is_below_target(score: float | None) -> bool:
    return score is not None and score < BELOW_TARGET


def weight_of(priority: str, weight: Number = None) -> float:
    """The metric's own weight when set, else its priority's."""
    return float(weight) if weight is not None else PRIORITY_WEIGHTS[priority]


Ratings = tuple[tuple[float, str], ...]


def ratings_from(floors: tuple[float, ...]) -> Ratings:
    """Rating floors (very low, low, medium, high; descending) paired with their labels."""
    if len(floors) != len(RATINGS) or any(a <= b for a, b in zip(floors, floors[1:], strict=False)):
        raise ValueError("rating floors must be four numbers in descending order")
    return tuple((floor, label) for floor, (_, label) in zip(floors, RATINGS, strict=True))


def rating(score: float | None, ratings: Ratings = RATINGS) -> str | None:
    """The risk rating of a 0..100 score under the given floors (the settings', or the defaults)."""
    if score is None:
        return None
    for floor, label in ratings:
        if score >= floor:
            return label
    return LOWEST_RATING


@dataclass
class MetricResult:
    metric: MetricInput
    score: float | None
    gap: float | None
    weight: float

    @property
    def below_target(self) -> bool:
        return is_below_target(self.score)


@dataclass
class GroupResult:
    """A function's or a category's score over its metrics."""

    code: str
    score: float | None  # 0..100, None when none of its metrics is scored
    metric_count: int = 0
    scored_count: int = 0
    below_target_count: int = 0
    ratings: Ratings = RATINGS

    @property
    def rating(self) -> str | None:
        return rating(self.score, self.ratings)


@dataclass
class Scorecard:
    metrics: list[MetricResult] = field(default_factory=list)
    functions: dict[str, GroupResult] = field(default_factory=dict)
    categories: dict[str, GroupResult] = field(default_factory=dict)
    overall: float | None = None
    ratings: Ratings = RATINGS

    @property
    def overall_rating(self) -> str | None:
        return rating(self.overall, self.ratings)

    @property
    def scored_count(self) -> int:
        return sum(1 for m in self.metrics if m.score is not None)

    @property
    def below_target_count(self) -> int:
        return sum(1 for m in self.metrics if m.below_target)

    def attention(self, limit: int = 10) -> list[MetricResult]:
        """The scored metrics most in need of attention: the largest weighted shortfall first."""
        scored = [m for m in self.metrics if m.score is not None and m.score < 1.0]
        return sorted(scored, key=lambda m: (-(1.0 - m.score) * m.weight, m.score))[:limit]


def score_metric(metric: MetricInput) -> MetricResult:
    return MetricResult(
        metric,
        metric_score(metric.direction, metric.current, metric.target, metric.lower, metric.upper),
        metric_gap(metric.direction, metric.current, metric.target, metric.lower, metric.upper),
        weight_of(metric.priority, metric.weight),
    )


def weighted_score(results: Iterable[MetricResult]) -> float | None:
    """Weighted mean of the scored results x 100, rounded to 2 places (None: nothing scored)."""
    scored = [r for r in results if r.score is not None]
    total = sum(r.weight for r in scored)
    if not scored or total <= 0:
        return None
    return round(sum(r.score * r.weight for r in scored) / total * 100, 2)


def _group(code: str, results: list[MetricResult], ratings: Ratings) -> GroupResult:
    return GroupResult(code, weighted_score(results), len(results),
                       sum(1 for r in results if r.score is not None), sum(1 for r in results if r.below_target),
                       ratings)


def scorecard(metrics: Iterable[MetricInput], function_codes: Iterable[str] = (),
              ratings: Ratings = RATINGS) -> Scorecard:
    """Every score at once: per metric, per category, per function and overall.

    `function_codes` lists functions to report even when they have no metrics; `ratings`
    are the rating floors in effect (the settings', see services.current_ratings).
    """
    card = Scorecard(metrics=[score_metric(m) for m in metrics], ratings=ratings)
    by_function: dict[str, list[MetricResult]] = {code: [] for code in function_codes}
    by_category: dict[str, list[MetricResult]] = {}
    for result in card.metrics:
        by_function.setdefault(result.metric.function, []).append(result)
        if result.metric.category:
            by_category.setdefault(result.metric.category, []).append(result)
    card.functions = {code: _group(code, rows, ratings) for code, rows in by_function.items()}
    card.categories = {code: _group(code, rows, ratings) for code, rows in by_category.items()}
    scores = [g.score for g in card.functions.values() if g.score is not None]
    card.overall = round(sum(scores) / len(scores), 2) if scores else None
    return card
