"""Reading an agent's JSON payload field by field: heartbeats, facts and backup reports all
validate through one Checker, which collects every field error before anything is written."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from app.core.hygiene import INT_MAX

MAX_ITEMS = 500


class Checker:
    """Collects field errors while reading values out of the payload."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def number(self, obj: dict, key: str, path: str, low: float = 0, high: float | None = None,
               required: bool = False, whole: bool = False) -> Any:
        """A number from `low` to `high`; a whole number is capped by its column (INTEGER
        unless `high` says BIGINT), so nothing out of range reaches the database."""
        value = obj.get(key)
        if value is None:
            if required:
                self.errors[path] = "required"
            return None
        if whole and high is None:
            high = INT_MAX
        if whole and isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON (and its schema) make no difference between 486 and 486.0
        ok = isinstance(value, int | float) and not isinstance(value, bool) and (not whole or isinstance(value, int))
        if not ok or (isinstance(value, float) and not math.isfinite(value)) or value < low or (high is not None and value > high):
            kind = "a whole number" if whole else "a number"
            self.errors[path] = f"{kind} from {low}" + (f" to {high}" if high is not None else " up")
            return None
        return value

    def text(self, obj: dict, key: str, path: str, max_len: int, required: bool = False) -> str | None:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                self.errors[path] = "required"
            return None
        if not isinstance(value, str) or len(value) > max_len:
            self.errors[path] = f"a string of at most {max_len} characters"
            return None
        return value

    def when(self, obj: dict, key: str, path: str) -> datetime | None:
        value = obj.get(key)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.errors[path] = "an ISO 8601 timestamp with a time zone"
            return None
        return parsed.astimezone(UTC)

    def items(self, obj: dict, key: str) -> list[dict]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > MAX_ITEMS or not all(isinstance(i, dict) for i in value):
            self.errors[key] = f"a list of at most {MAX_ITEMS} objects"
            return []
        return value
