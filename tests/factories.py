"""Factories for the platform models: small functions with sensible defaults."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from app.models import Organization, Site, User, db
from app.passwords import hash_password

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)
_hash_cache: dict[str, str] = {}


def _hash(password: str) -> str:
    if password not in _hash_cache:
        _hash_cache[password] = hash_password(password)
    return _hash_cache[password]


def org(**kw) -> Organization:
    n = next(_seq)
    obj = Organization(name=kw.pop("name", f"Org {n}"), slug=kw.pop("slug", f"org-{n}"), **kw)
    db.session.add(obj)
    db.session.flush()
    return obj


def site(org_id: int, **kw) -> Site:
    n = next(_seq)
    obj = Site(org_id=org_id, name=kw.pop("name", f"Site {n}"), slug=kw.pop("slug", f"site-{n}"), **kw)
    db.session.add(obj)
    db.session.flush()
    return obj


def user(org_id: int | None = None, role: str = "analyst", password: str | None = PASSWORD, **kw) -> User:
    n = next(_seq)
    obj = User(
        org_id=org_id, role=role, email=kw.pop("email", f"user{n}@example.test"),
        password_hash=_hash(password) if password else None, status=kw.pop("status", "active"), **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


@dataclass
class OrgFixture:
    org: Organization
    users: dict[str, User] = field(default_factory=dict)
    site: Site | None = None


@dataclass
class TwoOrgs:
    a: OrgFixture
    b: OrgFixture
    super_admin: User


def two_orgs() -> TwoOrgs:
    result = []
    for label in ("a", "b"):
        o = org(name=f"Org {label.upper()}", slug=f"org-{label}-{next(_seq)}")
        fx = OrgFixture(o, site=site(o.id, name=f"Site {label.upper()}"))
        for role in ("admin", "analyst", "operator", "read_only"):
            fx.users[role] = user(o.id, role, email=f"{role}-{label}-{next(_seq)}@example.test")
        result.append(fx)
    sa_user = user(None, "super_admin", email=f"root-{next(_seq)}@example.test")
    db.session.commit()
    return TwoOrgs(result[0], result[1], sa_user)
