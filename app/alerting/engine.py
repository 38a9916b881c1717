"""The alerting state machine: pure, no database, no clock of its own.

Given a rule's thresholds and one observation `(t, value)` at a time, `step()` moves a
target's state between ok, pending (the condition holds but not yet for long enough) and
firing, and says what should happen: open an alert, notify, repeat the notification, or
resolve. The persistence layer (`app.alerting.service`) stores the state and acts on
those decisions; a replay test can feed a whole series through `replay()`.

Semantics (for `direction="above"`; "below" mirrors every comparison):
- breach: value >= threshold. The breach must last `for_seconds` (a value back under
  the threshold while pending starts the wait again) before the alert opens.
- recovery (hysteresis): a firing alert resolves only when value < recovery, which is
  at or below the threshold, so a value wobbling around the threshold never flaps.
- cooldown: no new alert notification within `cooldown_seconds` of the last one for the
  same rule and target; an alert that opens inside it is opened quietly and notified
  once the cooldown has passed, if it is still firing.
- repeat: while firing, notify again every `repeat_seconds` (None: never).
- quiet (maintenance window or a mute): the alert still opens and resolves, but notify
  and repeat are held back; a held-back first notification goes out when quiet ends.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

OPEN, NOTIFY, REPEAT, RESOLVE = "open", "notify", "repeat", "resolve"
SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class Thresholds:
    threshold: float
    recovery: float | None = None  # None: the threshold itself
    for_seconds: int = 0
    cooldown_seconds: int = 0
    repeat_seconds: int | None = None
    direction: str = "above"

    @property
    def recovery_value(self) -> float:
        return self.threshold if self.recovery is None else self.recovery

    def breached(self, value: float) -> bool:
        return value >= self.threshold if self.direction == "above" else value <= self.threshold

    def recovered(self, value: float) -> bool:
        r = self.recovery_value
        return value < r if self.direction == "above" else value > r

    def problems(self) -> dict[str, str]:
        """Why these thresholds make no sense (empty when they do); used by the rule forms."""
        errors: dict[str, str] = {}
        if self.direction not in ("above", "below"):
            errors["direction"] = "above or below"
        r = self.recovery_value
        if self.direction == "above" and r > self.threshold:
            errors["recovery"] = "The recovery threshold must be at or below the threshold."
        if self.direction == "below" and r < self.threshold:
            errors["recovery"] = "The recovery threshold must be at or above the threshold."
        for name in ("for_seconds", "cooldown_seconds"):
            if getattr(self, name) < 0:
                errors[name] = "Zero or more seconds."
        if self.repeat_seconds is not None and self.repeat_seconds <= 0:
            errors["repeat_seconds"] = "More than zero seconds, or empty for never."
        return errors


@dataclass(frozen=True)
class State:
    phase: str = "ok"  # ok | pending | firing
    pending_since: datetime | None = None
    fired_at: datetime | None = None
    notified: bool = False  # the current alert has been notified at least once
    last_notified_at: datetime | None = None
    last_value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("pending_since", "fired_at", "last_notified_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> State:
        if not data:
            return cls()
        values = dict(data)
        for key in ("pending_since", "fired_at", "last_notified_at"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _may_notify(rule: Thresholds, state: State, t: datetime) -> bool:
    return state.last_notified_at is None or (t - state.last_notified_at).total_seconds() >= rule.cooldown_seconds


def step(rule: Thresholds, state: State, t: datetime, value: float, *, quiet: bool = False) -> tuple[State, list[str]]:
    """The next state and the decisions for one observation (in time order)."""
    actions: list[str] = []
    s = replace(state, last_value=value)
    if s.phase in ("ok", "pending"):
        if not rule.breached(value):
            return replace(s, phase="ok", pending_since=None), actions
        since = s.pending_since if s.phase == "pending" and s.pending_since is not None else t
        if (t - since).total_seconds() < rule.for_seconds:
            return replace(s, phase="pending", pending_since=since), actions
        s = replace(s, phase="firing", pending_since=None, fired_at=t, notified=False)
        actions.append(OPEN)
    elif rule.recovered(value):
        return replace(s, phase="ok", pending_since=None, fired_at=None, notified=False), [RESOLVE]
    # Firing (just opened, or still on the wrong side of the recovery threshold).
    if quiet:
        return s, actions
    if not s.notified:
        if _may_notify(rule, s, t):
            s = replace(s, notified=True, last_notified_at=t)
            actions.append(NOTIFY)
    elif rule.repeat_seconds and (t - s.last_notified_at).total_seconds() >= rule.repeat_seconds:
        s = replace(s, last_notified_at=t)
        actions.append(REPEAT)
    return s, actions


def replay(rule: Thresholds, series: list[tuple[datetime, float]], state: State | None = None,
           quiet: Any = None) -> list[tuple[datetime, str]]:
    """Every decision a series produces, as (time, action); `quiet(t)` may hold notifications back."""
    s = state or State()
    out: list[tuple[datetime, str]] = []
    for t, value in series:
        s, actions = step(rule, s, t, value, quiet=bool(quiet and quiet(t)))
        out.extend((t, a) for a in actions)
    return out
