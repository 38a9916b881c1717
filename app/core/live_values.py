"""Live values: a registry of named queries over Vigil's own data, each `f(org_id) ->
Decimal | None`, so a metric (app/metrics) can take its value from any domain, and compliance
and the roadmap can read the same numbers, without one domain importing another (issue 21).

The metrics domain registers its queries over identity, threats, fleet and wireless tables
(app/metrics/live.py, which also runs them and says how to add one); compliance registers its
framework scores (app/compliance/live.py) and the roadmap its progress (app/roadmap/live.py).
Readers look a query up by name in LIVE_QUERIES; the names are stored on metrics
(`Metric.live_source`), so a registered name is never renamed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class LiveQuery:
    label: str
    unit: str
    direction: str  # the direction a metric on this query normally has
    func: Callable[[int], Decimal | None]  # None: nothing to measure yet (not scored)
    note: Callable[[int], str | None] | None = None  # what the value rests on, shown beside it


# name -> query, in registration order (the metric form lists them in this order)
LIVE_QUERIES: dict[str, LiveQuery] = {}


def register_live_query(name: str, query: LiveQuery) -> LiveQuery:
    """Add (or replace) the live query `name`."""
    LIVE_QUERIES[name] = query
    return query


def live_value(name: str, org_id: int) -> Decimal | None:
    """The current value of the registered query `name` for an organization."""
    return LIVE_QUERIES[name].func(org_id)
