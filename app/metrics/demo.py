"""Demo metrics for both demo organizations (registered with app.core.demo_data)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.core.demo_data import register_demo
from app.metrics import services
from app.metrics.catalogs import create_default_catalog
from app.metrics.history import record_history
from app.metrics.live import LIVE_QUERIES
from app.models import FrameworkCategory, FrameworkFunction, Organization, db

# (function, category, name, direction, current by org, target, lower, upper, unit, priority)
DEMO_METRICS = (
    ("PR", "PR.AA", "MFA coverage of active users", "higher_is_better", {"northwind": 92, "globex": 61},
     100, None, None, "%", "High"),
    ("PR", "PR.PS", "Endpoints patched within 30 days", "higher_is_better", {"northwind": 88, "globex": 70},
     95, None, None, "%", "High"),
    ("DE", "DE.CM", "Mean time to detect", "lower_is_better", {"northwind": 6, "globex": 30}, 4, None, None,
     "hours", "High"),
    ("RS", "RS.MA", "Mean time to resolve critical incidents", "lower_is_better", {"northwind": 20, "globex": 50},
     24, None, None, "hours", "Medium"),
    ("ID", "ID.AM", "Assets with a known owner", "higher_is_better", {"northwind": 97, "globex": 80}, 100, None,
     None, "%", "Medium"),
    ("GV", "GV.PO", "Policies reviewed this year", "higher_is_better", {"northwind": 12, "globex": 7}, 14, None,
     None, "policies", "Low"),
    ("RC", "RC.RP", "Backup restore test passed", "binary", {"northwind": 1, "globex": 0}, 1, None, None, None,
     "High"),
    ("DE", "DE.AE", "Alerts per analyst per day", "target_range", {"northwind": 45, "globex": 80}, None, 20, 60,
     "alerts", "Low"),
)

# Live demo metrics: their values come from the demo's own rows through the named queries
# (app.metrics.live), so the dashboard shows Vigil's own data, not typed-in numbers.
# (function, category, name, live query, target, priority)
DEMO_LIVE_METRICS = (
    ("DE", "DE.CM", "High-risk wireless networks not yet triaged", "wireless_high_untagged", 0, "Medium"),
    ("RS", "RS.MA", "Open critical incidents", "open_critical_incidents", 0, "High"),
    ("PR", "PR.AA", "Active accounts without a sign-in for 90 days", "dormant_accounts_90d", 0, "Medium"),
)


def _dec(value: float | int | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _function_and_category(framework, fn_code: str, cat_code: str) -> tuple[FrameworkFunction, FrameworkCategory]:
    function = db.session.scalar(sa.select(FrameworkFunction).where(
        FrameworkFunction.framework_id == framework.id, FrameworkFunction.code == fn_code))
    category = db.session.scalar(sa.select(FrameworkCategory).where(
        FrameworkCategory.function_id == function.id, FrameworkCategory.code == cat_code))
    return function, category


def seed_metrics(orgs: dict[str, Organization]) -> None:
    """Load NIST CSF 2.0, add the demo metrics with values (three of them live), a first score snapshot, and the
    default catalog (not activated) so the Catalogs page has something to review."""
    services.load_framework()
    framework = services.current_framework()
    for slug, org in orgs.items():
        for fn_code, cat_code, name, direction, current, target, lower, upper, unit, priority in DEMO_METRICS:
            function, category = _function_and_category(framework, fn_code, cat_code)
            metric = services.Metric(
                org_id=org.id, metric_number=services.next_number(org.id, function), name=name,
                direction=direction, target_value=_dec(target), target_lower=_dec(lower), target_upper=_dec(upper),
                unit=unit, priority=priority, function_id=function.id, category_id=category.id)
            db.session.add(metric)
            db.session.flush()
            record_history(metric, Decimal(current.get(slug, 0)), "demo value", None)
        for fn_code, cat_code, name, source, target, priority in DEMO_LIVE_METRICS:
            function, category = _function_and_category(framework, fn_code, cat_code)
            query = LIVE_QUERIES[source]
            metric = services.Metric(
                org_id=org.id, metric_number=services.next_number(org.id, function), name=name,
                direction=query.direction, target_value=_dec(target), unit=query.unit, priority=priority,
                function_id=function.id, category_id=category.id, live_source=source)
            db.session.add(metric)
            db.session.flush()
            value = query.func(org.id)
            if value is not None:
                record_history(metric, value, f"live: {query.label}", None)
        services.snapshot(org.id)
        create_default_catalog(org.id, None)


register_demo(seed_metrics)
