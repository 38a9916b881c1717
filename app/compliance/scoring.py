"""The ONE compliance score: pure functions over control statuses, never incremented."""

from __future__ import annotations

from collections.abc import Iterable


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
