"""Global search: users (for admins) and sites."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from app.models import Site, User, db
from app.permissions import can
from app.search.registry import Hit, register_provider
from app.search.text import any_contains, rank


def search_users(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(User.id, User.email, User.first_name, User.last_name, User.role, User.status)
        .where(User.org_id == org_id, User.deleted_at.is_(None),
               any_contains([User.email, User.first_name, User.last_name, User.username], term))
        .order_by(rank(User.email, term), User.id).limit(limit)
    ).all()
    return [Hit(row.email, url_for("admin.user_edit", user_id=row.id),
                " · ".join(x for x in (" ".join(filter(None, (row.first_name, row.last_name))), row.role, row.status) if x))
            for row in rows]


def search_sites(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(Site.id, Site.name, Site.city, Site.public_ip)
        .where(Site.org_id == org_id, Site.deleted_at.is_(None), any_contains([Site.name, Site.city, Site.public_ip], term))
        .order_by(rank(Site.name, term), Site.id).limit(limit)
    ).all()
    # Sites have no page of their own: admins land on the edit form, everyone else on the list.
    editable = can("site.manage")
    return [Hit(row.name, url_for("admin.site_edit", site_id=row.id) if editable else url_for("admin.sites"),
                " · ".join(x for x in (row.city, row.public_ip) if x)) for row in rows]


register_provider("users", "Users", "user.view", search_users, order=60)
register_provider("sites", "Sites", "site.view", search_sites, order=70)
