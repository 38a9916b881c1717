"""What every template may use: a few named helpers, registered once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from app.permissions import ROLE_LABELS, can

# Side navigation: (endpoint, icon, label, permission). Only domains that exist are listed.
NAV = [
    ("dashboard.index", "speedometer2", "Dashboard", "dashboard.view"),
    ("jobs.index", "list-task", "Jobs", "jobs.view"),
    ("notifications.index", "bell", "Notifications", "dashboard.view"),
]
THREAT_NAV = [
    ("threats.overview", "activity", "Security overview", "threats.view"),
    ("threats.threats", "radar", "Threats", "threats.view"),
    ("threats.incident_list", "clipboard2-pulse", "Incidents", "threats.view"),
    ("threats.events", "shield-exclamation", "Security events", "threats.view"),
    ("threats.blocks", "slash-circle", "Blocks", "threats.view"),
    ("threats.intel", "bug", "Threat intel", "threats.view"),
]
METRICS_NAV = [
    ("metrics.index", "graph-up", "Security scores", "data.read"),
    ("metrics.metric_list", "list-check", "Metrics", "data.read"),
    ("metrics.catalog_list", "collection", "Catalogs", "data.read"),
    ("metrics.framework", "diagram-3", "NIST CSF 2.0", "data.read"),
    ("metrics.method", "calculator", "How scores work", "data.read"),
]
FLEET_NAV = [
    ("fleet.dashboard", "speedometer2", "Fleet dashboard", "data.read"),
    ("fleet.index", "hdd-network", "Fleet inventory", "data.read"),
    ("fleet.scanners", "radar", "Scanner operations", "data.read"),
    ("fleet.subscriptions", "receipt", "Subscriptions", "data.read"),
    ("fleet.alerts", "bell", "Alerts", "data.read"),
    ("fleet.alert_rules", "sliders2-vertical", "Alert rules", "data.read"),
    ("fleet.maintenance_windows", "cone-striped", "Maintenance windows", "data.read"),
]
# Filled by the wireless domain's pages as they land.
WIRELESS_NAV: list[tuple[str, str, str, str]] = [
    ("wireless.network_list", "wifi", "Networks", "data.read"),
    ("wireless.map_view", "map", "Map", "data.read"),
    # An analyst's order: look (networks, map), feed (imports), tell it where (places...),
    # then tune (scoring, models) and configure (providers).
    ("wireless.import_list", "upload", "Imports", "data.read"),
    ("wireless.location_markers", "house", "Places", "data.read"),
    ("wireless.route_list", "signpost-split", "Routes", "data.read"),
    ("wireless.device_sources", "phone", "Device sources", "data.read"),
    ("wireless.agency_offices", "building", "Agency offices", "data.read"),
    ("wireless.scoring_settings", "sliders2", "Threat scoring", "data.read"),
    ("wireless.ml_models", "cpu", "Threat models", "data.read"),
    ("wireless.providers", "key", "Providers", "org.edit_own"),
]
ADMIN_NAV = [
    ("admin.orgs", "buildings", "Organizations", "org.edit_own"),
    ("admin.sites", "geo-alt", "Sites", "site.view"),
    ("admin.users", "people", "Users", "user.view"),
    ("admin.policy", "shield-lock", "Security policy", "org.edit_own"),
    ("notifications.channels", "broadcast", "Channels", "notifications.channels"),
    ("admin.audit", "journal-check", "Audit log", "audit.view"),
    ("admin.settings", "sliders", "Settings", "settings.manage"),
]


def user_zone() -> ZoneInfo:
    name = getattr(current_user, "timezone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp in the signed-in user's time zone."""
    if value is None:
        return ""
    return value.astimezone(user_zone()).strftime(fmt)


def switchable_orgs() -> list:
    import sqlalchemy as sa

    from app.models import Organization, db

    return db.session.scalars(
        sa.select(Organization).where(Organization.deleted_at.is_(None)).order_by(Organization.name)
    ).all()


def nav_stem(endpoint: str) -> str:
    """The prefix of the endpoints a nav entry covers: jobs.index -> "jobs.", admin.users -> "admin.user"."""
    if endpoint.endswith(".index"):
        return endpoint[: -len("index")]
    return endpoint.removesuffix("_list").rstrip("s")


def active_nav(current: str) -> str | None:
    """The nav entry the current page belongs to: the one with the longest matching stem."""
    matches = [e for e, *_ in NAV + THREAT_NAV + METRICS_NAV + FLEET_NAV + WIRELESS_NAV + ADMIN_NAV if current == e or current.startswith(nav_stem(e))]
    return max(matches, key=lambda e: len(nav_stem(e)), default=None)


def visible(app: Flask, items: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """Navigation entries whose page exists and whose permission the user holds."""
    return [item for item in items if item[0] in app.view_functions and can(item[3])]


# Macro files whose macros are also template globals: a block rendered alone as an htmx
# fragment does not run its template's top-level {% from ... import %} lines.
GLOBAL_MACRO_FILES = ("_macros/forms.html",)


def register_macros(app: Flask) -> None:
    for name in GLOBAL_MACRO_FILES:
        module = app.jinja_env.get_template(name).make_module({"csrf_token": generate_csrf})
        for attr in dir(module):
            if not attr.startswith("_") and callable(getattr(module, attr)):
                app.jinja_env.globals.setdefault(attr, getattr(module, attr))


def register(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = localtime
    register_macros(app)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def shell_context() -> dict:
        from app.tenancy import current_org

        org = current_org() if current_user.is_authenticated else None
        return {
            "switchable_orgs": switchable_orgs() if can("org.switch") else [],
            "can": can,
            "csrf_token": generate_csrf,
            "current_org": org,
            "nav_sections": [(title, entries) for title, entries in (
                ("", visible(app, NAV)), ("Threat operations", visible(app, THREAT_NAV)),
                ("Security metrics", visible(app, METRICS_NAV)), ("Fleet", visible(app, FLEET_NAV)),
                ("Wireless", visible(app, WIRELESS_NAV)),
                ("Administration", visible(app, ADMIN_NAV))) if entries],
            "role_labels": ROLE_LABELS,
            "active_endpoint": request.endpoint or "",
            "active_nav": active_nav(request.endpoint or ""),
        }
