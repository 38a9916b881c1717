"""Which organization a request acts for, and the one helper that scopes queries to it.

A tenant-owned model has `org_id`. `scoped(Model)` adds the organization filter (and
hides soft-deleted rows); `get_scoped_or_404` turns a guessed id from another
organization into a 404, so nothing about other tenants leaks.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort, g, session
from flask_login import current_user

from app.models import Organization, db

M = TypeVar("M")
ORG_SESSION_KEY = "org_id"


def current_org_id() -> int | None:
    """The organization the signed-in user is acting for (None: signed out, or none yet)."""
    if "current_org_id" in g:
        return g.current_org_id
    org_id = None
    if getattr(current_user, "is_authenticated", False):
        if current_user.is_super_admin:
            org_id = session.get(ORG_SESSION_KEY)
            chosen = db.session.get(Organization, org_id) if org_id is not None else None
            if chosen is None or chosen.deleted_at is not None:
                first = db.session.scalar(
                    sa.select(Organization.id)
                    .where(Organization.deleted_at.is_(None))
                    .order_by(Organization.id)
                    .limit(1)
                )
                org_id = first
        else:
            org_id = current_user.org_id
    g.current_org_id = org_id
    return org_id


def current_org() -> Organization | None:
    org_id = current_org_id()
    return db.session.get(Organization, org_id) if org_id is not None else None


def require_org_id() -> int:
    """The current organization id, or a 404 for a super admin with no organization yet."""
    org_id = current_org_id()
    if org_id is None:
        abort(404)
    return org_id


def switch_org(org_id: int) -> Organization:
    """Make `org_id` the organization a super admin acts for (404 if it does not exist)."""
    org = db.session.get(Organization, org_id)
    if org is None or org.deleted_at is not None:
        abort(404)
    session[ORG_SESSION_KEY] = org.id
    g.current_org_id = org.id
    return org


def scoped(model: type[M], *, include_deleted: bool = False) -> sa.Select[tuple[M]]:
    """`select(model)` limited to the current organization (and not soft-deleted)."""
    stmt = sa.select(model).where(model.org_id == require_org_id())  # type: ignore[attr-defined]
    if not include_deleted and hasattr(model, "deleted_at"):
        stmt = stmt.where(model.deleted_at.is_(None))  # type: ignore[attr-defined]
    return stmt


def get_scoped_or_404(model: type[M], ident: Any, *, include_deleted: bool = False) -> M:
    """The row with this id in the current organization, or 404 (also for other orgs' rows)."""
    pk = sa.inspect(model).primary_key[0]
    row = db.session.scalar(scoped(model, include_deleted=include_deleted).where(pk == ident))
    if row is None:
        abort(404)
    return row
