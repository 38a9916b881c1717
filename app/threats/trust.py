"""Trust scores (0..100) of users and trusted browsers, moved by behaviour.

| behaviour                          | user  | device |
|------------------------------------|-------|--------|
| sign-in with a second factor       | +3    | +2     |
| sign-in with password only         | +1    |        |
| failed sign-in (password or code)  | -2    |        |
| sign-in denied for risk            | -10   |        |
| high or critical risk event        | -5    |        |
"""

from __future__ import annotations

from decimal import Decimal

DELTAS = {
    "mfa_success": (3, 2),
    "password_success": (1, 0),
    "failure": (-2, 0),
    "risk_denied": (-10, 0),
    "high_risk_event": (-5, 0),
}


def _moved(value: Decimal | None, delta: int) -> Decimal:
    current = Decimal(value if value is not None else 50)
    return max(Decimal(0), min(Decimal(100), current + delta))


def apply(behaviour: str, user=None, device=None) -> None:
    user_delta, device_delta = DELTAS[behaviour]
    if user is not None and user_delta:
        user.trust_score = _moved(user.trust_score, user_delta)
    if device is not None and device_delta:
        device.trust_score = _moved(device.trust_score, device_delta)
