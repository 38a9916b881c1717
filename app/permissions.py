"""The ONE table of which role may do what, and the one decorator views use.

Every route is behind sign-in by default (see `app.core.guard`); a view that needs more
than "signed in" names a permission from this table with `@require(...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

ALL = frozenset({"super_admin", "admin", "analyst", "operator", "read_only"})
WRITERS = frozenset({"super_admin", "admin", "analyst", "operator"})
ADMINS = frozenset({"super_admin", "admin"})
SUPER = frozenset({"super_admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    # platform
    "dashboard.view": ALL,
    "org.manage": SUPER,  # create, edit and delete organizations
    "org.switch": SUPER,
    "org.edit_own": ADMINS,  # an admin edits its own organization's details
    "site.view": ALL,
    "site.manage": ADMINS,
    "user.view": ADMINS,
    "user.manage": ADMINS,
    "settings.manage": SUPER,
    "audit.view": ADMINS,
    "audit.verify": ADMINS,
    "jobs.view": ALL,
    "jobs.manage": ADMINS,
    "notifications.channels": ADMINS,
    # identity and threat operations
    "threats.view": frozenset({"super_admin", "admin", "analyst"}),
    "threats.manage": frozenset({"super_admin", "admin", "analyst"}),
    # domain data: read for everyone, change for analysts and operators upward
    "data.read": ALL,
    "data.write": WRITERS,
    # fleet alerting: everyone sees alerts (data.read), writers act on them (data.write)
    "alert_rules.manage": ADMINS,
    # fleet commands by tier (app/fleet/commands.py); recovery also needs a second admin's approval
    "fleet.command_safe": frozenset({"super_admin", "admin", "operator"}),
    "fleet.command_system": ADMINS,
    "fleet.command_recovery": ADMINS,
    "fleet.backups_manage": frozenset({"super_admin", "admin", "operator"}),
    # exposure (issue 15): everyone sees counts; admins and analysts see masked credentials and act
    "exposure.view": ALL,
    "exposure.details": frozenset({"super_admin", "admin", "analyst"}),
    "exposure.manage": frozenset({"super_admin", "admin", "analyst"}),
    "exposure.monitor": ADMINS,
    # compliance and roadmap (issue 16): everyone sees scores; evidence files and edits need more
    "compliance.view": ALL,
    "compliance.manage": frozenset({"super_admin", "admin", "analyst"}),
    "compliance.evidence": frozenset({"super_admin", "admin", "analyst"}),
    "roadmap.view": ALL,
    "roadmap.manage": WRITERS,
    # reports (issue 17): each report type also names the permission its data needs
    "reports.view": ALL,
    "reports.generate": WRITERS,
    "reports.schedule": ADMINS,
    # Vigil's own backups hold every organization's data
    "backup.manage": SUPER,
}

ROLE_LABELS = {
    "super_admin": "Super admin",
    "admin": "Admin",
    "analyst": "Analyst",
    "operator": "Operator",
    "read_only": "Read only",
}

# Who may grant which role: an admin cannot mint super admins.
ASSIGNABLE_ROLES = {
    "super_admin": ("super_admin", "admin", "analyst", "operator", "read_only"),
    "admin": ("admin", "analyst", "operator", "read_only"),
}


def can(permission: str, user: Any = None) -> bool:
    user = user if user is not None else current_user
    if not getattr(user, "is_authenticated", False):
        return False
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return user.role in PERMISSIONS[permission]


def require(permission: str) -> Callable:
    """Refuse the view with 403 unless the signed-in user's role holds `permission`."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator
