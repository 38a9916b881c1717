"""The metrics scorer, with worked examples (pure functions, no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.metrics.scoring import MetricInput, metric_gap, metric_score, rating, scorecard


def test_higher_is_better_is_current_over_target_capped():
    assert metric_score("higher_is_better", 45, 90) == 0.5
    assert metric_score("higher_is_better", 120, 100) == 1.0
    assert metric_score("higher_is_better", Decimal("80"), Decimal("100")) == pytest.approx(0.8)
    assert metric_gap("higher_is_better", 45, 90) == 45
    assert metric_gap("higher_is_better", 120, 100) == 0


def test_lower_is_better_is_target_over_current_and_zero_scores_one():
    assert metric_score("lower_is_better", 8, 4) == 0.5
    assert metric_score("lower_is_better", 2, 4) == 1.0
    assert metric_score("lower_is_better", 0, 4) == 1.0
    assert metric_score("lower_is_better", 3, 0) == 0.0
    assert metric_gap("lower_is_better", 8, 4) == 4


def test_target_range_penalises_linearly_by_width():
    # range [20, 60], width 40: 70 is 10 outside -> 1 - 10/40 = 0.75; 100 is 40 outside -> 0
    assert metric_score("target_range", 45, None, 20, 60) == 1.0
    assert metric_score("target_range", 70, None, 20, 60) == 0.75
    assert metric_score("target_range", 10, None, 20, 60) == 0.75
    assert metric_score("target_range", 100, None, 20, 60) == 0.0
    assert metric_gap("target_range", 70, None, 20, 60) == 10
    # zero-width range: the scale is the target (10): 12 -> 1 - 2/10
    assert metric_score("target_range", 12, 10, 10, 10) == pytest.approx(0.8)


def test_binary_and_not_scored():
    assert metric_score("binary", 1, 1) == 1.0
    assert metric_score("binary", 0, 1) == 0.0
    assert metric_score("binary", 1) == 1.0
    assert metric_score("higher_is_better", None, 100) is None
    assert metric_score("higher_is_better", 5, None) is None
    with pytest.raises(ValueError):
        metric_score("sideways", 1, 1)


def test_ratings_boundaries():
    assert [rating(s) for s in (95, 90, 89.99, 75, 50, 30, 29.9)] == [
        "very low risk", "very low risk", "low risk", "low risk", "medium risk", "high risk", "very high risk"]
    assert rating(None) is None


def test_function_score_is_the_weighted_mean_and_overall_the_mean_of_functions():
    card = scorecard([
        # PR: High 1.0 x 1.0, Low 0.3 x 0.5 -> (1.0 + 0.15) / 1.3 = 0.8846 -> 88.46
        MetricInput("higher_is_better", 100, 100, priority="High", function="PR", category="PR.AA", key=1),
        MetricInput("higher_is_better", 50, 100, priority="Low", function="PR", category="PR.PS", key=2),
        # DE: Medium 0.6 x 0.5 with its own weight 2 (overrides) and High x 1.0 -> (1 + 1) / 3 = 66.67
        MetricInput("lower_is_better", 8, 4, priority="Medium", weight=2, function="DE", category="DE.CM", key=3),
        MetricInput("binary", 1, 1, priority="High", function="DE", category="DE.CM", key=4),
        # not scored: counts as a metric but not in the mean
        MetricInput("higher_is_better", None, 100, priority="High", function="DE", key=5),
    ], ["GV", "ID", "PR", "DE", "RS", "RC"])
    assert card.functions["PR"].score == 88.46
    assert card.functions["PR"].rating == "low risk"
    assert card.functions["DE"].score == 66.67
    assert card.functions["DE"].metric_count == 3 and card.functions["DE"].scored_count == 2
    assert card.functions["DE"].below_target_count == 1
    assert card.functions["GV"].score is None
    assert card.categories["PR.PS"].score == 50.0 and card.categories["DE.CM"].score == 66.67
    assert card.overall == round((88.46 + 66.67) / 2, 2)
    assert card.overall == 77.56 or card.overall == 77.57  # (88.46 + 66.67) / 2 = 77.565
    assert card.overall_rating == "low risk"
    # attention: the largest weighted shortfall first (key 3: 0.5 x 2 = 1.0; key 2: 0.5 x 0.3)
    assert [r.metric.key for r in card.attention()] == [3, 2]


def test_nothing_scored_gives_no_overall():
    card = scorecard([MetricInput("higher_is_better", None, 10, function="PR")], ["PR"])
    assert card.overall is None and card.overall_rating is None


def test_ratings_from_custom_floors():
    from app.metrics.scoring import ratings_from

    strict = ratings_from((95, 85, 60, 40))
    assert rating(90, strict) == "low risk" and rating(90) == "very low risk"
    assert rating(39.9, strict) == "very high risk"
    card = scorecard([MetricInput("higher_is_better", 90, 100, function="PR")], ratings=strict)
    assert card.overall_rating == "low risk" and card.functions["PR"].rating == "low risk"
    with pytest.raises(ValueError):
        ratings_from((50, 75, 90, 30))
