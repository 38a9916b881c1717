"""Demo data: two organizations with sites and one user of every role.

Idempotent: running it again changes nothing and prints the same logins. Later domains
add their own demo rows by registering with app/core/demo_data.py (`register_demo`).
"""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.core.demo_data import DEMO_EXTENSIONS
from app.models import Organization, Site, User, db
from app.passwords import hash_password

DEMO_PASSWORD = "vigil-demo-2026"
DEMO_ORGS = (
    {
        "slug": "northwind", "name": "Northwind Security", "type": "internal", "primary_domain": "northwind.example",
        "city": "Seattle", "country": "US", "subscription_tier": "enterprise",
        "sites": [("hq", "Headquarters", "Seattle"), ("dc1", "Data centre 1", "Portland")],
    },
    {
        "slug": "globex", "name": "Globex Corporation", "type": "customer", "primary_domain": "globex.example",
        "city": "Springfield", "country": "US", "subscription_tier": "professional",
        "sites": [("main", "Main office", "Springfield"), ("lab", "Research lab", "Shelbyville")],
    },
)
ORG_ROLES = ("admin", "analyst", "operator", "read_only")


def demo_logins() -> list[tuple[str, str, str]]:
    logins = [("admin@vigil.example", "super_admin", "all organizations")]
    for org in DEMO_ORGS:
        for role in ORG_ROLES:
            logins.append((f"{role.replace('_', '')}@{org['primary_domain']}", role, org["name"]))
    return logins


def seed_demo() -> bool:
    """Create the demo organizations, sites and users; False if they already existed."""
    existing = db.session.scalar(sa.select(Organization).where(Organization.slug == DEMO_ORGS[0]["slug"]))
    if existing is not None:
        return False
    password_hash = hash_password(DEMO_PASSWORD)
    orgs: dict[str, Organization] = {}
    for spec in DEMO_ORGS:
        org = Organization(
            slug=spec["slug"], name=spec["name"], type=spec["type"], primary_domain=spec["primary_domain"],
            domains=[spec["primary_domain"]], city=spec["city"], country=spec["country"],
            subscription_tier=spec["subscription_tier"], technical_email=f"soc@{spec['primary_domain']}",
        )
        db.session.add(org)
        db.session.flush()
        orgs[org.slug] = org
        for slug, name, city in spec["sites"]:
            db.session.add(Site(org_id=org.id, slug=slug, name=name, city=city, country=spec["country"]))
        for role in ORG_ROLES:
            db.session.add(User(
                org_id=org.id, email=f"{role.replace('_', '')}@{spec['primary_domain']}", role=role,
                first_name=role.replace("_", " ").title(), last_name=spec["name"].split()[0],
                password_hash=password_hash, status="active", email_verified=True,
            ))
        audit.record("demo.seeded", resource_type="organization", resource_id=org.id, org_id=org.id,
                     actor_type="system", actor_label="seed-demo")
    if db.session.scalar(sa.select(User).where(User.email == "admin@vigil.example")) is None:
        db.session.add(User(email="admin@vigil.example", role="super_admin", first_name="Super", last_name="Admin",
                            password_hash=password_hash, status="active", email_verified=True))
    db.session.flush()
    for extend in DEMO_EXTENSIONS:
        extend(orgs)
    return True
