"""Which backups to keep: the last N, plus the newest of each of the last D days, W ISO weeks
and M months that have a backup (grandfather-father-son). Pure: tested on its own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Policy:
    last: int = 7
    daily: int = 7
    weekly: int = 4
    monthly: int = 6


def to_keep(created: Sequence[datetime], policy: Policy) -> set[int]:
    """Indexes (into `created`) of the backups the policy keeps."""
    order = sorted(range(len(created)), key=lambda i: created[i], reverse=True)
    keep = set(order[: policy.last])

    def newest_per(bucket: Callable[[datetime], object], count: int) -> None:
        seen: list[object] = []
        for i in order:
            key = bucket(created[i])
            if key in seen:
                continue
            if len(seen) == count:
                return
            seen.append(key)
            keep.add(i)

    newest_per(lambda t: t.date(), policy.daily)
    newest_per(lambda t: t.isocalendar()[:2], policy.weekly)
    newest_per(lambda t: (t.year, t.month), policy.monthly)
    return keep
