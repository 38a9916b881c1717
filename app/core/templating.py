"""What every template may use: a few named helpers, registered once."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from app.core.audit_display import audit_changes, audit_value
from app.core.navigation import all_entries, nav_tree
from app.models import Organization, db
from app.permissions import ROLE_LABELS, can
from app.tenancy import current_org


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


def wall_clock_ms(value: datetime) -> int:
    """A UTC timestamp as the user's wall-clock time in epoch milliseconds (for chart axes,
    which read it back as UTC: the browser's own zone need not be the user's)."""
    local = value.astimezone(user_zone())
    return int(local.replace(tzinfo=UTC).timestamp() * 1000)


def switchable_orgs() -> list:
    import sqlalchemy as sa


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
    matches = [e for e, *_ in all_entries() if current == e or current.startswith(nav_stem(e))]
    return max(matches, key=lambda e: len(nav_stem(e)), default=None)


def visible(app: Flask, items: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """Navigation entries whose page exists and whose permission the user holds."""
    return [item for item in items if item[0] in app.view_functions and can(item[3])]


# Macro files whose macros are also template globals: a block rendered alone as an htmx
# fragment does not run its template's top-level {% from ... import %} lines.
GLOBAL_MACRO_FILES = ("_macros/forms.html", "_macros/audit.html")


def register_macros(app: Flask) -> None:
    for name in GLOBAL_MACRO_FILES:
        module = app.jinja_env.get_template(name).make_module({"csrf_token": generate_csrf})
        for attr in dir(module):
            if not attr.startswith("_") and callable(getattr(module, attr)):
                app.jinja_env.globals.setdefault(attr, getattr(module, attr))


def register(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["wall_clock_ms"] = wall_clock_ms
    app.jinja_env.filters["audit_changes"] = audit_changes
    app.jinja_env.filters["audit_value"] = audit_value
    register_macros(app)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def shell_context() -> dict:

        org = current_org() if current_user.is_authenticated else None
        active = active_nav(request.endpoint or "")
        return {
            "switchable_orgs": switchable_orgs() if can("org.switch") else [],
            "can": can,
            "csrf_token": generate_csrf,
            "current_org": org,
            "nav": nav_tree(lambda items: visible(app, items), active),
            "role_labels": ROLE_LABELS,
            "active_endpoint": request.endpoint or "",
            "active_nav": active,
        }
