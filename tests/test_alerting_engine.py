"""The alerting state machine, replayed over series (pure: no database, no clock)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from app.alerting.engine import NOTIFY, OPEN, REPEAT, RESOLVE, State, Thresholds, replay, step

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CPU = Thresholds(threshold=90, recovery=70, for_seconds=300, cooldown_seconds=3600, repeat_seconds=None)


def minutes(values: list[float], start: datetime = T0) -> list[tuple[datetime, float]]:
    """One observation a minute."""
    return [(start + timedelta(minutes=i), v) for i, v in enumerate(values)]


def kinds(decisions, kind):
    return [t for t, a in decisions if a == kind]


def test_a_noisy_series_around_the_threshold_notifies_once_and_resolves_only_below_recovery():
    rng = random.Random(7)
    calm = [rng.uniform(30, 50) for _ in range(10)]
    hot = [rng.uniform(92, 98) for _ in range(8)]  # sustained: fires after 5 minutes
    # Wobbling across 90 again and again, never down to the recovery threshold of 70.
    noisy = [rng.choice((rng.uniform(75, 89.9), rng.uniform(90, 97))) for _ in range(60)]
    crossings = sum(1 for a, b in zip(noisy, noisy[1:], strict=False) if (a >= 90) != (b >= 90))
    assert crossings > 20  # the series really does cross the threshold many times
    sagging = [75, 72, 71, 70.5]  # under the threshold but not past recovery: still firing
    recovered = [65, 40, 35]
    decisions = replay(CPU, minutes(calm + hot + noisy + sagging + recovered))
    assert [a for _, a in decisions] == [OPEN, NOTIFY, RESOLVE]
    fired_at = kinds(decisions, OPEN)[0]
    assert fired_at == T0 + timedelta(minutes=10 + 5)  # the breach began at minute 10 and held 5 minutes
    resolved_at = kinds(decisions, RESOLVE)[0]
    assert resolved_at == T0 + timedelta(minutes=len(calm + hot + noisy + sagging))  # the first value under 70


def test_the_for_duration_must_hold_without_a_gap():
    # Four minutes over, a dip, four more: never five minutes in a row, so nothing fires.
    series = minutes([50, 95, 95, 95, 95, 89, 95, 95, 95, 95, 60])
    assert replay(CPU, series) == []
    # Exactly five minutes over (minute 1 to minute 6) fires at minute 6.
    decisions = replay(CPU, minutes([50, 95, 95, 95, 95, 95, 95]))
    assert decisions == [(T0 + timedelta(minutes=6), OPEN), (T0 + timedelta(minutes=6), NOTIFY)]


def test_without_a_for_duration_the_first_breach_fires():
    rule = Thresholds(threshold=90, recovery=85)
    assert [a for _, a in replay(rule, minutes([10, 91, 88, 84]))] == [OPEN, NOTIFY, RESOLVE]


def test_the_cooldown_keeps_a_quick_second_alert_quiet_until_it_has_passed():
    rule = Thresholds(threshold=90, recovery=70, for_seconds=0, cooldown_seconds=1800)
    series = minutes([95, 60] + [95] * 40)  # fires, recovers, fires again a minute later and stays
    decisions = replay(rule, series)
    assert [a for _, a in decisions] == [OPEN, NOTIFY, RESOLVE, OPEN, NOTIFY]
    second_open, second_notify = kinds(decisions, OPEN)[1], kinds(decisions, NOTIFY)[1]
    assert second_open == T0 + timedelta(minutes=2)
    assert second_notify == T0 + timedelta(minutes=30)  # 30 minutes after the first notification


def test_repeat_renotifies_while_firing_at_its_interval():
    rule = Thresholds(threshold=90, recovery=70, for_seconds=0, cooldown_seconds=0, repeat_seconds=1800)
    decisions = replay(rule, minutes([95] * 100))
    assert kinds(decisions, NOTIFY) == [T0]
    assert kinds(decisions, REPEAT) == [T0 + timedelta(minutes=m) for m in (30, 60, 90)]


def test_quiet_time_holds_notifications_back_and_the_first_one_goes_out_after():
    rule = Thresholds(threshold=90, recovery=70)
    window = (T0 + timedelta(minutes=0), T0 + timedelta(minutes=10))
    decisions = replay(rule, minutes([95] * 15), quiet=lambda t: window[0] <= t < window[1])
    assert decisions == [(T0, OPEN), (T0 + timedelta(minutes=10), NOTIFY)]
    # Recovering inside the window: opened, resolved, never notified.
    decisions = replay(rule, minutes([95, 95, 50]), quiet=lambda t: True)
    assert [a for _, a in decisions] == [OPEN, RESOLVE]


def test_below_rules_mirror_every_comparison():
    rule = Thresholds(threshold=10, recovery=20, direction="below")
    assert [a for _, a in replay(rule, minutes([50, 9, 15, 19, 21]))] == [OPEN, NOTIFY, RESOLVE]
    assert Thresholds(threshold=10, recovery=5, direction="below").problems() == {
        "recovery": "The recovery threshold must be at or above the threshold."}
    assert "recovery" in Thresholds(threshold=90, recovery=95).problems()
    assert Thresholds(threshold=90, recovery=80, repeat_seconds=0).problems() == {
        "repeat_seconds": "More than zero seconds, or empty for never."}
    assert CPU.problems() == {}


def test_state_survives_a_json_round_trip():
    state, _ = step(CPU, State(), T0, 95)
    assert state.phase == "pending"
    assert State.from_json(state.to_json()) == state
    assert State.from_json(None) == State()
