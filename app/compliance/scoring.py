"""The ONE compliance score: pure functions over control statuses, never incremented."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


def score(statuses: Iterable[str]) -> int | None:
    """(compliant + 0.5 x partial) / tested x 100, rounded; None when nothing is tested yet."""
    compliant = partial = tested = 0
    for status in statuses:
        if status == "not_tested":
            continue
        tested += 1
        compliant += status == "compliant"
        partial += status == "partial"
    if tested == 0:
        return None
    return round((compliant + 0.5 * partial) / tested * 100)


def by_category(pairs: Iterable[tuple[str | None, str]]) -> dict[str, int | None]:
    """Score per category from (category, status) pairs, categories in first-seen order."""
    groups: dict[str, list[str]] = {}
    for category, status in pairs:
        groups.setdefault(category or "Uncategorised", []).append(status)
    return {category: score(statuses) for category, statuses in groups.items()}


class Coverage(NamedTuple):
    """How much of an assessment (or a category) the score rests on: shown beside every score,
    so a 100 after one tested control reads "100 (92 of 93 controls not tested)"."""

    not_tested: int
    total: int

    def __str__(self) -> str:
        return f"{self.not_tested} of {self.total} controls not tested"


def coverage(statuses: Iterable[str]) -> Coverage:
    statuses = list(statuses)
    return Coverage(sum(1 for s in statuses if s == "not_tested"), len(statuses))


def coverage_by_category(pairs: Iterable[tuple[str | None, str]]) -> dict[str, Coverage]:
    """Coverage per category from (category, status) pairs, categories in first-seen order."""
    groups: dict[str, list[str]] = {}
    for category, status in pairs:
        groups.setdefault(category or "Uncategorised", []).append(status)
    return {category: coverage(statuses) for category, statuses in groups.items()}
